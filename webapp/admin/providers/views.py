"""Provider pages: list, create, edit, delete, toggle, and the detail page's actions."""

from flask import render_template, request, url_for

from ...services import providers as provider_service
from ...services import statistics
from ...services.errors import InvalidInput, ServiceError
from .. import admin_blueprint
from ..connections.forms import choices
from ..connections.responses import (
    apply_field_errors,
    fragment_with_flash,
    is_htmx,
    redirect_with_flash,
    safe_next,
)
from ..connections.views_support import render_service_error
from .forms import ActionForm, DefaultConnectionForm, ProviderForm

bp = admin_blueprint("providers", __name__, url_prefix="/providers")
bp.register_error_handler(ServiceError, render_service_error)


@bp.get("/")
def index():
    """Every provider with its connection counts and default connection."""
    return render_template("providers/index.html", rows=provider_service.list_providers(),
                           action_form=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add a provider."""
    form = ProviderForm()
    errors = []
    if form.validate_on_submit():
        try:
            provider = provider_service.create_provider(form.service_data())
        except InvalidInput as exc:
            errors = apply_field_errors(form, exc)
        else:
            return redirect_with_flash(url_for("providers.detail", provider_id=provider.id),
                                       f"Provider “{provider.name}” was created.")
    return _form_page(form, None, errors)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
def edit(provider_id):
    """Change a provider's name, slug, adapter or status."""
    provider = provider_service.get_provider(provider_id)
    form = ProviderForm(obj=provider)
    errors = []
    if form.validate_on_submit():
        try:
            provider = provider_service.update_provider(provider_id, form.service_data())
        except InvalidInput as exc:
            errors = apply_field_errors(form, exc)
        else:
            return redirect_with_flash(url_for("providers.detail", provider_id=provider.id),
                                       f"Provider “{provider.name}” was saved.")
    return _form_page(form, provider, errors)


def _form_page(form, provider, errors):
    status = 400 if (form.errors or errors) and request.method == "POST" else 200
    return render_template("providers/form.html", form=form, provider=provider,
                           errors=errors), status


@bp.get("/<int:provider_id>")
def detail(provider_id):
    """Connections in priority order (drag to reorder), rotation state, default connection."""
    provider = provider_service.get_provider(provider_id)
    from ...services import connection_views

    connections = connection_views.provider_connections(provider_id)
    default_form = DefaultConnectionForm(
        default_connection_id=str(provider.default_connection_id or ""))
    default_form.default_connection_id.choices = choices(
        [("", "None (priority order)")] + [(str(c.id), c.name) for c in connections])
    return render_template(
        "providers/detail.html", provider=provider, connections=connections,
        states=statistics.rotation_states(connections), default_form=default_form,
        action_form=ActionForm())


@bp.route("/<int:provider_id>/delete", methods=["GET", "POST"])
def delete(provider_id):
    """Ask first (saying what happens to connections and usage history), then delete."""
    provider = provider_service.get_provider(provider_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        name = provider.name
        provider_service.delete_provider(provider_id)
        return redirect_with_flash(url_for("providers.index"),
                                   f"Provider “{name}” and its connections were deleted; "
                                   "usage history is kept.")
    return render_template("providers/delete.html", provider=provider, form=form,
                           summary=provider_service.delete_summary(provider_id))


@bp.post("/<int:provider_id>/toggle")
def toggle(provider_id):
    """Switch a provider between active and inactive."""
    ActionForm().validate_on_submit()  # CSRF is checked globally; the form only carries next
    provider = provider_service.toggle_provider(provider_id)
    message = f"Provider “{provider.name}” is now {provider.status}."
    if is_htmx():
        return fragment_with_flash(
            render_template("providers/_status_badge.html", provider=provider), message)
    return redirect_with_flash(safe_next(url_for("providers.index")), message)


@bp.post("/<int:provider_id>/reorder")
def reorder(provider_id):
    """Save a new priority order: the full list of ids (drag and drop) or one move up/down."""
    from ...services import connection_views

    provider = provider_service.get_provider(provider_id)
    if request.form.get("move"):
        ids = connection_views.order_after_move(
            provider_id, request.form.get("move"), request.form.get("direction"))
    else:
        ids = request.form.getlist("ids")
    statistics.reorder_connections(provider_id, _as_ints(ids))
    message = f"The order of “{provider.name}” connections was saved."
    if is_htmx():
        connections = connection_views.provider_connections(provider_id)
        return fragment_with_flash(render_template(
            "providers/_connection_rows.html", provider=provider, connections=connections,
            states=statistics.rotation_states(connections), action_form=ActionForm()), message)
    return redirect_with_flash(url_for("providers.detail", provider_id=provider_id), message)


def _as_ints(values) -> list[int]:
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidInput("The new order must list connection ids (whole numbers).") from None


@bp.post("/<int:provider_id>/default")
def set_default(provider_id):
    """Choose the connection tried first (or none: priority order)."""
    form = DefaultConnectionForm()
    form.validate_on_submit()
    chosen = form.default_connection_id.data or None
    provider = provider_service.set_default_connection(
        provider_id, _as_ints([chosen])[0] if chosen else None)
    name = provider.default_connection.name if provider.default_connection else None
    message = (f"“{name}” is now the default connection." if name
               else "No default connection: priority order decides.")
    return redirect_with_flash(url_for("providers.detail", provider_id=provider_id), message)


@bp.post("/<int:provider_id>/reset-errors")
def reset_errors(provider_id):
    """Zero the error counters of every connection of the provider."""
    ActionForm().validate_on_submit()
    provider_service.get_provider(provider_id)
    count = statistics.reset_error_counts(provider_id)
    return redirect_with_flash(url_for("providers.detail", provider_id=provider_id),
                               f"Error counts were reset on {count} connection(s).")
