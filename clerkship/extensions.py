"""Extensions, created unbound and initialised in :func:`clerkship.create_app`."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from clerkship.models.base import Base

# Models use our own DeclarativeBase; Flask-SQLAlchemy provides the session and engines.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def select_locale() -> str:
    from flask import current_app, has_request_context
    from flask_login import current_user

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and jobs: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    from flask import session

    visit = session.get("visit")  # a continuity patient on their invitation link
    if visit and visit.get("lang") in languages:
        return visit["lang"]
    preferred = getattr(current_user, "preferred_language", None)
    if preferred in languages:
        return preferred
    return request.accept_languages.best_match(languages) or languages[0]
