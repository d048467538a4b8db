"""The one entry point: flask --app wsgi …, gunicorn wsgi:app."""

import sys

from webapp import create_app
from webapp.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"Error: {exc}\n")
    raise SystemExit(2) from None
