"""The migration chain and the models describe the same schema, both ways round."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clerkship import create_app, demo
from clerkship.extensions import db
from clerkship.integrity import service as integrity
from clerkship.models import Base, GoalVersion, Signature
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


VERSIONS = sa.select(GoalVersion.id, GoalVersion.competencies)


def test_down_and_up_on_a_populated_demo_year_keeps_every_signature_valid():
    """Through 5fb637e897db (goal versions' competencies) and the re-signing migration."""
    with fresh_database("migrations-demo") as url:
        app = create_app(test_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=2)
            db.session.commit()
            versions = dict(db.session.execute(VERSIONS).all())
            signed = db.session.scalar(sa.select(sa.func.count()).select_from(Signature))
            assert signed >= 10 and any(versions.values())
            assert integrity.full_check().ok
            db.session.rollback()
            db.session.remove()

            flask_migrate.downgrade(revision="b2d13c2aae76")
            flask_migrate.upgrade()

            again = dict(db.session.execute(VERSIONS).all())
            assert again == versions  # rebuilt from the goals' links, not []
            check = integrity.full_check()
            assert check.ok, check.problems
            assert check.signatures == signed
            assert db.session.scalar(sa.select(sa.func.min(Signature.scheme))) == 2
            db.session.remove()
            db.engine.dispose()


def test_the_flat_domain_text_becomes_domain_nodes_and_back():
    with fresh_database("migrations_domains") as url:
        app = create_app(test_config(url))
        with app.app_context():
            engine = db.engine
            flask_migrate.upgrade(revision="a19e7c0de019")
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO framework (code, name, description, source, created_at) "
                        "VALUES ('fw', 'FW', '', '', CURRENT_TIMESTAMP)"
                    )
                )
                framework_id = connection.execute(sa.text("SELECT id FROM framework")).scalar()
                for number, (code, domain) in enumerate(
                    [("A1", "Communication"), ("A2", "Communication"), ("B1", "Care"), ("C1", "")],
                    start=1,
                ):
                    connection.execute(
                        sa.text(
                            "INSERT INTO competency (framework_id, code, title, description,"
                            " domain, position) VALUES (:fw, :code, :code, '', :domain, :n)"
                        ),
                        {"fw": framework_id, "n": number, "code": code, "domain": domain},
                    )
            flask_migrate.upgrade()
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text(
                        "SELECT c.code, c.node_type, p.title FROM competency c "
                        "LEFT JOIN competency p ON p.id = c.parent_id ORDER BY c.code"
                    )
                ).all()
            assert [tuple(row) for row in rows] == [
                ("A1", "competency", "Communication"),
                ("A2", "competency", "Communication"),
                ("B1", "competency", "Care"),
                ("C1", "competency", None),
                ("D-Care", "domain", None),
                ("D-Communication", "domain", None),
            ]
            flask_migrate.downgrade(revision="a19e7c0de019")
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text("SELECT code, domain FROM competency ORDER BY code")
                ).all()
            assert [tuple(row) for row in rows] == [
                ("A1", "Communication"),
                ("A2", "Communication"),
                ("B1", "Care"),
                ("C1", ""),
            ]
            engine.dispose()
