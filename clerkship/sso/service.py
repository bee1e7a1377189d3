"""Who a school sign-in is, and the fresh sign-in that a signature needs. Services flush only.

One rule for OpenID Connect and SAML alike: a school sign-in is linked to an existing, active
person, first by the external id the roster import carries (``OIDC_EXTERNAL_ID_CLAIM``, or the
SAML attribute mapped to ``external_id``), then by e-mail. Nobody is created, unless a program
has opted in (:func:`sign_up`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from clerkship import audit, clock
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import Cohort, Program, Role, User, utcnow
from clerkship.permissions import programs_of_person


class NotLinked(Exception):
    """No active, rostered person matches; ``reason`` is "unknown" or "inactive"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class FreshSignInNeeded(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("Confirm who you are with your school account again, then sign."), "password"
        )


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _external_id_claim(method: str) -> str:
    # SAML attributes are mapped to our names already (clerkship.sso.saml._claims).
    return "external_id" if method == "saml" else current_app.config["OIDC_EXTERNAL_ID_CLAIM"]


def person_for(claims: dict, method: str) -> User:
    """The active person these verified claims belong to; every attempt is audited."""
    external = _text(claims.get(_external_id_claim(method)))[:100]
    email = _text(claims.get("email")).lower()[:254]
    # Only an e-mail the provider vouches for links or creates anyone: an absent
    # email_verified is not a yes (SAML's claims say it for the school's own mail).
    verified = claims.get("email_verified") is True
    user = None
    other_id = False
    if external:
        user = db.session.scalar(select(User).where(User.external_id == external))
    if user is None and email and verified:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        # The school id says this is someone other than the person holding the address
        # (a reassigned mailbox): refused, never linked and never created.
        other_id = bool(user and external and user.external_id and user.external_id != external)
        if other_id:
            user = None
    if user is None and email and verified and not other_id:
        user = sign_up(claims, method, email, external or None)
    reason = "unknown" if user is None else ("inactive" if not user.active else None)
    if reason is not None:
        after = {"method": method, "reason": reason, "email": email, "external_id": external}
        if other_id:
            after["detail"] = "the e-mail's person has another external id"
        audit.record_refusal(None, "auth.school_sign_in_refused", user, after=after)
        raise NotLinked(reason)
    assert user is not None
    now = utcnow()
    user.last_sign_in_at = now
    user.school_sign_in_at = user.school_sign_in_at or now
    audit.record(user, "auth.school_sign_in", user, after={"method": method})
    return user


def sign_up_domains(program: Program) -> set[str]:
    text = (program.school_sign_up_domains or "").replace(",", " ").lower()
    return {domain.strip().lstrip("@") for domain in text.split() if domain.strip()}


def _is_student(affiliations) -> bool:
    """eduPersonAffiliation "student" (or scoped, "student@school.edu")."""
    return any(str(a).split("@")[0].strip().lower() == "student" for a in affiliations)


def sign_up(claims: dict, method: str, email: str, external_id: str | None) -> User | None:
    """Opt-in account creation, the narrowest meaning that is still useful: an unknown person
    whose school-verified e-mail domain exactly one program lists becomes a *student* of that
    program, enrolled in its cohort running today. The IdP must say they are a student
    (eduPersonAffiliation). Anyone else: None (refused as unknown).
    Preceptors, directors and admins are never created this way: they are given access."""
    domain = email.rpartition("@")[2]
    if not domain:
        return None
    # No affiliation released (OIDC never does) is no student: staff and alumni share the
    # school's domains.
    if not _is_student(claims.get("affiliations") or []):
        return None
    programs = [
        program
        for program in db.session.scalars(
            select(Program).where(Program.school_sign_up_domains != "")
        )
        if domain in sign_up_domains(program)
    ]
    if len(programs) != 1:
        return None  # no program, or two that list the domain: nobody can say which
    today = clock.today()
    cohorts = db.session.scalars(
        select(Cohort).where(
            Cohort.program_id == programs[0].id,
            Cohort.start_date <= today,
            Cohort.end_date >= today,
        )
    ).all()
    if len(cohorts) != 1:
        return None
    from clerkship.people import service as people  # imports the views, which import us

    name = _text(claims.get("name"))[:200] or email.partition("@")[0]
    user = people.create_student(
        people.PersonDetails(Role.STUDENT, email, name, external_id), cohorts[0], actor=None
    )
    audit.record(
        user, "auth.school_sign_up", user, after={"method": method, "cohort": cohorts[0].id}
    )
    return user


def password_allowed(user: User) -> bool:
    """False when the person has signed in through the school and one of their programs has
    switched password sign-in off for such people."""
    if user.school_sign_in_at is None:
        return True
    ids = programs_of_person(user)
    if not ids:
        return True
    switched_off = db.session.scalar(
        select(func.count())
        .select_from(Program)
        .where(Program.id.in_(ids), Program.password_for_school_accounts.is_(False))
    )
    return not switched_off


def fresh_proof(user: User, method: str, claims: dict) -> dict:
    """What is kept (in the signed session cookie) after a fresh school sign-in: who, how,
    when (the provider's ``auth_time``), and until when it may be used for one signature."""
    auth_time = int(claims["auth_time"])
    return {
        "user": user.id,
        "method": method,
        "issuer": _text(claims.get("iss")),
        "at": datetime.fromtimestamp(auth_time, UTC).isoformat(),
        "until": auth_time + current_app.config["FRESH_SIGN_IN_SECONDS"],
    }


def usable_proof(user: User, proof: dict | None) -> dict | None:
    """The authentication to record with a signature, or None when there is no fresh one."""
    if not isinstance(proof, dict) or proof.get("user") != user.id:
        return None
    if not isinstance(proof.get("until"), int) or proof["until"] < time.time():
        return None
    return {"method": proof["method"], "issuer": proof["issuer"], "at": proof["at"]}
