"""Shared set-up for the benchmarks: a throwaway database, an app on it, the simulator."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def psycopg_url(raw: str) -> sa.engine.URL:
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


@contextlib.contextmanager
def bench_database(database_url: str | None):
    """A fresh database URL: a temp SQLite file, or a new schema on the PostgreSQL server
    (dropped afterwards)."""
    if not database_url:
        with tempfile.TemporaryDirectory(prefix="acm-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}", folder
        return
    base = psycopg_url(database_url)
    if base.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a postgresql:// URL (SQLite is the default)")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with tempfile.TemporaryDirectory(prefix="acm-bench-") as folder:
            yield url.render_as_string(hide_password=False), folder
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def app_config(database_uri: str, instance_path: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "INSTANCE_PATH": instance_path,
        "CREDENTIALS_KEYS": [os.environ.get("BENCH_CREDENTIALS_KEY") or Fernet.generate_key().decode()],
        "SECRET_KEY": "bench",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def simulator_process():
    """``python -m webapp.simulator`` in its own process; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.simulator", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/_sim/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the simulator did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for_fresh_minute(needed_seconds: float) -> None:
    now = time.time()
    remaining = 60 - (now % 60)
    if remaining < needed_seconds:
        print(f"(waiting {remaining:.0f} s for a fresh minute window)", flush=True)
        time.sleep(remaining + 0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(max(int(round(fraction * len(ordered) + 0.5)) - 1, 0), len(ordered) - 1)
    return ordered[index]
