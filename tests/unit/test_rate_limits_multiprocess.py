"""Several processes sharing one database never admit more (or fewer) than the limit."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from tests.unit.execution_support import (  # noqa: F401
    admission_worker,
    fresh,
    key,
    sim,
    wait_for_fresh_minute,
)
from webapp.extensions import db
from webapp.models import AiConnectionUsage

PROCESSES = 4
LIMIT = 25


def test_processes_admit_exactly_the_limit(any_app, sim):
    with any_app.app_context():
        provider = sim.provider(slug="mp")
        conn = sim.connection(provider, rate_limit_per_minute=LIMIT)
        conn_id = conn.id
    config = {name: any_app.config[name] for name in (
        "SQLALCHEMY_DATABASE_URI", "CREDENTIALS_KEYS", "SECRET_KEY", "TESTING")}
    config["INSTANCE_PATH"] = any_app.instance_path
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    workers = [context.Process(target=admission_worker, args=(
        config, ready, go, results, "mp:hammer", LIMIT, 20, "mp", 12)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        wait_for_fresh_minute(20)  # the whole run stays inside one minute window, even on a busy machine
        go.set()
        outcomes = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
    admitted = sum(a for a, _ in outcomes)
    answered = sum(b for _, b in outcomes)
    assert admitted == LIMIT  # 80 calls for 25 places
    assert answered == LIMIT  # 48 execute() calls for 25 places
    with any_app.app_context():
        assert fresh(conn_id).success_count == LIMIT
        assert db.session.scalar(select(func.count(AiConnectionUsage.id))) == LIMIT
