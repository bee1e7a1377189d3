from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from clerkship.auth import passwords

_strip = [lambda value: value.strip() if value else value]


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=_strip
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class NewPasswordForm(FlaskForm):
    """Choosing a password. ``user`` (set by the view) is whose it is, for the name check."""

    user = None

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired()],
        description=_l(
            "At least 12 characters. A short sentence is easy to remember; "
            "spaces, accents and any other characters are welcome."
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two do not match."))],
    )

    def validate_new_password(self, field):
        problem = passwords.problem(field.data or "", self.user)
        if problem:
            raise ValidationError(problem)


class SetPasswordForm(NewPasswordForm):
    pass


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    end_other_sessions = BooleanField(
        _l("Sign me out on every other device"),
        default=True,
        description=_l("Recommended if you think someone else may know your old password."),
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=_strip
    )
