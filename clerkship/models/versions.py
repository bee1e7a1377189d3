"""The data version: one row whose token changes in every transaction that changes what a
page may show (clerkship.page_cache). A page kept for a token is the page of that data. Its
records token changes only with what a portfolio may show: an export reuses a student's PDF
made under the same records token without reading the portfolio again."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clerkship.models.base import Base

DATA_VERSION_ID = 1  # the one row


class DataVersion(Base):
    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    # Random, never a counter: a database restored from a backup (or a test's rollback) brings
    # back an old token, never one that meanwhile named other data.
    token: Mapped[str] = mapped_column(sa.String(32))
    # Not changed by exports, digests or API tokens (clerkship.page_cache.NOT_IN_PORTFOLIOS).
    records_token: Mapped[str | None] = mapped_column(sa.String(32))
