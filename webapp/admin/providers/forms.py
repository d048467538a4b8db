"""Provider forms; the service checks slug uniqueness and reports it as a field error."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ...adapters.registry import adapter_kinds
from ...models import PROVIDER_STATUSES
from ..connections.forms import choices

ADAPTER_LABELS = {
    "openai": "OpenAI (or any OpenAI-compatible server)",
    "gemini": "Google Gemini",
    "openrouter": "OpenRouter",
}


class ProviderForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        "Slug",
        validators=[DataRequired(), Length(max=64),
                    Regexp(r"^[a-z0-9][a-z0-9\-_]*$",
                           message="Use lowercase letters, digits, '-' or '_'.")],
        description="Used in URLs and by application code, e.g. openai-prod.",
    )
    adapter_kind = SelectField("Adapter", validators=[DataRequired()])
    status = SelectField("Status", choices=choices((s, s.title()) for s in PROVIDER_STATUSES),
                         default="active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.adapter_kind.choices = choices((k, ADAPTER_LABELS.get(k, k)) for k in adapter_kinds())

    def service_data(self) -> dict:
        return {"name": self.name.data.strip(), "slug": self.slug.data.strip(),
                "adapter_kind": self.adapter_kind.data, "status": self.status.data}


class ActionForm(FlaskForm):
    """An empty form for POST actions (toggle, delete, reset): only the CSRF token."""

    next = HiddenField()


class DefaultConnectionForm(FlaskForm):
    default_connection_id = SelectField("Default connection", validators=[Optional()],
                                        coerce=str, validate_choice=False)
