"""flask connections test: check connections from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import AiConnection, AiProvider
from ..services.errors import UnknownConnection
from ..services.testing import test_connection

group = AppGroup("connections", help="Check the connections to AI providers.")


def _targets(ids: tuple[int, ...], test_all: bool, provider_slug: str | None) -> list[tuple]:
    query = (select(AiConnection.id, AiConnection.name, AiProvider.slug)
             .join(AiProvider, AiProvider.id == AiConnection.provider_id)
             .order_by(AiProvider.slug, AiConnection.priority, AiConnection.id))
    if provider_slug:
        if db.session.scalar(select(AiProvider.id).where(AiProvider.slug == provider_slug)) is None:
            raise click.ClickException(f"unknown provider {provider_slug!r}")
        query = query.where(AiProvider.slug == provider_slug)
    elif not test_all:
        query = query.where(AiConnection.id.in_(ids))
    rows = db.session.execute(query).all()
    if ids and not test_all and not provider_slug:
        missing = sorted(set(ids) - {row[0] for row in rows})
        if missing:
            raise click.ClickException(
                f"no connection with id {', '.join(map(str, missing))}; "
                "list them on the Connections page")
    return rows


@group.command("test")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "test_all", is_flag=True, help="Test every connection.")
@click.option("--provider", "provider_slug", metavar="SLUG", help="Every connection of a provider.")
@click.option("--completion", is_flag=True,
              help="Send a one-token completion instead of listing models (costs a little).")
def test_command(ids: tuple[int, ...], test_all: bool, provider_slug: str | None,
                 completion: bool) -> None:
    """Test connections by ID (or --all / --provider); exit 1 if any test failed."""
    if not ids and not test_all and not provider_slug:
        raise click.UsageError("give connection IDs, --provider SLUG or --all")
    if ids and (test_all or provider_slug):
        raise click.UsageError("give either connection IDs or --all/--provider, not both")
    targets = _targets(ids, test_all, provider_slug)
    if not targets:
        click.echo("No connections to test.")
        return
    results = []
    with click.progressbar(targets, label="Testing connections", file=sys.stderr,
                           item_show_func=lambda t: t[1] if t else None) as bar:
        for conn_id, name, slug in bar:
            try:
                result = test_connection(conn_id, completion=completion)
            except UnknownConnection:  # deleted meanwhile
                continue
            results.append((conn_id, slug, name, result))
    header = ("ID", "PROVIDER", "CONNECTION", "RESULT", "LATENCY", "DETAILS")
    lines = [header]
    for conn_id, slug, name, result in results:
        if result.ok:
            detail = (f"{result.models[0]}" if completion and result.models
                      else f"{len(result.models)} model(s)")
        else:
            detail = f"{result.error_class}: {' '.join((result.message or '').split())}"
        lines.append((str(conn_id), slug, name, "ok" if result.ok else "FAILED",
                      f"{result.latency_ms} ms", detail[:120]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())
    failed = sum(1 for *_, result in results if not result.ok)
    click.echo(f"{len(results) - failed} passed, {failed} failed.")
    if failed:
        raise SystemExit(1)


def register(app) -> None:
    app.cli.add_command(group)
