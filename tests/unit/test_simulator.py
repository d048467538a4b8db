"""The provider simulator itself: control endpoints, selection rules, wire shapes, speed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests

from webapp.simulator import SCENARIOS, fingerprint
from webapp.simulator.scenarios import scenario_from_key
from webapp.simulator.server import REQUEST_LOG_SIZE, SimulatorState

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}


def post_chat(simulator, key, *, headers=None, body=None):
    return requests.post(f"{simulator.openai_url}/chat/completions", json=body or CHAT, timeout=5,
                         headers={"Authorization": f"Bearer {key}", **(headers or {})})


@pytest.mark.parametrize(("key", "scenario"), [
    ("sk-sim-ok", "ok"),
    ("sk-sim-anything", "ok"),
    ("sk-sim-rate-limited", "rate-limited"),
    ("sk-sim-rate-limited-reset", "rate-limited-reset"),
    ("AIza-sim-daily-quota-123", "daily-quota"),
    ("sk-or-v1-sim-error-in-200", "error-in-200"),
    ("sk-sim-server-error", "server-error"),
    ("", "no-key"),
    (None, "no-key"),
])
def test_scenario_from_key(key, scenario):
    assert scenario_from_key(key) == scenario


def test_every_scenario_name_selects_itself():
    for name in SCENARIOS:
        if name not in ("ok", "no-key"):
            assert scenario_from_key(f"sk-sim-{name}") == name


def test_control_endpoints_program_requests_stats_reset(simulator):
    key = f"sk-sim-{uuid.uuid4().hex}"
    r = requests.post(f"{simulator.url}/_sim/program", json={"key": key, "responses": ["server-error", "ok"]},
                      timeout=5)
    assert r.json() == {"ok": True, "queued": 2}
    assert post_chat(simulator, key).status_code == 500
    assert post_chat(simulator, key).status_code == 200
    assert post_chat(simulator, key).status_code == 200  # back to the key's default
    log = requests.get(f"{simulator.url}/_sim/requests", timeout=5).json()["requests"]
    mine = [e for e in log if e["key_fingerprint"] == fingerprint(key)]
    assert [e["scenario"] for e in mine] == ["server-error", "ok", "ok"]
    assert mine[0]["json"] == CHAT
    assert key not in json.dumps(log)  # the log shows a fingerprint, never the key
    stats = requests.get(f"{simulator.url}/_sim/stats", timeout=5).json()
    assert stats["by_key"][fingerprint(key)] == 3
    assert requests.post(f"{simulator.url}/_sim/reset", timeout=5).json() == {"ok": True}
    stats = requests.get(f"{simulator.url}/_sim/stats", timeout=5).json()
    assert stats["requests"] == 0 and stats["by_key"] == {}


def test_program_accepts_delays_and_header_overrides(simulator):
    key = f"sk-sim-{uuid.uuid4().hex}"
    simulator.program(key, [{"scenario": "ok", "delay_ms": 200}])
    started = time.perf_counter()
    assert post_chat(simulator, key).status_code == 200
    assert time.perf_counter() - started >= 0.2
    assert post_chat(simulator, key, headers={"X-Sim-Scenario": "overloaded"}).status_code == 503
    started = time.perf_counter()
    post_chat(simulator, key, headers={"X-Sim-Delay-Ms": "150"})
    assert time.perf_counter() - started >= 0.15


def test_program_requires_key_and_list(simulator):
    r = requests.post(f"{simulator.url}/_sim/program", json={"responses": "ok"}, timeout=5)
    assert r.status_code == 400


def test_request_log_is_bounded():
    state = SimulatorState()
    for i in range(REQUEST_LOG_SIZE + 50):
        state.record({"key_fingerprint": "fp", "scenario": "ok", "n": i})
    assert len(state.log) == REQUEST_LOG_SIZE
    assert state.log[0]["n"] == 50 and state.stats()["requests"] == REQUEST_LOG_SIZE + 50


def test_gemini_query_key_is_recorded_but_masked(simulator):
    key = f"AIza-sim-{uuid.uuid4().hex}"
    r = requests.get(f"{simulator.gemini_url}/models", params={"key": key, "pageSize": 2}, timeout=5)
    assert r.status_code == 200 and len(r.json()["models"]) == 2 and r.json()["nextPageToken"] == "2"
    entry = [e for e in simulator.requests() if e["key_fingerprint"] == fingerprint(key)][-1]
    assert entry["key_in_query"] is True
    assert key not in json.dumps(entry)


def test_responses_have_content_length_and_keep_alive(simulator):
    with requests.Session() as session:
        before = simulator.stats()["connections"]
        for _ in range(3):
            r = session.post(f"{simulator.openai_url}/chat/completions", json=CHAT,
                             headers={"Authorization": "Bearer sk-sim-ok"}, timeout=5)
            assert int(r.headers["Content-Length"]) == len(r.content)
        assert simulator.stats()["connections"] - before == 1


def test_stream_is_chunked_sse_with_done(simulator):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    r = post_chat(simulator, "sk-sim-ok", body=body)
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert r.headers["Transfer-Encoding"] == "chunked"
    lines = [line for line in r.text.split("\n") if line]
    assert lines[-1] == "data: [DONE]"
    usage = json.loads(lines[-2][len("data: "):])
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3


def test_openrouter_stream_has_keepalive_comments(simulator):
    r = requests.post(f"{simulator.openrouter_url}/chat/completions", json={**CHAT, "stream": True},
                      headers={"Authorization": "Bearer sk-or-v1-sim-ok"}, timeout=5)
    assert r.text.startswith(": OPENROUTER PROCESSING\n\n")


def test_drop_closes_without_answer(simulator):
    with pytest.raises(requests.ConnectionError):
        post_chat(simulator, "sk-sim-drop")


def test_unknown_model_word_gives_404(simulator):
    r = post_chat(simulator, "sk-sim-ok", body={**CHAT, "model": "gpt-nonexistent"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_answers_quickly_over_keep_alive(simulator):
    n = 300
    with requests.Session() as session:
        started = time.perf_counter()
        for _ in range(n):
            session.post(f"{simulator.openai_url}/chat/completions", json=CHAT,
                         headers={"Authorization": "Bearer sk-sim-ok"}, timeout=5)
        elapsed = time.perf_counter() - started
    # The client (requests) is the slower side; the simulator must not be the bottleneck.
    assert n / elapsed > 300, f"{n / elapsed:.0f} requests/s"


def test_command_line_prints_base_urls():
    proc = subprocess.Popen([sys.executable, "-m", "webapp.simulator", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        base = lines[0].rsplit(" ", 1)[1].strip()
        assert lines[1].strip().endswith(base + "/openai/v1")
        assert lines[2].strip().endswith(base + "/gemini/v1beta")
        assert lines[3].strip().endswith(base + "/openrouter/api/v1")
        assert requests.get(base + "/_sim/health", timeout=5).json() == {"ok": True}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
