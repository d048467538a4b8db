"""The dashboard: one card per provider and the latest errors."""

from flask import render_template

from ...services import dashboard as dashboard_service
from .. import admin_blueprint

bp = admin_blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """Providers at a glance, and the last errors across all connections."""
    return render_template("dashboard/index.html", **dashboard_service.overview())
