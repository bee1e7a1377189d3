"""Programs and cohorts, created and edited by admins and the programs' directors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import Cohort, EntrustmentScale, Framework, Program, Role, User

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}$")
# One label: letters, digits, inner dashes. A domain: two labels or more.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")


class SetupError(DomainError):
    """A rule of setup was broken (see clerkship.domain)."""


@dataclass
class ProgramDetails:
    name: str
    institution: str = ""
    slug: str = ""
    scale_id: int | None = None
    entrustment_value: int | None = None
    framework_ids: list[int] = field(default_factory=list)
    director_emails: list[str] = field(default_factory=list)
    password_for_school_accounts: bool = True
    school_sign_up_domains: str = ""


def _apply(program: Program, details: ProgramDetails) -> None:
    if not details.name.strip():
        raise SetupError(_("Give the program a name."), "name")
    program.name = details.name.strip()[:200]
    program.institution = details.institution.strip()[:200]
    if details.scale_id:
        scale = db.session.get(EntrustmentScale, details.scale_id)
        if scale is None:
            raise SetupError(_("Choose one of the scales."), "scale_id")
        program.scale = scale
    if details.entrustment_value is not None:
        values = {level.value for level in program.scale.levels} if program.scale else set()
        if details.entrustment_value not in values:
            raise SetupError(_("Choose a level of the program's scale."), "entrustment_value")
    program.entrustment_value = details.entrustment_value
    frameworks = list(
        db.session.scalars(select(Framework).where(Framework.id.in_(details.framework_ids or [0])))
    )
    if len(frameworks) != len(set(details.framework_ids)):
        raise SetupError(_("Choose from the loaded frameworks."), "framework_ids")
    program.frameworks = frameworks
    program.password_for_school_accounts = details.password_for_school_accounts
    program.school_sign_up_domains = _sign_up_domains(details.school_sign_up_domains)


DOMAIN = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def _sign_up_domains(text: str) -> str:
    """The opt-in account creation's e-mail domains (clerkship.sso.service.sign_up), checked
    and kept one per line; empty: off."""
    domains = [d.strip().lstrip("@").lower() for d in text.replace(",", " ").split()]
    wrong = [d for d in domains if not DOMAIN.match(d)]
    if wrong:
        raise SetupError(
            _(
                "“%(domain)s” is not an e-mail domain (like students.example.edu).",
                domain=wrong[0],
            ),
            "school_sign_up_domains",
        )
    joined = "\n".join(dict.fromkeys(domains))
    if len(joined) > 500:
        raise SetupError(_("List at most a few domains."), "school_sign_up_domains")
    return joined


def create_program(admin: User, details: ProgramDetails) -> Program:
    slug = details.slug.strip().lower()
    if not SLUG.match(slug):
        raise SetupError(
            _("Use lower-case letters, digits and dashes, e.g. “riverbend-lic”."), "slug"
        )
    if db.session.scalar(select(Program.id).where(Program.slug == slug)):
        raise SetupError(_("That short name is taken."), "slug")
    directors = []
    for email in details.director_emails:
        person = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if person is None or person.role is not Role.DIRECTOR:
            raise SetupError(
                _("%(email)s is not a program director account.", email=email), "director_emails"
            )
        directors.append(person)
    program = Program(slug=slug, name="")
    _apply(program, details)
    program.directors = directors
    db.session.add(program)
    db.session.flush()
    audit.record(admin, "program.created", program, after={"name": program.name, "slug": slug})
    return program


def edit_program(actor: User, program: Program, details: ProgramDetails) -> None:
    def state() -> dict:
        return {
            "name": program.name,
            "frameworks": sorted(f.id for f in program.frameworks),
            "password_for_school_accounts": program.password_for_school_accounts,
            "school_sign_up_domains": program.school_sign_up_domains,
            "entrustment_value": program.entrustment_value,
        }

    before = state()
    _apply(program, details)
    db.session.flush()
    audit.record(actor, "program.edited", program, before=before, after=state())


def save_cohort(
    actor: User,
    program: Program,
    cohort: Cohort | None,
    name: str,
    start: date | None,
    end: date | None,
) -> Cohort:
    name = (name or "").strip()
    if not name:
        raise SetupError(_("Give the cohort a name, e.g. “2026–27”."), "name")
    longest = Cohort.__table__.c.name.type.length
    if len(name) > longest:
        raise SetupError(_("Keep it under %(n)d characters.", n=longest), "name")
    if start is None:
        raise SetupError(_("Give the first day."), "start_date")
    if end is None:
        raise SetupError(_("Give the last day."), "end_date")
    if end <= start:
        raise SetupError(_("The year must end after it starts."), "end_date")
    clash = db.session.scalar(
        select(Cohort.id).where(Cohort.program_id == program.id, Cohort.name == name)
    )
    if clash is not None and (cohort is None or clash != cohort.id):
        raise SetupError(_("This program already has a cohort with that name."), "name")
    created = cohort is None
    if created:
        cohort = Cohort(program_id=program.id, name=name, start_date=start, end_date=end)
        db.session.add(cohort)
    else:
        cohort.name, cohort.start_date, cohort.end_date = name, start, end
    db.session.flush()
    audit.record(
        actor,
        "cohort.created" if created else "cohort.edited",
        cohort,
        after={"name": name, "start": start, "end": end},
    )
    return cohort
