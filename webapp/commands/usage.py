"""flask usage export|prune|rollup: the usage history from the command line."""

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from ..models import AiProvider
from ..services import retention, rollups, usage_export
from ..services.analytics_filters import parse_filters
from ..services.errors import InvalidInput

group = AppGroup("usage", help="Export, roll up and prune the usage history.")


def _provider_param(raw: str | None) -> str:
    """A provider id, or the id of the provider with this slug."""
    if not raw:
        return ""
    if raw.isdigit():
        return raw
    provider = AiProvider.by_slug(raw)
    if provider is None:
        raise click.BadParameter(f"there is no provider with the slug or id {raw!r}",
                                 param_hint="--provider")
    return str(provider.id)


@group.command("export")
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="First UTC day (included).")
@click.option("--to", metavar="YYYY-MM-DD", help="Last UTC day (included; default today).")
@click.option("--preset", type=click.Choice(["today", "7d", "30d", "90d"]),
              help="A range ending today, instead of --from/--to.")
@click.option("--provider", help="Provider id or slug.")
@click.option("--connection", help="Connection id.")
@click.option("--feature")
@click.option("--model")
@click.option("--outcome", help="success, failure or error:<class>.")
@click.option("--kind", default="raw", show_default=True,
              type=click.Choice(list(usage_export.KINDS)), help="Raw attempts or a breakdown.")
@click.option("--timezone", "timezone", default=None,
              help="Timezone of the timestamps (default DEFAULT_TIMEZONE, else UTC).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output).")
def export_command(from_, to, preset, provider, connection, feature, model, outcome, kind,
                   timezone, output):
    """Write the usage the filters select as CSV, with a progress bar."""
    if not (from_ or preset):
        raise click.UsageError("give --from YYYY-MM-DD (and optionally --to) or --preset")
    params = {"preset": preset or "custom", "from": from_ or "", "to": to or "",
              "provider": _provider_param(provider), "connection": connection or "",
              "feature": feature or "", "model": model or "", "outcome": outcome or ""}
    try:
        filters = parse_filters(params)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    timezone = timezone or current_app.config.get("DEFAULT_TIMEZONE", "UTC")
    total = usage_export.count_raw_rows(filters) if kind == "raw" else None
    stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    written = 0
    try:
        with click.progressbar(length=total, label="Exporting", file=sys.stderr,
                               show_pos=True) as bar:
            def advance(rows):
                nonlocal written
                written += rows
                bar.update(rows)

            for chunk in usage_export.csv_chunks(filters, kind, timezone, on_rows=advance):
                stream.write(chunk)
    finally:
        if output:
            stream.close()
    target = output or "standard output"
    click.echo(f"Wrote {written:,} row(s) ({kind}, {filters.first_day} to {filters.last_day}) "
               f"to {target}.", err=True)


@group.command("prune")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Delete raw rows of UTC days older than this, e.g. 90d.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_command(older_than, dry_run):
    """Delete old raw usage rows; their days are rolled up first, so totals stay."""
    try:
        days = retention.parse_age(older_than)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    report = retention.prune(days, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"Rolled up {report.rolled_up_days} day(s). {verb} {report.deleted:,} raw usage "
               f"row(s) before {report.cutoff_day.isoformat()} (UTC); their totals stay in the "
               "daily rollups.")


def _day(raw: str | None, option: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not a date; use YYYY-MM-DD",
                                 param_hint=option) from None


@group.command("rollup")
@click.option("--from", "from_", metavar="YYYY-MM-DD",
              help="Recompute from this UTC day (default: only days not rolled up yet).")
@click.option("--to", metavar="YYYY-MM-DD", help="Last day to recompute (default yesterday).")
@click.option("--all", "everything", is_flag=True, help="Recompute every day with raw rows.")
def rollup_command(from_, to, everything):
    """Roll up complete UTC days into the daily totals the analytics page reads."""
    first, last = _day(from_, "--from"), _day(to, "--to")
    if first and last and first > last:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    if first or last or everything:
        report = rollups.rollup_days(first, last)
    else:
        report = rollups.rollup_pending()
    if report.days:
        click.echo(f"Rolled up {report.days} day(s) ({report.first} to {report.last}): "
                   f"{report.rows:,} rollup row(s).")
    else:
        click.echo("Nothing to roll up: every complete day is rolled up.")


def register(app) -> None:
    app.cli.add_command(group)
