"""Analytics speed: page render time at 10k and 1M usage rows, and the streamed CSV export.

    .venv/bin/python bench/analytics.py                       # SQLite (temporary files)
    .venv/bin/python bench/analytics.py --database-url postgresql://postgres@127.0.0.1:5432/test

For each size it builds a fresh database with the demo generator (rows spread over 90 days),
renders /analytics/ for the last 30 days unfiltered and filtered by one connection through the
Flask test client (signed in; median of several runs, after one warm-up that also rolls up),
and prints the times, the SQL statements per page and the ratio largest/smallest (target
<= 3x). Then it exports every row of the largest database through the streaming CSV endpoint
and reports rows per second and the growth of the peak RSS during the export (target < 50 MB),
measured in a fresh process so the figures are not those left by seeding. Wall times depend
on what else the machine runs; the CPU time of the process (which on SQLite includes the
database work) is the steadier figure.
On PostgreSQL each size gets its own schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from _common import bench_database  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

ADMIN_EMAIL, ADMIN_PASSWORD = "bench@example.com", "bench password 123"


def proc_status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def build(uri: str, tmp: Path, rows: int, days: int):
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services.accounts import create_admin
    from webapp.services.demo_data import seed_demo

    app = create_app({
        "INSTANCE_PATH": str(tmp / "instance"), "SECRET_KEY": "bench", "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": uri, "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
        "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
    })
    with app.app_context():
        db.create_all()
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        started = time.perf_counter()
        report = seed_demo(rows=rows, days=days, seed=7)
        seeded = time.perf_counter() - started
        from webapp.models import AiConnection

        connection_id = db.session.scalar(sa.select(AiConnection.id).order_by(AiConnection.id))
        db.session.remove()
    return app, report, seeded, connection_id


class QueryCounter:
    def __init__(self, engine):
        self.count = 0
        self.engine = engine

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def time_page(app, client, path: str, runs: int) -> tuple[float, float, int]:
    """Median wall time and median CPU time of this process (ms), and SQL statements."""
    from webapp.extensions import db

    response = client.get(path)  # warm-up (and the automatic rollup of finished days)
    assert response.status_code == 200, response.status_code
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200
    with app.app_context():
        engine = db.engine
    with QueryCounter(engine) as counter:
        client.get(path)
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, counter.count


def export_all(client, first_day, last_day) -> dict:
    path = f"/analytics/export.csv?preset=custom&from={first_day}&to={last_day}&kind=raw"
    reset_ok = reset_peak_rss()
    rss_before = proc_status("VmRSS")
    hwm_before = proc_status("VmHWM")
    started = time.perf_counter()
    response = client.get(path, buffered=False)
    assert response.status_code == 200, response.status_code
    lines = 0
    size = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        lines += data.count(b"\n")
        size += len(data)
    response.close()
    elapsed = time.perf_counter() - started
    hwm_after = proc_status("VmHWM")
    return {
        "rows": lines - 1, "seconds": elapsed, "rows_per_s": (lines - 1) / elapsed,
        "mb": size / 1e6, "rss_before_mb": rss_before / 1024,
        "peak_growth_mb": (hwm_after - (rss_before if reset_ok else hwm_before)) / 1024,
        "peak_reset": reset_ok,
    }


def export_in_fresh_process(uri: str, instance: Path, first_day: str, last_day: str) -> str:
    """Run the export in a new interpreter, so the RSS figures are not those of seeding."""
    import subprocess

    output = subprocess.run(
        [sys.executable, __file__, "--export-only", uri, "--instance", str(instance),
         "--from", first_day, "--to", last_day],
        check=True, capture_output=True, text=True).stdout
    return output.strip().splitlines()[-1]


def export_only(args) -> None:
    from webapp import create_app

    app = create_app({
        "INSTANCE_PATH": args.instance, "SECRET_KEY": "bench", "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": args.export_only,
        "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
        "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
    })
    client = app.test_client()
    login = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 302, login.status_code
    client.get("/analytics/?preset=7d")  # warm the imports and the connection pool
    figures = export_all(client, args.from_, args.to)
    print(f"CSV export of {figures['rows']:,} rows ({figures['mb']:.0f} MB) in a fresh "
          f"process: {figures['seconds']:.1f}s, {figures['rows_per_s']:,.0f} rows/s; RSS before "
          f"{figures['rss_before_mb']:.0f} MB, peak RSS growth {figures['peak_growth_mb']:.1f} MB "
          f"(target < 50 MB{'' if figures['peak_reset'] else '; peak not resettable'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL server URL (default: SQLite temporary files)")
    parser.add_argument("--sizes", default="10000,1000000",
                        help="usage rows of each database, comma-separated")
    parser.add_argument("--days", type=int, default=90, help="days the rows are spread over")
    parser.add_argument("--runs", type=int, default=7, help="timed renders per page (median)")
    parser.add_argument("--no-export", action="store_true", help="skip the CSV export")
    parser.add_argument("--export-only", metavar="URI", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--from", dest="from_", help=argparse.SUPPRESS)
    parser.add_argument("--to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        export_only(args)
        return
    sizes = [int(part) for part in args.sizes.split(",")]
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"Backend: {backend}; sizes: {sizes}; rows over {args.days} days; page = last 30 days")

    results = {}
    with tempfile.TemporaryDirectory(prefix="acm-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for index, rows in enumerate(sizes):
            last = index == len(sizes) - 1
            with bench_database(args.database_url) as (uri, _folder):
                app, report, seeded, connection_id = build(uri, tmp / str(rows), rows, args.days)
                client = app.test_client()
                login = client.post("/login", data={"email": ADMIN_EMAIL,
                                                    "password": ADMIN_PASSWORD})
                assert login.status_code == 302, login.status_code
                unfiltered, cpu1, q1 = time_page(app, client, "/analytics/?preset=30d", args.runs)
                filtered, cpu2, q2 = time_page(
                    app, client, f"/analytics/?preset=30d&connection={connection_id}", args.runs)
                results[rows] = (unfiltered, filtered, cpu1, cpu2)
                print(f"{rows:>9,} rows: demo seeded in {seeded:5.1f}s "
                      f"({report.rollup_rows:,} rollup rows) | page 30d unfiltered "
                      f"{unfiltered:6.1f} ms wall, {cpu1:6.1f} ms CPU ({q1} queries) | "
                      f"filtered by connection {filtered:6.1f} ms wall, {cpu2:6.1f} ms CPU "
                      f"({q2} queries)")
                if last and not args.no_export:
                    today = time.strftime("%Y-%m-%d", time.gmtime())
                    print(export_in_fresh_process(uri, tmp / str(rows) / "instance",
                                                  report.first_day.isoformat(), today))
                with app.app_context():
                    from webapp.extensions import db

                    db.session.remove()
                    db.engine.dispose()
    small, large = min(sizes), max(sizes)
    if small != large:
        for position, name in enumerate(("unfiltered, wall", "filtered by connection, wall",
                                         "unfiltered, CPU", "filtered by connection, CPU")):
            ratio = results[large][position] / results[small][position]
            verdict = "ok" if ratio <= 3 else "over target"
            print(f"Ratio {large:,}/{small:,} ({name}): {ratio:.2f}x (target <= 3x: {verdict})")


if __name__ == "__main__":
    main()
