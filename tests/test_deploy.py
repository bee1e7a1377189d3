"""The deployment files: gunicorn's config reads the environment and boots the app, access
logs never hold a token, the reverse-proxy setting works, and everything docs/deploy.md and the
systemd units name (files, commands, settings) exists."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import flask_migrate
import pytest
from flask import Flask, request
from gunicorn.config import Config

from clerkship import create_app
from clerkship.config import Defaults
from clerkship.extensions import db as _db
from tests import databases
from tests.conftest import SIGNING_ENVIRONMENT, serving, test_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
DOCS = ROOT / "docs" / "deploy.md"
UNITS = sorted((DEPLOY / "systemd").glob("clerkship-*"))
VENV_BIN = Path(sys.executable).parent
# Routes whose string arguments are not secrets; every other string argument is a token.
NOT_SECRET = {
    "static",
    "roster.template",
    "frameworks.download",
    "credentials.key",  # a public key's thumbprint: published at /.well-known/jwks.json too
}


def load_gunicorn_conf(monkeypatch, **env) -> dict:
    for name in [k for k in os.environ if k.startswith("GUNICORN_")] + ["RUNTIME_DIRECTORY"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def gunicorn_settings(namespace: dict) -> Config:
    """What gunicorn makes of the file: each known name through its own validator."""
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_gunicorn_config_defaults(monkeypatch):
    settings = gunicorn_settings(load_gunicorn_conf(monkeypatch))
    assert settings.bind == ["127.0.0.1:8000"]
    assert settings.workers == 2 * len(os.sched_getaffinity(0)) + 1
    assert settings.timeout == 60
    assert settings.preload_app is True
    assert settings.wsgi_app == "clerkship.wsgi:app"
    assert settings.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert settings.accesslog == "-"
    assert settings.logger_class.__name__ == "RedactingLogger"
    assert "%(q)s" not in settings.access_log_format and "%(f)s" not in settings.access_log_format


def test_gunicorn_config_reads_the_environment(monkeypatch, tmp_path):
    namespace = load_gunicorn_conf(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:9001, unix:/run/clerkship-web/web.sock",
        GUNICORN_WORKERS="3",
        GUNICORN_TIMEOUT="90",
        GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.5",
        GUNICORN_ACCESS_LOG="off",
        GUNICORN_LOG_LEVEL="warning",
        RUNTIME_DIRECTORY=str(tmp_path),
    )
    settings = gunicorn_settings(namespace)
    assert settings.bind == ["127.0.0.1:9001", "unix:/run/clerkship-web/web.sock"]
    assert settings.workers == 3
    assert settings.timeout == 90
    assert settings.forwarded_allow_ips == ["10.0.0.5"]
    assert settings.accesslog is None
    assert settings.loglevel == "warning"
    assert namespace["control_socket"] == str(tmp_path / "gunicorn.ctl")


def test_redaction_keeps_tokens_and_query_strings_out(monkeypatch):
    redact = load_gunicorn_conf(monkeypatch)["redact"]
    assert redact("/p/Zm9vYmFy?lang=es") == "/p/[token]"
    assert redact("//p/Zm9vYmFy") == "//p/[token]"
    assert redact("/account/set-password/abc.def-ghi") == "/account/set-password/[token]"
    assert redact("/digest/unsubscribe/eyJ1Ijo1fQ") == "/digest/unsubscribe/[token]"
    assert redact("/goals/12?page=2") == "/goals/12"
    assert redact("/panel/3") == "/panel/3"


def test_access_log_atoms_are_redacted(monkeypatch):
    namespace = load_gunicorn_conf(monkeypatch)
    logger = namespace["RedactingLogger"](gunicorn_settings(namespace))
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/p/SECRET-TOKEN?x=SECRET-QUERY",
        "PATH_INFO": "/p/SECRET-TOKEN",
        "QUERY_STRING": "x=SECRET-QUERY",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_REFERER": "https://lic.example.edu/p/SECRET-TOKEN",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    request_ = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request_, environ, timedelta(milliseconds=5))
    assert atoms["r"] == "GET /p/[token] HTTP/1.1"
    assert atoms["U"] == "/p/[token]"
    assert "SECRET" not in repr(atoms)
    line = namespace["access_log_format"] % atoms
    assert line.startswith("203.0.113.5 - ") and '"GET /p/[token] HTTP/1.1" 302' in line


def _sample_url(app, rule) -> str | None:
    """The rule's address with SECRET in every string argument (None if it has none)."""
    values, secret = {}, False
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        if converter == "int":
            values[name] = 7
        else:
            values[name], secret = f"SECRET{name}", True
    if not secret or rule.endpoint in NOT_SECRET:
        return None
    return app.url_map.bind("lic.example.edu").build(rule.endpoint, values)


