"""Confirming a planned file: every row written through the services, all or none (the request
commits once), then one audit event for the import and an invitation per new account, sent
after the commit."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from clerkship import audit, mail
from clerkship.extensions import db
from clerkship.models import Cohort, User
from clerkship.roster.preview import ROW_ERRORS
from clerkship.roster.reading import FileProblem
from clerkship.roster.rows import Plan


def apply(actor: User, plan: Plan, cohort: Cohort) -> dict[str, int]:
    """Write every planned row through the services; the caller commits once (all or none)."""
    if plan.has_errors:
        first = next(row for row in plan.rows if row.status == "error")
        raise FileProblem(
            _(
                "Row %(n)d: %(reason)s Fix the rows marked as errors and upload the file again.",
                n=first.number,
                reason=first.reason,
            )
        )
    invited: list[User] = []
    for row in plan.rows:
        if row.apply is not None:
            try:
                row.apply(actor, invited)
            except ROW_ERRORS as error:  # the data changed since the preview
                raise FileProblem(
                    _("Row %(n)d: %(reason)s", n=row.number, reason=str(error))
                ) from None
    db.session.flush()
    for user in invited:
        _invite(user)
    counts = plan.counts
    audit.record(
        actor,
        "roster.imported",
        cohort,
        after={"kind": plan.kind.name, **counts, "invited": len(invited)},
    )
    return counts


def _invite(user: User) -> None:
    from clerkship.auth import links

    mail.send(
        user.email,
        "account_created",
        name=user.name,
        days=current_app.config["PASSWORD_LINK_DAYS"],
        link=links.link_for(user),
    )
