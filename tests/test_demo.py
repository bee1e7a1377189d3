"""The demo year: believable, complete for every role, idempotent, and its sign-ins work."""

import flask_migrate
import pytest
from sqlalchemy import func, select

from clerkship import create_app, demo, mail
from clerkship.clock import today
from clerkship.extensions import db as _db
from clerkship.models import (
    DISCIPLINES,
    AssessmentCycle,
    Assignment,
    Enrollment,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PanelEntry,
    Program,
    Role,
    Signature,
    User,
)
from clerkship.people import service as people_service
from tests.conftest import test_config
from tests.databases import fresh_database

TABLES = (
    User,
    Enrollment,
    Assignment,
    PanelEntry,
    LearningGoal,
    GoalContribution,
    AssessmentCycle,
    Signature,
)


def counts(db) -> dict:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def role_count(db, role) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == role))


@pytest.fixture(scope="module")
def default_year():
    """``flask demo`` as people run it (the default twelve students), once for the tests that
    only read its year; yields the app (on a database of its own) and the command's result."""
    with fresh_database("demo_default") as url:
        app = create_app(test_config(url))
        with app.app_context():
            flask_migrate.upgrade()
        result = app.test_cli_runner().invoke(args=["demo"])
        try:
            yield app, result
        finally:
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()


@pytest.fixture
def default_db(default_year):
    """The default year's database, for one test (nothing is written: nothing to roll back)."""
    app, _result = default_year
    with app.app_context():
        yield _db
        _db.session.remove()


def test_demo_year_has_every_role_and_relationship(default_year, default_db):
    _app, result = default_year
    db = default_db
    assert result.exit_code == 0, result.output
    assert "password for all: clerkship-demo-2026" in result.output
    assert "director@riverbend.example.org" in result.output

    assert role_count(db, Role.STUDENT) == 12
    assert role_count(db, Role.PRECEPTOR) == 8  # 7 disciplines + one who replaced a leaver
    assert role_count(db, Role.PATIENT) == 60
    assert role_count(db, Role.ADMIN) == 1
    program = db.session.scalar(select(Program))
    assert [d.email for d in program.directors] == ["director@riverbend.example.org"]
    assert program.scale is not None and program.feedback_instrument is not None

    now = today()
    for student in db.session.scalars(select(User).where(User.role == Role.STUDENT)):
        active = db.session.scalars(
            select(Assignment.discipline).where(
                Assignment.student_id == student.id,
                Assignment.start_date <= now,
                Assignment.end_date.is_(None) | (Assignment.end_date >= now),
            )
        ).all()
        assert sorted(active) == sorted(DISCIPLINES)
    ended = db.session.scalars(select(Assignment).where(Assignment.end_date.is_not(None))).all()
    assert len(ended) == 1 and ended[0].end_date < now
    assert db.session.scalar(select(func.count()).select_from(PanelEntry)) == 60
    spanish = role_count_lang(db, "es")
    assert 0 < spanish < 60
    patients_without_email = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.PATIENT, User.email.is_(None))
    )
    assert patients_without_email == 59  # one patient can sign in, for the demo


def role_count_lang(db, language) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.PATIENT, User.preferred_language == language)
    )


def test_demo_goals_cover_every_status_and_all_three_voices(app, db):
    demo.build_demo_year(students=4)
    db.session.commit()
    statuses = set(db.session.scalars(select(LearningGoal.status)))
    assert statuses == set(GoalStatus)
    roles = set(db.session.scalars(select(GoalContribution.author_role)))
    assert roles == {Role.STUDENT, Role.PRECEPTOR, Role.PATIENT}
    closed = db.session.scalars(
        select(LearningGoal).where(LearningGoal.status == GoalStatus.ACHIEVED)
    ).all()
    assert all(goal.closing_reflection for goal in closed)
    first, last = db.session.execute(
        select(func.min(GoalContribution.created_at), func.max(GoalContribution.created_at))
    ).one()
    assert (last - first).days >= 14  # spread over the year, not all stamped today


def test_demo_assessments_cover_every_step_with_valid_signatures(app, db):
    from clerkship.assessments import queries, service
    from clerkship.models import AssessmentAddendum, CycleStatus

    demo.build_demo_year(students=8)
    db.session.commit()
    cycles = db.session.scalars(select(AssessmentCycle)).all()
    assert {cycle.status for cycle in cycles} == set(CycleStatus)
    assert any(c.status is CycleStatus.OPEN and c.self_assessment for c in cycles)
    assert any(c.status is CycleStatus.OPEN and c.preceptor_assessment for c in cycles)
    signed = [c for c in cycles if c.status is CycleStatus.SIGNED]
    assert all(service.signature_valid(c) is True for c in signed)
    addenda = db.session.scalars(select(AssessmentAddendum)).all()
    assert addenda and all(service.addendum_valid(a, a.cycle) for a in addenda)

    # Gaps narrow over the year for most students.
    narrowed = 0
    students = db.session.scalars(select(User).where(User.role == Role.STUDENT)).all()
    for student in students:
        gaps = sorted(
            (p.on, abs(p.gap))
            for _competency, points, _above in queries.calibration(student.id)
            for p in points
        )
        assert len(gaps) >= 4
        narrowed += gaps[-1][1] < gaps[0][1]
    assert narrowed >= len(students) / 2
    first, last = min(c.created_at for c in cycles), max(c.created_at for c in cycles)
    assert (last - first).days >= 60  # spread over the year


