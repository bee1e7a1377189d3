"""Two people, two real database connections, the same record at the same moment.

PostgreSQL only: SQLite takes its write lock at BEGIN (clerkship.database), so two requests
there never overlap and nothing can race.

Each race is made deterministic instead of being left to timing. The *first* request runs in
a thread until it is about to COMMIT: its writes are flushed and PostgreSQL holds its row
locks. The *second* request then runs in another thread, reads the record as it was (the
first has not committed) and goes on until PostgreSQL makes it wait for the first one's
locks, which we see in ``pg_stat_activity``. Then the first commits and both finish. So
both requests have passed every check the application makes before writing; only the
database can tell them apart.

Every test then checks three things: exactly one request won and its data is in the
database, intact; the other got a page a person can act on (409 or 400 with a message,
never a 500 or an exception) with what they typed still in the form; and the counts of rows
show that nothing was written twice and nothing was half written.

These tests commit for real, so they cannot use the suite's rolled-back ``db`` fixture: the
module has a database of its own, created and dropped around it (tests/databases.py).
"""

from __future__ import annotations

import html
import itertools
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerkship import clock, create_app, seeds
from clerkship.assessments import service as assessments
from clerkship.auth.passwords import set_password
from clerkship.extensions import db
from clerkship.goals import service as goals
from clerkship.mail import outbox
from clerkship.models import (
    AssessmentCycle,
    Assignment,
    AuditEvent,
    Cohort,
    ContributionKind,
    CycleStatus,
    Enrollment,
    FeedbackAnswer,
    Framework,
    GoalContribution,
    GoalStatus,
    GoalVersion,
    InvitationPurpose,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    PreceptorAssessment,
    Program,
    Reflection,
    Role,
    SelfAssessment,
    Signature,
    SubmittedForm,
    User,
)
from clerkship.panels import service as panels
from clerkship.reflections import service as reflections
from tests.conftest import TEST_PASSWORD, IsolatedClient, login, test_config
from tests.databases import fresh_database


def _on_postgresql() -> bool:
    url = os.environ.get("TEST_DATABASE_URL", "")
    try:
        return bool(url) and make_url(url).get_backend_name() == "postgresql"
    except sa.exc.ArgumentError:
        return False


pytestmark = pytest.mark.skipif(
    not _on_postgresql(), reason="needs two real connections: TEST_DATABASE_URL=postgresql…"
)

# Our own waits give up well before PostgreSQL's lock_timeout would turn a stuck wait into
# an error inside a request, so a broken interleaving fails here, with a clear message.
WAIT_SECONDS = 20
LOCK_TIMEOUT_MS = 60_000

_numbers = itertools.count(1)


# --- a database and an application of this module's own --------------------------------------


@pytest.fixture(scope="module")
def pg():
    with fresh_database("concurrency") as url:
        app = create_app(
            test_config(
                url,
                SQLALCHEMY_ENGINE_OPTIONS={
                    "pool_pre_ping": True,
                    "connect_args": {"options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"},
                },
            )
        )
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            seeds.load_shipped()
            db.session.commit()
        # A third connection that only watches who is waiting for a lock.
        watcher = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        try:
            yield SimpleNamespace(app=app, watcher=watcher)
        finally:
            watcher.dispose()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def app(pg):
    """This module's app (shadowing the suite's), its outbox emptied for each test."""
    outbox(pg.app).clear()
    return pg.app


def _person(user: User) -> SimpleNamespace:
    return SimpleNamespace(id=user.id, email=user.email, name=user.name)


@pytest.fixture
def people(app) -> SimpleNamespace:
    """A student with two current preceptors and a panel patient, in a program that uses the
    shipped scale, EPA framework and feedback instrument. Everyone here is new to the test."""
    n = next(_numbers)
    today = clock.today()
    with app.app_context():
        epas = db.session.scalar(
            select(Framework).where(Framework.code == seeds.EPA_FRAMEWORK_CODE)
        )
        scale = seeds.default_scale()
        program = Program(
            name=f"Race program {n}",
            slug=f"race-{n}",
            institution="Test School",
            scale=scale,
            feedback_instrument=seeds.default_instrument(),
        )
        program.frameworks = [epas]
        cohort = Cohort(
            program=program,
            name="2026–27",
            start_date=today - timedelta(days=90),
            end_date=today + timedelta(days=270),
        )
        users = {}
        for key, role, name in (
            ("student", Role.STUDENT, f"Sam Student{n}"),
            ("preceptor", Role.PRECEPTOR, f"Pat Preceptor{n}"),
            ("preceptor2", Role.PRECEPTOR, f"Pia Paediatrician{n}"),
            ("patient", Role.PATIENT, f"Polly Patient{n}"),
        ):
            user = User(role=role, email=f"race{n}-{key}@example.org", name=name)
            if role is not Role.PATIENT:
                set_password(user, TEST_PASSWORD)
            users[key] = user
        db.session.add_all([program, cohort, *users.values()])
        db.session.flush()
        student = users["student"]
        db.session.add_all(
            [
                Enrollment(cohort_id=cohort.id, student_id=student.id),
                Assignment(
                    cohort_id=cohort.id,
                    student_id=student.id,
                    preceptor_id=users["preceptor"].id,
                    discipline="Family medicine",
                    start_date=today - timedelta(days=60),
                ),
                Assignment(
                    cohort_id=cohort.id,
                    student_id=student.id,
                    preceptor_id=users["preceptor2"].id,
                    discipline="Paediatrics",
                    start_date=today - timedelta(days=60),
                ),
                PanelEntry(
                    cohort_id=cohort.id,
                    student_id=student.id,
                    patient_id=users["patient"].id,
                    consent_date=today - timedelta(days=30),
                ),
            ]
        )
        db.session.commit()
        return SimpleNamespace(
            **{key: _person(user) for key, user in users.items()},
            competency=epas.competencies[0].id,
            levels={level.value: level.id for level in scale.levels},
        )