def test_every_token_route_is_redacted_in_both_access_logs(app, monkeypatch):
    redact = load_gunicorn_conf(monkeypatch)["redact"]
    nginx = (DEPLOY / "nginx.conf.example").read_text()
    nginx_patterns = re.findall(r"^\s*~\*(\^/\S+)\s+\S+;$", nginx, re.MULTILINE)
    assert len(nginx_patterns) == 3
    urls = [url for rule in app.url_map.iter_rules() if (url := _sample_url(app, rule))]
    assert "/p/SECRETtoken" in urls  # the patients' invitation links, at least
    for url in urls:
        assert "SECRET" not in redact(url), url
        assert any(re.match(p, url, re.IGNORECASE) for p in nginx_patterns), url


def test_reverse_proxies_setting_takes_the_client_address_from_the_proxy(database_url):
    def seen(config: dict) -> str:
        app = create_app(test_config(database_url, **config))
        app.add_url_rule("/_who", "who", lambda: f"{request.remote_addr} {request.scheme}")
        response = app.test_client().get(
            "/_who",
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
        with app.app_context():
            _db.engine.dispose()
        return response.get_data(as_text=True)

    assert seen({}) == "127.0.0.1 http"  # by default forwarded headers are not believed
    assert seen({"REVERSE_PROXIES": 1}) == "203.0.113.9 https"


def test_nginx_upload_limit_is_just_above_the_apps():
    nginx = (DEPLOY / "nginx.conf.example").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", nginx).group(1))
    limit = megabytes * 1024 * 1024
    # A little more than the app accepts, so people see the app's own 413 page.
    assert Defaults.MAX_CONTENT_LENGTH <= limit <= Defaults.MAX_CONTENT_LENGTH + 2 * 1024 * 1024
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "alias /opt/clerkship/static/;" in nginx


def _environment_file() -> dict[str, str]:
    """deploy/clerkship.env.example as a POSIX shell reads it (the way clerkship-flask does)."""
    result = subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", 'set -a; . "$0"; set +a; env -0', str(DEPLOY / "clerkship.env.example")],
        capture_output=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return dict(pairs)


def test_environment_example_is_safe_and_parses():
    env = _environment_file()
    assert env["SECRET_KEY"] == ""  # nothing starts until someone sets a real one
    assert env["CLERKSHIP_ENV"] == "production"
    assert env["CLERKSHIP_TRUSTED_HOSTS"] == '["lic.example.edu"]'  # survives the quoting
    assert env["CLERKSHIP_REVERSE_PROXIES"] == "1"
    assert env["CLERKSHIP_MAIL_BACKEND"] == "smtp"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")


SPECIAL_ENVIRONMENT = {"INSTANCE_PATH", "QUEUE_PATH", "ENV_FILE"}  # not app settings


@pytest.mark.parametrize("path", [DOCS, DEPLOY / "clerkship.env.example"], ids=lambda p: p.name)
def test_every_setting_named_exists(path):
    text = path.read_text()
    names = set(re.findall(r"\bCLERKSHIP_([A-Z][A-Z0-9_]*[A-Z0-9])\b", text))
    assert names, path
    known = set(vars(Defaults)) | set(Flask.default_config) | SPECIAL_ENVIRONMENT
    unknown = names - known
    assert unknown == set()
    gunicorn_conf = GUNICORN_CONF.read_text()
    for name in set(re.findall(r"\b(GUNICORN_[A-Z_]+[A-Z])\b", text)):
        assert f'"{name}"' in gunicorn_conf, name


def _repository_path(reference: str) -> Path | None:
    """/opt/clerkship/deploy/x or deploy/x → the file in this checkout (None: the virtualenv)."""
    relative = reference.removeprefix("/opt/clerkship/").rstrip(".,:;)`'\"")
    if relative.startswith(".venv") or relative in ("", "/opt/clerkship"):
        return None
    return ROOT / relative


def _referenced_files(text: str) -> set[str]:
    found = set(re.findall(r"/opt/clerkship/[\w./*-]+", text))
    found |= set(re.findall(r"(?<![\w/])((?:deploy|docs)/[\w./*-]*[\w*])", text))
    return found


def test_every_file_the_deployment_names_exists():
    for source in [DOCS, DEPLOY / "nginx.conf.example", *UNITS]:
        for reference in _referenced_files(source.read_text()):
            path = _repository_path(reference)
            if path is not None:
                assert list(ROOT.glob(str(path.relative_to(ROOT)))), f"{source.name}: {reference}"


def _commands(text: str) -> set[tuple[str, ...]]:
    """Every `flask --app clerkship …` and `clerkship-flask …` command, as words."""
    commands = set()
    for match in re.finditer(
        r"(?:flask --app clerkship|clerkship-flask) ([a-z][a-z-]*)(.*)", text
    ):
        words = (match.group(1), *match.group(2).split()[:1])
        commands.add(words)
    return commands


def test_every_command_the_deployment_runs_exists(app):
    from flask_migrate.cli import db as db_group

    texts = [DOCS.read_text(), *(unit.read_text() for unit in UNITS)]
    commands = set().union(*(_commands(text) for text in texts))
    assert {("db", "upgrade"), ("seed",), ("send-digests",), ("clean-exports",)} <= {
        c[:2] if c[0] == "db" else c[:1] for c in commands
    }
    for words in commands:
        name = words[0]
        if name == "db":
            assert words[1] in db_group.commands, words
        else:
            assert name in app.cli.commands, words


def test_every_program_the_units_start_exists():
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if not line.startswith("ExecStart="):
                continue
            argv = shlex.split(line.removeprefix("ExecStart="))
            program = argv[0].removeprefix("/opt/clerkship/")
            assert program.startswith(".venv/bin/"), line
            assert shutil.which(program.removeprefix(".venv/bin/"), path=str(VENV_BIN)), line
            if program.endswith("gunicorn"):
                assert (
                    ROOT / argv[argv.index("--config") + 1].removeprefix("/opt/clerkship/")
                ).is_file()
            if program.endswith("huey_consumer"):
                # The schedule must run: the export reaper and the digests live there.
                assert argv[1] == "clerkship.tasks.huey" and "--no-periodic" not in argv


def test_readme_points_to_the_deployment_guide():
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()


@pytest.fixture
def migrated_database():
    with databases.fresh_database("deploy") as url:
        app = create_app(test_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            _db.engine.dispose()
        yield url


def _wait_for(path: Path, pattern: str, process, seconds: float = 60) -> re.Match:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text())
        if match:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"gunicorn never logged {pattern!r}:\n{path.read_text()}")


