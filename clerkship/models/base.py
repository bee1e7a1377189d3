"""The declarative base, the constraint naming convention and column types shared by models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.util import find_tables

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
    """SQL: one value standing for every value of ``columns`` as stored (on a database that
    keeps no row versions: SQLite; see :class:`row_versions`). Any edit to any of them gives
    another value: no two different rows are written the same. Each value's storage class and
    its bytes in hex: a column of SQLite may hold text or bytes alike, and text with a NUL or
    bytes that are not UTF-8 (hex is plain ASCII whatever is stored)."""

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


class row_versions(sa.sql.functions.FunctionElement):
    """SQL: a value that changes whenever a row holding any of ``columns`` is written, for
    remembering a check's verdict (``KeyRing.remember``) as :class:`stored_digest` does,
    without hashing what the rows hold: a 700-student dashboard has 1,300 agreements whose
    signed snapshots (a kilobyte each) took 11 ms to hash on every view.

    PostgreSQL writes a new version of a row on every UPDATE (or DELETE and INSERT): each
    row's id, ``xmin`` (the transaction that wrote this version) and ``ctid`` (where it lies)
    name that version; an edit in another transaction changes ``xmin``, one in the same
    transaction ``ctid`` (the old version still holds its place). A row rewritten by
    VACUUM FULL only moves: a verdict checked again, never a stale one. Rows an outer join did
    not find are "~". Every table of ``columns`` needs an ``id``. SQLite keeps no row
    versions: there it is :class:`stored_digest` of the values."""

    type = sa.types.NullType()
    inherit_cache = True
    name = "row_versions"


@compiles(row_versions)
def _row_versions_stored(element, compiler, **kw):
    return compiler.process(stored_digest(*element.clauses), **kw)


@compiles(row_versions, "postgresql")
def _row_versions_pg(element, compiler, **kw):
    tables: list[sa.Table] = []
    for clause in element.clauses:
        for table in find_tables(clause, check_columns=True):
            if not isinstance(table, sa.Table):  # an alias would need its own name here
                raise TypeError(f"row_versions reads tables, not {table!r}")
            if table not in tables:
                tables.append(table)
    pieces = []
    for table in tables:
        name = compiler.preparer.format_table(table)
        pieces.append(
            f"coalesce(CAST({name}.id AS TEXT) || '@' || CAST({name}.xmin AS TEXT) || '@' || "
            f"CAST({name}.ctid AS TEXT), '~')"
        )
    return "(" + " || ',' || ".join(pieces) + ")"