def _user(person: SimpleNamespace) -> User:
    return db.session.get(User, person.id)


def _signed_in(app, person: SimpleNamespace) -> IsolatedClient:
    """A browser of its own (its own cookie, its own server-side session) for ``person``."""
    client = app.test_client()
    login(client, person)
    return client


def _shared_goal(app, people, **text) -> int:
    """A goal drafted by the student and shared with both preceptors and the patient."""
    with app.app_context():
        student = _user(people.student)
        text.setdefault("title", "Lead a family meeting")
        goal = goals.create_goal(student, goals.GoalText(**text), [])
        goals.share_goal(
            student,
            goal,
            [_user(people.preceptor), _user(people.preceptor2), _user(people.patient)],
        )
        db.session.commit()
        return goal.id


def _cycle(app, people, until: CycleStatus) -> int:
    """An assessment cycle brought to ``until`` through the services, as people would."""
    with app.app_context():
        student, preceptor = _user(people.student), _user(people.preceptor)
        cycle = assessments.start_cycle(
            student,
            student=student,
            preceptor=preceptor,
            competency_id=people.competency,
            encounter="Home visit",
        )
        if until is not CycleStatus.OPEN:
            assessments.submit_self_assessment(
                student,
                cycle,
                assessments.SelfRating(people.levels[3], "Three home visits this month"),
            )
            assessments.submit_preceptor_assessment(
                preceptor,
                cycle,
                level_id=people.levels[2],
                went_well="Clear history taking",
                work_on="Summarise the plan for the family",
            )
        if until is CycleStatus.AWAITING_SIGNATURE:
            assessments.record_reaction(
                student, cycle, reaction="Fair; I overrated myself", plan="Lead two summaries"
            )
        db.session.commit()
        assert cycle.status is until
        return cycle.id


# --- the race --------------------------------------------------------------------------------


class _HoldBeforeCommit:
    """Stops one thread's request at its COMMIT once it has flushed a write to ``targets``."""

    def __init__(self, targets: tuple[type, ...]):
        self.targets = targets
        self.thread: threading.Thread | None = None
        self.holding = threading.Event()
        self.release = threading.Event()

    def _mine(self) -> bool:
        return threading.current_thread() is self.thread

    def after_flush(self, session, _context) -> None:
        # The session's new/dirty/deleted still show what this flush wrote.
        flushed = itertools.chain(session.new, session.dirty, session.deleted)
        if self._mine() and any(isinstance(obj, self.targets) for obj in flushed):
            session.info["race_wrote_target"] = True

    def before_commit(self, session) -> None:
        if not self._mine():
            return
        session.flush()
        if session.info.pop("race_wrote_target", False) and not self.holding.is_set():
            self.holding.set()
            if not self.release.wait(WAIT_SECONDS):
                raise RuntimeError("the test never let the first request commit")


def _wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _waiting_for_a_lock(watcher) -> int:
    with watcher.connect() as connection:
        return connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def race(pg, first: Callable, second: Callable, *, on: tuple[type, ...]):
    """Run ``first`` up to its commit (holding its locks on the ``on`` rows), then ``second``
    until the database makes it wait for them; then let both finish. Returns both outcomes:
    a response, or the exception a request raised."""
    hold = _HoldBeforeCommit(on)
    outcomes: dict[str, object] = {}

    def run(name: str, request: Callable) -> None:
        try:
            outcomes[name] = request()
        except BaseException as error:  # reported by the test, not lost in the thread
            outcomes[name] = error

    a = threading.Thread(target=run, args=("first", first), name="first")
    b = threading.Thread(target=run, args=("second", second), name="second")
    hold.thread = a
    event.listen(Session, "after_flush", hold.after_flush)
    event.listen(Session, "before_commit", hold.before_commit)
    waited = False

    def second_waits_or_ends() -> bool:
        nonlocal waited
        waited = _waiting_for_a_lock(pg.watcher) > 0
        return waited or not b.is_alive()

    try:
        a.start()
        _wait_until(lambda: hold.holding.is_set() or not a.is_alive())
        assert hold.holding.is_set(), f"the first request never wrote: {outcomes.get('first')}"
        b.start()
        _wait_until(second_waits_or_ends)
    finally:
        hold.release.set()
        a.join(WAIT_SECONDS)
        b.join(WAIT_SECONDS)
        event.remove(Session, "after_flush", hold.after_flush)
        event.remove(Session, "before_commit", hold.before_commit)
    assert not a.is_alive() and not b.is_alive(), "a request is still running"
    assert waited, f"the second request never waited for the first: {outcomes.get('second')}"
    return _answered(outcomes["first"]), _answered(outcomes["second"])


