"""Gateway speed: the openai client through the gateway (gunicorn) vs straight to the simulator.

    .venv/bin/python bench/gateway.py                          # SQLite in a temporary folder
    .venv/bin/python bench/gateway.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/gateway.py --calls 300 --seconds 20 --clients 8 --workers 3
    .venv/bin/python bench/gateway.py --upstream-latency-ms 200   # a provider that takes 200 ms

Starts the provider simulator and gunicorn (gunicorn.conf.py) as subprocesses, creates a
provider with one connection on the simulator and an app key, then measures in one run:

1. sequential calls, alternating gateway and direct: median and p95 per call, and the ratio
   gateway/direct (target: median ratio <= 2);
2. N concurrent clients for S seconds through the gateway: requests per second and errors
   (target: 0 errors), and the same load straight to the simulator for comparison.

By default the simulator answers at once (about 1 ms), so the figures show the gateway's whole
own cost; --upstream-latency-ms makes every simulated answer (direct and through the gateway)
take that much longer, as a real provider would.

On PostgreSQL the bench works in a schema of its own, dropped at the end. Exit status 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402
import requests  # noqa: E402
from _common import bench_database  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

MESSAGES = [{"role": "user", "content": "How fast is the gateway compared with the provider?"}]
SIM_KEY = "sk-sim-ok-bench-000000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start within {timeout:.0f} s")


def start_simulator(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.simulator", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/_sim/stats", timeout=1).ok,
               "the simulator")
    return process


def prepare(env: dict, simulator_url: str, latency_ms: int) -> str:
    """Tables by the migrations, one provider and connection on the simulator; an app key."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from flask_migrate import upgrade

        from webapp import create_app
        from webapp.extensions import db
        from webapp.models import AiConnection, AiProvider
        from webapp.services.app_keys import create_app_key

        app = create_app()
        with app.app_context():
            upgrade()
            provider = AiProvider(slug="sim", name="Simulated OpenAI", adapter_kind="openai")
            settings = {"model": "gpt-4o-mini", "base_url": simulator_url + "/openai/v1"}
            if latency_ms:
                settings["extra_headers"] = {"X-Sim-Delay-Ms": str(latency_ms)}
            connection = AiConnection(provider=provider, name="sim-1", settings=settings)
            connection.set_credentials({"api_key": SIM_KEY})
            db.session.add_all([provider, connection])
            db.session.commit()
            _, raw = create_app_key("bench")
            db.session.remove()
            db.engine.dispose()
        return raw
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_gunicorn(env: dict, port: int, workers: int | None) -> subprocess.Popen:
    gunicorn_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "warning"}
    if workers:
        gunicorn_env["GUNICORN_WORKERS"] = str(workers)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=gunicorn_env)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok, "gunicorn")
    return process


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def sequential(gateway: openai.OpenAI, direct: openai.OpenAI, calls: int) -> dict:
    timings: dict[str, list[float]] = {"gateway": [], "direct": []}
    overheads: list[int] = []
    for _ in range(10):  # warm-up: connections, worker imports, caches
        gateway.chat.completions.create(model="sim", messages=MESSAGES)
        direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    for _ in range(calls):
        started = time.perf_counter()
        raw = gateway.chat.completions.with_raw_response.create(model="sim", messages=MESSAGES)
        raw.parse()
        timings["gateway"].append((time.perf_counter() - started) * 1000)
        overheads.append(int(raw.headers.get("x-acm-gateway-overhead-ms", "0")))
        started = time.perf_counter()
        direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        timings["direct"].append((time.perf_counter() - started) * 1000)
    return {"timings": timings, "overheads": overheads}


