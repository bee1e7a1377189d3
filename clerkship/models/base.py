"""The declarative base, the constraint naming convention and column types shared by models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clerkship.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the value is
    stored as naive UTC and the zone is put back when it is read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Clerkship stores only aware UTC times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_cls, **kwargs):
    """A Python Enum stored by value as a short string (portable, no native DB enum types)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        **kwargs,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def among(column, ids: Iterable[int] | sa.Select) -> sa.ColumnElement[bool]:
    """SQL: ``column`` is one of ``ids``: a list of ids (bound values), or a query of them
    (a cohort's students: a large cohort's list would be thousands of bound values per query,
    each one rendered and parsed on every page)."""
    if isinstance(ids, sa.Select):
        return column.in_(ids)
    return column.in_(list(ids) or [0])


class stored_digest(sa.sql.functions.FunctionElement):
    """SQL: one value standing for every value of ``columns`` as stored, for remembering a
    check's verdict without reading what it checked (``KeyRing.remember``). Any edit to any
    of them gives another value: no two different rows are written the same. PostgreSQL
    sends the SHA-256 of the values' row in binary form: 32 bytes instead of a signed
    snapshot's kilobyte. SQLite sends each value's storage class and its bytes in hex (a
    column of SQLite may hold text or bytes alike, and text with a NUL or bytes that are not
    UTF-8: hex is plain ASCII whatever is stored)."""

    type = sa.types.NullType()
    inherit_cache = True
    name = "stored_digest"


def _one_after_another(pieces: Iterable[sa.ColumnElement]) -> sa.ColumnElement:
    first, *rest = pieces
    for piece in rest:
        first = first + piece
    return first


@compiles(stored_digest)
def _stored_hex(element, compiler, **kw):
    written = _one_after_another(
        sa.func.typeof(value, type_=sa.Text)
        + sa.literal_column("':'", sa.Text)
        + sa.func.hex(value, type_=sa.Text)
        + sa.literal_column("';'", sa.Text)
        for value in element.clauses
    )
    return compiler.process(written, **kw)


@compiles(stored_digest, "postgresql")
def _stored_sha256(element, compiler, **kw):
    # The binary form of a row of the values (record_send: each value's type, length, or -1
    # for NULL, and bytes) costs less than writing them out as text and joining it (1,300
    # agreements: the query takes 8 ms, not 11-13). Text is sent in the connection's
    # encoding, under which an edited text can read as the original did under another
    # (UTF-8's "ó" is LATIN1's "Ã³"): the encoding is part of the row.
    values = ", ".join(compiler.process(value, **kw) for value in element.clauses)
    return f"sha256(record_send(ROW(current_setting('client_encoding'), {values})))"