def _answered(outcome):
    """Never an exception escaping a request, never a 500."""
    assert not isinstance(outcome, BaseException), f"the request raised {outcome!r}"
    assert outcome.status_code < 500, outcome.get_data(as_text=True)[:2000]
    return outcome


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audited(action: str, object_type: str, object_id: int) -> int:
    return _count(
        AuditEvent,
        AuditEvent.action == action,
        AuditEvent.object_type == object_type,
        AuditEvent.object_id == object_id,
    )


def _mailed(app, subject_part: str) -> list[str]:
    """Who was e-mailed (one entry per message) with ``subject_part`` in the subject. Mail
    leaves only after a commit, so a request that lost sends nothing."""
    return sorted(m["To"] for m in outbox(app) if subject_part in m["Subject"])


def _checked(page: str, value: str) -> bool:
    tag = re.search(rf'<input[^>]*value="{value}"[^>]*>', page)
    return tag is not None and " checked" in tag.group(0)


# --- 1. two windows editing the same learning goal -------------------------------------------


def _seen_version(page: str) -> str:
    """The lock version a form was opened on ("" when the form does not carry one)."""
    found = re.search(r'name="seen_version" type="hidden" value="(\d+)"', page)
    return found.group(1) if found else ""


def _goal_form(seen: str, **text) -> dict:
    return {"specific": "", "measure": "", "actions": "", "seen_version": seen, **text}


