"""flask app-keys create|list|revoke: the same services as the App keys page."""

import click
from flask.cli import AppGroup

from ..services import app_keys as service
from ..services.errors import InvalidInput, NotFound

group = AppGroup("app-keys", help="Keys with which applications call the /v1 gateway.")


@group.command("create")
@click.argument("label")
@click.option("--providers", default=None, metavar="SLUG[,SLUG…]",
              help="Only these provider slugs (default: every provider).")
@click.option("--rate-limit-per-minute", type=int, default=None, metavar="N",
              help="The key's own limit of requests per minute (default: none).")
def create_command(label: str, providers: str | None, rate_limit_per_minute: int | None) -> None:
    """Create a key and print it once (only its hash is stored)."""
    try:
        key, raw = service.create_app_key(label, service.parse_provider_list(providers),
                                          rate_limit_per_minute)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created app key {key.prefix}… for {key.label!r} "
               f"(providers: {', '.join(key.allowed_providers or []) or 'all'}; "
               f"limit: {key.rate_limit_per_minute or 'none'}/min).")
    click.echo("Copy it now; it will not be shown again:", err=True)
    click.echo(raw)


@group.command("list")
@click.option("--active", is_flag=True, help="Leave out revoked keys.")
def list_command(active: bool) -> None:
    """Keys with prefix, label, created, last used, requests and cost to date."""
    rows = service.list_app_keys(include_revoked=not active)
    if not rows:
        click.echo("No app keys. Create one with: flask --app wsgi app-keys create LABEL")
        return
    header = ("ID", "PREFIX", "LABEL", "PROVIDERS", "LIMIT/MIN", "CREATED (UTC)",
              "LAST USED (UTC)", "REQUESTS", "COST", "STATUS")
    lines = [header]
    for row in rows:
        key = row.key
        lines.append((
            str(key.id), key.prefix, key.label, row.providers_text,
            str(key.rate_limit_per_minute or "-"), _when(key.created_at), _when(key.last_used_at),
            str(row.requests), "-" if row.cost is None else f"${row.cost:.6f}",
            "revoked" if key.is_revoked else "active",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())


@group.command("revoke")
@click.argument("prefix_or_id")
def revoke_command(prefix_or_id: str) -> None:
    """Revoke a key by its prefix (acm-…) or id; it stops working at once."""
    try:
        key = service.revoke_app_key(prefix_or_id)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Revoked app key {key.prefix}… ({key.label}).")


def _when(value) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def register(app) -> None:
    app.cli.add_command(group)
