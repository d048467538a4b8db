"""Gunicorn settings for production: gunicorn -c gunicorn.conf.py wsgi:app

Every value can be overridden from the environment:
  GUNICORN_BIND       address to listen on (default 127.0.0.1:8000; HOST/PORT are used too)
  GUNICORN_WORKERS    processes (default 2 × CPU cores + 1)
  GUNICORN_THREADS    threads per process (default 4); workers × threads = requests served at
                      once, and an open gateway stream holds one thread for its whole length
  GUNICORN_TIMEOUT    seconds a worker may stay silent before it is restarted (default 180;
                      at least 120 so long provider calls and streams are not cut off)
  GUNICORN_KEEPALIVE  seconds an idle keep-alive connection is kept open (default 5)
  GUNICORN_ACCESS_LOG "-" for stdout, a file path, or empty for none (default none)
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
# Threads, not only processes: provider calls wait on the network most of the time.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = max(120, _int("GUNICORN_TIMEOUT", 180))
graceful_timeout = 30
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so slow leaks cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 10
# Each worker opens its own database connections after the fork.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Proxies in front (nginx) should not buffer streams; the gateway also sends X-Accel-Buffering.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
