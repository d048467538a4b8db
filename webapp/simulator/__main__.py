"""python -m webapp.simulator --host 127.0.0.1 --port 8900"""

from __future__ import annotations

import argparse

from webapp.simulator.scenarios import SCENARIOS
from webapp.simulator.server import GEMINI_PREFIX, OPENAI_PREFIX, OPENROUTER_PREFIX, make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port)
    base = f"http://{args.host}:{server.server_address[1]}"
    print(f"Provider simulator listening on {base}", flush=True)
    print(f"  OpenAI:     {base}{OPENAI_PREFIX}", flush=True)
    print(f"  Gemini:     {base}{GEMINI_PREFIX}", flush=True)
    print(f"  OpenRouter: {base}{OPENROUTER_PREFIX}", flush=True)
    print(f"  Scenarios (put one in the API key, e.g. sk-sim-rate-limited): {', '.join(SCENARIOS)}", flush=True)
    print("  Control: POST /_sim/program, POST /_sim/reset, GET /_sim/requests, GET /_sim/stats", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
