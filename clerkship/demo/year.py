"""A believable demo year for one longitudinal integrated clerkship.

``build_demo_year(students=12)`` creates (or tops up) one program, this academic year's
cohort, students, one preceptor per discipline for every twelve students, five continuity
patients per student, a director, an admin, and learning goals at every stage written by all
three voices. Names come from Faker with a fixed seed, so running it again finds the same
people and adds nothing. Each area is its own function, so later features add theirs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker
from sqlalchemy import select

from clerkship import clock, mail, seeds
from clerkship.auth.passwords import hash_password
from clerkship.extensions import db
from clerkship.models import (
    DISCIPLINES,
    Assignment,
    Cohort,
    Framework,
    PanelEntry,
    Program,
    Role,
    User,
)
from clerkship.panels import service as panel_service
from clerkship.people import service as people_service
from clerkship.people.service import Pairing

DEMO_PASSWORD = "clerkship-demo-2026"  # noqa: S105 - printed for people trying the demo
DOMAIN = "riverbend.example.org"
PROGRAM_SLUG = "riverbend-lic"
STUDENTS_PER_PRECEPTOR_SET = 12
PATIENTS_PER_STUDENT = 5


@dataclass
class DemoSignIn:
    role: str
    email: str
    name: str
    note: str = ""


def academic_year(today: date) -> tuple[date, date]:
    """July to June, the year that contains ``today``."""
    start_year = today.year if today.month >= 7 else today.year - 1
    return date(start_year, 7, 1), date(start_year + 1, 6, 30)


class _People:
    """Find-or-create users by e-mail with one query up front and one shared hash."""

    def __init__(self, emails: list[str]):
        self.existing = {
            u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))
        }
        self._hash: str | None = None

    def get(self, email: str, role: Role, name: str, *, password: bool = True, **extra) -> User:
        user = self.existing.get(email)
        if user is None:
            user = User(email=email, role=role, name=name, **extra)
            if password:
                # argon2 is slow on purpose; every demo account has the same password, so
                # one hash serves them all (150 students would otherwise take minutes).
                self._hash = self._hash or hash_password(DEMO_PASSWORD)
                user.password_hash = self._hash
            db.session.add(user)
            self.existing[email] = user
        return user


def _domain(number: int) -> str:
    """Program 1 is the demo; more (a school with several tracks, the scale benchmark) get
    addresses of their own."""
    return DOMAIN if number == 1 else f"track{number}.{DOMAIN}"


def _program(number: int = 1) -> Program:
    slug = PROGRAM_SLUG if number == 1 else f"{PROGRAM_SLUG}-{number}"
    program = db.session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        program = Program(
            name="Riverbend Longitudinal Integrated Clerkship"
            + ("" if number == 1 else f", track {number}"),
            slug=slug,
            institution="Riverbend School of Medicine",
            # "Act with indirect supervision" and above are entrustment decisions (credentials).
            entrustment_value=3,
        )
        db.session.add(program)
    program.scale = program.scale or seeds.default_scale()
    program.feedback_instrument = program.feedback_instrument or seeds.default_instrument()
    if not program.frameworks:
        program.frameworks = list(db.session.scalars(select(Framework).order_by(Framework.name)))
    return program


def _cohort(program: Program, today: date) -> Cohort:
    start, end = academic_year(today)
    name = f"{start.year}–{str(end.year)[2:]}"
    cohort = db.session.scalar(
        select(Cohort).where(Cohort.program_id == program.id, Cohort.name == name)
    )
    if cohort is None:
        cohort = Cohort(program=program, name=name, start_date=start, end_date=end)
        db.session.add(cohort)
    return cohort


def _people(program: Program, students: int, fake: Faker, domain: str = DOMAIN):
    sets = math.ceil(students / STUDENTS_PER_PRECEPTOR_SET)
    width = max(2, len(str(students)))
    student_emails = [f"student{n:0{width}d}@{domain}" for n in range(1, students + 1)]
    preceptor_emails = [f"preceptor{n:02d}@{domain}" for n in range(1, sets * 7 + 2)]
    people = _People([*student_emails, *preceptor_emails, f"director@{domain}", f"admin@{domain}"])
    director = people.get(f"director@{domain}", Role.DIRECTOR, "Dr. Morgan Ellis")
    if director not in program.directors:
        program.directors.append(director)
    admin = people.get(f"admin@{domain}", Role.ADMIN, "Alex Admin")
    student_users = [people.get(email, Role.STUDENT, fake.name()) for email in student_emails]
    # Preceptor n covers discipline (n-1) % 7 for set (n-1) // 7; one extra replaced a
    # preceptor who left mid-year.
    preceptors = [
        people.get(email, Role.PRECEPTOR, f"Dr. {fake.name()}") for email in preceptor_emails
    ]
    db.session.flush()
    return director, admin, student_users, preceptors


# The demo writes its year through the same services as the forms and imports (rules and
# audit trail included), acting as the demo program's director.


def _enrol(director: User, cohort: Cohort, students: list[User]) -> None:
    for student in students:
        people_service.enrol(director, cohort, student)


def _pairings(
    director: User, cohort: Cohort, students: list[User], preceptors: list[User], today: date
):
    existing = {
        (a.student_id, a.discipline)
        for a in db.session.scalars(select(Assignment).where(Assignment.cohort_id == cohort.id))
    }
    replacement = preceptors[-1]
    for index, student in enumerate(students):
        preceptor_set = index // STUDENTS_PER_PRECEPTOR_SET
        for d, discipline in enumerate(DISCIPLINES):
            if (student.id, discipline) in existing:
                continue
            preceptor = preceptors[preceptor_set * 7 + d]
            if index == 0 and d == len(DISCIPLINES) - 1 and today > cohort.start_date:
                # The first student's neurology preceptor left mid-year: the history stays,
                # read-only for them, and a new preceptor carries on.
                left = min(cohort.start_date + timedelta(days=90), today - timedelta(days=1))
                people_service.pair(
                    director,
                    student,
                    Pairing(preceptor.id, discipline, cohort.start_date, left),
                    cohort,
                )
                preceptor, start = replacement, left + timedelta(days=1)
            else:
                start = cohort.start_date
            people_service.pair(
                director, student, Pairing(preceptor.id, discipline, min(start, today)), cohort
            )


def _panels(
    director: User,
    cohort: Cohort,
    students: list[User],
    today: date,
    seed: int,
    domain: str = DOMAIN,
) -> User | None:
    """Five continuity patients per student: pseudonymous names, no e-mail, no clinical data."""
    counts: dict[int, int] = {}
    for entry in db.session.scalars(select(PanelEntry).where(PanelEntry.cohort_id == cohort.id)):
        counts[entry.student_id] = counts.get(entry.student_id, 0) + 1
    english, spanish = Faker("en_US"), Faker("es_MX")
    rng = random.Random(seed)
    first_patient = db.session.scalar(select(User).where(User.email == f"patient@{domain}"))
    for index, student in enumerate(students):
        english.seed_instance(seed + index)
        spanish.seed_instance(seed + index)
        for n in range(counts.get(student.id, 0), PATIENTS_PER_STUDENT):
            language = "es" if rng.random() < 0.25 else "en"
            fake = spanish if language == "es" else english
            name = f"{fake.first_name()} {fake.last_name()[0]}."
            if index == 0 and n == 0 and first_patient is None:
                # One patient may sign in with a password, so the patient pages can be shown;
                # real patients use their single-use invitation links.
                first_patient = User(
                    role=Role.PATIENT,
                    name=name,
                    email=f"patient@{domain}",
                    preferred_language="en",
                    password_hash=hash_password(DEMO_PASSWORD),
                )
                patient = first_patient
            else:
                patient = User(role=Role.PATIENT, name=name, preferred_language=language)
            db.session.add(patient)
            db.session.flush()
            consent = cohort.start_date + timedelta(days=rng.randint(0, 60))
            panel_service.place_on_panel(
                director, cohort, student, patient, min(consent, today), None
            )
    return first_patient


def build_demo_year(students: int = 12, *, seed: int = 2026, program: int = 1) -> list[DemoSignIn]:
    """Create or top up the demo program (``program`` > 1: another track of the same school,
    with people of its own). Flushes; the caller commits. Sends no e-mail."""
    # Nobody in the demo has a real inbox: the services it writes through notify people, so
    # their e-mails are held back — not rendered at all (that was a quarter of the build).
    with mail.held():
        return _build(students, seed, program)


def _build(students: int, seed: int, program: int) -> list[DemoSignIn]:
    seeds.load_shipped()
    today = clock.today()
    fake = Faker("en_US")
    fake.seed_instance(seed)
    domain = _domain(program)
    track = _program(program)
    db.session.flush()
    cohort = _cohort(track, today)
    director, admin, student_users, preceptors = _people(track, students, fake, domain)
    db.session.flush()
    _enrol(director, cohort, student_users)
    _pairings(director, cohort, student_users, preceptors, today)
    patient = _panels(director, cohort, student_users, today, seed, domain)
    db.session.flush()

    from clerkship.demo.goals import add_goals

    add_goals(cohort, student_users, today, seed)
    from clerkship.demo.assessments import add_assessments

    add_assessments(cohort, student_users, today, seed)
    from clerkship.demo.feedback import add_feedback, add_reflections

    add_feedback(cohort, student_users, today, seed)
    add_reflections(student_users, today)
    # The history above was back-dated after it was signed: sign it again at those times.
    from clerkship.integrity.service import reseal_backdated

    reseal_backdated()
    db.session.flush()

    first_student, first_preceptor = student_users[0], preceptors[0]
    return [
        DemoSignIn("director", director.email, director.name, track.name),
        DemoSignIn("admin", admin.email, admin.name),
        DemoSignIn("student", first_student.email, first_student.name, f"{students} students"),
        DemoSignIn("preceptor", first_preceptor.email, first_preceptor.name, DISCIPLINES[0]),
        DemoSignIn(
            "patient", patient.email, patient.name, "patients normally use invitation links"
        ),
    ]


def format_sign_ins(sign_ins: list[DemoSignIn]) -> str:
    lines = [f"Demo sign-ins (password for all: {DEMO_PASSWORD})"]
    for s in sign_ins:
        note = f"  — {s.note}" if s.note else ""
        lines.append(f"  {s.role:<10} {s.email:<36} {s.name}{note}")
    return "\n".join(lines)
