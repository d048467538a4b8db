"""A fast, deterministic stand-in for OpenAI, Gemini and OpenRouter on one HTTP server.

Paths: OpenAI at /openai/v1, Gemini at /gemini/v1beta, OpenRouter at /openrouter/api/v1.
Control: POST /_sim/program, POST /_sim/reset, GET /_sim/requests, GET /_sim/stats.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from webapp.simulator import scenarios as sc
from webapp.simulator.scenarios import Reply

REQUEST_LOG_SIZE = 1000
OPENAI_PREFIX = "/openai/v1"
GEMINI_PREFIX = "/gemini/v1beta"
OPENROUTER_PREFIX = "/openrouter/api/v1"


def fingerprint(key: str | None) -> str | None:
    """How the request log names an API key (never the key itself)."""
    if not key:
        return None
    return "fp:" + hashlib.sha256(key.encode()).hexdigest()[:12]


class SimulatorState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.programs: dict[str, deque] = {}
        self.log: deque[dict] = deque(maxlen=REQUEST_LOG_SIZE)
        self.by_key: Counter[str] = Counter()
        self.by_scenario: Counter[str] = Counter()
        self.requests = 0
        self.connections = 0
        self.ids = itertools.count(1)

    def program(self, key: str, responses: list) -> None:
        with self.lock:
            self.programs.setdefault(key, deque()).extend(responses)

    def next_programmed(self, key: str | None) -> Any:
        if not key:
            return None
        with self.lock:
            queue = self.programs.get(key)
            if queue:
                return queue.popleft()
        return None

    def reset(self) -> None:
        with self.lock:
            self.programs.clear()
            self.log.clear()
            self.by_key.clear()
            self.by_scenario.clear()
            self.requests = 0
            self.connections = 0

    def record(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)
            self.requests += 1
            self.by_key[entry.get("key_fingerprint") or "-"] += 1
            self.by_scenario[entry.get("scenario") or "-"] += 1

    def stats(self) -> dict:
        with self.lock:
            return {"requests": self.requests, "connections": self.connections,
                    "by_key": dict(self.by_key), "by_scenario": dict(self.by_scenario),
                    "programmed": {fingerprint(k): len(v) for k, v in self.programs.items() if v}}


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int]) -> None:
        self.state = SimulatorState()
        super().__init__(address, SimulatorHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up are part of the tests; no tracebacks for them.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)

    def get_request(self):  # noqa: ANN201 - socketserver signature
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.state.lock:
            self.state.connections += 1
        return sock, addr


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ProviderSimulator/1.0"
    sys_version = ""
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing ------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                f"Server: {self.server_version}", f"Date: {formatdate(usegmt=True)}"]
        for name, value in reply.headers.items():
            head.append(f"{name}: {value}")
        if reply.events is not None:
            head += ["Content-Type: text/event-stream; charset=utf-8", "Cache-Control: no-cache",
                     "Transfer-Encoding: chunked"]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            for event in reply.events:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = reply.body
        if isinstance(body, (dict, list)):
            payload = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = body or b""
        head += [f"Content-Type: {reply.content_type}", f"Content-Length: {len(payload)}"]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def _api_key(self, query: dict) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return self.headers.get("x-goog-api-key") or (query.get("key") or [None])[0]

    def _record(self, method: str, path: str, query: dict, key: str | None, body: Any, scenario: str,
                provider: str) -> None:
        fp = fingerprint(key)
        headers = {}
        for name, value in self.headers.items():
            if key and key in value:
                value = value.replace(key, fp or "")
            headers[name] = value
        safe_query = {k: ([fp] if k == "key" else v) for k, v in query.items()}
        self.server.state.record({
            "time": time.time(), "method": method, "path": path, "query": safe_query,
            "key_in_query": "key" in query, "headers": headers, "json": body,
            "key_fingerprint": fp, "scenario": scenario, "provider": provider,
        })

    # -- routing -------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        raw = self._read_body() if method == "POST" else b""
        try:
            if path.startswith("/_sim/"):
                self._send(self._control(method, path, raw))
                return
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(Reply(400, {"error": {"message": "Body is not JSON", "type": "invalid_request_error",
                                                      "param": None, "code": None}}))
                    return
            self._send(self._provider(method, path, query, body))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _control(self, method: str, path: str, raw: bytes) -> Reply:
        state = self.server.state
        if path == "/_sim/program" and method == "POST":
            data = json.loads(raw or b"{}")
            if not data.get("key") or not isinstance(data.get("responses"), list):
                return Reply(400, {"error": "need {key, responses: [...]}"})
            state.program(data["key"], data["responses"])
            return Reply(200, {"ok": True, "queued": len(data["responses"])})
        if path == "/_sim/reset" and method == "POST":
            state.reset()
            return Reply(200, {"ok": True})
        if path == "/_sim/requests" and method == "GET":
            with state.lock:
                return Reply(200, {"requests": list(state.log)})
        if path == "/_sim/stats" and method == "GET":
            return Reply(200, state.stats())
        if path == "/_sim/health":
            return Reply(200, {"ok": True})
        return Reply(404, {"error": f"no control endpoint {method} {path}"})

    def _choose(self, key: str | None, model: str) -> tuple[str, float]:
        """(scenario, extra delay in seconds) for this request."""
        delay_ms = self.headers.get("X-Sim-Delay-Ms")
        delay = float(delay_ms) / 1000.0 if delay_ms else 0.0
        scenario = self.headers.get("X-Sim-Scenario")
        programmed = self.server.state.next_programmed(key)
        if not scenario and programmed is not None:
            if isinstance(programmed, dict):
                scenario = programmed.get("scenario", sc.OK)
                delay += float(programmed.get("delay_ms", 0)) / 1000.0
            else:
                scenario = str(programmed)
        if not scenario:
            scenario = sc.scenario_from_key(key)
            if scenario == sc.OK and "nonexistent" in model:
                scenario = "model-missing"
        if scenario == "slow" and not delay_ms:
            delay = sc.SLOW_SECONDS
        return scenario, delay

    def _provider(self, method: str, path: str, query: dict, body: Any) -> Reply:
        key = self._api_key(query)
        body = body if isinstance(body, dict) else {}
        if path.startswith(OPENROUTER_PREFIX):
            provider, rest = "openrouter", path[len(OPENROUTER_PREFIX):]
        elif path.startswith(OPENAI_PREFIX):
            provider, rest = "openai", path[len(OPENAI_PREFIX):]
        elif path.startswith(GEMINI_PREFIX):
            provider, rest = "gemini", path[len(GEMINI_PREFIX):]
        else:
            return Reply(404, {"error": {"message": f"Unknown path {path}", "type": "invalid_request_error",
                                         "param": None, "code": "unknown_url"}})
        model = str(body.get("model") or "")
        if provider == "gemini" and ":" in rest:
            model = rest.split("/models/", 1)[-1].split(":", 1)[0]
        scenario, delay = self._choose(key, model)
        self._record(method, path, query, key, body or None, scenario, provider)
        if delay:
            time.sleep(delay)
        if scenario == "drop":
            return Reply(drop=True)
        request_id = f"sim{next(self.server.state.ids):08d}"
        if provider == "gemini":
            return self._gemini(method, rest, query, body, key or "", model, scenario, request_id)
        return self._openai(method, rest, body, key or "", model, scenario, request_id,
                            router=provider == "openrouter")

    def _openai(self, method: str, rest: str, body: dict, key: str, model: str, scenario: str,
                request_id: str, *, router: bool) -> Reply:
        if router and rest in ("/key", "/auth/key") and method == "GET":
            if scenario == "legacy-key-endpoint" and rest == "/key":
                return sc.openrouter_error(404, "Not Found")
            failure = sc.openai_failure(scenario, key, model, router=True) if scenario in (
                "no-key", "bad-key", "forbidden", "server-error", "overloaded", "garbage") else None
            return failure or Reply(200, sc.openrouter_key_info(key, scenario))
        if rest == "/models" and method == "GET":
            failure = sc.openai_failure(scenario, key, model, router=router) if scenario in (
                "no-key", "bad-key", "forbidden", "server-error", "overloaded", "garbage",
                "rate-limited") else None
            return failure or Reply(200, sc.openrouter_models() if router else sc.openai_models())
        if rest == "/chat/completions" and method == "POST":
            if not model or not body.get("messages"):
                return sc.openai_error(400, "you must provide a model parameter" if not model else
                                       "'messages' is a required property", "invalid_request_error")
            if not router and "max_tokens" in body and model.startswith(("o1", "o3", "o4", "gpt-5")):
                return sc.openai_error(400, "Unsupported parameter: 'max_tokens' is not supported with this "
                                       "model. Use 'max_completion_tokens' instead.", "invalid_request_error",
                                       "unsupported_parameter", "max_tokens")
            failure = sc.openai_failure(scenario, key, model, router=router)
            if failure is not None and not (body.get("stream") and scenario == "error-in-200" and router):
                return failure
            return sc.openai_completion(body, scenario, router=router, request_id=request_id)
        return Reply(404, {"error": {"message": f"Invalid URL ({method} {rest})", "type": "invalid_request_error",
                                     "param": None, "code": None}})

    def _gemini(self, method: str, rest: str, query: dict, body: dict, key: str, model: str, scenario: str,
                request_id: str) -> Reply:
        if rest == "/models" and method == "GET":
            failure = sc.gemini_failure(scenario, key, model) if scenario in (
                "no-key", "bad-key", "forbidden", "server-error", "overloaded", "garbage",
                "rate-limited") else None
            size = (query.get("pageSize") or [None])[0]
            token = (query.get("pageToken") or [None])[0]
            return failure or Reply(200, sc.gemini_models_page(int(size) if size and size.isdigit() else None,
                                                               token))
        if rest.startswith("/models/") and method == "POST" and ":" in rest:
            action = rest.rsplit(":", 1)[1]
            if action not in ("generateContent", "streamGenerateContent"):
                return sc.gemini_error(404, "NOT_FOUND", f"Method {action} not found.")
            stream = action == "streamGenerateContent"
            if not body.get("contents"):
                return sc.gemini_error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is "
                                       "not specified")
            failure = sc.gemini_failure(scenario, key, model)
            if failure is not None:
                return failure
            reply = sc.gemini_completion(body, model, scenario, stream=stream, request_id=request_id)
            if stream and (query.get("alt") or [""])[0] != "sse":
                # Without alt=sse Gemini streams a JSON array; we only speak SSE.
                return sc.gemini_error(400, "INVALID_ARGUMENT", "The simulator streams only with alt=sse.")
            return reply
        if rest.startswith("/models/") and method == "GET":
            name = rest[len("/models/"):]
            for model_row in sc.GEMINI_MODELS:
                if model_row[0] == name:
                    return Reply(200, sc.gemini_model(*model_row))
            return sc.gemini_error(404, "NOT_FOUND", f"models/{name} is not found for API version v1beta")
        return sc.gemini_error(404, "NOT_FOUND", f"Unknown path {rest}")


@dataclass
class SimulatorHandle:
    url: str
    port: int
    server: SimulatorServer
    thread: threading.Thread

    @property
    def openai_url(self) -> str:
        return self.url + OPENAI_PREFIX

    @property
    def gemini_url(self) -> str:
        return self.url + GEMINI_PREFIX

    @property
    def openrouter_url(self) -> str:
        return self.url + OPENROUTER_PREFIX

    @property
    def state(self) -> SimulatorState:
        return self.server.state

    def program(self, key: str, responses: list) -> None:
        self.server.state.program(key, responses)

    def reset(self) -> None:
        self.server.state.reset()

    def requests(self) -> list[dict]:
        with self.server.state.lock:
            return list(self.server.state.log)

    def stats(self) -> dict:
        return self.server.state.stats()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_server(host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    return SimulatorServer((host, port))


def start_simulator(host: str = "127.0.0.1", port: int = 0) -> SimulatorHandle:
    """Run the simulator in a daemon thread; ``port=0`` picks a free port."""
    server = make_server(host, port)
    actual_port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"provider-simulator:{actual_port}", daemon=True)
    thread.start()
    return SimulatorHandle(url=f"http://{host}:{actual_port}", port=actual_port, server=server, thread=thread)
