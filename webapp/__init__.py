"""AI connection manager: the application factory."""

import logging
import os
from pathlib import Path

from flask import Flask

from .config import BASE_SETTINGS, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, CLI commands and error pages."""
    config = dict(config or {})
    instance_path = (
        config.pop("INSTANCE_PATH", None)
        or os.environ.get("INSTANCE_PATH")
        or str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _configure_logging(app)
    app.config.update(BASE_SETTINGS)
    app.config.update(load_config(app.instance_path, app.logger))
    app.config.update(config)

    from . import crypto, security, templating
    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    crypto.init_app(app)
    security.init_app(app)
    templating.init_app(app)

    from . import models  # noqa: F401  (registers the tables)

    _register_blueprints(app)

    from . import cli, errors

    errors.init_app(app)
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .admin import register_admin_blueprints
    from .gateway import bp as gateway_bp
    from .health import bp as health_bp

    app.register_blueprint(health_bp)
    register_admin_blueprints(app)
    app.register_blueprint(gateway_bp)


def _configure_logging(app: Flask) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    app.logger.setLevel(getattr(logging, level, logging.INFO))
