"""API tokens: made by a program's director (or an admin), shown once, kept as a hash.

A request with a token acts as the person who made it, narrowed to the token's program and to
reading: :class:`TokenPrincipal` is that person with ``directed_program_ids`` cut down to the
one program, so the API asks the very predicates and SQL clauses the pages ask
(clerkship.permissions) and a token never reaches another program.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from clerkship import audit, transactions
from clerkship.clock import utcnow
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import ApiToken, Program, User
from clerkship.permissions import can_manage_api_tokens

PREFIX = "clk_"
MAX_DAYS = 366


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(actor: User, program: Program, name: str, days: int) -> tuple[ApiToken, str]:
    """Make a read-only token for ``program``; returns it with the secret (shown only now)."""
    if not can_manage_api_tokens(actor, program):
        raise PermissionError("not allowed to make tokens for this program")
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name, e.g. the system that will use it.", "name")
    if not 1 <= days <= MAX_DAYS:
        raise DomainError(f"A token lasts between 1 and {MAX_DAYS} days.", "days")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        program_id=program.id,
        created_by_id=actor.id,
        name=name,
        prefix=secret[:10],
        secret_hash=digest(secret),
        scope="read",
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", token, after={"name": name, "days": days})
    return token, secret


def revoke_token(actor: User, token: ApiToken) -> None:
    if not can_manage_api_tokens(actor, token.program):
        raise PermissionError("not allowed to revoke this token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "api_token.revoked", token)


def program_tokens(program: Program) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.program_id == program.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def authenticate(secret: str) -> ApiToken | None:
    """The usable token with this secret (not expired, not revoked, its maker still active)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest(secret)))
    if token is None or not token.is_usable(utcnow()) or not token.created_by.active:
        return None
    return token


def record_use(token: ApiToken, path: str) -> None:
    """Every use leaves an audit event. The API only reads: the event and the token's last
    use are written just after the answer, and the answer is given only if they were."""
    used_at, token_id = utcnow(), token.id

    def note_last_use() -> None:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=used_at)
        )

    transactions.side_write(note_last_use, required=True)
    audit.record_reading(token.created_by, "api_token.used", token, after={"path": path[:300]})


class TokenPrincipal:
    """The token's maker as the permission rules see them, narrowed to the token's program."""

    def __init__(self, token: ApiToken) -> None:
        self._user = token.created_by
        self.token = token
        self.program_id = token.program_id

    @property
    def directed_program_ids(self) -> set[int]:
        return self._user.directed_program_ids & {self.program_id}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._user, name)
