"""The cohort dashboard's figures against hand-computed expectations, its flags, sorting,
filtering, access and query count."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clerkship.directory import dashboard
from clerkship.goals import service as goals
from clerkship.models import (
    AssessmentCycle,
    CycleStatus,
    Enrollment,
    Framework,
    Role,
    utcnow,
)
from tests.conftest import login


def _html(response) -> str:
    return response.get_data(as_text=True)


def _setup(db, scaled, make_cycle, make_goal, make_user):
    mine = scaled["mine"]
    student, preceptor = mine["student"], mine["preceptor"]
    agreed = make_goal(student, title="Agreed goal", share_with=[preceptor])
    goals.agree(preceptor, agreed)
    stale = make_goal(student, title="Forgotten goal", share_with=[preceptor])
    stale.created_at = utcnow() - timedelta(days=40)
    waiting = make_cycle()
    waiting.status_changed_at = utcnow() - timedelta(days=20)
    make_cycle(CycleStatus.SIGNED, self_level=4, preceptor_level=2)
    quiet = make_user(Role.STUDENT, name="Quiet Student")
    db.session.add(Enrollment(cohort_id=mine["cohort"].id, student_id=quiet.id))
    db.session.commit()
    return student, quiet


def test_figures_match_hand_computed_values(db, scaled, make_cycle, make_goal, make_user):
    student, quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    rows = {r.student.id: r for r in dashboard.cohort_rows(scaled["mine"]["cohort"])}
    epas = db.session.scalar(select(Framework).where(Framework.code == "aamc-core-epas"))
    row = rows[student.id]
    assert row.agreed == 1
    assert row.stale == 1  # the agreed goal is fresh; the other has had no progress for 40 days
    assert row.waiting == 1 and row.oldest_wait == 20
    assert row.last_feedback is None
    assert row.never_assessed == len(epas.competencies) - 1
    assert row.gap == 2
    assert row.reasons == [
        "1 goal without progress for 30+ days",
        "an assessment waiting 20 days",
        "no patient feedback for 60+ days",
        "self and preceptor 2 levels apart",
    ]
    empty = rows[quiet.id]
    assert (empty.agreed, empty.stale, empty.waiting, empty.gap) == (0, 0, 0, None)
    assert empty.never_assessed == len(epas.competencies)
    assert "no agreed learning goal" in empty.reasons
    assert scaled["other"]["student"].id not in rows


def test_progress_note_makes_a_goal_fresh_again(db, scaled, make_cycle, make_goal, make_user):
    from clerkship.models import ContributionKind, LearningGoal

    student, _quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    stale = db.session.scalar(
        select(LearningGoal)
        .where(LearningGoal.student_id == student.id, LearningGoal.current_version == 1)
        .order_by(LearningGoal.created_at)
    )
    goals.add_note(student, stale, ContributionKind.PROGRESS_NOTE, "Practised twice this week")
    db.session.commit()
    row = next(
        r for r in dashboard.cohort_rows(scaled["mine"]["cohort"]) if r.student.id == student.id
    )
    assert row.stale == 0


def test_page_sorts_filters_and_links_to_the_portfolio(
    client, db, scaled, make_cycle, make_goal, make_user
):
    student, _quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    calm = make_user(Role.STUDENT, name="Aaron Calm")
    db.session.add(Enrollment(cohort_id=scaled["mine"]["cohort"].id, student_id=calm.id))
    db.session.commit()
    cohort = scaled["mine"]["cohort"]
    login(client, scaled["mine"]["director"])
    html = _html(client.get(f"/cohorts/{cohort.id}/dashboard?sort=agreed&dir=desc"))
    assert html.index(student.name) < html.index("Quiet Student")
    assert f'href="/portfolios/{student.id}"' in html
    assert 'aria-sort="descending"' in html
    # Everyone without an agreed goal or feedback is flagged here; filtering keeps only them.
    filtered = _html(client.get(f"/cohorts/{cohort.id}/dashboard?show=attention"))
    assert "Quiet Student" in filtered and "no agreed learning goal" in filtered
    assert client.get(f"/cohorts/{cohort.id}/dashboard?sort=nonsense").status_code == 200


def test_only_the_programs_directors_see_it(client, db, scaled):
    cohort = scaled["mine"]["cohort"]
    for outsider in (
        scaled["other"]["director"],
        scaled["mine"]["preceptor"],
        scaled["mine"]["student"],
        scaled["admin"],
    ):
        login(client, outsider)
        assert client.get(f"/cohorts/{cohort.id}/dashboard").status_code == 404
        client.post("/sign-out")


def test_query_count_is_the_same_for_10_and_150_students(
    client, db, scaled, make_user, count_queries
):
    cohort = scaled["mine"]["cohort"]
    login(client, scaled["mine"]["director"])

    def grow_to(size: int) -> None:
        enrolled = db.session.query(Enrollment).filter_by(cohort_id=cohort.id).count()
        for _ in range(size - enrolled):
            person = make_user(Role.STUDENT, password=None)
            db.session.add(Enrollment(cohort_id=cohort.id, student_id=person.id))
        db.session.commit()

    def measure() -> int:
        with count_queries() as statements:
            assert client.get(f"/cohorts/{cohort.id}/dashboard").status_code == 200
        return len(statements)

    grow_to(10)
    small = measure()
    grow_to(150)
    assert measure() == small
    assert db.session.query(AssessmentCycle).count() == 0
