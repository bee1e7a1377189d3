import pytest

from clerkship import create_app, pdf_signing, signing_keys
from clerkship.config import ConfigError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "CLERKSHIP_ENV", "CLERKSHIP_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key in ("SIGNING_KEY_FILE", "PDF_SIGNING_CERT", "PDF_SIGNING_KEY"):
        monkeypatch.delenv(f"CLERKSHIP_{key}", raising=False)
    monkeypatch.setenv("CLERKSHIP_INSTANCE_PATH", str(tmp_path))
    return tmp_path


@pytest.fixture
def installed(clean_env):
    """An instance folder as a production install has it: with the program's signing key."""
    signing_keys.create(clean_env / "signing-key.json")
    pdf_signing.create_self_signed(
        clean_env / "pdf-signing-cert.pem", clean_env / "pdf-signing-key.pem", "Test"
    )
    return clean_env


def test_production_without_secret_key_refuses_to_start(clean_env):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"BASE_URL": "https://lic.example.edu"})


def test_production_without_base_url_refuses_to_start(clean_env):
    with pytest.raises(ConfigError, match="BASE_URL is not set"):
        create_app({"SECRET_KEY": "x" * 32})
    development = create_app({"ENV": "development"})
    assert development.config["BASE_URL"] == "http://127.0.0.1:5000"


def test_no_configuration_means_sqlite_in_the_instance_folder(clean_env):
    app = create_app({"ENV": "development"})
    expected = "sqlite:///" + str(clean_env / "clerkship.sqlite3")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    # The development key is random, kept in the instance folder, and reused on restart.
    assert (clean_env / "secret_key").read_text() == app.config["SECRET_KEY"]
    assert create_app({"ENV": "development"}).config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_overrides_instance_config(installed, monkeypatch):
    (installed / "config.py").write_text(
        "SECRET_KEY = 'from-instance-file'\n"
        "BASE_URL = 'https://lic.example.edu'\n"
        "PROGRAM_NAME = 'Instance LIC'\n"
        "PASSWORD_MIN_LENGTH = 13\n"
    )
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-instance-file"
    assert app.config["PROGRAM_NAME"] == "Instance LIC"

    monkeypatch.setenv("SECRET_KEY", "from-environment")
    monkeypatch.setenv("CLERKSHIP_PASSWORD_MIN_LENGTH", "14")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example.org:5432/lic")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-environment"
    assert app.config["PASSWORD_MIN_LENGTH"] == 14
    assert app.config["PROGRAM_NAME"] == "Instance LIC"
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example.org:5432/lic"
    )


def test_redis_url_moves_rate_limits_to_redis(clean_env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app({"ENV": "development"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_unknown_environment_name_is_an_error(clean_env, monkeypatch):
    monkeypatch.setenv("CLERKSHIP_ENV", "staging")
    with pytest.raises(ConfigError, match="CLERKSHIP_ENV"):
        create_app()


def test_cookies_are_secure_outside_development(installed):
    production = create_app({"SECRET_KEY": "x" * 32, "BASE_URL": "https://lic.example.edu"})
    development = create_app({"ENV": "development"})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert development.config["SESSION_COOKIE_SECURE"] is False


PRODUCTION = {"SECRET_KEY": "x" * 32, "BASE_URL": "https://lic.example.edu"}


def test_production_without_a_signing_key_refuses_to_start(clean_env):
    with pytest.raises(ConfigError, match=r"signing key file .* is missing or unreadable") as e:
        create_app(PRODUCTION)
    assert "python -m clerkship.signing_keys" in str(e.value)
    assert not (clean_env / "signing-key.json").exists()  # never made up in production


def test_an_unreadable_signing_key_stops_start_up_in_every_mode(clean_env):
    (clean_env / "signing-key.json").write_text("{not json")
    for env in ("production", "development"):
        with pytest.raises(ConfigError, match="missing or unreadable"):
            create_app({**PRODUCTION, "ENV": env})


def test_development_creates_the_signing_key_once(clean_env):
    first = create_app({"ENV": "development"})
    path = clean_env / "signing-key.json"
    assert path.stat().st_mode & 0o777 == 0o600
    again = create_app({"ENV": "development"})
    with first.app_context():
        kid = signing_keys.ring().kid
    with again.app_context():
        assert signing_keys.ring().kid == kid


def test_production_without_the_pdf_certificate_refuses_to_start(clean_env):
    signing_keys.create(clean_env / "signing-key.json")
    with pytest.raises(ConfigError, match=r"PDF signing certificate .* missing or unreadable"):
        create_app(PRODUCTION)
    assert not (clean_env / "pdf-signing-cert.pem").exists()
