"""Connection pages: list, create, edit, detail, delete, and the HTMX actions."""

from flask import abort, flash, render_template, request, url_for

from ...services import catalog, connection_views, statistics, testing
from ...services import connection_admin as connection_service
from ...services.errors import InvalidInput, ServiceError
from .. import admin_blueprint
from .forms import ActionForm, ConnectionFilterForm, ConnectionForm
from .responses import (
    apply_field_errors,
    fragment_with_flash,
    is_htmx,
    redirect_with_flash,
    safe_next,
)
from .views_support import render_service_error

bp = admin_blueprint("connections", __name__, url_prefix="/connections")
bp.register_error_handler(ServiceError, render_service_error)

PER_PAGE = 25
STAT_PERIODS = (1, 7, 30)


@bp.get("/")
def index():
    """Search, filter, order and page through every connection."""
    filters = ConnectionFilterForm(request.args, providers=connection_views.provider_names())
    if not filters.validate():
        abort(400, " ".join(e for errors in filters.errors.values() for e in errors))
    page = connection_service.list_connections(
        search=filters.q.data, provider_id=_int_or_none(filters.provider.data),
        status=filters.status.data or None, health=filters.health.data or None,
        order=filters.order.data or "priority", page=request.args.get("page", 1),
        per_page=PER_PAGE)
    context = {"page": page, "filters": filters, "action_form": ActionForm(),
               "query_args": {k: v for k, v in request.args.items() if k != "page" and v}}
    if is_htmx() and request.headers.get("HX-Target") == "connection-results":
        return render_template("connections/_table.html", **context)
    return render_template("connections/index.html", **context)


