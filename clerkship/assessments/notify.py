"""Who hears about each step of an assessment cycle. E-mails go out after the commit.

While the ratings are blind, no e-mail names a level: it only says that a rating is in.
"""

from __future__ import annotations

from flask_babel import gettext as _

from clerkship import mail
from clerkship.models import AssessmentAddendum, AssessmentCycle, User
from clerkship.urls import external_url


def _send(person: User, subject: str, body: str, cycle: AssessmentCycle) -> None:
    if not person.active:
        return
    mail.queue(
        person.email,
        subject,
        _("Hello %(name)s,", name=person.name)
        + "\n\n"
        + body
        + "\n\n"
        + _(
            "Open the assessment: %(link)s",
            link=external_url("assessments.show", cycle_id=cycle.id),
        )
        + "\n\n— Clerkship\n",
    )


def _other(cycle: AssessmentCycle, actor: User) -> User:
    return cycle.preceptor if actor.id == cycle.student_id else cycle.student


def _what(cycle: AssessmentCycle) -> str:
    return cycle.competency.label


def started(cycle: AssessmentCycle, *, actor: User) -> None:
    if actor.id == cycle.student_id:
        subject = _("%(student)s started an assessment with you", student=actor.name)
        body = _(
            "%(student)s would like your independent rating on %(what)s. Your rating stays "
            "hidden from them until they have submitted their own.",
            student=actor.name,
            what=_what(cycle),
        )
    else:
        subject = _("%(preceptor)s asked you for a self-assessment", preceptor=actor.name)
        body = _(
            "Rate yourself on %(what)s and say what you based it on. Your preceptor rates you "
            "independently; you will see both ratings once you have both submitted.",
            what=_what(cycle),
        )
    _send(_other(cycle, actor), subject, body, cycle)


def rating_submitted(cycle: AssessmentCycle, *, actor: User) -> None:
    """One side is in; the other is told without being told the level."""
    other = _other(cycle, actor)
    _send(
        other,
        _("A rating is waiting for yours: %(what)s", what=_what(cycle)),
        _(
            "%(name)s has submitted their rating. Submit yours to see both side by side.",
            name=actor.name,
        ),
        cycle,
    )


def revealed(cycle: AssessmentCycle, *, actor: User) -> None:
    for person in (cycle.student, cycle.preceptor):
        _send(
            person,
            _("Both ratings are in: %(what)s", what=_what(cycle)),
            _("You can now see both ratings side by side and the difference between them."),
            cycle,
        )


def ready_to_sign(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(
        cycle.preceptor,
        _("Ready for your signature: %(student)s", student=cycle.student.name),
        _(
            "%(student)s has written their reaction and plan for %(what)s. Please review and "
            "co-sign it, or return it with a comment.",
            student=cycle.student.name,
            what=_what(cycle),
        ),
        cycle,
    )


def returned(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(
        cycle.student,
        _("Your assessment was returned: %(what)s", what=_what(cycle)),
        _(
            "%(name)s asks you to look again: %(comment)s",
            name=actor.name,
            comment=cycle.return_comment,
        ),
        cycle,
    )


def signed(cycle: AssessmentCycle, *, actor: User) -> None:
    _send(
        cycle.student,
        _("Your assessment was signed: %(what)s", what=_what(cycle)),
        _("%(name)s co-signed it. It is now part of your portfolio.", name=actor.name),
        cycle,
    )


def addendum_added(cycle: AssessmentCycle, addendum: AssessmentAddendum, *, actor: User) -> None:
    _send(
        _other(cycle, actor),
        _("An addendum was added: %(what)s", what=_what(cycle)),
        _("%(name)s added a signed addendum to a signed assessment.", name=actor.name),
        cycle,
    )