def _get(url: str, **headers) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_serves_the_app_and_logs_no_token(migrated_database, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "CLERKSHIP_ENV"))}
    env.pop("REDIS_URL", None)  # the suite's Redis stays the suite's
    env.update(
        SECRET_KEY="test-" + "0" * 60,
        CLERKSHIP_BASE_URL="https://lic.example.edu",
        DATABASE_URL=migrated_database,
        CLERKSHIP_INSTANCE_PATH=str(tmp_path),
        **SIGNING_ENVIRONMENT,
        CLERKSHIP_REVERSE_PROXIES="1",
        GUNICORN_BIND="127.0.0.1:0",
        GUNICORN_WORKERS="1",
        RUNTIME_DIRECTORY=str(tmp_path),
    )
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "gunicorn"), "--config", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        port = _wait_for(log, r"Listening at: http://127\.0\.0\.1:(\d+)", process).group(1)
        base = f"http://127.0.0.1:{port}"
        _wait_for(log, r"Booting worker", process)
        # The loaded app is frozen before the fork (clerkship/collector.py).
        frozen = _wait_for(log, r"Garbage collector: (\d+) loaded objects frozen", process)
        assert int(frozen.group(1)) > 100_000
        assert _get(f"{base}/sign-in") == 200
        status = _get(f"{base}/p/SECRETTOKEN?x=SECRETQUERY", **{"X-Forwarded-For": "203.0.113.5"})
        assert status == 404
        _wait_for(log, r"GET /p/", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    text = log.read_text()
    assert '"GET /sign-in HTTP/1.1" 200' in text
    assert "203.0.113.5 - [" in text and '"GET /p/[token] HTTP/1.1" 404' in text
    assert "SECRET" not in text


def test_the_apps_own_error_log_never_shows_a_token(database_url, caplog):
    # Flask logs "Exception on <path>" when a request fails; a patient's link is in the path.
    app = create_app(test_config(database_url, PROPAGATE_EXCEPTIONS=False))
    app.add_url_rule("/p/<token>/boom", "boom", lambda token: 1 / 0)
    with caplog.at_level("ERROR", logger=app.logger.name):
        response = app.test_client().get("/p/SECRETtoken/boom")
    with app.app_context():
        _db.engine.dispose()
    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/p/[token]/boom" in logged
    assert "SECRET" not in logged


def test_development_server_access_log_hides_tokens_and_queries(app, caplog):
    """`make run` serves with werkzeug: its access log is redacted as gunicorn's is."""
    import contextlib
    import logging

    # Stopped inside the log capture: a non-threaded server has logged every request by then.
    with caplog.at_level(logging.INFO, logger="werkzeug"), serving(app, threaded=False) as base:
        for path in ("/p/SECRETTOKEN?x=SECRETQUERY", "/account/set-password/SECRET.sig"):
            # 404 for an unknown token: the log line is what matters.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=10)  # noqa: S310 - loopback
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) == 2, lines
    assert "SECRET" not in "\n".join(lines)
    assert "GET /p/[token] HTTP/1.1" in lines[0]
    assert "/account/set-password/[token] HTTP/1.1" in lines[1]
