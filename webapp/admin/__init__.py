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
    from .analytics.views import bp as analytics_bp
    from .app_keys.views import bp as app_keys_bp
    from .auth.views import bp as auth_bp
    from .connections.views import bp as connections_bp
    from .dashboard.views import bp as dashboard_bp
    from .providers.views import bp as providers_bp

    for bp in (auth_bp, dashboard_bp, providers_bp, connections_bp, analytics_bp, app_keys_bp):
        app.register_blueprint(bp)