def test_two_windows_save_the_same_goal_one_saves_the_other_keeps_their_text(app, pg, people):
    """The student edits one goal on the laptop and on the phone; both forms were opened on
    version 1 and are sent at the same moment."""
    goal_id = _shared_goal(app, people)
    laptop = _signed_in(app, people.student)
    phone = _signed_in(app, people.student)
    seen_laptop = _seen_version(_page(laptop.get(f"/goals/{goal_id}/edit")))
    seen_phone = _seen_version(_page(phone.get(f"/goals/{goal_id}/edit")))
    assert seen_laptop == seen_phone != ""

    mine = {"title": "Lead a family meeting alone", "specific": "Laptop wording of the aim"}
    theirs = {"title": "Run a family conference", "actions": "Phone wording of the actions"}
    saved, refused = race(
        pg,
        lambda: laptop.post(f"/goals/{goal_id}/edit", data=_goal_form(seen_laptop, **mine)),
        lambda: phone.post(f"/goals/{goal_id}/edit", data=_goal_form(seen_phone, **theirs)),
        on=(LearningGoal, GoalVersion),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = _page(refused)
    assert "Someone else changed this goal" in page
    assert "Nothing you typed is lost" in page
    # What the phone typed is back in the form, next to what the laptop saved.
    assert 'value="Run a family conference"' in page
    assert "Phone wording of the actions</textarea>" in page
    assert "Laptop wording of the aim" in page
    with app.app_context():
        goal = db.session.get(LearningGoal, goal_id)
        assert [v.number for v in goal.versions] == [1, 2]
        assert goal.latest.title == mine["title"]
        assert goal.latest.specific == mine["specific"]
        assert goal.latest.actions == ""
        assert goal.current_version == 2
        assert _audited("goal.edited", "learning_goal", goal_id) == 1
        seen_now = str(goal.version_id)
    shared_with = sorted([people.preceptor.email, people.preceptor2.email, people.patient.email])
    assert _mailed(app, "has a new version") == shared_with

    # Saving from the conflict page is a deliberate overwrite: the phone's words win now.
    assert _seen_version(page) == seen_now
    again = phone.post(f"/goals/{goal_id}/edit", data=_goal_form(seen_now, **theirs))
    assert again.status_code == 302
    with app.app_context():
        goal = db.session.get(LearningGoal, goal_id)
        assert [v.number for v in goal.versions] == [1, 2, 3]
        assert goal.versions[1].title == mine["title"]  # the laptop's version is kept
        assert goal.latest.title == theirs["title"]


def _reflection(app, people) -> int:
    with app.app_context():
        reflection = reflections.write(
            _user(people.student), "First home visit", "I talked too much.", False
        )
        db.session.commit()
        return reflection.id


def _reflection_form(seen: str, title: str, body: str) -> dict:
    return {"title": title, "body": body, "seen_version": seen}


def test_two_windows_save_the_same_reflection_at_once(app, pg, people):
    reflection_id = _reflection(app, people)
    laptop = _signed_in(app, people.student)
    phone = _signed_in(app, people.student)
    seen = _seen_version(_page(laptop.get(f"/reflections/{reflection_id}/edit")))
    assert _seen_version(_page(phone.get(f"/reflections/{reflection_id}/edit"))) == seen

    saved, refused = race(
        pg,
        lambda: laptop.post(
            f"/reflections/{reflection_id}/edit",
            data=_reflection_form(seen, "First home visit", "Laptop: I listened more."),
        ),
        lambda: phone.post(
            f"/reflections/{reflection_id}/edit",
            data=_reflection_form(seen, "Home visit one", "Phone: the family led."),
        ),
        on=(Reflection,),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = _page(refused)
    assert "This reflection changed in another window; your text is below." in page
    assert "Phone: the family led.</textarea>" in page
    with app.app_context():
        reflection = db.session.get(Reflection, reflection_id)
        assert (reflection.title, reflection.body) == (
            "First home visit",
            "Laptop: I listened more.",
        )
        assert _audited("reflection.edited", "reflection", reflection_id) == 1


def test_a_reflection_form_left_open_does_not_overwrite_a_later_save(app, people):
    """Not a race on the database, the slow kind: two windows opened on the same version,
    one saved, the other saved minutes later. Without the version the form was opened on,
    the second save silently replaced the first (a lost write)."""
    reflection_id = _reflection(app, people)
    laptop = _signed_in(app, people.student)
    phone = _signed_in(app, people.student)
    seen = _seen_version(_page(laptop.get(f"/reflections/{reflection_id}/edit")))
    assert _seen_version(_page(phone.get(f"/reflections/{reflection_id}/edit"))) == seen
    first = _reflection_form(seen, "First home visit", "Laptop: I listened more.")
    assert laptop.post(f"/reflections/{reflection_id}/edit", data=first).status_code == 302

    later = _reflection_form(seen, "Home visit one", "Phone: the family led.")
    refused = phone.post(f"/reflections/{reflection_id}/edit", data=later)

    assert refused.status_code == 409
    page = _page(refused)
    assert "your text is below" in page and "Phone: the family led.</textarea>" in page
    with app.app_context():
        assert db.session.get(Reflection, reflection_id).body == "Laptop: I listened more."
    # Saving from the refused page is a deliberate overwrite.
    fresh = _seen_version(page)
    assert fresh != seen
    again = phone.post(f"/reflections/{reflection_id}/edit", data={**later, "seen_version": fresh})
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Reflection, reflection_id).body == "Phone: the family led."


# --- 2. a preceptor agrees (signs) while the student rewords ---------------------------------


def _agreements(goal_id: int) -> list[GoalContribution]:
    return list(
        db.session.scalars(
            select(GoalContribution).where(
                GoalContribution.goal_id == goal_id,
                GoalContribution.kind == ContributionKind.AGREEMENT,
            )
        )
    )


def _goal_signatures(goal_id: int) -> int:
    return _count(
        Signature, Signature.subject_type == "learning_goal", Signature.subject_id == goal_id
    )


def test_student_rewords_while_preceptor_agrees_the_rewording_wins(app, pg, people):
    """The edit commits first: the agreement was to wording that no longer exists, so it
    must not be recorded. The preceptor is told and sees the new version to agree to."""
    goal_id = _shared_goal(app, people)
    student = _signed_in(app, people.student)
    preceptor = _signed_in(app, people.preceptor)
    seen = _seen_version(_page(student.get(f"/goals/{goal_id}/edit")))
    assert preceptor.get(f"/goals/{goal_id}").status_code == 200

    edited, agreed = race(
        pg,
        lambda: student.post(
            f"/goals/{goal_id}/edit", data=_goal_form(seen, title="Lead two family meetings")
        ),
        lambda: preceptor.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        on=(LearningGoal,),
    )

    assert edited.status_code == 302
    assert agreed.status_code == 409
    page = _page(agreed)
    assert "changed" in page and "Nothing of yours was saved" in page
    assert "Lead two family meetings" in page  # the page now shows what there is to agree to
    with app.app_context():
        goal = db.session.get(LearningGoal, goal_id)
        assert goal.status is GoalStatus.SHARED
        assert goal.current_version == 2 and goal.latest.title == "Lead two family meetings"
        assert _agreements(goal_id) == []
        assert _goal_signatures(goal_id) == 0
        assert _audited("goal.agreed", "learning_goal", goal_id) == 0
    assert _mailed(app, "agreed to") == []

    # Agreeing again, now to version 2, works.
    assert preceptor.post(f"/goals/{goal_id}/agree", data={"version": "2"}).status_code == 302
    with app.app_context():
        goal = db.session.get(LearningGoal, goal_id)
        assert goal.status is GoalStatus.AGREED
        (agreement,) = _agreements(goal_id)
        assert agreement.version_number == 2
        assert goals.agreement_is_valid(goal, agreement)
    assert _mailed(app, "agreed to") == sorted(
        [people.student.email, people.preceptor2.email, people.patient.email]
    )


def test_preceptor_agrees_while_student_rewords_the_agreement_wins(app, pg, people):
    """The agreement commits first: the student's rewording comes back on the conflict page
    with their text, and the signed agreement to version 1 stays valid."""
    goal_id = _shared_goal(app, people)
    student = _signed_in(app, people.student)
    preceptor = _signed_in(app, people.preceptor)
    seen = _seen_version(_page(student.get(f"/goals/{goal_id}/edit")))

    agreed, edited = race(
        pg,
        lambda: preceptor.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        lambda: student.post(
            f"/goals/{goal_id}/edit",
            data=_goal_form(seen, title="Lead two family meetings", actions="Book the room"),
        ),
        on=(LearningGoal,),
    )

    assert agreed.status_code == 302
    assert edited.status_code == 409
    page = _page(edited)
    assert "Someone else changed this goal" in page
    assert 'value="Lead two family meetings"' in page and "Book the room</textarea>" in page
    with app.app_context():
        goal = db.session.get(LearningGoal, goal_id)
        assert goal.status is GoalStatus.AGREED
        assert [v.number for v in goal.versions] == [1]
        (agreement,) = _agreements(goal_id)
        assert agreement.version_number == 1 and agreement.author_id == people.preceptor.id
        assert goals.agreement_is_valid(goal, agreement)
        assert _goal_signatures(goal_id) == 1


def test_two_preceptors_agree_at_the_same_moment_one_is_asked_to_retry(app, pg, people):
    goal_id = _shared_goal(app, people)
    first = _signed_in(app, people.preceptor)
    second = _signed_in(app, people.preceptor2)

    agreed, refused = race(
        pg,
        lambda: first.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        lambda: second.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        on=(LearningGoal,),
    )

    assert agreed.status_code == 302
    assert refused.status_code == 409
    assert "Nothing of yours was saved" in _page(refused)
    with app.app_context():
        assert [a.author_id for a in _agreements(goal_id)] == [people.preceptor.id]
        assert _goal_signatures(goal_id) == 1
    # The second preceptor's retry is recorded beside the first agreement.
    assert second.post(f"/goals/{goal_id}/agree", data={"version": "1"}).status_code == 302
    with app.app_context():
        assert sorted(a.author_id for a in _agreements(goal_id)) == sorted(
            [people.preceptor.id, people.preceptor2.id]
        )


# --- 3. co-signing an assessment -------------------------------------------------------------


SIGN = {"meaning": "cosigned_supervisor", "password": TEST_PASSWORD}


def _version(app, cycle_id: int) -> int:
    """The version the review page shows (its forms carry it)."""
    with app.app_context():
        return db.session.get_one(AssessmentCycle, cycle_id).version_id


CONFLICT = "Someone else changed this assessment while you were working on it"


def _cycle_signatures(cycle_id: int) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature).where(
                Signature.subject_type == "assessment_cycle", Signature.subject_id == cycle_id
            )
        )
    )


