"""The playground: send one prompt through the real service and show the attempt trail."""

from flask import render_template, request

from ...services import connection_views, execution
from ...services.errors import ServiceError
from .forms import PlaygroundForm
from .responses import is_htmx
from .views import bp


@bp.route("/playground", methods=["GET", "POST"])
def playground():
    """Try a provider (rotation and failover) or one connection with a prompt."""
    form = PlaygroundForm()
    form.set_targets(connection_views.all_providers(), connection_views.all_connections())
    if request.method == "GET" and request.args.get("target"):
        form.target.data = request.args["target"]
    outcome = None
    status = 200
    if form.validate_on_submit():
        outcome = _run(form)
    if request.method == "POST" and outcome is None and not is_htmx():
        status = 400  # HTMX swaps only 2xx answers, so its error fragment is sent as 200
    template = "connections/_playground_result.html" if is_htmx() else "connections/playground.html"
    if is_htmx() and form.errors:
        template = "connections/_playground_form_errors.html"
    return render_template(template, form=form, outcome=outcome), status


def _run(form) -> dict | None:
    """Execute the prompt; a failure is shown with its message and the attempts it made."""
    kind, _, raw_id = (form.target.data or "").partition(":")
    if kind not in ("p", "c") or not raw_id.isdigit():
        form.target.errors.append("Choose a provider or a connection.")
        return None
    options = {}
    if form.max_tokens.data is not None:
        options["max_tokens"] = form.max_tokens.data
    if form.temperature.data is not None:
        options["temperature"] = float(form.temperature.data)
    prompt = form.prompt.data
    if (form.system.data or "").strip():
        prompt = [{"role": "system", "content": form.system.data},
                  {"role": "user", "content": form.prompt.data}]
    try:
        if kind == "p":
            provider = connection_views.provider_slug(int(raw_id))
            connection = None
        else:
            provider, connection = connection_views.connection_target(int(raw_id))
        # One chosen connection is tried alone; a provider shows rotation and failover.
        result = execution.execute(prompt, provider=provider, connection=connection,
                                   options=options or None,
                                   feature=(form.feature.data or "").strip() or "playground",
                                   max_attempts=1 if connection is not None else None)
    except ServiceError as exc:
        return {"ok": False, "error": exc.message, "error_type": type(exc).__name__,
                "attempts": list(getattr(exc, "attempts", None) or []),
                "skipped": list(getattr(exc, "reasons", None) or [])}
    return {"ok": True, "result": result, "attempts": list(result.attempts or []),
            "skipped": list(getattr(result, "skipped", None) or [])}
