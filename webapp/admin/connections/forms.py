"""Connection forms. Ranges are checked here for quick inline errors; the service checks
everything again (and uniqueness), and its field errors are put on the same fields."""

import json

from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ...models import CONNECTION_STATUSES

HEALTH_CHOICES = ("healthy", "degraded", "unknown", "unhealthy", "cooling_down", "disabled",
                  "inactive")
# Stored settings the form does not show; editing keeps them as they are.
KEPT_SETTINGS = ("pricing",)
ORDER_CHOICES = (("priority", "Priority"), ("name", "Name"), ("-last_used", "Last used"),
                 ("-success_rate", "Success rate (best first)"),
                 ("success_rate", "Success rate (worst first)"))


def choices(pairs, optgroup=None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def _http_url(form, field):
    value = (field.data or "").strip()
    if value and not (value.startswith("http://") or value.startswith("https://")):
        raise ValidationError("Use an http:// or https:// address.")


def _json_object(form, field):
    text = (field.data or "").strip()
    if not text:
        return
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"Not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(value, dict):
        raise ValidationError('Write a JSON object, e.g. {"top_p": 0.9}.')


class ConnectionForm(FlaskForm):
    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired()])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    # Write-only: PasswordField never renders its value, so the key is not echoed back,
    # not even when another field has an error.
    api_key = PasswordField("API key", validators=[Optional(), Length(max=500)])
    organization = StringField("Organization", validators=[Optional(), Length(max=200)])
    project = StringField("Project", validators=[Optional(), Length(max=200)])
    base_url = StringField("Base URL", validators=[Optional(), Length(max=500), _http_url])
    model = StringField("Model", validators=[Optional(), Length(max=200)])
    temperature = DecimalField("Temperature", places=None, validators=[
        Optional(), NumberRange(0, 2, message="Temperature must be between 0 and 2.")])
    max_tokens = IntegerField("Max tokens", validators=[
        Optional(), NumberRange(min=1, message="Max tokens must be at least 1.")])
    timeout_s = DecimalField("Timeout (seconds)", places=None, default=60, validators=[
        Optional(), NumberRange(1, 600, message="Timeout must be between 1 and 600 seconds.")])
    priority = IntegerField("Priority", default=100, validators=[
        DataRequired(message="Priority is required (lower is tried first)."),
        NumberRange(min=0, message="Priority must be at least 0.")],
        description="Lower numbers are tried first.")
    weight = IntegerField("Weight", default=1, validators=[
        Optional(), NumberRange(min=0, message="Weight must be at least 0.")],
        description="Share of traffic among connections with the same priority.")
    rate_limit_per_minute = IntegerField("Requests per minute", validators=[
        Optional(), NumberRange(min=0, message="Limits must be 0 or more.")],
        description="Empty: unlimited.")
    rate_limit_per_day = IntegerField("Requests per day", validators=[
        Optional(), NumberRange(min=0, message="Limits must be 0 or more.")],
        description="Empty: unlimited.")
    status = SelectField("Status", choices=choices((s, s.title()) for s in CONNECTION_STATUSES),
                         default="active")
    extra_headers = TextAreaField("Extra headers", validators=[Optional(), Length(max=4000)],
                                  description="One 'Name: value' per line.")
    http_referer = StringField("HTTP-Referer (OpenRouter)", validators=[Optional(),
                                                                        Length(max=500)])
    x_title = StringField("X-Title (OpenRouter)", validators=[Optional(), Length(max=500)])
    extra = TextAreaField("Extra settings (JSON)", validators=[Optional(), Length(max=4000),
                                                               _json_object])

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_id.choices = choices((p.id, p.name) for p in providers)

    def validate_priority(self, field):
        # DataRequired treats 0 as missing; 0 is a valid priority.
        if field.data == 0:
            field.errors = []

    def fill_from(self, connection) -> None:
        """Show a stored connection (never its key) in the form on GET."""
        settings = dict(connection.settings or {})
        self.provider_id.data = connection.provider_id
        self.name.data = connection.name
        for key in ("organization", "project"):
            getattr(self, key).data = connection.get_credential(key) or ""
        for key in ("base_url", "model", "temperature", "max_tokens", "timeout_s",
                    "http_referer", "x_title"):
            getattr(self, key).data = settings.pop(key, None)
        headers = settings.pop("extra_headers", None) or {}
        self.extra_headers.data = "\n".join(f"{k}: {v}" for k, v in headers.items())
        settings.pop("pricing", None)
        self.extra.data = json.dumps(settings, indent=2) if settings else ""
        for key in ("priority", "weight", "rate_limit_per_minute", "rate_limit_per_day",
                    "status"):
            getattr(self, key).data = getattr(connection, key)

    def service_data(self, stored_settings=None) -> dict:
        """The dict the connection service takes; blank values clear optional settings."""
        data = {key: getattr(self, key).data for key in (
            "name", "api_key", "organization", "project", "base_url", "model", "temperature",
            "max_tokens", "timeout_s", "priority", "weight", "rate_limit_per_minute",
            "rate_limit_per_day", "status", "extra_headers", "http_referer", "x_title")}
        for key in ("temperature", "timeout_s"):
            if data[key] is not None:
                data[key] = float(data[key])
        if data["weight"] is None:
            data["weight"] = 1
        extra_text = (self.extra.data or "").strip()
        extra = {k: v for k, v in (json.loads(extra_text) if extra_text else {}).items()
                 if k not in data and k not in KEPT_SETTINGS}
        # A name deleted from the JSON box is deleted from the stored settings.
        for key in stored_settings or {}:
            if key not in data and key not in KEPT_SETTINGS and key not in extra:
                extra[key] = None
        data["extra"] = extra
        return data


class ConnectionFilterForm(FlaskForm):
    """The list page's search, filters and ordering (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    provider = SelectField("Provider", coerce=str, validate_choice=False)
    status = SelectField("Status", choices=choices([("", "Any status")] + [
        (s, s.title()) for s in CONNECTION_STATUSES]), validate_choice=False)
    health = SelectField("Health", choices=choices([("", "Any health")] + [
        (h, h.replace("_", " ").title()) for h in HEALTH_CHOICES]), validate_choice=False)
    order = SelectField("Order by", choices=choices(ORDER_CHOICES), default="priority",
                        validate_choice=False)

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.provider.choices = choices([("", "All providers")] + [(str(p.id), p.name)
                                                                   for p in providers])


class ActionForm(FlaskForm):
    """An empty form for POST actions (test, toggle, delete): only the CSRF token."""

    next = HiddenField()


class PlaygroundForm(FlaskForm):
    target = SelectField("Send to", validators=[DataRequired()], validate_choice=False,
                         description="A provider (rotation and failover) or one connection.")
    feature = StringField("Feature name", default="playground",
                          validators=[Optional(), Length(max=100)])
    prompt = TextAreaField("Prompt", validators=[DataRequired(), Length(max=20000)])
    system = TextAreaField("System message", validators=[Optional(), Length(max=20000)])
    max_tokens = IntegerField("Max tokens", validators=[Optional(), NumberRange(1, 100000)])
    temperature = DecimalField("Temperature", places=None, validators=[
        Optional(), NumberRange(0, 2, message="Temperature must be between 0 and 2.")])

    def set_targets(self, providers, connections) -> None:
        self.target.choices = (
            choices(((f"p:{p.id}", p.name) for p in providers), optgroup="Providers")
            + choices(((f"c:{c.id}", f"{c.provider.name} · {c.name}") for c in connections),
                      optgroup="One connection"))

