"""Test databases: a SQLite file per test, or a throwaway schema on the PostgreSQL server."""

import os
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgresql")


def postgres_base_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def require_postgres() -> None:
    """Skip when no PostgreSQL is configured; fail instead when CI demands it."""
    if postgres_base_url():
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests skipped)")


def _psycopg_url(raw: str) -> sa.engine.URL:
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


@contextmanager
def postgres_schema_url():
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    base = _psycopg_url(postgres_base_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def database_url(backend: str, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        with postgres_schema_url() as url:
            yield url
