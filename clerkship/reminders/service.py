"""The daily digest: one e-mail a day, to each person who has something waiting for them.

Preceptors hear about ratings, signatures and goals to agree; students about their own next
steps, having no agreed goal yet (while in the year), goals without progress for 30+ days and
invitation links about to expire. What waits and on whom, and which goals are agreed, come from
the owning queries (assessments.queries.steps; goals.queries.goals_agreed, which checks each
agreement's signature), as on the dashboard. Patients are never sent digests (they only hear
from us when a student invites them). Every digest carries an unsubscribe link. The queue
runs :func:`send_daily` every hour and each person gets theirs from 07:00 in their program's
time zone; ``flask send-digests`` sends now, by hand or from another scheduler. At most one
per person per program day, whoever runs it and however many at once: a ``digest_sent`` row
with a unique key on (person, day) is written before the mail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clerkship import audit, dates, mail, transactions
from clerkship.assessments import queries as assessments
from clerkship.assessments.service import WAITING_LABELS
from clerkship.extensions import db
from clerkship.models import (
    Assignment,
    Cohort,
    ContributionKind,
    DigestSent,
    GoalStatus,
    PatientInvitation,
    Program,
    Role,
    User,
    utcnow,
)
from clerkship.urls import external_url

SALT = "clerkship-digest-unsubscribe"
DIGEST_HOUR = 7  # the periodic run sends each person's digest from this local hour on
STALE_DAYS = 30
EXPIRING_DAYS = 3


def unsubscribe_token(user: User) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).dumps(user.id)


def user_for_unsubscribe(token: str) -> User | None:
    try:
        user_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).loads(token)
    except BadSignature:
        return None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def _preceptor_lines(user: User) -> list[str]:
    from clerkship.goals import queries as goals

    lines = [
        f"{WAITING_LABELS[row.action]}: {row.cycle.student.name} — {row.cycle.competency.label} "
        + _("(waiting %(n)d days)", n=row.days)
        for row in assessments.preceptor_queue(user.id)
    ]
    for goal in goals.awaiting_agreement(goals.goals_shared_with(user), user):
        lines.append(
            _(
                "Agree to the goal “%(title)s” (%(student)s)",
                title=goal.latest.title,
                student=goal.student.name,
            )
        )
    return lines


def no_agreed_goal_line() -> str:
    return _("No agreed learning goal yet: share one with your preceptor and agree it together")


def _student_lines(user: User, now: datetime) -> list[str]:
    from clerkship.directory import queries as cohorts
    from clerkship.goals import queries as goals

    lines = [
        f"{WAITING_LABELS[row.action]}: {row.cycle.competency.label}"
        for row in assessments.student_queue(user.id)
    ]
    # The dashboard flags the same (goals.goals_agreed): "remind" then reaches the student.
    if not goals.goals_agreed([user.id]) and cohorts.in_the_year(user.id):
        lines.append(no_agreed_goal_line())
    stale_before = now - timedelta(days=STALE_DAYS)
    for goal in goals.goals_of_student(user.id):
        if goal.status not in (GoalStatus.SHARED, GoalStatus.AGREED):
            continue
        notes = [
            c.created_at for c in goal.contributions if c.kind is ContributionKind.PROGRESS_NOTE
        ]
        if max(notes, default=goal.created_at) < stale_before:
            lines.append(
                _("No progress recorded for 30+ days on “%(title)s”", title=goal.latest.title)
            )
    expiring = db.session.scalars(
        select(PatientInvitation).where(
            PatientInvitation.student_id == user.id,
            PatientInvitation.used_at.is_(None),
            PatientInvitation.revoked_at.is_(None),
            PatientInvitation.expires_at > now,
            PatientInvitation.expires_at <= now + timedelta(days=EXPIRING_DAYS),
        )
    )
    for invitation in expiring:
        lines.append(
            _(
                "The link for %(patient)s expires on %(date)s",
                patient=invitation.patient.name,
                date=dates.show_date(invitation.expires_at),
            )
        )
    return lines


def waiting_for(user: User, now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    if user.role is Role.PRECEPTOR:
        return _preceptor_lines(user)
    if user.role is Role.STUDENT:
        return _student_lines(user, now)
    return []


def _program_of(user: User) -> Program | None:
    """The program whose day a person's digest follows: their own (the first, if several)."""
    from clerkship.permissions import student_program_ids

    if user.role is Role.STUDENT:
        ids = student_program_ids(user.id)
    else:
        ids = set(
            db.session.scalars(
                select(Cohort.program_id)
                .join(Assignment, Assignment.cohort_id == Cohort.id)
                .where(Assignment.preceptor_id == user.id)
            )
        )
    return db.session.get(Program, min(ids)) if ids else None


def local_now(program: Program | None, now: datetime) -> datetime:
    try:
        zone = ZoneInfo(program.time_zone) if program else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return now.astimezone(zone)


def _already(user: User, day: date) -> bool:
    return (
        db.session.scalar(
            select(DigestSent.id).where(DigestSent.user_id == user.id, DigestSent.day == day)
        )
        is not None
    )


def send_digest(user: User, now: datetime | None = None, from_hour: int | None = None) -> str:
    """'sent', or why not: 'inactive', 'no_email', 'opted_out', 'already_today', 'too_early',
    'nothing'. ``from_hour``: not before this hour of the program's day (the periodic run)."""
    now = now or utcnow()
    if not user.active:
        return "inactive"
    if not user.email:
        return "no_email"
    if user.digest_opt_out:
        return "opted_out"
    program = _program_of(user)
    local = local_now(program, now)
    if from_hour is not None and local.hour < from_hour:
        return "too_early"
    day = local.date()
    if _already(user, day):
        return "already_today"
    with force_locale(user.preferred_language or "en"):  # the lines in the reader's language
        lines = waiting_for(user, now)
    if not lines:
        return "nothing"
    try:  # the unique key decides between two runs at once: the loser sends nothing
        with db.session.begin_nested():
            db.session.add(
                DigestSent(
                    user_id=user.id,
                    program_id=program.id if program else None,
                    day=day,
                    sent_at=now,
                )
            )
    except IntegrityError:
        return "already_today"
    mail.send(
        user.email,
        "digest",
        locale=user.preferred_language or "en",
        name=user.name,
        lines=lines,
        home_link=external_url("home.index"),
        unsubscribe_link=external_url("reminders.unsubscribe", token=unsubscribe_token(user)),
    )
    user.last_digest_on = day
    db.session.flush()
    audit.record(None, "digest.sent", user, after={"items": len(lines), "day": day.isoformat()})
    return "sent"


def send_daily(now: datetime | None = None, from_hour: int | None = None) -> int:
    """Every active student and preceptor with something waiting; one transaction per person
    (a task: one person's failure does not undo the digests already sent)."""
    now = now or utcnow()
    people = db.session.scalars(
        select(User.id).where(
            User.role.in_([Role.STUDENT, Role.PRECEPTOR]),
            User.active.is_(True),
            User.email.is_not(None),
            User.digest_opt_out.is_(False),
        )
    ).all()
    sent = 0
    for user_id in people:
        with transactions.unit_of_work():
            user = db.session.get_one(User, user_id)
            if send_digest(user, now, from_hour) == "sent":
                sent += 1
    return sent


def unsubscribe(user: User) -> None:
    user.digest_opt_out = True
    db.session.flush()
    audit.record(user, "digest.unsubscribed", user)
