"""Who hears about each step of an assessment cycle. The e-mails are templates
(templates/emails/assessment_*) and go out after the commit (clerkship.mail).

While the ratings are blind, no e-mail names a level: it only says that a rating is in.
"""

from __future__ import annotations

from clerkship import mail
from clerkship.models import AssessmentAddendum, AssessmentCycle, User
from clerkship.urls import external_url


def _send(person: User, template: str, cycle: AssessmentCycle, **context) -> None:
    if not person.active:
        return
    link = external_url("assessments.show", cycle_id=cycle.id)
    mail.send(person.email, template, name=person.name, cycle=cycle, link=link, **context)


def _other(cycle: AssessmentCycle, actor: User) -> User:
    return cycle.preceptor if actor.id == cycle.student_id else cycle.student


def started(cycle: AssessmentCycle, *, actor: User) -> None:
    by_student = actor.id == cycle.student_id
    _send(_other(cycle, actor), "assessment_started", cycle, actor=actor, by_student=by_student)


def rating_submitted(cycle: AssessmentCycle, *, actor: User) -> None:
    """One side is in; the other is told without being told the level."""
    _send(_other(cycle, actor), "assessment_rating_submitted", cycle, actor=actor)


def revealed(cycle: AssessmentCycle, *, actor: User) -> None:
    for person in (cycle.student, cycle.preceptor):
        _send(person, "assessment_revealed", cycle)


def ready_to_sign(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(cycle.preceptor, "assessment_ready_to_sign", cycle)


def returned(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(cycle.student, "assessment_returned", cycle, actor=actor)


def signed(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(cycle.student, "assessment_signed", cycle, actor=actor)


def addendum_added(cycle: AssessmentCycle, addendum: AssessmentAddendum, *, actor: User) -> None:
    _send(_other(cycle, actor), "assessment_addendum", cycle, actor=actor, addendum=addendum)
