"""App keys: list with usage to date, create (the key is shown once), edit, revoke."""

from flask import flash, make_response, redirect, render_template, url_for

from ...errors import render_error
from ...services import app_keys as service
from ...services.errors import InvalidInput, NotFound
from .. import admin_blueprint
from .forms import AppKeyForm, RevokeForm

bp = admin_blueprint("app_keys", __name__, url_prefix="/app-keys")
bp.register_error_handler(NotFound, lambda exc: render_error(404, exc.message))


def _with_provider_choices(form: AppKeyForm) -> AppKeyForm:
    form.providers.choices = [(slug, slug) for slug in service.all_provider_slugs()]
    return form


def _apply_field_errors(form: AppKeyForm, exc: InvalidInput) -> None:
    for name, messages in exc.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + messages


@bp.get("/")
def index():
    """Every key with its providers, limit, last use, requests and cost to date."""
    return render_template("app_keys/index.html", rows=service.list_app_keys())


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Create a key; the result page shows the raw key once."""
    form = _with_provider_choices(AppKeyForm())
    if form.validate_on_submit():
        try:
            key, raw = service.create_app_key(form.label.data, form.providers.data or None,
                                              form.rate_limit_per_minute.data)
        except InvalidInput as exc:
            _apply_field_errors(form, exc)
        else:
            response = make_response(render_template("app_keys/created.html", key=key, raw=raw))
            response.headers["Cache-Control"] = "no-store"  # the raw key must not be cached
            return response
    return render_template("app_keys/form.html", form=form, key=None)


@bp.route("/<int:key_id>/edit", methods=["GET", "POST"])
def edit(key_id: int):
    """Change the label, allowed providers or per-minute limit."""
    key = service.get_app_key(key_id)
    form = _with_provider_choices(AppKeyForm(obj=None if _posted() else key))
    if not _posted():
        form.providers.data = list(key.allowed_providers or [])
    if form.validate_on_submit():
        try:
            service.update_app_key(key.id, form.label.data, form.providers.data or None,
                                   form.rate_limit_per_minute.data)
        except InvalidInput as exc:
            _apply_field_errors(form, exc)
        else:
            flash(f"Saved app key {key.prefix}… ({key.label}).", "success")
            return redirect(url_for(".index"))
    return render_template("app_keys/form.html", form=form, key=key)


@bp.route("/<int:key_id>/revoke", methods=["GET", "POST"])
def revoke(key_id: int):
    """Ask for confirmation, then revoke: the key stops working at once; usage stays."""
    key = service.get_app_key(key_id)
    form = RevokeForm()
    if form.validate_on_submit():
        service.revoke_app_key(key.id)
        flash(f"Revoked app key {key.prefix}… ({key.label}). Applications using it now get 401.",
              "success")
        return redirect(url_for(".index"))
    return render_template("app_keys/revoke.html", key=key, form=form)


def _posted() -> bool:
    from flask import request

    return request.method == "POST"
