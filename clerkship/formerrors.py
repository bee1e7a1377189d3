"""Where a service's refusal is shown: beside its form field, or at the top of the page.

The one place a :class:`clerkship.domain.DomainError` becomes what the user reads. Showing a
refusal also marks the request failed (:func:`clerkship.transactions.fail`): what the refused
call had begun is undone, and the request commits nothing — whatever status the page has.
"""

from __future__ import annotations

from flask import flash

from clerkship import transactions
from clerkship.domain import DomainError


def put_error(form, error: DomainError) -> None:
    """Show ``error`` beside ``form``'s field named ``error.field``, else as a flash message."""
    transactions.fail()
    field = getattr(form, error.field, None) if form is not None and error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def error_dict(error: DomainError) -> dict[str, str]:
    """For the pages whose forms are still hand-written: ``{field or "form": message}``."""
    transactions.fail()
    return {error.field or "form": error.message}
