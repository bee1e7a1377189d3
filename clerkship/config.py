"""Configuration layers: defaults here, then ``instance/config.py``, then the environment.

Environment variables win so that a deployment never needs to edit files:
``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL`` and any ``CLERKSHIP_<NAME>`` (which sets
``<NAME>``; values are parsed as JSON when they look like it, so ``CLERKSHIP_FOO=30`` is an int).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


DEVELOPMENT_URL = "http://127.0.0.1:5000"  # where `make run` serves


class Defaults:
    # "production" unless told otherwise: a forgotten setting must fail safe.
    ENV = "production"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = (
        None  # filled in with a SQLite file in the instance folder
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # SQLite only: how long a write waits for the database's one write lock (milliseconds)
    # before the request is answered "busy, try again" (503). Writes hold it for milliseconds.
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    REDIS_URL: str | None = None
    # Busy pages (homes, cohort dashboards) kept as HTML until the data changes, in each
    # worker process's memory, up to this many bytes; 0 keeps none (clerkship/page_cache.py).
    PAGE_CACHE_BYTES = 32 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # Server-side limits on a signed-in session (OWASP ASVS 3.3.2, level 2).
    SESSION_IDLE_MINUTES = 30  # signed out after this long without a page being used
    SESSION_MAX_HOURS = 12  # and after this long whatever happens: sign in again
    SESSION_KEEP_DAYS = 30  # then the row (browser name, times) is deleted: `clean-sessions`
    # "basic", not "strong": the session is checked on the server (sessions.py); "strong"
    # would also sign a phone out each time it moves between Wi-Fi and mobile data.
    SESSION_PROTECTION = "basic"

    # School sign-in over OpenID Connect (docs/deploy.md). Off while OIDC_ISSUER is unset.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPE = "openid email profile"
    # The claim that carries the school id the roster import stores as external_id.
    OIDC_EXTERNAL_ID_CLAIM = "preferred_username"
    # School sign-in over SAML 2.0 (docs/deploy.md). Off while SAML_IDP_METADATA is unset.
    SAML_IDP_METADATA: str | None = None  # the IdP's metadata: a file path or an https URL
    SAML_IDP_METADATA_CERT: str | None = None  # checks a signed metadata URL (optional)
    SAML_SP_ENTITY_ID: str | None = None  # default: BASE_URL + /sso/saml/metadata
    # Our key and certificate (PEM files); generated in the instance folder in development.
    SAML_SP_KEY: str | None = None
    SAML_SP_CERT: str | None = None
    # Our names -> the IdP's attribute friendly names (eduPerson / SAML2 URI names).
    SAML_ATTRIBUTES: dict = {
        "email": "mail",
        "external_id": "eduPersonPrincipalName",
        "name": "displayName",
        "affiliation": "eduPersonAffiliation",
    }
    SAML_CLOCK_SKEW_SECONDS = 60  # tolerated difference between our clock and the IdP's
    SCHOOL_SIGN_IN_LABEL = "Sign in with your school account"
    # A fresh school sign-in before a signature may be used for this long.
    FRESH_SIGN_IN_SECONDS = 300

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_KEY_PREFIX = "clerkship"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis away: count in this process's memory (and log it) rather than refuse sign-in.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    SIGN_IN_RATE_LIMIT = "10 per minute;50 per hour"  # per client address
    SIGN_IN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"  # per e-mail address tried
    # "Forgot password" requests, per client address and per e-mail address asked for.
    PASSWORD_RESET_RATE_LIMIT = "20 per hour"  # noqa: S105 (a rate; per address: NATs share one)
    PASSWORD_RESET_ACCOUNT_RATE_LIMIT = "3 per hour"  # noqa: S105
    SIGNATURE_RATE_LIMIT = "5 per 15 minutes"  # wrong passwords when signing, per user

    # argon2id parameters (RFC 9106 "second recommended" profile is argon2-cffi's default).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # larger uploads are refused with a 413 page
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256  # long passphrases and password managers are welcome
    PASSWORD_LINK_DAYS = 7  # links to set a password (new accounts, resets) expire
    PASSWORD_RESET_LINK_HOURS = 2  # ... but one asked for with "Forgot your password?" sooner

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "es")

    # Continuity patients' invitation links.
    PATIENT_LINK_DAYS = 14  # how long a link works
    PATIENT_SESSION_MINUTES = 60  # how long a patient's page stays open after the link
    PATIENT_LINK_GRACE_MINUTES = 120  # answers still taken after expiry, if opened before
    PATIENT_LINK_RATE_LIMIT = "20 per minute;100 per hour"  # bad links tried, per address
    PATIENT_TEXT_MAX = 2000  # characters per free-text answer

    # The program's Ed25519 signing key file (clerkship/signing_keys.py); default:
    # instance/signing-key.json, created in development and testing, required in production.
    SIGNING_KEY_FILE: str | None = None
    # The school's certificate and private key (PEM) that sign portfolio PDFs (PAdES);
    # default: a self-signed pair in the instance folder, made in development and testing.
    PDF_SIGNING_CERT: str | None = None
    PDF_SIGNING_KEY: str | None = None

    # Portfolio exports (PDF files are written here; default: instance/exports).
    EXPORT_DIR: str | None = None
    EXPORT_KEEP_DAYS = 7  # export files are deleted after this many days
    # A worker holds a portfolio (or a ZIP being packed) this long; a worker that dies loses
    # it and the reaper (every EXPORT_REAP_SECONDS, at most 60) queues it again, up to
    # EXPORT_MAX_ATTEMPTS tries, waiting EXPORT_RETRY_SECONDS (doubling) after a database,
    # queue or disk error.
    EXPORT_LEASE_SECONDS = 120
    EXPORT_REAP_SECONDS = 60
    EXPORT_MAX_ATTEMPTS = 4
    EXPORT_RETRY_SECONDS = 20
    # Tests only (keep 0): a pause before each ZIP entry, so a fault test can SIGKILL the
    # worker while it is packing the ZIP (packing is otherwise too fast to hit).
    EXPORT_PACK_DELAY_SECONDS: float = 0
    # Previewed roster files (names, e-mails) not confirmed or cancelled are deleted after this.
    IMPORT_KEEP_MINUTES = 60
    VERIFY_RATE_LIMIT = "30 per minute"  # public /verify page, per address
    # The read API (clerkship.api): per token; the OpenAPI document is served beside it.
    API_RATE_LIMIT = "120 per minute;3000 per hour"
    API_TITLE = "Clerkship read API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # Reverse proxies in front of the app that set X-Forwarded-For and X-Forwarded-Proto
    # (nginx in deploy/: 1). The client's address then comes from X-Forwarded-For, so rate
    # limits and the audit log see people, not the proxy. 0 (default) trusts no such header.
    REVERSE_PROXIES = 0

    PROGRAM_NAME = "Clerkship"
    # Where people reach this instance (e.g. https://lic.example.edu): every link in e-mails
    # and QR codes is built from it, never from a request's Host header (which anyone can
    # set). Required outside development and testing, where it defaults to DEVELOPMENT_URL.
    BASE_URL: str | None = None

    MAIL_BACKEND = "console"  # console | file | smtp | memory — see clerkship/mail.py
    MAIL_FROM = "Clerkship <no-reply@localhost>"
    MAIL_FILE_DIR: str | None = None
    MAIL_SMTP_HOST = "localhost"
    MAIL_SMTP_PORT = 25
    MAIL_SMTP_USERNAME: str | None = None
    MAIL_SMTP_PASSWORD: str | None = None
    MAIL_SMTP_STARTTLS = True


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _normalise_database_url(url: str) -> str:
    # Heroku-style and bare postgresql URLs mean "PostgreSQL with psycopg 3" here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def load(app, overrides: dict | None = None) -> None:
    """Fill ``app.config`` layer by layer; raise ConfigError for an unsafe result."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)

    env = os.environ
    for key, value in env.items():
        if key.startswith("CLERKSHIP_"):
            app.config[key.removeprefix("CLERKSHIP_")] = _parse(value)
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if env.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("REDIS_URL"):
        app.config["REDIS_URL"] = env["REDIS_URL"]

    if overrides:
        app.config.update(overrides)

    _derive(app)


