"""The account form and the list's search. Which names, e-mails and roles are acceptable is
clerkship.people.accounts' rule; these only carry what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from clerkship.people.accounts import ACCOUNT_ROLES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def role_choices(blank: str) -> list[tuple[str, str]]:
    return [SelectChoice("", blank)] + [SelectChoice(r.value, r.label) for r in ACCOUNT_ROLES]


class AccountForm(FlaskForm):
    name = StringField(_l("Full name"), filters=[_strip])
    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        description=_l("They sign in with it and receive their set-password link there."),
    )
    role = SelectField(_l("Role"), validate_choice=False)
    external_id = StringField(
        _l("School id (optional)"),
        validators=[Optional(), Length(max=100)],
        filters=[_strip],
        description=_l("The id in the school's records, if the roster import uses one."),
    )


class NewAccountForm(AccountForm):
    send_link = BooleanField(_l("E-mail them a link to choose a password now"), default=True)


class SearchForm(FlaskForm):
    """The list's filters, sent by GET (nothing is written, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or e-mail"), validators=[Length(max=200)], filters=[_strip])
    role = SelectField(_l("Role"), validate_choice=False)
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Active and inactive")),
            SelectChoice("active", _l("Active")),
            SelectChoice("inactive", _l("Inactive")),
        ],
        validate_choice=False,
    )