@pytest.mark.parametrize("winner", ["sign", "return"])
def test_sign_and_return_at_the_same_moment_exactly_one_happens(app, pg, people, winner):
    """The preceptor has the review page open twice (or on two devices): in one they sign,
    in the other they send it back with a comment."""
    cycle_id = _cycle(app, people, CycleStatus.AWAITING_SIGNATURE)
    signing = _signed_in(app, people.preceptor)
    returning = _signed_in(app, people.preceptor)
    comment = "Please make the plan concrete: dates and who"
    seen = _version(app, cycle_id)  # both pages were opened on the same version

    def sign():
        return signing.post(f"/assessments/{cycle_id}/sign", data={**SIGN, "version": seen})

    def send_back():
        return returning.post(
            f"/assessments/{cycle_id}/return", data={"comment": comment, "version": seen}
        )

    first, second = (sign, send_back) if winner == "sign" else (send_back, sign)

    won, lost = race(pg, first, second, on=(AssessmentCycle,))

    assert won.status_code == 302
    assert lost.status_code == 409
    page = _page(lost)
    assert CONFLICT in page
    assert TEST_PASSWORD not in page  # a password is never sent back
    with app.app_context():
        cycle = db.session.get(AssessmentCycle, cycle_id)
        signatures = _cycle_signatures(cycle_id)
        if winner == "sign":
            assert cycle.status is CycleStatus.SIGNED and cycle.return_comment is None
            assert [s.id for s in signatures] == [cycle.signature_id]
            assert assessments.signature_valid(cycle) is True
            assert comment in page  # the comment they typed comes back in the form
        else:
            assert cycle.status is CycleStatus.RETURNED and cycle.return_comment == comment
            assert signatures == [] and cycle.signature_id is None
            assert _checked(page, "cosigned_supervisor")  # the meaning they chose is kept
        assert _audited("assessment.signed", "assessment_cycle", cycle_id) == (
            1 if winner == "sign" else 0
        )
        assert _audited("assessment.returned", "assessment_cycle", cycle_id) == (
            1 if winner == "return" else 0
        )


