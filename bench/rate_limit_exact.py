"""Do N processes × M threads sharing one database admit exactly a connection's limit?

Every thread asks for admission on the same connection (per-minute limit --limit) as fast
as it can, --calls times; the run stays inside one minute window. Prints admitted vs limit
(they must be equal) and admission calls per second.

    .venv/bin/python bench/rate_limit_exact.py
    .venv/bin/python bench/rate_limit_exact.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time

from _common import app_config, bench_database, wait_for_fresh_minute


def worker(config: dict, connection_id: int, threads: int, calls: int, ready, go, results) -> None:
    from webapp import create_app
    from webapp.services import rotation
    from webapp.services.rate_limits import acquire_all

    app = create_app(dict(config))
    with app.app_context():
        candidate = rotation.load_candidates_by_id([connection_id])[connection_id]
        reservations = candidate.reservations()  # per-minute and per-day, reserved together
    counts = []

    def hammer() -> None:
        with app.app_context():
            counts.append(sum(acquire_all(reservations) for _ in range(calls)))

    pool = [threading.Thread(target=hammer) for _ in range(threads)]
    ready.put(1)
    go.wait(120)
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(sum(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temp SQLite file)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--calls", type=int, default=100, help="admission calls per thread")
    parser.add_argument("--limit", type=int, default=500, help="the connection's per-minute limit")
    args = parser.parse_args()

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import AiConnection, AiProvider

    with bench_database(args.database_url) as (uri, folder):
        config = app_config(uri, folder)
        app = create_app(dict(config))
        with app.app_context():
            db.create_all()
            backend = db.engine.dialect.name
            provider = AiProvider(slug="bench", name="Bench", adapter_kind="openai")
            connection = AiConnection(provider=provider, name="limited", settings={},
                                      rate_limit_per_minute=args.limit,
                                      rate_limit_per_day=args.limit * 100)
            connection.set_credentials({"api_key": "sk-bench-not-used"})
            db.session.add_all([provider, connection])
            db.session.commit()
            connection_id = connection.id
            db.engine.dispose()

        context = multiprocessing.get_context("spawn")
        ready, go, results = context.Queue(), context.Event(), context.Queue()
        processes = [context.Process(target=worker, args=(
            config, connection_id, args.threads, args.calls, ready, go, results))
            for _ in range(args.processes)]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=120)
        wait_for_fresh_minute(45)
        started = time.perf_counter()
        go.set()
        admitted = sum(results.get(timeout=600) for _ in processes)
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join(timeout=30)

    total = args.processes * args.threads * args.calls
    verdict = "OK" if admitted == args.limit else "WRONG"
    print(f"\n{backend}: {args.processes} processes × {args.threads} threads × {args.calls} calls "
          f"= {total:,} admission calls on one connection")
    print(f"  admitted {admitted} of limit {args.limit}  → {verdict}")
    print(f"  {total / elapsed:,.0f} admission calls/s ({elapsed:.2f} s; minute and day counters "
          "reserved together in one transaction per call)")
    if admitted != args.limit:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
