"""Blueprints for people: every page except login requires a signed-in administrator."""

from flask import Blueprint
from flask_login import login_required


def admin_blueprint(name: str, import_name: str, url_prefix: str | None = None) -> Blueprint:
    """A blueprint whose every view requires login (so no view can forget it)."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)

    @bp.before_request
    @login_required
    def require_login():
        return None

    return bp


def register_admin_blueprints(app) -> None:
    from .auth.views import bp as auth_bp
    from .dashboard.views import bp as dashboard_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    for module in ("providers", "connections", "analytics", "app_keys"):
        try:
            package = __import__(f"{__name__}.{module}.views", fromlist=["bp"])
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"{__name__}.{module}"):
                continue
            raise
        app.register_blueprint(package.bp)
