"""The cohort dashboard's figures against hand-computed expectations, its flags, sorting,
filtering, access and query count."""

from __future__ import annotations

import re
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


def _in_the_program_for(db, cohort, student, days: int) -> None:
    cohort.start_date = min(cohort.start_date, (utcnow() - timedelta(days=days)).date())
    student.created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_figures_match_hand_computed_values(db, scaled, make_cycle, make_goal, make_user):
    student, quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    _in_the_program_for(db, scaled["mine"]["cohort"], student, 90)
    rows = {r.student.id: r for r in dashboard.cohort_rows(scaled["mine"]["cohort"])}
    epas = db.session.scalar(select(Framework).where(Framework.code == "aamc-core-epas"))
    row = rows[student.id]
    assert row.agreed == 1
    assert row.stale == 1  # the agreed goal is fresh; the other has had no progress for 40 days
    assert row.waiting == 1 and row.oldest_wait == 20
    assert row.last_feedback is None
    assert row.assessed == 1 and epas.competencies
    assert row.gap == 2
    preceptor = scaled["mine"]["preceptor"].name
    assert [r.what for r in row.reasons] == [
        "1 goal without progress for 30+ days",
        "an assessment waiting 20 days",
        "no patient feedback for 60+ days",
        f"self and preceptor 2 levels apart on {row.gap_on}",
    ]
    # Each flag names who or what it waits on: the open cycle's rating is the preceptor's.
    waits = [r.waits_on for r in row.reasons]
    assert waits[0] == "waits on the student for a progress note"
    assert waits[1].startswith(f"waits on {preceptor}: Rate (")
    assert waits[2] == "waits on the student to invite their panel patient"
    assert waits[3] == f"worth a talk with {preceptor}"
    empty = rows[quiet.id]
    assert (empty.agreed, empty.stale, empty.waiting, empty.gap) == (0, 0, 0, None)
    assert empty.assessed == 0
    assert "no agreed learning goal" in [r.what for r in empty.reasons]
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


def test_a_goal_is_stale_from_its_latest_progress_note(
    db, scaled, make_cycle, make_goal, make_user
):
    """Counted from the latest note (not the oldest, nor the goal's drafting), per goal."""
    from clerkship.models import ContributionKind, GoalContribution

    student, _quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    cohort = scaled["mine"]["cohort"]

    def stale_count() -> int:
        return next(r for r in dashboard.cohort_rows(cohort) if r.student.id == student.id).stale

    old = make_goal(student, title="Practised long ago", share_with=[scaled["mine"]["preceptor"]])
    old.created_at = utcnow() - timedelta(days=90)
    note = goals.add_note(student, old, ContributionKind.PROGRESS_NOTE, "Practised once")
    db.session.flush()
    db.session.get(GoalContribution, note.id).created_at = utcnow() - timedelta(days=35)
    db.session.commit()
    assert stale_count() == 2  # the forgotten goal and this one, last noted 35 days ago
    newer = goals.add_note(student, old, ContributionKind.PROGRESS_NOTE, "Practised again")
    db.session.flush()
    db.session.get(GoalContribution, newer.id).created_at = utcnow() - timedelta(days=10)
    db.session.commit()
    assert stale_count() == 1


def test_page_sorts_filters_and_links_to_the_portfolio(
    client, db, scaled, make_cycle, make_goal, make_user
):
    student, _quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    calm = make_user(Role.STUDENT, name="Aaron Calm")
    db.session.add(Enrollment(cohort_id=scaled["mine"]["cohort"].id, student_id=calm.id))
    db.session.commit()
    cohort = scaled["mine"]["cohort"]
    login(client, scaled["mine"]["director"])
    page = _html(client.get(f"/cohorts/{cohort.id}/dashboard?sort=agreed&dir=desc"))
    html = page[page.index("<table") :]  # the chart above draws the names in its own order
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


def test_a_student_new_to_the_program_is_not_flagged_for_patient_feedback(
    db, scaled, make_cycle, make_goal, make_user
):
    """Imported today: 60 days without patient feedback cannot have passed yet."""
    student, _quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    cohort = scaled["mine"]["cohort"]
    cohort.start_date = (utcnow() - timedelta(days=200)).date()
    db.session.commit()

    def feedback_flag() -> bool:
        row = next(r for r in dashboard.cohort_rows(cohort) if r.student.id == student.id)
        return "no patient feedback for 60+ days" in [r.what for r in row.reasons]

    assert not feedback_flag()  # the account was made today, mid-year
    _in_the_program_for(db, cohort, student, 59)
    assert not feedback_flag()
    _in_the_program_for(db, cohort, student, 61)
    assert feedback_flag()


def test_behind_the_cohort_median_is_flagged_with_the_median(db, scaled):
    """Three competencies below the cohort's median flags; one or two is the year's spread."""
    student = scaled["mine"]["student"]
    today = utcnow().date()

    def behind(assessed: int, median: float):
        row = dashboard.Row(student, in_program_since=today, agreed=1, assessed=assessed)
        return [r for r in dashboard._reasons(row, today, median) if "median" in r.what]

    assert behind(4, 6) == [] and behind(5, 6.5) == []
    (reason,) = behind(3, 6)
    assert reason.what == "3 competencies assessed, the cohort's median is 6"
    assert reason.waits_on == "waits on the student to ask for assessments"
    assert behind(1, 4.5)[0].what.endswith("median is 4.5")


