"""Who hears about what happens to a goal. The e-mails are templates (templates/emails/goal_*)
and go out after the commit (clerkship.mail)."""

from __future__ import annotations

from clerkship import mail
from clerkship.models import ContributionKind, GoalContribution, LearningGoal, User
from clerkship.urls import external_url

# Comments and progress notes are read on the goal page, not pushed by e-mail.
_CONTRIBUTION_TEMPLATES = {
    ContributionKind.SUGGESTION: "goal_suggestion",
    ContributionKind.AGREEMENT: "goal_agreed",
    ContributionKind.ENDORSEMENT: "goal_endorsed",
}


def _parties(goal: LearningGoal) -> list[User]:
    people = [goal.student] + [share.user for share in goal.shares]
    return [person for person in people if person.active]


def _shared_with(goal: LearningGoal) -> list[User]:
    return [share.user for share in goal.shares if share.user.active]


def _send(people, template: str, goal: LearningGoal, *, skip: User | None, **context) -> None:
    link = external_url("goals.show", goal_id=goal.id)
    for person in people:
        if skip is not None and person.id == skip.id:
            continue
        mail.send(person.email, template, name=person.name, goal=goal, link=link, **context)


def goal_shared(goal: LearningGoal, added: list[User], *, actor: User) -> None:
    _send(added, "goal_shared", goal, skip=actor)


def contribution_added(goal: LearningGoal, contribution: GoalContribution) -> None:
    template = _CONTRIBUTION_TEMPLATES.get(contribution.kind)
    if template is None:
        return
    recipients = (
        _parties(goal) if contribution.kind is ContributionKind.AGREEMENT else [goal.student]
    )
    author = contribution.author
    _send(recipients, template, goal, skip=author, author=author, contribution=contribution)


def suggestion_answered(goal: LearningGoal, contribution: GoalContribution, *, actor: User):
    _send(
        [contribution.author],
        "suggestion_answered",
        goal,
        skip=actor,
        actor=actor,
        contribution=contribution,
        accepted=contribution.response_reason is None,
    )


def goal_changed(goal: LearningGoal, version, *, actor: User) -> None:
    """Tell the people the goal is shared with that there is new wording to look at."""
    _send(_shared_with(goal), "goal_changed", goal, skip=actor, actor=actor, version=version)


def goal_closed(goal: LearningGoal, *, actor: User) -> None:
    _send(_shared_with(goal), "goal_closed", goal, skip=actor, actor=actor)