def load(make_client, model: str, clients: int, seconds: float) -> tuple[int, int, list[str]]:
    done, failed, samples = [0] * clients, [0] * clients, []
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        client = make_client()
        while time.monotonic() < stop:
            try:
                client.chat.completions.create(model=model, messages=MESSAGES)
                done[index] += 1
            except openai.APIError as exc:
                failed[index] += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed), samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: SQLite)")
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per side")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--upstream-latency-ms", type=int, default=0,
                        help="extra time the simulator takes per answer (default 0)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="acm-bench-gateway-") as tmp, \
            bench_database(args.database_url) as (database_url, _folder):
        env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": tmp,
               "CREDENTIALS_KEYS": Fernet.generate_key().decode(), "SECRET_KEY": "bench",
               "LOG_LEVEL": "WARNING"}
        sim_port, app_port = free_port(), free_port()
        simulator = start_simulator(sim_port)
        gunicorn = None
        try:
            simulator_url = f"http://127.0.0.1:{sim_port}"
            raw_key = prepare(env, simulator_url, args.upstream_latency_ms)
            gunicorn = start_gunicorn(env, app_port, args.workers)
            gateway_url = f"http://127.0.0.1:{app_port}/v1"

            def gateway_client():
                return openai.OpenAI(base_url=gateway_url, api_key=raw_key, max_retries=0)

            def direct_client():
                headers = ({"X-Sim-Delay-Ms": str(args.upstream_latency_ms)}
                           if args.upstream_latency_ms else None)
                return openai.OpenAI(base_url=simulator_url + "/openai/v1", api_key=SIM_KEY,
                                     max_retries=0, default_headers=headers)

            backend = "PostgreSQL" if args.database_url else "SQLite"
            print(f"Gateway bench: gunicorn ({args.workers or 'default'} workers, gthread) on "
                  f"{backend}; simulator upstream (+{args.upstream_latency_ms} ms); "
                  f"openai {openai.__version__}; {os.cpu_count()} CPU cores")
            seq = sequential(gateway_client(), direct_client(), args.calls)
            figures = {}
            for side in ("direct", "gateway"):
                values = seq["timings"][side]
                figures[side] = (statistics.median(values), percentile(values, 95))
            ratio_median = figures["gateway"][0] / figures["direct"][0]
            ratio_p95 = figures["gateway"][1] / figures["direct"][1]
            print(f"\nSequential, {args.calls} calls each (alternating):")
            print(f"  direct   median {figures['direct'][0]:7.2f} ms   p95 {figures['direct'][1]:7.2f} ms")
            print(f"  gateway  median {figures['gateway'][0]:7.2f} ms   p95 {figures['gateway'][1]:7.2f} ms")
            print(f"  ratio    median {ratio_median:7.2f} x    p95 {ratio_p95:7.2f} x   (target <= 2)")
            print(f"  X-ACM-Gateway-Overhead-Ms: median {statistics.median(seq['overheads'])} ms, "
                  f"p95 {percentile(seq['overheads'], 95)} ms")

            print(f"\nLoad, {args.clients} concurrent clients for {args.seconds:g} s:")
            results = {}
            for side, factory, model in (("direct", direct_client, "gpt-4o-mini"),
                                         ("gateway", gateway_client, "sim")):
                ok, errors, samples = load(factory, model, args.clients, args.seconds)
                results[side] = (ok, errors)
                print(f"  {side:8} {ok / args.seconds:8.1f} requests/s   {ok} ok, {errors} errors")
                for sample in samples:
                    print(f"           e.g. {sample}")
            gateway_errors = results["gateway"][1]
            print(f"  gateway throughput = {results['gateway'][0] / max(1, results['direct'][0]):.2f}"
                  " x direct")

            missed = []
            if ratio_median > 2:
                missed.append(f"median ratio {ratio_median:.2f} > 2")
            if gateway_errors:
                missed.append(f"{gateway_errors} errors under load")
            print("\nResult: " + ("all targets met" if not missed else "MISSED: " + "; ".join(missed)))
            return 1 if missed else 0
        finally:
            for process in (gunicorn, simulator):
                if process is not None:
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
