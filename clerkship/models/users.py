"""People and their roles."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.programs import Program


class Role(enum.StrEnum):
    STUDENT = "student"
    PRECEPTOR = "preceptor"
    PATIENT = "patient"
    DIRECTOR = "director"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        from flask_babel import gettext

        labels = {
            Role.STUDENT: gettext("Student"),
            Role.PRECEPTOR: gettext("Preceptor"),
            Role.PATIENT: gettext("Patient"),
            Role.DIRECTOR: gettext("Program director"),
            Role.ADMIN: gettext("Administrator"),
        }
        return labels[self]


def shown_name(person: User, role: Role, chose_to_show: bool) -> str | None:
    """The name others see on what someone wrote. The one rule for every page, PDF and
    e-mail: a patient's name appears only when they chose it (None: "a patient")."""
    if role is Role.PATIENT and not chose_to_show:
        return None
    return person.name


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(TimestampMixin, Base):
    """Anyone who takes part. Patients may have no e-mail and no password."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    preferred_language: Mapped[str] = mapped_column(sa.String(8), default="en")
    # The daily digest of what waits: at most one a day, and anyone can turn it off.
    digest_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    last_digest_on: Mapped[date | None]
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # The program whose director added the account (a roster import or a panel form): until a
    # preceptor is paired or a patient is on a panel it is their only link to a program, and
    # it keeps other programs' directors from changing them (see permissions.programs_of_person).
    added_by_program_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("program.id", ondelete="SET NULL")
    )
    # Flask-Login's id for this user; rotating it ends every session they hold.
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )
    last_sign_in_at: Mapped[datetime | None]
    # Set the first time they sign in through the school's identity provider: from then on
    # they "have a school account" (a program may switch their password sign-in off).
    school_sign_in_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    directed_programs: Mapped[list[Program]] = relationship(
        secondary="program_director", back_populates="directors"
    )

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    # Convenience --------------------------------------------------------
    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def directed_program_ids(self) -> set[int]:
        return {program.id for program in self.directed_programs}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class SignInSession(Base):
    """One signed-in browser. The cookie holds a random key; only its SHA-256 is stored, so a
    copy of the database cannot be turned into sessions. Ending a row ends that browser's
    session on the server, whatever the cookie still says."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # signed_out | other_device | password_set | deactivated
    ended_reason: Mapped[str | None] = mapped_column(sa.String(20))
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")

    user: Mapped[User] = relationship()


class SamlAssertion(Base):
    """A SAML assertion already used to sign in, kept until it expires so that it cannot be
    used again (on any worker). The id is a SHA-256 of the IdP's entity id and the assertion's
    ID, so its length does not depend on the IdP."""

    __tablename__ = "saml_assertion"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
