"""flask demo: providers, connections and a realistic usage history for a first look."""

import sys
import time

import click
from flask.cli import with_appcontext

from ..services import demo_data


@click.command("demo")
@click.option("--rows", default=demo_data.DEFAULT_ROWS, show_default=True, type=click.IntRange(0, 50_000_000),
              help="Usage rows (attempts) to add.")
@click.option("--days", default=demo_data.DEFAULT_DAYS, show_default=True, type=click.IntRange(1, 400),
              help="Spread them over this many days, ending now.")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed (same seed, same data).")
@with_appcontext
def demo_command(rows, days, seed):
    """Seed demo providers, connections (fake keys) and usage history, then roll it up."""
    started = time.perf_counter()
    with click.progressbar(length=rows, label="Writing usage rows", file=sys.stderr) as bar:
        report = demo_data.seed_demo(rows=rows, days=days, seed=seed, on_progress=bar.update)
    elapsed = time.perf_counter() - started
    click.echo(f"Seeded {report.providers} providers and {report.connections} connections "
               f"(fake keys), and {report.rows:,} usage rows over {days} day(s) from "
               f"{report.first_day} in {elapsed:.1f}s ({report.rollup_rows:,} rollup rows).")
    click.echo("Open the Analytics page to see them.")


def register(app) -> None:
    app.cli.add_command(demo_command)