def test_demo_patient_feedback_and_links_in_every_state(app, db):
    from clerkship.models import InvitationPurpose, PatientFeedback, PatientInvitation
    from clerkship.panels.service import invitation_state

    demo.build_demo_year(students=6)
    db.session.commit()
    invitations = db.session.scalars(select(PatientInvitation)).all()
    states = {invitation_state(i) for i in invitations}
    assert states == {"open", "used", "withdrawn", "revoked", "expired"}
    assert {i.purpose for i in invitations} == set(InvitationPurpose)
    responses = db.session.scalars(select(PatientFeedback)).all()
    assert len(responses) >= 12
    assert {r.language for r in responses} == {"en", "es"}
    assert any(r.show_name for r in responses) and not all(r.show_name for r in responses)
    days = sorted(r.created_at for r in responses)
    assert (days[-1] - days[0]).days >= 30


def test_running_it_again_adds_nothing_and_more_students_top_up(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "--students", "3"])
    before = counts(db)
    assert runner.invoke(args=["demo", "--students", "3"]).exit_code == 0
    assert counts(db) == before

    assert runner.invoke(args=["demo", "--students", "14"]).exit_code == 0
    assert role_count(db, Role.STUDENT) == 14
    assert role_count(db, Role.PRECEPTOR) == 15  # two sets of seven, plus the replacement
    assert db.session.scalar(select(func.count()).select_from(PanelEntry)) == 70
    # No preceptor carries more than twelve students in a discipline.
    loads = db.session.execute(
        select(Assignment.preceptor_id, func.count())
        .where(Assignment.end_date.is_(None))
        .group_by(Assignment.preceptor_id)
    ).all()
    assert max(n for _, n in loads) <= 12


def test_the_demo_year_emails_nobody_and_mail_still_goes_out_after_it(app, db, world):
    """Its people are made up: the notifications its services would send are held back (not
    even rendered), and only while it builds."""
    demo.build_demo_year(students=2)
    db.session.commit()
    assert mail.outbox(app) == []
    student = world["mine"]["student"]
    people_service.send_reset_link(world["admin"], student)
    db.session.commit()
    assert [m["To"] for m in mail.outbox(app)] == [student.email]


def test_if_empty_leaves_an_existing_database_alone(app, db, student):
    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert "left as it is" in result.output
    assert role_count(db, Role.DIRECTOR) == 0


def test_printed_sign_ins_work(app, db, client):
    sign_ins = demo.build_demo_year(students=2)
    db.session.commit()
    assert {s.role for s in sign_ins} == {"director", "admin", "student", "preceptor", "patient"}
    for sign_in in sign_ins:
        response = client.post(
            "/sign-in", data={"email": sign_in.email, "password": demo.DEMO_PASSWORD}
        )
        assert response.status_code == 302, sign_in
        assert client.get("/").status_code == 200
        client.post("/sign-out")


def test_demo_dashboard_triages_a_quarter_to_a_half_for_different_reasons(
    default_year, default_db
):
    """The demo year looks like real use: not everyone flagged, not for the same reason, and
    every flag says who or what it waits on."""
    from clerkship.directory import dashboard
    from clerkship.models import Cohort

    _app, result = default_year
    assert result.exit_code == 0, result.output
    cohort = default_db.session.scalar(select(Cohort).order_by(Cohort.start_date.desc()))
    board = dashboard.cohort_board(cohort)
    total, flagged = len(board.rows), board.flagged
    assert total / 4 <= len(flagged) <= total / 2, f"{len(flagged)} of {total} flagged"
    kinds = {reason.what.split(" ")[-1] for row in flagged for reason in row.reasons}
    first = {row.reasons[0].what for row in flagged}
    assert len(first) >= 3, first  # different students, different first reasons
    assert len(kinds) >= 3, kinds
    for row in flagged:
        for reason in row.reasons:
            assert reason.waits_on.startswith(("waits on", "worth a talk with")), reason
    # The numbers differ from student to student (the old demo gave everyone the same).
    figures = {(r.agreed, r.stale, r.oldest_wait, r.assessed, r.last_feedback) for r in board.rows}
    assert len(figures) >= total // 2
