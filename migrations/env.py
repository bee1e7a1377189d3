"""Alembic environment for Clerkship (driven by Flask-Migrate)."""

import logging
import secrets
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

config = context.config
# Keep loggers that the application (or the test run) set up before migrations ran.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Write our UTC timestamp type as a plain timezone-aware DateTime, so migrations never
    import application code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)

    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table by copying and dropping it; with foreign keys
            # on, dropping a table others refer to fails. Off for the migration (the PRAGMA
            # only works outside a transaction, hence the raw connection), checked after.
            _sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(
                connection=connection, target_metadata=target_db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken}")
            _new_data_versions(connection)
            connection.commit()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _new_data_versions(connection):
    """A migration may change data without the app's sessions (which replace the tokens):
    no page kept and no portfolio reused from before it (clerkship.page_cache)."""
    schema = sa.inspect(connection)
    if not schema.has_table("data_version"):
        return
    columns = {column["name"] for column in schema.get_columns("data_version")}
    tokens = {
        name: secrets.token_hex(16) for name in ("token", "records_token") if name in columns
    }
    if tokens:
        assignments = ", ".join(f"{name} = :{name}" for name in tokens)
        connection.execute(sa.text(f"UPDATE data_version SET {assignments}"), tokens)  # noqa: S608


def _sqlite_foreign_keys(connection, *, on: bool):
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
