"""The migration chain and the models describe the same schema, both ways round."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clerkship import create_app
from clerkship.extensions import db
from clerkship.models import Base
from tests.conftest import test_config
from tests.databases import fresh_database


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, Base.metadata)


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrations_match_models_and_run_down_and_up_again():
    with fresh_database("migrations") as url:
        app = create_app(test_config(url))
        with app.app_context():
            engine = db.engine
            flask_migrate.upgrade()
            assert _differences(engine) == []
            assert _tables(engine) == set(Base.metadata.tables) | {"alembic_version"}

            flask_migrate.downgrade(revision="base")
            assert _tables(engine) <= {"alembic_version"}

            flask_migrate.upgrade()
            assert _differences(engine) == []
            engine.dispose()


def test_constraints_follow_the_naming_convention():
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
            prefix = {
                sa.PrimaryKeyConstraint: "pk_",
                sa.ForeignKeyConstraint: "fk_",
                sa.UniqueConstraint: "uq_",
                sa.CheckConstraint: "ck_",
            }[type(constraint)]
            assert str(constraint.name).startswith(prefix), constraint.name