def test_dashboard_draws_where_each_student_stands(
    client, db, scaled, make_cycle, make_goal, make_user
):
    _setup(db, scaled, make_cycle, make_goal, make_user)
    cohort = scaled["mine"]["cohort"]
    login(client, scaled["mine"]["director"])
    html = _html(client.get(f"/cohorts/{cohort.id}/dashboard"))
    assert '<svg class="chart standing"' in html
    assert "competencies assessed, 0 a month ago" in html
    assert 'aria-describedby="standing-text"' in html
    assert "<script>" not in html and "onclick" not in html  # no inline script
    assert "waits on" in html


def test_a_student_enrolled_while_the_board_is_read_waits_for_the_next_view(
    db, scaled, make_cycle, make_goal, make_user, monkeypatch
):
    # The figures are read with the cohort's query: a student enrolled after the board's
    # list of students was read shows up in them. The board is still made, without them.
    student, quiet = _setup(db, scaled, make_cycle, make_goal, make_user)
    listed = dashboard.cohort_students.students_listed
    monkeypatch.setattr(
        dashboard.cohort_students,
        "students_listed",
        lambda cohort: [s for s in listed(cohort) if s.id != student.id],
    )
    rows = {r.student.id: r for r in dashboard.cohort_rows(scaled["mine"]["cohort"])}
    assert student.id not in rows and quiet.id in rows


def _enroll(db, cohort, make_user, names: list[str]) -> None:
    for name in names:
        person = make_user(Role.STUDENT, name=name, password=None)
        db.session.add(Enrollment(cohort_id=cohort.id, student_id=person.id))
    db.session.commit()


def _names_shown(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', html)


def test_a_large_cohort_is_paged_and_charted_by_count(client, db, scaled, make_user, monkeypatch):
    monkeypatch.setattr(dashboard, "ROWS_PER_PAGE", 4)
    monkeypatch.setattr(dashboard, "CHART_STUDENTS", 5)
    cohort = scaled["mine"]["cohort"]
    _enroll(db, cohort, make_user, [f"Pupil {letter}" for letter in "ABCDEFGHI"])
    everyone = sorted(
        e.student.name
        for e in db.session.scalars(select(Enrollment).filter_by(cohort_id=cohort.id))
    )
    login(client, scaled["mine"]["director"])
    url = f"/cohorts/{cohort.id}/dashboard"

    first = _html(client.get(f"{url}?sort=name&dir=desc"))
    assert _names_shown(first) == sorted(everyone, reverse=True)[:4]  # sorted over all
    pages = -(-len(everyone) // 4)
    assert f"Page 1 of {pages}" in first
    assert f'href="{url}?sort=name&amp;dir=desc&amp;page=2"' in first  # keeps the order
    assert 'rel="prev"' not in first
    shown = []
    for page in range(1, pages + 1):
        shown += _names_shown(_html(client.get(f"{url}?sort=name&dir=desc&page={page}")))
    assert shown == sorted(everyone, reverse=True)  # every student once, in order

    last = _html(client.get(f"{url}?sort=name&dir=desc&page=999"))  # past the end: the last
    assert f"Page {pages} of {pages}" in last and 'rel="next"' not in last
    for wrong in ("abc", "-3", "0"):
        response = client.get(f"{url}?page={wrong}")
        assert response.status_code == 200 and "Page 1 of" in _html(response)
    sneaky = _html(client.get(f"{url}?cohort_id=999999"))
    assert f'href="{url}?page=2"' in sneaky  # the address's own cohort, never the query's

    assert '<svg class="chart spread"' in first and '<svg class="chart standing"' not in first
    (bar,) = re.findall(r"<title>0 competencies assessed: (\d+) students, (\d+) need", first)
    flagged = int(re.search(r"(\d+) students? needs? attention", first).group(1))
    assert bar == (str(len(everyone)), str(flagged))  # nobody assessed yet: one bar, at 0
    assert first.count('<g class="bar') == 1


def test_a_small_cohort_has_no_pager(client, db, scaled):
    cohort = scaled["mine"]["cohort"]
    login(client, scaled["mine"]["director"])
    html = _html(client.get(f"/cohorts/{cohort.id}/dashboard"))
    assert _names_shown(html) and 'class="pager"' not in html
    assert '<svg class="chart standing"' in html


def test_competencies_assessed_now_and_a_month_ago_count_distinct_competencies(
    db, scaled, make_cycle
):
    """One query gives both figures: a month ago counts only ratings both in by then."""
    from clerkship.models import PreceptorAssessment, SelfAssessment

    epas = scaled["epa"].framework.competencies
    early = make_cycle(CycleStatus.AWAITING_SIGNATURE, competency=epas[0])
    make_cycle(CycleStatus.SIGNED, competency=epas[0])  # the same competency again
    make_cycle(CycleStatus.SIGNED, competency=epas[1])
    half = make_cycle(CycleStatus.OPEN, competency=epas[2])  # no ratings: not assessed
    long_ago = utcnow() - timedelta(days=40)
    for model in (SelfAssessment, PreceptorAssessment):
        entry = db.session.scalar(select(model).where(model.cycle_id == early.id))
        entry.submitted_at = long_ago
    db.session.commit()
    student = scaled["mine"]["student"]
    row = next(
        r for r in dashboard.cohort_rows(scaled["mine"]["cohort"]) if r.student.id == student.id
    )
    assert (row.assessed, row.assessed_month_ago, row.trend) == (2, 1, 1)
    assert half.status is CycleStatus.OPEN


def test_the_reasons_are_in_the_directors_language(client, db, scaled):
    director = scaled["mine"]["director"]
    director.preferred_language = "es"
    db.session.commit()
    login(client, director)
    html = _html(client.get(f"/cohorts/{scaled['mine']['cohort'].id}/dashboard"))
    assert "sin meta de aprendizaje aprobada" in html
    assert "espera a que el estudiante redacte y comparta una" in html
    assert "no agreed learning goal" not in html
