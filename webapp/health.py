"""/healthz for load balancers: is the database reachable? No login, no details."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
