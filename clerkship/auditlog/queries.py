"""The audit log as the viewer and its CSV read it: one filtered query for both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, func, not_, or_, select
from sqlalchemy.orm import aliased, selectinload

from clerkship import permissions
from clerkship.clock import UTC
from clerkship.extensions import db
from clerkship.models import AuditEvent, Role, User

PAGE_SIZE = 50
# The most rows one CSV carries: a wider export is narrowed by its filters first.
CSV_LIMIT = 50_000

SIGNED = ("assessment.signed", "assessment.addendum", "goal.agreed")

KINDS = {
    "viewed": _l("Viewed a record"),
    "changed": _l("Created or changed"),
    "signed": _l("Signed or agreed"),
    "exported": _l("Exported"),
    "signed_in": _l("Signed in or out"),
}


def _kind_clause(kind: str) -> ColumnElement[bool] | None:
    action = AuditEvent.action
    clauses: dict[str, ColumnElement[bool]] = {
        "viewed": action.like("%.viewed"),
        "signed": action.in_(SIGNED),
        "exported": action.like("export.%") | action.like("%.exported"),
        "signed_in": action.like("auth.%"),
    }
    if kind == "changed":
        return not_(or_(*clauses.values()))
    return clauses.get(kind)


@dataclass
class Filters:
    actor: str = ""
    student: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v}


def _text_match(person, text: str, viewer: User) -> ColumnElement[bool]:
    needle = text.lower()
    match = func.lower(person.name).contains(needle, autoescape=True) | func.lower(
        person.email
    ).contains(needle, autoescape=True)
    if not permissions.can_see_patient_names(viewer):
        match = match & (person.role != Role.PATIENT)  # a name they would see as "A patient"
    return match


def _query(viewer: User, filters: Filters) -> Select:
    query = select(AuditEvent).where(permissions.audit_events_visible_to(viewer))
    if filters.actor:
        actor = aliased(User)
        query = query.join(actor, actor.id == AuditEvent.actor_id).where(
            _text_match(actor, filters.actor, viewer)
        )
    if filters.student:
        student = aliased(User)
        query = query.join(student, student.id == AuditEvent.student_id).where(
            _text_match(student, filters.student, viewer)
        )
    if filters.kind and (clause := _kind_clause(filters.kind)) is not None:
        query = query.where(clause)
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.occurred_at < end)
    return query.options(
        selectinload(AuditEvent.actor), selectinload(AuditEvent.student)
    ).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


def page(viewer: User, filters: Filters, number: int) -> Pagination:
    return db.paginate(
        _query(viewer, filters), page=number, per_page=PAGE_SIZE, error_out=False, count=True
    )


def rows(viewer: User, filters: Filters) -> Iterator[AuditEvent]:
    """Every matching event, newest first, fetched in batches (for the CSV)."""
    result = db.session.scalars(
        _query(viewer, filters).limit(CSV_LIMIT).execution_options(yield_per=500)
    )
    yield from result
