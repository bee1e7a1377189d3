"""Gunicorn settings for the Clerkship web app (``gunicorn -c deploy/gunicorn.conf.py``).

Gunicorn runs this file as Python and reads the lowercase names below. Everything a
deployment may want to change comes from the environment (see deploy/clerkship.env.example):

    GUNICORN_BIND                 where to listen (default 127.0.0.1:8000; several: separate
                                  them with commas)
    GUNICORN_WORKERS              worker processes (default 2 x CPU cores + 1)
    GUNICORN_TIMEOUT              seconds before a stuck worker is restarted (default 60)
    GUNICORN_FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-Proto (default 127.0.0.1,::1)
    GUNICORN_ACCESS_LOG           access log file, "-" for stdout (default) or "off"
    GUNICORN_LOG_LEVEL            error log level (default info)

The access log never shows query strings, referrers, or the secret tokens that some
addresses carry in their path (patient invitation links /p/<token>, password links,
digest unsubscribe links): those are written as ``[token]``.
"""

from __future__ import annotations

import os

from gunicorn import glogging

# Paths whose next segment is a secret: one list for this log and the app's.
from clerkship.logs import redact


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this service may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The application: built once from the environment in clerkship/wsgi.py.
wsgi_app = "clerkship.wsgi:app"

bind = [
    address.strip()
    for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]
workers = _int_env("GUNICORN_WORKERS", 2 * _cores() + 1)
worker_class = "sync"  # nginx buffers slow clients, so plain sync workers are enough
# Web requests are short (PDFs render in the queue workers); 60 s leaves room for a large
# roster import. nginx waits a little longer (proxy_read_timeout 75s in nginx.conf.example).
timeout = _int_env("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Restart each worker now and then, so a slow leak can never grow for weeks.
max_requests = 1000
max_requests_jitter = 100

# Load the app once in the master: a configuration error (no SECRET_KEY, a bad setting) stops
# the service at start with one clear message, and workers share the loaded code's memory.
# Code changes therefore need `systemctl restart`, not a reload.
preload_app = True

# X-Forwarded-Proto is believed only from these addresses (the reverse proxy). The client's
# own address comes from X-Forwarded-For when CLERKSHIP_REVERSE_PROXIES=1 (see README).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

if os.environ.get("RUNTIME_DIRECTORY"):
    # systemd's RuntimeDirectory= (clerkship-web.service): gunicornc talks to this socket.
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")

_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "-").strip()
accesslog = None if _access_log.lower() in ("", "off", "none") else _access_log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address, time, request line (path without query string, tokens redacted), status,
# bytes, duration in milliseconds, user agent. No referrer: it can hold another page's address.
access_log_format = '%(h)s - %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
proc_name = "clerkship-web"


class RedactingLogger(glogging.Logger):
    """Gunicorn's logger, with secrets taken out of everything a log format can print."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = redact(environ.get("PATH_INFO") or "")
        atoms["q"] = ""
        atoms["f"] = "-"
        for key in (
            "{referer}i",
            "{http_referer}e",
            "{raw_uri}e",
            "{path_info}e",
            "{query_string}e",
            "{request_uri}e",
        ):
            atoms.pop(key, None)
        return atoms


logger_class = RedactingLogger


def when_ready(server):
    """Before the first fork: the loaded app is frozen out of the garbage collector's sight
    (clerkship/collector.py), and every worker starts with that setting."""
    from clerkship import collector

    server.log.info(
        "Garbage collector: %d loaded objects frozen, young threshold %d",
        collector.freeze_loaded(),
        collector.YOUNG_THRESHOLD,
    )


def post_fork(server, worker):
    """Each worker opens its own database connections, never the master's (preload_app)."""
    if not server.cfg.preload_app:
        return
    from clerkship.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not Clerkship (the load benchmark's hello-world baseline uses this file too)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