def _derive(app) -> None:
    config = app.config
    if config["ENV"] not in ("production", "development", "testing"):
        raise ConfigError(
            f"CLERKSHIP_ENV must be production, development or testing, not {config['ENV']!r}."
        )
    relaxed = config["ENV"] in ("development", "testing")
    if config["ENV"] == "testing":
        config["TESTING"] = True

    if not config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "clerkship.sqlite3"
        )
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])

    if config.get("REDIS_URL") and config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]

    if not config.get("SECRET_KEY"):
        if not relaxed:
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable (for example "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`) or put SECRET_KEY "
                "in instance/config.py. Only development and testing may run without one."
            )
        config["SECRET_KEY"] = _development_secret(app)

    if not config.get("BASE_URL"):
        if not relaxed:
            raise ConfigError(
                "BASE_URL is not set. Set CLERKSHIP_BASE_URL to the address people use (for "
                "example https://lic.example.edu): links in e-mails and QR codes are built from "
                "it. Only development and testing may run without one."
            )
        config["BASE_URL"] = DEVELOPMENT_URL

    if relaxed:
        # Served over plain http://127.0.0.1 in development; production keeps Secure cookies.
        config["SESSION_COOKIE_SECURE"] = False
        config["REMEMBER_COOKIE_SECURE"] = False
    elif config.get("SESSION_COOKIE_NAME", "session") == "session":
        # __Host-: the browser only accepts it over HTTPS, for this host, for every path.
        config["SESSION_COOKIE_NAME"] = "__Host-session"


def _development_secret(app) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    if app.config["ENV"] == "testing":
        return secrets.token_hex(32)
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
