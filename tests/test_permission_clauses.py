"""The SQL clauses in permissions.py say what the predicates and the models say: a query
that reuses them can never disagree with a page about who is current."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clerkship import clock
from clerkship import permissions as p
from clerkship.models import Assignment, PanelEntry, Role


def _spans(today):
    """(start, end) pairs around ``today``: past, current, open-ended, future, edges."""
    d = timedelta
    return [
        (today - d(60), today - d(1)),
        (today - d(60), today),
        (today, None),
        (today - d(5), today + d(5)),
        (today + d(1), None),
        (today - d(1), None),
    ]


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_pairing_and_panel_clauses_agree_with_the_models(db, world, make_user, offset):
    mine = world["mine"]
    today = clock.today()
    day = today + timedelta(days=offset)
    for start, end in _spans(today):
        student = make_user(Role.STUDENT)
        db.session.add(
            Assignment(
                cohort_id=mine["cohort"].id,
                student_id=student.id,
                preceptor_id=mine["preceptor"].id,
                discipline="Surgery",
                start_date=start,
                end_date=end,
            )
        )
        db.session.add(
            PanelEntry(
                cohort_id=mine["cohort"].id,
                student_id=student.id,
                patient_id=mine["patient"].id,
                consent_date=start,
                end_date=end,
            )
        )
    db.session.flush()
    assignments = db.session.scalars(select(Assignment)).all()
    entries = db.session.scalars(select(PanelEntry)).all()
    assert set(db.session.scalars(select(Assignment.id).where(p.pairing_active(day)))) == {
        a.id for a in assignments if a.is_active_on(day)
    }
    assert set(db.session.scalars(select(PanelEntry.id).where(p.panel_active(day)))) == {
        e.id for e in entries if e.is_active_on(day)
    }


def test_program_people_are_the_people_the_director_reaches(db, world):
    for side in ("mine", "other"):
        part = world[side]
        ids = set(db.session.scalars(p.program_people([part["program"].id])))
        assert ids == {part["student"].id, part["preceptor"].id, part["patient"].id}
        for role in ("student", "preceptor", "patient"):
            assert p.can_manage_person(part["director"], part[role])
            assert not p.can_manage_person(
                world["other" if side == "mine" else "mine"]["director"], part[role]
            )


@pytest.mark.parametrize("links", ["current", "ended"])
def test_goals_visible_to_is_the_sql_twin_of_can_view_goal(db, world, make_goal, links):
    from clerkship.models import LearningGoal

    for side in ("mine", "other"):
        part = world[side]
        make_goal(
            part["student"],
            title=f"Shared {side}",
            share_with=[part["preceptor"], part["patient"]],
        )
        make_goal(part["student"], title=f"Private {side}")
    if links == "ended":  # the preceptor keeps reading; the patient loses the goal
        yesterday = clock.today() - timedelta(days=1)
        for model in (Assignment, PanelEntry):
            for row in db.session.scalars(select(model)):
                row.end_date = yesterday
        db.session.commit()
    goals = db.session.scalars(select(LearningGoal)).all()
    viewers = [world["admin"]] + [
        world[side][role]
        for side in ("mine", "other")
        for role in ("student", "preceptor", "patient", "director")
    ]
    for viewer in viewers:
        listed = set(db.session.scalars(select(LearningGoal.id).where(p.goals_visible_to(viewer))))
        assert listed == {g.id for g in goals if p.can_view_goal(viewer, g)}, viewer


def test_views_authorize_with_named_predicates_not_lambdas():
    """Every rule lives in permissions.py: a view names the predicate it loads a record with."""
    import ast
    from pathlib import Path

    import clerkship

    offenders = []
    for path in Path(clerkship.__file__).parent.rglob("views.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("load_or_404", "_load") and any(
                isinstance(arg, ast.Lambda) for arg in node.args
            ):
                offenders.append(f"{path.parent.name}/views.py:{node.lineno}")
    assert offenders == []