def _int_or_none(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        abort(400, f"Provider filter {value!r} is not a provider id.")


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add a connection (the API key is write-only)."""
    providers = connection_views.all_providers()
    if not providers:
        return redirect_with_flash(url_for("providers.create"),
                                   "Add a provider first: every connection belongs to one.",
                                   "info")
    form = ConnectionForm(providers=providers)
    if request.method == "GET" and request.args.get("provider_id", "").isdigit():
        form.provider_id.data = int(request.args["provider_id"])
    return _save(form, None)


@bp.route("/<int:connection_id>/edit", methods=["GET", "POST"])
def edit(connection_id):
    """Change a connection; leave the API key empty to keep the stored one."""
    connection = connection_service.get_connection(connection_id)
    form = ConnectionForm(providers=connection_views.all_providers())
    if request.method == "GET":
        form.fill_from(connection)
    form.provider_id.data = connection.provider_id  # a connection stays with its provider
    return _save(form, connection)


def _save(form, connection):
    """Validate, check the model against the provider's list, save or show inline errors."""
    errors, model_options = [], None
    if request.method == "POST" and request.form.get("fetch_models"):
        # Without JavaScript the "Fetch models" button submits the whole form: list the
        # models and show the form again, saving nothing.
        model_options = _fetch_model_options(form.provider_id.data, connection, form)
    elif form.validate_on_submit():
        known = catalog.known_models(form.provider_id.data)
        model = (form.model.data or "").strip()
        if model and known and model not in known:
            form.model.errors.append(
                f"The provider does not list the model {model!r}; use “Fetch models” to pick one.")
        else:
            saved = _store(form, connection, errors)
            if saved is not None:
                if model and not known:
                    flash("The provider's model list is not known yet, so the model name was "
                          "not checked; use “Fetch models” or Test to verify it.", "warning")
                verb = "created" if connection is None else "saved"
                return redirect_with_flash(
                    url_for("connections.detail", connection_id=saved.id),
                    f"Connection “{saved.name}” was {verb}.")
    invalid = request.method == "POST" and not request.form.get("fetch_models")
    status = 400 if invalid else 200
    return render_template("connections/form.html", form=form, connection=connection,
                           errors=errors, model_options=model_options), status


def _store(form, connection, errors):
    try:
        if connection is None:
            return connection_service.create_connection(form.provider_id.data,
                                                        form.service_data())
        return connection_service.update_connection(connection.id,
                                                    form.service_data(connection.settings))
    except InvalidInput as exc:
        errors.extend(apply_field_errors(form, exc))
        return None


def _fetch_model_options(provider_id, connection, form) -> dict:
    """Models the provider lists for the key/URL typed in the form (or the stored ones)."""
    try:
        models = catalog.fetch_models(
            provider_id, connection_id=connection.id if connection else None,
            api_key=(form.api_key.data or "").strip() or None,
            base_url=(form.base_url.data or "").strip() or None)
    except ServiceError as exc:
        return {"models": [], "error": exc.message}
    return {"models": models, "error": None}


@bp.post("/fetch-models")
def fetch_models():
    """The model pick-list for the connection form (HTMX fragment)."""
    form = ConnectionForm(providers=connection_views.all_providers())
    connection_id = request.form.get("connection_id", type=int)
    connection = connection_service.get_connection(connection_id) if connection_id else None
    provider_id = request.form.get("provider_id", type=int)
    if provider_id is None:
        raise InvalidInput("Choose a provider first.")
    options = _fetch_model_options(provider_id, connection, form)
    return render_template("connections/_model_options.html", model_options=options,
                           current=(form.model.data or "").strip())


@bp.get("/<int:connection_id>")
def detail(connection_id):
    """Health, rotation state, usage statistics, the last attempts and the last test."""
    connection = connection_service.get_connection(connection_id)
    return render_template(
        "connections/detail.html", connection=connection,
        state=statistics.rotation_states([connection]).get(connection.id),
        periods=[(days, statistics.get_usage_statistics(connection.id, days))
                 for days in STAT_PERIODS],
        attempts=connection_views.recent_attempts(connection.id),
        action_form=ActionForm())


@bp.route("/<int:connection_id>/delete", methods=["GET", "POST"])
def delete(connection_id):
    """Ask first, then delete; usage history is kept."""
    connection = connection_service.get_connection(connection_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        name, provider_id = connection.name, connection.provider_id
        connection_service.delete_connection(connection_id)
        default = url_for("connections.index")
        target = safe_next(default)
        if target.startswith(url_for("connections.detail", connection_id=connection_id)):
            target = url_for("providers.detail", provider_id=provider_id)
        return redirect_with_flash(target, f"Connection “{name}” was deleted; its usage "
                                           "history is kept.")
    return render_template("connections/delete.html", connection=connection, form=form)


@bp.post("/<int:connection_id>/toggle")
def toggle(connection_id):
    """Switch between active and inactive; re-enabling clears cooldowns and the disable reason."""
    connection = connection_service.toggle_connection(connection_id)
    message = f"Connection “{connection.name}” is now {connection.status}."
    if is_htmx():
        state = None
        if request.form.get("context") in ("provider", "detail"):
            state = statistics.rotation_states([connection]).get(connection.id)
        return fragment_with_flash(render_template(
            "connections/_status_badge.html", connection=connection, oob=True, state=state),
            message)
    return redirect_with_flash(safe_next(url_for("connections.index")), message)


@bp.post("/<int:connection_id>/test")
def test(connection_id):
    """Call the provider with this connection: ok + latency + model count, or why not."""
    connection = connection_service.get_connection(connection_id)
    result = testing.test_connection(connection_id)
    if is_htmx():
        return render_template("connections/_test_result.html", result=result,
                               connection=connection)
    if result.ok:
        message = (f"Test of “{connection.name}” passed in {result.latency_ms} ms"
                   + (f"; {len(result.models)} models listed." if result.models else "."))
        category = "success"
    else:
        message = f"Test of “{connection.name}” failed: {result.error_class}: {result.message}"
        category = "error"
    return redirect_with_flash(
        safe_next(url_for("connections.detail", connection_id=connection_id)), message, category)


from . import playground  # noqa: E402,F401  (registers the playground views on bp)