def test_two_tabs_co_sign_at_once_one_signature(app, pg, people):
    cycle_id = _cycle(app, people, CycleStatus.AWAITING_SIGNATURE)
    tab1 = _signed_in(app, people.preceptor)
    tab2 = _signed_in(app, people.preceptor)
    seen = _version(app, cycle_id)
    agreed = {"meaning": "reviewed_and_agreed", "password": TEST_PASSWORD, "version": seen}

    won, lost = race(
        pg,
        lambda: tab1.post(f"/assessments/{cycle_id}/sign", data={**SIGN, "version": seen}),
        lambda: tab2.post(f"/assessments/{cycle_id}/sign", data=agreed),
        on=(AssessmentCycle,),
    )

    assert won.status_code == 302
    assert lost.status_code == 409 and CONFLICT in _page(lost)
    with app.app_context():
        cycle = db.session.get(AssessmentCycle, cycle_id)
        assert cycle.status is CycleStatus.SIGNED
        (signature,) = _cycle_signatures(cycle_id)
        assert cycle.signature_id == signature.id
        assert signature.meaning.value == SIGN["meaning"]  # the first tab's meaning
        assert assessments.signature_valid(cycle) is True
        assert _audited("assessment.signed", "assessment_cycle", cycle_id) == 1
    assert _mailed(app, "assessment was signed") == [people.student.email]
    # Opened again, the page says it is signed; nothing can be signed twice.
    again = tab2.post(f"/assessments/{cycle_id}/sign", data=agreed)
    assert again.status_code == 409 and "already signed" in _page(again)
    with app.app_context():
        assert len(_cycle_signatures(cycle_id)) == 1


