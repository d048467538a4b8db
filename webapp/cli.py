"""flask commands; each calls the same services as the views."""

import os
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from .services import accounts
from .services.credentials import rotate_credentials_key


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _password_or_prompt(password: str | None, label: str) -> str:
    """The --password value, or one typed twice at a hidden prompt."""
    if password is not None:
        return password
    return click.prompt(label, hide_input=True, confirmation_prompt=True, default="",
                        show_default=False)


@click.command("create-admin")
@click.argument("email")
@click.option("--password", help="For scripts; without it you are prompted (hidden input).")
@with_appcontext
def create_admin_command(email: str, password: str | None) -> None:
    """Create an administrator who can log in to the admin."""
    try:
        user = accounts.create_admin(email, _password_or_prompt(password, "Password"))
    except accounts.AccountError as exc:
        _fail(str(exc))
    click.echo(f"Created administrator {user.email}.")


@click.command("set-password")
@click.argument("email")
@click.option("--password", help="For scripts; without it you are prompted (hidden input).")
@with_appcontext
def set_password_command(email: str, password: str | None) -> None:
    """Change an administrator's password."""
    try:
        accounts.set_password(email, _password_or_prompt(password, "New password"))
    except accounts.AccountError as exc:
        _fail(str(exc))
    click.echo("Password changed.")


@click.command("rotate-credentials-key")
@with_appcontext
def rotate_credentials_key_command() -> None:
    """Re-encrypt every stored credential under the first key of CREDENTIALS_KEYS."""
    report = rotate_credentials_key()
    if report.failures:
        for line in report.failures:
            click.echo(f"Error: {line}", err=True)
        _fail("nothing was changed; add the old key to CREDENTIALS_KEYS (after the new one) "
              "and run the command again")
    click.echo(f"Re-encrypted {report.rotated} credential(s) under the newest key.")


@click.command("first-run")
@with_appcontext
def first_run_command() -> None:
    """Say how to log in the first time (or create the admin from ADMIN_EMAIL/ADMIN_PASSWORD)."""
    try:
        count = accounts.admin_count()
    except (OperationalError, ProgrammingError):
        _fail("the database has no tables yet; run: flask --app wsgi db upgrade")
    email, password = os.environ.get("ADMIN_EMAIL"), os.environ.get("ADMIN_PASSWORD")
    if count == 0 and email and password:
        try:
            accounts.create_admin(email, password)
        except accounts.AccountError as exc:
            _fail(f"ADMIN_EMAIL/ADMIN_PASSWORD: {exc}")
        click.echo(f"Created administrator {email} from ADMIN_EMAIL/ADMIN_PASSWORD.")
        return
    if count == 0:
        flask = os.path.relpath(os.path.join(os.path.dirname(sys.executable), "flask"))
        click.echo(
            "\nNo administrator exists yet. In another terminal, create one with:\n\n"
            f"    {flask} --app wsgi create-admin you@example.com\n\n"
            "then log in at http://127.0.0.1:5000/login\n"
        )
    else:
        click.echo("Log in at http://127.0.0.1:5000/login with an administrator's e-mail.")


def init_app(app) -> None:
    for command in (create_admin_command, set_password_command,
                    rotate_credentials_key_command, first_run_command):
        app.cli.add_command(command)
    from . import commands

    commands.register(app)
