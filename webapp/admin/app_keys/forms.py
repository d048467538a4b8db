from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...services.app_keys import MAX_LABEL_LENGTH


class AppKeyForm(FlaskForm):
    """Create or edit an app key; the provider choices are filled in by the view."""

    label = StringField("Label", validators=[DataRequired(), Length(max=MAX_LABEL_LENGTH)])
    providers = SelectMultipleField("Allowed providers", choices=[], validate_choice=True)
    rate_limit_per_minute = IntegerField("Requests per minute",
                                         validators=[Optional(), NumberRange(min=1)])


class RevokeForm(FlaskForm):
    """CSRF only: the confirmation button."""
