"""Clerkship: coproduced learning for longitudinal integrated clerkships."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from flask import Flask

from clerkship import config as config_layers

ROOT = Path(__file__).resolve().parent.parent
# The web app manifest (static/manifest.webmanifest): not in every system's MIME table.
mimetypes.add_type("application/manifest+json", ".webmanifest")


def create_app(config: dict | None = None) -> Flask:
    """Build the application. ``config`` overrides every other layer (used by tests)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        # Deployments may keep config.py, the SQLite file and secrets outside the checkout.
        instance_path=os.environ.get("CLERKSHIP_INSTANCE_PATH") or None,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    config_layers.load(app, config)
    if app.config["REVERSE_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["REVERSE_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from clerkship import (
        database,
        errors,
        forminput,
        headers,
        jinja,
        logs,
        mail,
        page_cache,
        pdf_signing,
        signing_keys,
        transactions,
    )
    from clerkship.extensions import (
        babel,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
        select_locale,
    )

    db.init_app(app)
    database.init_app(app)
    page_cache.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    from clerkship.auth.login import init_login

    init_login(app, login_manager)
    errors.init_app(app)
    jinja.init_app(app)
    headers.init_app(app)
    forminput.init_app(app)
    logs.init_app(app)
    # Registered after headers: after-request handlers run last-first, so a failed commit's
    # error page still gets the security headers.
    transactions.init_app(app)

    signing_keys.init_app(app)
    pdf_signing.init_app(app)

    from clerkship import api

    api.init_app(app)

    import clerkship.sso.saml_views  # noqa: F401  (the SAML routes on the same blueprint)
    from clerkship.accounts import bp as accounts_bp
    from clerkship.assessments import bp as assessments_bp
    from clerkship.auditlog import bp as auditlog_bp
    from clerkship.auth import bp as auth_bp
    from clerkship.credentials import bp as credentials_bp
    from clerkship.directory import bp as directory_bp
    from clerkship.frameworks import bp as frameworks_bp
    from clerkship.goals import bp as goals_bp
    from clerkship.home import bp as home_bp
    from clerkship.integrity import bp as integrity_bp
    from clerkship.panels import bp as panels_bp
    from clerkship.people import bp as people_bp
    from clerkship.portfolios import bp as portfolios_bp
    from clerkship.reflections import bp as reflections_bp
    from clerkship.reminders import bp as reminders_bp
    from clerkship.roster import bp as roster_bp
    from clerkship.sso.views import bp as sso_bp
    from clerkship.visit import bp as visit_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(goals_bp)
    app.register_blueprint(frameworks_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(panels_bp)
    app.register_blueprint(visit_bp)
    app.register_blueprint(portfolios_bp)
    app.register_blueprint(reflections_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(integrity_bp)
    app.register_blueprint(credentials_bp)
    app.register_blueprint(sso_bp)

    from clerkship.api.pages import bp as api_tokens_bp

    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(auditlog_bp)

    from clerkship import cli, tasks

    mail.init_app(app, send_later=tasks.send_email)

    cli.init_app(app)
    return app
