"""flask providers …: import/export the declarative configuration, refresh model catalogs."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..services import catalog, config_file
from ..services.errors import UnknownProvider
from ..services.providers import get_provider_by_slug, list_providers


@click.group("providers")
def providers_group() -> None:
    """Manage providers and connections from the command line."""


@providers_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@with_appcontext
def import_command(file: Path, dry_run: bool) -> None:
    """Create or update providers and connections from a YAML or JSON FILE.

    Providers are matched by slug, connections by name within their provider; connections
    that are not in the file are left alone. Secrets may be written as env:VARIABLE.
    """
    if not file.is_file():
        raise click.ClickException(f"{file}: no such file")
    plan = config_file.plan_import(file) if dry_run else config_file.apply_import(file)
    if plan.problems:
        for problem in plan.problems:
            click.echo(f"Error: {problem}", err=True)
        raise click.ClickException(
            f"{len(plan.problems)} problem(s) in {file}; nothing was written")
    if not plan.changes:
        click.echo("No changes.")
        return
    click.echo("Would apply:" if dry_run else "Applied:")
    for change in plan.changes:
        click.echo(f"  - {change}")
    if dry_run:
        click.echo("Dry run: nothing was written.")


@providers_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@with_appcontext
def export_command(output: Path | None) -> None:
    """Write every provider and connection as YAML (API keys as env: placeholders)."""
    text = config_file.export_config()
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"Wrote {output}.")


@providers_group.command("refresh-models")
@click.argument("slugs", nargs=-1)
@with_appcontext
def refresh_models_command(slugs: tuple[str, ...]) -> None:
    """List each provider's models (all providers by default) and store them with prices."""
    try:
        targets = ([get_provider_by_slug(slug) for slug in slugs] if slugs
                   else [row["provider"] for row in list_providers()])
    except UnknownProvider as exc:
        raise click.ClickException(exc.message) from None
    if not targets:
        click.echo("No providers.")
        return
    failed = 0
    for provider in targets:
        report = catalog.refresh_models(provider.id)
        if report.error:
            failed += 1
            click.echo(f"{provider.slug}: failed: {report.error}", err=True)
        else:
            click.echo(f"{provider.slug}: {report.models} models, {report.priced} priced")
    if failed:
        raise click.ClickException(f"{failed} provider(s) could not be refreshed")


def register(app) -> None:
    app.cli.add_command(providers_group)
