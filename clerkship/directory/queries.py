"""Who belongs to a cohort: the one definition every page, export and e-mail uses.

A cohort's students are those enrolled in it who have not withdrawn: students in the year now
(*active*) and those who finished it (*completed*) — a promotion committee reads both. A
withdrawn student's records stay, but they are no longer the cohort's. The roster page lists
every enrolment with its status (it is where a withdrawal is undone); everything that counts or
lists "the students of a cohort" — the dashboard, figures.csv, cohort exports, the home page's
counts, reminders — goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, exists, func, or_, select

from clerkship import permissions
from clerkship.extensions import db
from clerkship.models import Cohort, Enrollment, EnrollmentStatus, Program, User
from clerkship.models.base import among

COUNTED = (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED)


def _counted():
    return Enrollment.status.in_(COUNTED)


def student_ids_of_cohort(cohort_id: int) -> Select:
    """SQL: the ids of the cohort's students (for ``.in_(...)`` in other queries)."""
    return select(Enrollment.student_id).where(Enrollment.cohort_id == cohort_id, _counted())


def students_of_cohort(cohort: Cohort, only: Iterable[int] | None = None) -> list[User]:
    """The cohort's students, by name; with ``only``, those of them among these ids (a
    reminder to the flagged few loads their accounts, not the whole cohort's)."""
    query = select(User).where(User.id.in_(student_ids_of_cohort(cohort.id)))
    if only is not None:
        query = query.where(among(User.id, only))
    return list(db.session.scalars(query.order_by(User.name, User.id)))


class ListedStudent(NamedTuple):
    """A student as a list of hundreds shows them: plain values read as columns (a 700-student
    dashboard loaded 700 full accounts, half its students' cost, for these three)."""

    id: int
    name: str
    created_at: datetime


def students_listed(cohort: Cohort) -> list[ListedStudent]:
    """The cohort's students, by name, as :class:`ListedStudent`."""
    return [
        ListedStudent(*row)
        for row in db.session.execute(
            select(User.id, User.name, User.created_at)
            .where(User.id.in_(student_ids_of_cohort(cohort.id)))
            .order_by(User.name, User.id)
        )
    ]


def student_counts(cohort_ids: Iterable[int]) -> dict[int, int]:
    """{cohort id: number of students} for several cohorts, in one query."""
    return dict(
        db.session.execute(
            select(Enrollment.cohort_id, func.count())
            .where(Enrollment.cohort_id.in_(list(cohort_ids) or [0]), _counted())
            .group_by(Enrollment.cohort_id)
        ).all()
    )


def in_the_year(student_id: int) -> bool:
    """Whether the student has an active enrolment (is in a cohort's year now)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Enrollment.student_id == student_id,
                    Enrollment.status == EnrollmentStatus.ACTIVE,
                )
            )
        )
    )


def latest_cohort_of(student_id: int) -> Cohort | None:
    """The student's most recent cohort (by start date): where a new pairing or panel entry
    of theirs belongs when the form names none."""
    return db.session.scalar(
        select(Cohort)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student_id)
        .order_by(Cohort.start_date.desc())
        .limit(1)
    )


def latest_program_of(student_id: int) -> Program | None:
    """The program of the student's most recent cohort."""
    cohort = latest_cohort_of(student_id)
    return cohort.program if cohort is not None else None


SEARCH_LIMIT = 50


def search_students(user: User, text: str) -> list[User]:
    """Students whose name or e-mail contains ``text`` (any case), among those ``user`` may
    see (:func:`permissions.students_directed_by`); at most :data:`SEARCH_LIMIT`."""
    words = text.strip().lower()
    if not words:
        return []
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return list(
        db.session.scalars(
            select(User)
            .where(
                permissions.students_directed_by(user),
                or_(
                    func.lower(User.name).like(pattern, escape="\\"),
                    func.lower(User.email).like(pattern, escape="\\"),
                ),
            )
            .order_by(User.name, User.id)
            .limit(SEARCH_LIMIT)
        )
    )
