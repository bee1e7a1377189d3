"""Reflections: written by the student, private unless they choose to include one in their
portfolio (then their preceptors and director read it there)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import LearningGoal, Reflection, Role, User, utcnow

MAX_BODY = 10_000


class ReflectionError(DomainError):
    """A rule of reflection was broken (see clerkship.domain)."""


class EditConflict(ReflectionError):
    """The reflection was saved (in another window) after this form was opened."""


def _check(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ReflectionError(_("Give the reflection a title."), "title")
    if not body:
        raise ReflectionError(_("Write the reflection itself."), "body")
    if len(body) > MAX_BODY:
        raise ReflectionError(_("Keep it under %(n)d characters.", n=MAX_BODY), "body")
    return title, body


def _own_goals(student: User, goal_ids) -> list[LearningGoal]:
    ids = set(goal_ids or ())
    if not ids:
        return []
    goals = list(db.session.scalars(select(LearningGoal).where(LearningGoal.id.in_(ids))))
    if len(goals) != len(ids) or any(g.student_id != student.id for g in goals):
        raise ReflectionError(_("Choose only from your own goals."), "goals")
    return goals


def write(student: User, title: str, body: str, in_portfolio: bool, goal_ids=()) -> Reflection:
    if student.role is not Role.STUDENT:
        raise ReflectionError(_("Only students write reflections here."))
    title, body = _check(title, body)
    reflection = Reflection(
        student_id=student.id,
        title=title,
        body=body,
        in_portfolio=in_portfolio,
        goals=_own_goals(student, goal_ids),
    )
    db.session.add(reflection)
    db.session.flush()
    audit.record(student, "reflection.written", reflection, after={"in_portfolio": in_portfolio})
    return reflection


def edit(
    student: User,
    reflection: Reflection,
    title: str,
    body: str,
    in_portfolio: bool,
    goal_ids=(),
    *,
    seen_version_id: int | None = None,
) -> None:
    """``seen_version_id`` is the lock version the form was opened on (None: not known): if
    the reflection was saved since, :class:`EditConflict` is raised and nothing is written."""
    if seen_version_id is not None and seen_version_id != reflection.version_id:
        raise EditConflict(_("This reflection changed in another window; your text is below."))
    title, body = _check(title, body)
    before = {"title": reflection.title, "in_portfolio": reflection.in_portfolio}
    reflection.title, reflection.body = title, body
    reflection.in_portfolio = in_portfolio
    reflection.goals = _own_goals(student, goal_ids)
    reflection.updated_at = utcnow()
    db.session.flush()
    audit.record(
        student,
        "reflection.edited",
        reflection,
        before=before,
        after={"title": title, "in_portfolio": in_portfolio},
    )
