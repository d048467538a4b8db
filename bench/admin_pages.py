"""Time the connections list and the provider detail page with 10 and with 1,000 connections.

    .venv/bin/python bench/admin_pages.py [--repeat 30]

Prints the median time of each page at both sizes and the ratio (target: at most 2x).
The list pages are paginated and issue a constant number of SQL statements, so their time
should not grow with the number of connections. The provider detail page is measured twice:
for one provider among many (the other providers' connections must not slow it down), and
for a single provider that owns every connection (every row is drawn for drag-to-reorder,
so that page necessarily grows with its own row count; it is reported, not targeted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

EMAIL, PASSWORD = "bench@example.com", "bench password 123"
PER_PROVIDER = 10


def build(folder: Path, connections: int, *, one_provider: bool):
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
        "CREDENTIALS_KEYS": [Fernet.generate_key().decode()], "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    from webapp.models import AiConnection, AiProvider
    from webapp.services.accounts import create_admin

    with app.app_context():
        db.create_all()
        create_admin(EMAIL, PASSWORD)
        per_provider = connections if one_provider else PER_PROVIDER
        providers = []
        for number in range(max(connections // per_provider, 1)):
            provider = AiProvider(slug=f"p{number}", name=f"Provider {number}",
                                  adapter_kind="openai")
            db.session.add(provider)
            providers.append(provider)
        db.session.flush()
        template = AiConnection(name="template", settings={})
        template.set_credentials("sk-bench-000000000000abcd")
        for number in range(connections):
            db.session.add(AiConnection(
                provider_id=providers[number // per_provider].id, name=f"conn-{number:04d}",
                credentials=template.credentials, key_hint=template.key_hint,
                settings={"model": "gpt-4o-mini"}, priority=number % per_provider,
                rate_limit_per_minute=60, rate_limit_per_day=10_000,
                success_count=number % 50, error_count=number % 7,
                last_error_class="unavailable" if number % 7 else None,
                last_error="HTTP 500 from upstream" if number % 7 else None))
        db.session.commit()
        first_provider = providers[0].id
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, "bench login failed"
    return app, client, first_provider


def median_ms(client, url: str, repeat: int) -> float:
    for _ in range(3):  # warm-up: templates compiled, connections opened
        assert client.get(url).status_code == 200, url
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(samples)


def measure(connections: int, repeat: int, *, one_provider: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app, client, provider_id = build(Path(tmp), connections, one_provider=one_provider)
        figures = {
            "connections list": median_ms(client, "/connections/", repeat),
            "connections list, filtered and ordered":
                median_ms(client, "/connections/?q=conn&status=active&order=-success_rate",
                          repeat),
            "provider detail": median_ms(client, f"/providers/{provider_id}", repeat),
        }
        with app.app_context():
            db.engine.dispose()
    return figures


def report(title: str, small: dict, large: dict, targeted: bool) -> bool:
    print(f"\n{title}")
    print(f"  {'page':42} {'10 conns':>10} {'1000 conns':>11} {'ratio':>7}")
    ok = True
    for page in small:
        ratio = large[page] / small[page]
        within = ratio <= 2.0
        ok = ok and (within or not targeted)
        mark = "" if not targeted else ("  ok" if within else "  OVER 2x")
        print(f"  {page:42} {small[page]:8.1f}ms {large[page]:9.1f}ms {ratio:6.2f}x{mark}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    spread_small = measure(10, args.repeat, one_provider=False)
    spread_large = measure(1000, args.repeat, one_provider=False)
    ok = report(f"Connections spread over providers ({PER_PROVIDER} per provider); "
                "median of %d requests" % args.repeat, spread_small, spread_large, True)
    single_small = measure(10, args.repeat, one_provider=True)
    single_large = measure(1000, args.repeat, one_provider=True)
    report("One provider owning every connection (detail draws every row; not targeted)",
           {"provider detail": single_small["provider detail"]},
           {"provider detail": single_large["provider detail"]}, False)
    print("\nresult:", "within the 2x target" if ok else "OVER the 2x target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
