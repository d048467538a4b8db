"""Friendly error pages (HTML for people, JSON for API clients)."""

from flask import render_template, request
from flask_wtf.csrf import CSRFError

from .extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "You do not have access to this page."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "The request body is larger than this server accepts."),
    429: ("Too many requests", "Too many attempts. Wait a minute and try again."),
    500: ("Server error", "Something went wrong on our side. It has been logged."),
}


def _wants_json() -> bool:
    return request.path.startswith("/v1/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, ("Error", "The request failed."))
    if _wants_json():
        # OpenAI's error shape (message, type, param, code), which /v1/ clients parse.
        error_type = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": detail or message, "type": error_type, "param": None,
                          "code": status}}, status
    template = "errors/_fragment.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, title=title,
                           message=detail or message), status


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, "This form has expired or did not come from this site. "
                 "Reload the page and try again.")

    @app.errorhandler(429)
    def too_many_requests(error):
        if request.endpoint == "auth.login":
            from .admin.auth.views import too_many_attempts

            return too_many_attempts()
        return render_error(429, getattr(error, "description", None))

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda error, status=status: render_error(
            status, getattr(error, "description", None) if status == 400 else None))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_error(500)