def test_both_blind_ratings_at_the_same_moment_the_cycle_is_never_stuck(app, pg, people):
    """The student and the preceptor submit their ratings at once. Each alone would leave
    the cycle open waiting for the other; if both were saved, neither would reveal it and it
    would wait forever. One is saved, the other is asked to send again, and then it opens."""
    cycle_id = _cycle(app, people, CycleStatus.OPEN)
    student = _signed_in(app, people.student)
    preceptor = _signed_in(app, people.preceptor)
    rating = {
        "level": str(people.levels[2]),
        "went_well": "Calm with an anxious family",
        "work_on": "Close the visit with a summary",
    }
    self_rating = {"level": str(people.levels[3]), "evidence": "Led three home visits"}

    saved, refused = race(
        pg,
        lambda: student.post(f"/assessments/{cycle_id}/self", data=self_rating),
        lambda: preceptor.post(f"/assessments/{cycle_id}/rate", data=rating),
        on=(AssessmentCycle,),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = _page(refused)
    assert CONFLICT in page
    assert "Calm with an anxious family" in page and "Close the visit with a summary" in page
    with app.app_context():
        cycle = db.session.get(AssessmentCycle, cycle_id)
        assert cycle.status is CycleStatus.OPEN
        assert cycle.self_assessment.evidence == "Led three home visits"
        assert _count(PreceptorAssessment, PreceptorAssessment.cycle_id == cycle_id) == 0
    assert preceptor.post(f"/assessments/{cycle_id}/rate", data=rating).status_code == 302
    with app.app_context():
        cycle = db.session.get(AssessmentCycle, cycle_id)
        assert cycle.status is CycleStatus.REVEALED
        assert cycle.preceptor_assessment.went_well == "Calm with an anxious family"


def test_reaction_and_plan_from_two_tabs_one_is_kept_whole(app, pg, people):
    """The student sends their reaction and plan from two tabs with different words: the
    record holds one tab's reaction with that same tab's plan, never a mix of the two."""
    cycle_id = _cycle(app, people, CycleStatus.REVEALED)
    tab1 = _signed_in(app, people.student)
    tab2 = _signed_in(app, people.student)
    first = {"reaction": "Tab one: fair rating", "plan": "Tab one: lead two summaries"}
    second = {"reaction": "Tab two: I was too generous", "plan": "Tab two: ask for feedback"}

    saved, refused = race(
        pg,
        lambda: tab1.post(f"/assessments/{cycle_id}/reaction", data=first),
        lambda: tab2.post(f"/assessments/{cycle_id}/reaction", data=second),
        on=(AssessmentCycle, SelfAssessment),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = _page(refused)
    assert CONFLICT in page
    assert "Tab two: I was too generous</textarea>" in page
    assert "Tab two: ask for feedback</textarea>" in page
    with app.app_context():
        cycle = db.session.get(AssessmentCycle, cycle_id)
        assert cycle.status is CycleStatus.AWAITING_SIGNATURE
        own = cycle.self_assessment
        assert (own.reaction, own.plan) == (first["reaction"], first["plan"])
        assert _audited("assessment.reaction", "assessment_cycle", cycle_id) == 1
    assert _mailed(app, "Ready for your signature") == [people.preceptor.email]


# --- 4. the same form sent twice at the same instant -----------------------------------------


def test_preceptor_rating_sent_twice_is_written_once(app, pg, people):
    cycle_id = _cycle(app, people, CycleStatus.OPEN)
    click1 = _signed_in(app, people.preceptor)
    click2 = _signed_in(app, people.preceptor)
    rating = {
        "level": str(people.levels[4]),
        "went_well": "Explained the plan in plain words",
        "work_on": "Check understanding with teach-back",
    }

    saved, refused = race(
        pg,
        lambda: click1.post(f"/assessments/{cycle_id}/rate", data=rating),
        lambda: click2.post(f"/assessments/{cycle_id}/rate", data=rating),
        on=(AssessmentCycle, PreceptorAssessment),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = _page(refused)
    assert CONFLICT in page and "Explained the plan in plain words" in page
    with app.app_context():
        (entry,) = db.session.scalars(
            select(PreceptorAssessment).where(PreceptorAssessment.cycle_id == cycle_id)
        )
        assert entry.level_id == people.levels[4]
        assert entry.went_well == rating["went_well"] and entry.work_on == rating["work_on"]
        assert _audited("assessment.rated", "assessment_cycle", cycle_id) == 1


def test_self_assessment_sent_twice_is_written_once(app, pg, people):
    cycle_id = _cycle(app, people, CycleStatus.OPEN)
    click1 = _signed_in(app, people.student)
    click2 = _signed_in(app, people.student)
    self_rating = {"level": str(people.levels[3]), "evidence": "Two observed histories"}

    saved, refused = race(
        pg,
        lambda: click1.post(f"/assessments/{cycle_id}/self", data=self_rating),
        lambda: click2.post(f"/assessments/{cycle_id}/self", data=self_rating),
        on=(AssessmentCycle, SelfAssessment),
    )

    assert saved.status_code == 302
    assert refused.status_code == 409 and "Two observed histories" in _page(refused)
    with app.app_context():
        assert _count(SelfAssessment, SelfAssessment.cycle_id == cycle_id) == 1
        assert _audited("assessment.self_submitted", "assessment_cycle", cycle_id) == 1


def test_agreeing_twice_from_two_tabs_records_one_agreement(app, pg, people):
    goal_id = _shared_goal(app, people)
    tab1 = _signed_in(app, people.preceptor)
    tab2 = _signed_in(app, people.preceptor)

    agreed, refused = race(
        pg,
        lambda: tab1.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        lambda: tab2.post(f"/goals/{goal_id}/agree", data={"version": "1"}),
        on=(LearningGoal,),
    )

    assert agreed.status_code == 302
    assert refused.status_code == 409
    with app.app_context():
        assert len(_agreements(goal_id)) == 1
        assert _goal_signatures(goal_id) == 1
    # Each party hears about the agreement once.
    assert _mailed(app, "agreed to") == sorted(
        [people.student.email, people.preceptor2.email, people.patient.email]
    )
    # Looked at again, the page says it is agreed; a further click changes nothing.
    again = tab2.post(f"/goals/{goal_id}/agree", data={"version": "1"})
    assert again.status_code == 409 and "already agreed" in _page(again)
    with app.app_context():
        assert len(_agreements(goal_id)) == 1


def _open_invitation(app, people, purpose: InvitationPurpose, goal_id: int | None = None):
    with app.app_context():
        entry = db.session.scalar(
            select(PanelEntry).where(PanelEntry.patient_id == people.patient.id)
        )
        goal = db.session.get(LearningGoal, goal_id) if goal_id else None
        invitation, token = panels.create_invitation(
            _user(people.student), entry, purpose, goal=goal
        )
        db.session.commit()
        return invitation.id, token


def _patient_browser(app, token: str) -> IsolatedClient:
    client = app.test_client()
    assert client.get(f"/p/{token}").status_code == 302
    return client


def test_patient_feedback_sent_twice_is_saved_once(app, pg, people):
    """A double click on "Send" (or the form sent from two tabs of the same link)."""
    invitation_id, token = _open_invitation(app, people, InvitationPurpose.FEEDBACK)
    tab1, tab2 = _patient_browser(app, token), _patient_browser(app, token)
    with app.app_context():
        items = seeds.default_instrument().items
        answers = {f"item-{item.key}": "4" for item in items}
    answers.update(
        show_name="no", anything_else="She always explains the tests", hope_next="Listening"
    )

    sent, refused = race(
        pg,
        lambda: tab1.post("/p/feedback", data=answers),
        lambda: tab2.post("/p/feedback", data=answers),
        on=(PatientFeedback, PatientInvitation),
    )

    assert sent.status_code == 302 and sent.headers["Location"].endswith("/p/thanks")
    assert refused.status_code == 400
    page = _page(refused)
    assert "You have already answered. Thank you!" in page
    assert "She always explains the tests" in page  # nothing typed is thrown away
    with app.app_context():
        (feedback,) = db.session.scalars(
            select(PatientFeedback).where(PatientFeedback.invitation_id == invitation_id)
        )
        assert feedback.anything_else == "She always explains the tests"
        assert _count(FeedbackAnswer, FeedbackAnswer.feedback_id == feedback.id) == len(items)
        assert db.session.get(PatientInvitation, invitation_id).used_at is not None
        assert _audited("feedback.submitted", "patient_feedback", feedback.id) == 1


def test_patient_view_on_a_goal_sent_twice_is_added_once(app, pg, people):
    goal_id = _shared_goal(app, people)
    invitation_id, token = _open_invitation(app, people, InvitationPurpose.GOAL_INPUT, goal_id)
    tab1, tab2 = _patient_browser(app, token), _patient_browser(app, token)
    view = {"view": "Please learn to explain without jargon", "matters": "yes", "show_name": "no"}

    sent, refused = race(
        pg,
        lambda: tab1.post("/p/goal", data=view),
        lambda: tab2.post("/p/goal", data=view),
        on=(LearningGoal, PatientInvitation),
    )

    assert sent.status_code == 302
    assert refused.status_code == 400
    page = _page(refused)
    assert "You have already sent your view. Thank you!" in page
    assert "Please learn to explain without jargon" in page
    with app.app_context():
        kinds = sorted(
            c.kind.value
            for c in db.session.scalars(
                select(GoalContribution).where(
                    GoalContribution.goal_id == goal_id,
                    GoalContribution.author_id == people.patient.id,
                )
            )
        )
        assert kinds == ["comment", "endorsement"]
        assert db.session.get(PatientInvitation, invitation_id).used_at is not None


def test_student_saves_the_goal_as_the_patient_sends_their_view(app, pg, people):
    """The patient's words are on their way while the student rewords the goal. Before, the
    patient was told their link had been revoked and their words were gone."""
    goal_id = _shared_goal(app, people)
    invitation_id, token = _open_invitation(app, people, InvitationPurpose.GOAL_INPUT, goal_id)
    student = _signed_in(app, people.student)
    seen = _seen_version(_page(student.get(f"/goals/{goal_id}/edit")))
    patient = _patient_browser(app, token)
    view = {
        "view": "Please speak slowly with my daughter there",
        "matters": "yes",
        "show_name": "no",
    }

    saved, refused = race(
        pg,
        lambda: student.post(
            f"/goals/{goal_id}/edit",
            data=_goal_form(seen, title="Lead a family meeting with an interpreter"),
        ),
        lambda: patient.post("/p/goal", data=view),
        on=(LearningGoal, GoalVersion),
    )

    assert saved.status_code == 302
    assert refused.status_code == 400
    page = _page(refused)
    assert "The goal changed just as you sent this." in page
    assert "Please speak slowly with my daughter there" in page  # nothing typed is lost
    assert "revoked" not in page.lower()
    with app.app_context():
        assert _count(GoalContribution, GoalContribution.author_id == people.patient.id) == 0
        assert db.session.get(PatientInvitation, invitation_id).used_at is None
    # The same link still works: sending again adds the words once.
    assert patient.post("/p/goal", data=view).status_code == 302
    with app.app_context():
        assert _count(GoalContribution, GoalContribution.author_id == people.patient.id) == 2


def test_patient_takes_answers_back_twice_at_once_one_withdrawal(app, pg, people):
    invitation_id, token = _open_invitation(app, people, InvitationPurpose.FEEDBACK)
    tab1, tab2 = _patient_browser(app, token), _patient_browser(app, token)
    with app.app_context():
        items = seeds.default_instrument().items
        answers = {f"item-{item.key}": "5" for item in items}
    answers.update(show_name="yes", anything_else="Kind and careful")
    assert tab1.post("/p/feedback", data=answers).status_code == 302
    with app.app_context():
        feedback_id = db.session.scalar(
            select(PatientFeedback.id).where(PatientFeedback.invitation_id == invitation_id)
        )

    withdrawn, again = race(
        pg,
        lambda: tab1.post("/p/withdraw", data={"confirm": "yes"}),
        lambda: tab2.post("/p/withdraw", data={"confirm": "yes"}),
        on=(PatientFeedback, PatientInvitation),
    )

    assert withdrawn.status_code == 200
    assert "Your answers were removed" in _page(withdrawn)
    # The second click finds nothing left to take back; withdrawing ended every page opened
    # from this link (on the server), so the other tab now says so instead of showing answers.
    assert again.status_code == 302 and again.headers["Location"].endswith("/p/")
    after = tab2.get("/p/")
    assert after.status_code == 404 and "You have finished" in _page(after)
    with app.app_context():
        assert db.session.get(PatientFeedback, feedback_id) is None
        assert _count(FeedbackAnswer, FeedbackAnswer.feedback_id == feedback_id) == 0
        assert db.session.get(PatientInvitation, invitation_id).withdrawn_at is not None
        assert _audited("feedback.withdrawn", "patient_feedback", feedback_id) == 1


def test_a_new_goal_sent_twice_at_the_same_moment_is_made_once(app, pg, people):
    """A double click on "Save": both copies carry the form's token. The second waits on the
    token the first claimed, then lands on the goal the first made."""
    click1 = _signed_in(app, people.student)
    click2 = _signed_in(app, people.student)
    title = f"Lead a family meeting {people.student.id}"
    form = {"title": title, "submission": f"double-click-token-{people.student.id:08d}"}

    first, second = race(
        pg,
        lambda: click1.post("/goals/new", data=form),
        lambda: click2.post("/goals/new", data=form),
        on=(SubmittedForm,),
    )

    assert first.status_code == 302 and second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    with app.app_context():
        goals_made = _count(GoalVersion, GoalVersion.title == title)
        assert goals_made == 1
