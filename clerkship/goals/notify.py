"""Who hears about what happens to a goal. E-mails go out after the commit (clerkship.mail)."""

from __future__ import annotations

from flask_babel import gettext as _

from clerkship import mail
from clerkship.models import ContributionKind, GoalContribution, LearningGoal, User
from clerkship.urls import external_url


def _link(goal: LearningGoal) -> str:
    return external_url("goals.show", goal_id=goal.id)


def _parties(goal: LearningGoal) -> list[User]:
    people = [goal.student] + [share.user for share in goal.shares]
    return [person for person in people if person.active]


def _send(people, subject: str, body: str, goal: LearningGoal, *, skip: User | None) -> None:
    for person in people:
        if skip is not None and person.id == skip.id:
            continue
        mail.queue(
            person.email,
            subject,
            _("Hello %(name)s,", name=person.name)
            + "\n\n"
            + body
            + "\n\n"
            + _("Open the goal: %(link)s", link=_link(goal))
            + "\n\n— Clerkship\n",
        )


def goal_shared(goal: LearningGoal, added: list[User], *, actor: User) -> None:
    _send(
        added,
        _("%(student)s shared a learning goal with you", student=goal.student.name),
        _(
            "%(student)s would like your view on the learning goal “%(title)s”. You can "
            "suggest wording, comment, and (preceptors) agree to it.",
            student=goal.student.name,
            title=goal.latest.title,
        ),
        goal,
        skip=actor,
    )


def contribution_added(goal: LearningGoal, contribution: GoalContribution) -> None:
    author = contribution.author
    title = goal.latest.title
    if contribution.kind is ContributionKind.SUGGESTION:
        subject = _(
            "%(author)s suggested a change to “%(title)s”", author=author.name, title=title
        )
        body = _("A new suggestion is waiting for your answer.")
        recipients = [goal.student]
    elif contribution.kind is ContributionKind.AGREEMENT:
        subject = _("%(author)s agreed to “%(title)s”", author=author.name, title=title)
        body = _(
            "%(author)s agreed to version %(n)d of the goal.",
            author=author.name,
            n=contribution.version_number,
        )
        recipients = _parties(goal)
    elif contribution.kind is ContributionKind.ENDORSEMENT:
        subject = _("A patient said “%(title)s” matters to them", title=title)
        body = _("%(author)s endorsed the goal.", author=author.name)
        recipients = [goal.student]
    else:
        return  # comments and progress notes are read on the goal page, not pushed by e-mail
    _send(recipients, subject, body, goal, skip=author)


def suggestion_answered(goal: LearningGoal, contribution: GoalContribution, *, actor: User):
    accepted = contribution.response_reason is None
    subject = _("Your suggestion was accepted") if accepted else _("Your suggestion was declined")
    body = (
        _("%(student)s used your wording in a new version of the goal.", student=actor.name)
        if accepted
        else _(
            "%(student)s kept the current wording: %(reason)s",
            student=actor.name,
            reason=contribution.response_reason,
        )
    )
    _send([contribution.author], subject, body, goal, skip=actor)


def goal_changed(goal: LearningGoal, version, *, actor: User) -> None:
    """Tell the people the goal is shared with that there is new wording to look at."""
    _send(
        [share.user for share in goal.shares if share.user.active],
        _("“%(title)s” has a new version", title=version.title),
        _(
            "%(student)s changed the goal (version %(n)d). Earlier agreements stay in its "
            "history; the new version needs agreeing again.",
            student=actor.name,
            n=version.number,
        ),
        goal,
        skip=actor,
    )


def goal_closed(goal: LearningGoal, *, actor: User) -> None:
    _send(
        [share.user for share in goal.shares if share.user.active],
        _("“%(title)s” was closed", title=goal.latest.title),
        _("%(student)s closed the goal with a reflection you can read.", student=actor.name),
        goal,
        skip=actor,
    )
