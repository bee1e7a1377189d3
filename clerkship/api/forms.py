"""The form that makes an API token (the rules live in clerkship.api.tokens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length


class TokenForm(FlaskForm):
    name = StringField(
        _l("What will use it"),
        validators=[InputRequired(), Length(max=100)],
        description=_l("For example: the school's dashboard. Shown only on this page."),
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[InputRequired()],
        description=_l("After this the token stops working; make a new one."),
    )
