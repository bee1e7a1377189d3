"""The audit log: one helper that services call for every change worth a trace."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Any

from flask import has_request_context, request

from clerkship import transactions
from clerkship.extensions import db
from clerkship.models import AuditEvent, Role, User


def _object_ref(obj: Any) -> tuple[str | None, int | None]:
    if obj is None:
        return None, None
    return getattr(obj, "__tablename__", type(obj).__name__.lower()), getattr(obj, "id", None)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot audit a {type(value).__name__}")


def _jsonable(data: dict | None) -> dict | None:
    """Dates and enums as plain strings, so before/after store in a JSON column."""
    return None if data is None else json.loads(json.dumps(data, default=_plain))


def _student_of(obj: Any) -> int | None:
    """The student whose record ``obj`` is: a student account itself, or anything carrying a
    ``student_id`` (goals, assessments, feedback, reflections, pairings, exports…)."""
    if isinstance(obj, User):
        return obj.id if obj.role is Role.STUDENT else None
    student_id = getattr(obj, "student_id", None)
    return student_id if isinstance(student_id, int) else None


def _event(
    actor: User | None,
    action: str,
    obj: Any,
    before: dict | None,
    after: dict | None,
) -> AuditEvent:
    object_type, object_id = _object_ref(obj)
    return AuditEvent(
        actor_id=actor.id if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
        ip_address=request.remote_addr if has_request_context() else None,
        student_id=_student_of(obj),
    )


def record(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction: the request's commit keeps it with the
    data it describes, or neither."""
    event = _event(actor, action, obj, before, after)
    db.session.add(event)
    return event


def record_reading(
    actor: User | None, action: str, obj: Any = None, *, after: dict | None = None
) -> None:
    """Audit what a page showed (a record opened, the audit log read or exported).

    The page itself only reads (clerkship.database): the event is written just after it, in a
    transaction of its own, and the page is shown only if it was (transactions.side_write)."""
    event = _event(actor, action, obj, None, after)
    transactions.side_write(lambda: db.session.add(event), required=True)


def record_refusal(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    after: dict | None = None,
) -> None:
    """Audit a refused attempt (a wrong password, a failed sign-in) that must be kept although
    the request fails and writes nothing else: it is written in a transaction of its own once
    the request's has ended (see clerkship.transactions), so it never carries refused work."""
    event = _event(actor, action, obj, None, after)
    transactions.keep_refusal(lambda session: session.add(event))


def record_view(viewer: User, obj: Any, *, owner_id: int | None) -> None:
    """Log that someone opened another person's record; reading one's own is not logged."""
    if owner_id is not None and owner_id == viewer.id:
        return
    record_reading(viewer, "record.viewed", obj)
