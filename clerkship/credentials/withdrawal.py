"""A signed addendum that withdraws an entrustment decision revokes its credential."""

from __future__ import annotations

from flask_babel import gettext as _

from clerkship.credentials import decisions, issuing
from clerkship.directory.queries import latest_program_of
from clerkship.models import AssessmentAddendum, AssessmentCycle, User


def withdraw_decision(author: User, cycle: AssessmentCycle, addendum: AssessmentAddendum) -> None:
    from clerkship.assessments.service import AssessmentError

    program = latest_program_of(cycle.student_id)
    if program is None or not decisions.is_entrustment_decision(cycle, program):
        raise AssessmentError(
            _("This assessment is not an entrustment decision (or is withdrawn already)."),
            field="withdraws_decision",
        )
    issuing.withdraw(cycle, program, addendum, author)
