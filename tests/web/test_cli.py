"""flask commands of the foundation: create-admin, rotate-credentials-key, first-run."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.conftest import TEST_CREDENTIALS_KEY, build_app
from webapp.extensions import db
from webapp.models import AiConnection, User

ROOT = Path(__file__).resolve().parents[2]


def test_create_admin(runner, app):
    result = runner.invoke(args=["create-admin", "Boss@Example.com", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = User.by_email("boss@example.com")
        assert user and user.check_password("s3cret-pass") and user.password_hash != "s3cret-pass"


def test_create_admin_prompts_for_the_password(runner, app):
    result = runner.invoke(args=["create-admin", "p@example.com"],
                           input="prompted-pass\nprompted-pass\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert User.by_email("p@example.com").check_password("prompted-pass")


def test_duplicate_admin_and_empty_password_are_refused(runner, app):
    runner.invoke(args=["create-admin", "a@example.com", "--password", "first-pass"])
    duplicate = runner.invoke(args=["create-admin", "A@example.com", "--password", "other-pass"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    empty = runner.invoke(args=["create-admin", "b@example.com", "--password", ""])
    assert empty.exit_code != 0 and "password is empty" in empty.output
    bad = runner.invoke(args=["create-admin", "not-an-email", "--password", "long-enough"])
    assert bad.exit_code != 0 and "not a valid e-mail" in bad.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_rotate_credentials_key(tmp_path, make_provider, make_connection):
    old_key = TEST_CREDENTIALS_KEY
    uri = f"sqlite:///{tmp_path / 'rot.sqlite3'}"
    app = build_app(uri, tmp_path / "i")
    with app.app_context():
        db.create_all()
        provider = make_provider()
        make_connection(provider, name="one", api_key="sk-one-1111111111")
        make_connection(provider, name="two", api_key="sk-two-2222222222")
        before = [c.credentials for c in db.session.scalars(select(AiConnection))]

    new_key = Fernet.generate_key().decode()
    rotated_app = build_app(uri, tmp_path / "i", CREDENTIALS_KEYS=[new_key, old_key])
    result = rotated_app.test_cli_runner().invoke(args=["rotate-credentials-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 credential(s)" in result.output

    only_new = build_app(uri, tmp_path / "i", CREDENTIALS_KEYS=[new_key])
    with only_new.app_context():
        rows = db.session.scalars(select(AiConnection).order_by(AiConnection.id)).all()
        assert [c.api_key for c in rows] == ["sk-one-1111111111", "sk-two-2222222222"]
        assert [c.credentials for c in rows] != before


def test_rotate_with_a_wrong_key_names_the_connection_and_changes_nothing(
        tmp_path, make_provider, make_connection):
    uri = f"sqlite:///{tmp_path / 'rot.sqlite3'}"
    app = build_app(uri, tmp_path / "i")
    with app.app_context():
        db.create_all()
        make_connection(make_provider(), name="precious", api_key="sk-keep-me-123456")
        before = db.session.scalar(select(AiConnection.credentials))
    wrong = build_app(uri, tmp_path / "i", CREDENTIALS_KEYS=[Fernet.generate_key().decode()])
    result = wrong.test_cli_runner().invoke(args=["rotate-credentials-key"])
    assert result.exit_code != 0
    assert "'precious'" in result.output and "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(AiConnection.credentials)) == before


def test_first_run_explains_how_to_create_an_admin(runner):
    result = runner.invoke(args=["first-run"])
    assert result.exit_code == 0
    assert "create-admin" in result.output


def test_first_run_creates_admin_from_environment(runner, app, monkeypatch):
    monkeypatch.setenv("ADMIN_EMAIL", "env@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "from-the-env")
    result = runner.invoke(args=["first-run"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert User.by_email("env@example.com").check_password("from-the-env")


def _flask(tmp_path, *args, **env):
    full_env = {k: v for k, v in os.environ.items()
                if k not in {"DATABASE_URL", "CREDENTIALS_KEYS", "SECRET_KEY"}}
    full_env.update({"INSTANCE_PATH": str(tmp_path / "instance"), **env})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=60)


def test_bad_settings_give_one_line_errors(tmp_path):
    for env, expected in [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "only postgresql and sqlite"),
        ({"CREDENTIALS_KEYS": "short"}, "key #1 is not a valid Fernet key"),
        ({"INSTANCE_PATH": "/proc/acm-cannot-write"}, "instance folder"),
    ]:
        result = _flask(tmp_path, "first-run", **env)
        assert result.returncode != 0, env
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_first_run_generates_secrets_with_private_permissions(tmp_path):
    result = _flask(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    for name in ("secret_key", "credentials.key"):
        path = tmp_path / "instance" / name
        assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert "Generated credentials.key" in result.stderr
    again = _flask(tmp_path, "first-run")
    assert again.returncode == 0 and "Generated" not in again.stderr


def test_database_dump_holds_no_plaintext_key(tmp_path, make_provider, make_connection):
    uri = f"sqlite:///{tmp_path / 'dump.sqlite3'}"
    app = build_app(uri, tmp_path / "i")
    with app.app_context():
        db.create_all()
        make_connection(make_provider(), api_key="sk-proj-PLAINTEXT-SHOULD-NOT-APPEAR")
        db.session.execute(db.text("PRAGMA wal_checkpoint(FULL)"))
        db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("dump.sqlite3*"))
    assert b"PLAINTEXT-SHOULD-NOT-APPEAR" not in raw
    dump = subprocess.run(["sqlite3", str(tmp_path / "dump.sqlite3"), ".dump"],
                          capture_output=True, text=True)
    if dump.returncode == 0:
        assert "PLAINTEXT-SHOULD-NOT-APPEAR" not in dump.stdout



def test_workers_starting_together_share_one_generated_secret(tmp_path, monkeypatch):
    """Many workers creating the instance folder at the same moment all boot, with the same
    complete keys (gunicorn starts its workers together)."""
    import logging
    import threading

    from webapp.config import load_config

    for name in ("DATABASE_URL", "CREDENTIALS_KEYS", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    barrier = threading.Barrier(16)
    results, errors = [], []

    def start():
        barrier.wait()
        try:
            results.append(load_config(str(folder), logging.getLogger("test")))
        except Exception as exc:  # noqa: BLE001  (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({tuple(r["CREDENTIALS_KEYS"]) for r in results}) == 1
    assert len({r["SECRET_KEY"] for r in results}) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["credentials.key", "secret_key"]
    assert ((folder / "credentials.key").stat().st_mode & 0o777) == 0o600
