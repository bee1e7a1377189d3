"""The account list: one query for the page and its count."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, or_, select

from clerkship import permissions
from clerkship.extensions import db
from clerkship.models import Role, User

PAGE_SIZE = 25


def search(
    viewer: User, text: str, role: Role | None, active: bool | None, page: int
) -> Pagination:
    """Accounts by name, e-mail or school id, role and status, alphabetically.

    Text never matches a patient the viewer may not name (the admin sees patients only as
    "A patient"), so a search cannot reveal who is a patient here."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if text:
        needle = text.lower()
        matches = or_(
            func.lower(User.name).contains(needle, autoescape=True),
            func.lower(User.email).contains(needle, autoescape=True),
            func.lower(User.external_id).contains(needle, autoescape=True),
        )
        if not permissions.can_see_patient_names(viewer):
            matches = matches & (User.role != Role.PATIENT)
        query = query.where(matches)
    # Patients last, by id: sorted by name, their order would hint at names the admin
    # does not see.
    is_patient = User.role == Role.PATIENT
    by_name = case((is_patient, ""), else_=func.lower(User.name))
    query = query.order_by(is_patient, by_name, User.id)
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False, count=True)
