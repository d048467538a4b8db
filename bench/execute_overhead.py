"""How much execute() adds to a provider call, with a large usage table.

Starts the provider simulator in its own process, creates a throwaway database (SQLite, or
PostgreSQL with --database-url), inserts --rows usage rows, then times --calls sequential
execute() calls against --calls plain keep-alive requests.Session().post calls to the same
simulator endpoint. Prints median and p95 of both and their ratio (target: ≤ 1.5×).

    .venv/bin/python bench/execute_overhead.py
    .venv/bin/python bench/execute_overhead.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import timedelta

import requests
from _common import app_config, bench_database, percentile, simulator_process

CHUNK = 20_000


def insert_usage_rows(db, usage_table, connection_ids, provider_id, rows: int) -> float:
    from webapp.models import utcnow

    started = time.perf_counter()
    now = utcnow()
    rng = random.Random(1)
    features = ["chat", "search", "summaries", "support", None]
    inserted = 0
    with db.engine.begin() as conn:
        while inserted < rows:
            batch = []
            for _ in range(min(CHUNK, rows - inserted)):
                ok = rng.random() > 0.05
                prompt, completion = rng.randint(5, 2000), rng.randint(1, 800)
                batch.append({
                    "connection_id": rng.choice(connection_ids), "provider_id": provider_id,
                    "connection_name": "bench", "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "attempt": 1, "feature": rng.choice(features), "model": "gpt-4o-mini",
                    "prompt_tokens": prompt, "completion_tokens": completion,
                    "tokens_used": prompt + completion, "cost": None, "success": ok,
                    "response_time_ms": rng.randint(80, 4000),
                    "error_class": None if ok else "unavailable", "error_message": None,
                    "created_at": now - timedelta(seconds=rng.randint(0, 90 * 86400)),
                })
            conn.execute(usage_table.insert(), batch)
            inserted += len(batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temp SQLite file)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="usage rows to insert first")
    parser.add_argument("--calls", type=int, default=500, help="timed calls of each kind")
    args = parser.parse_args()

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import AiConnection, AiConnectionUsage, AiProvider
    from webapp.services.execution import execute

    with simulator_process() as sim_url, bench_database(args.database_url) as (uri, folder):
        app = create_app(app_config(uri, folder))
        with app.app_context():
            db.create_all()
            backend = db.engine.dialect.name
            provider = AiProvider(slug="bench", name="Bench", adapter_kind="openai")
            db.session.add(provider)
            db.session.flush()
            api_key = f"sk-sim-ok-{uuid.uuid4().hex}"
            connection = AiConnection(provider=provider, name="primary", settings={
                "model": "gpt-4o-mini", "base_url": f"{sim_url}/openai/v1"},
                rate_limit_per_minute=1_000_000, rate_limit_per_day=10_000_000)
            connection.set_credentials({"api_key": api_key})
            spare = AiConnection(provider=provider, name="spare", priority=200, settings={
                "model": "gpt-4o-mini", "base_url": f"{sim_url}/openai/v1"})
            spare.set_credentials({"api_key": api_key})
            # The same call on a connection without limits (no admission transaction at all).
            free_provider = AiProvider(slug="bench-unlimited", name="Bench (no limits)",
                                       adapter_kind="openai")
            free = AiConnection(provider=free_provider, name="unlimited", settings={
                "model": "gpt-4o-mini", "base_url": f"{sim_url}/openai/v1"})
            free.set_credentials({"api_key": api_key})
            db.session.add_all([connection, spare, free_provider, free])
            db.session.commit()
            ids = [connection.id, spare.id]
            print(f"backend: {backend}; inserting {args.rows:,} usage rows…", flush=True)
            seconds = insert_usage_rows(db, AiConnectionUsage.__table__, ids, provider.id,
                                        args.rows)
            print(f"inserted in {seconds:.1f} s", flush=True)

            session = requests.Session()
            url = f"{sim_url}/openai/v1/chat/completions"
            headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}

            def plain() -> float:
                started = time.perf_counter()
                response = session.post(url, json=body, headers=headers, timeout=10)
                response.raise_for_status()
                response.json()
                return time.perf_counter() - started

            def through_execute() -> float:
                started = time.perf_counter()
                execute("hello", provider="bench", feature="bench")
                return time.perf_counter() - started

            def through_execute_unlimited() -> float:
                started = time.perf_counter()
                execute("hello", provider="bench-unlimited", feature="bench")
                return time.perf_counter() - started

            for _ in range(30):  # warm up connections, caches and compiled statements
                plain()
                through_execute()
                through_execute_unlimited()
            direct, executed, unlimited = [], [], []
            block = 25
            for start in range(0, args.calls, block):  # interleave, so drift hits all alike
                count = min(block, args.calls - start)
                direct += [plain() for _ in range(count)]
                executed += [through_execute() for _ in range(count)]
                unlimited += [through_execute_unlimited() for _ in range(count)]

        def ms(value: float) -> str:
            return f"{value * 1000:7.2f} ms"

        d_med, e_med = statistics.median(direct), statistics.median(executed)
        d_p95, e_p95 = percentile(direct, 0.95), percentile(executed, 0.95)
        print(f"\n{backend}, {args.rows:,} usage rows, {args.calls} sequential calls each")
        print(f"  requests.Session().post   median {ms(d_med)}   p95 {ms(d_p95)}")
        u_med, u_p95 = statistics.median(unlimited), percentile(unlimited, 0.95)
        print(f"  execute(), limited        median {ms(e_med)}   p95 {ms(e_p95)}")
        print(f"  ratio                     median {e_med / d_med:6.2f}×     p95 {e_p95 / d_p95:6.2f}×"
              f"   (target ≤ 1.5×)")
        print(f"  execute() overhead        median {ms(e_med - d_med)}")
        print(f"  execute(), no limits      median {ms(u_med)}   p95 {ms(u_p95)}")
        print(f"  ratio                     median {u_med / d_med:6.2f}×     p95 {u_p95 / d_p95:6.2f}×"
              f"   (target ≤ 1.5×)")
        print(f"  execute() overhead        median {ms(u_med - d_med)}")


if __name__ == "__main__":
    main()
