"""Usage analytics: the filtered dashboard (full page or HTMX fragment) and the CSV export."""

from flask import (
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from ...services import analytics, usage_export
from ...services.analytics_filters import default_filters, parse_filters
from ...services.errors import InvalidInput
from .. import admin_blueprint
from .forms import FilterForm

bp = admin_blueprint("analytics", __name__, url_prefix="/analytics")


def _timezone_name() -> str:
    default = current_app.config.get("DEFAULT_TIMEZONE", "UTC")
    zone = analytics.resolve_timezone(getattr(current_user, "timezone", None), default)
    return str(zone.key)


def _wants_fragment() -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request")


@bp.get("/")
def index():
    """Spend, volume, errors and latency for the filtered range."""
    form = FilterForm(request.args)
    timezone = _timezone_name()
    report, error, status = None, None, 200
    try:
        filters = parse_filters(request.args)
    except InvalidInput as exc:
        filters, error, status = default_filters(), exc, 400
        form.apply_errors(exc.field_errors)
    else:
        report = analytics.build_report(filters, timezone)
    context = {
        "form": form, "report": report, "error": error, "filters": filters,
        "timezone": timezone, "query_args": filters.query_args() if report else {},
    }
    if _wants_fragment():
        response = Response(render_template("analytics/_results.html", **context), status)
        # The address bar follows the filters, so the view can be bookmarked and shared.
        response.headers["HX-Push-Url"] = request.full_path.rstrip("?")
    else:
        context["choices"] = analytics.filter_choices()
        response = Response(render_template("analytics/index.html", **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/export.csv")
def export_csv():
    """Exactly what the filters select, as CSV (raw attempts or a breakdown table), streamed."""
    try:
        filters = parse_filters(request.args)
        kind = usage_export.check_kind(request.args.get("kind"))
    except InvalidInput as exc:
        return Response(exc.message + "\n", 400, mimetype="text/plain")
    chunks = usage_export.csv_chunks(filters, kind, _timezone_name())
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{usage_export.filename(filters, kind)}"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def analytics_url(endpoint: str = "analytics.index", **args) -> str:
    """A URL of the analytics pages with the given query arguments (empty ones dropped)."""
    return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})
