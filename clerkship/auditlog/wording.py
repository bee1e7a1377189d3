"""What an audit row says, in words an office reads (the raw action stays in the CSV)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from clerkship import permissions
from clerkship.csvfile import to_csv
from clerkship.models import AuditEvent, User

ACTIONS = {
    "record.viewed": _l("opened"),
    "audit.viewed": _l("looked at the audit log"),
    "audit.exported": _l("downloaded the audit log"),
    "export.started": _l("exported a portfolio"),
    "export.included": _l("exported, with the cohort"),
    "assessment.started": _l("asked for an assessment"),
    "assessment.self_submitted": _l("self-assessed"),
    "assessment.rated": _l("rated"),
    "assessment.revealed": _l("both ratings shown"),
    "assessment.reaction": _l("reacted and planned"),
    "assessment.returned": _l("returned to the student"),
    "assessment.signed": _l("signed an assessment"),
    "assessment.signature_failed": _l("tried to sign (wrong password)"),
    "assessment.addendum": _l("added a signed addendum"),
    "assessment.goal_from_plan": _l("made a goal from a plan"),
    "goal.created": _l("drafted a goal"),
    "goal.edited": _l("edited a goal"),
    "goal.shared": _l("shared a goal"),
    "goal.suggestion": _l("suggested a change"),
    "goal.suggestion_accepted": _l("accepted a suggestion"),
    "goal.suggestion_declined": _l("declined a suggestion"),
    "goal.agreed": _l("agreed a goal"),
    "goal.endorsed": _l("said a goal matters to them"),
    "goal.closed": _l("closed a goal"),
    "feedback.submitted": _l("gave feedback"),
    "feedback.withdrawn": _l("withdrew feedback"),
    "feedback.removed": _l("removed feedback"),
    "reflection.written": _l("wrote a reflection"),
    "reflection.edited": _l("edited a reflection"),
    "panel.added": _l("added a panel patient"),
    "panel.updated": _l("changed a panel entry"),
    "invitation.created": _l("made a patient link"),
    "invitation.revoked": _l("revoked a patient link"),
    "enrollment.created": _l("enrolled"),
    "assignment.created": _l("paired with a preceptor"),
    "assignment.changed": _l("changed a pairing"),
    "assignment.ended": _l("ended a pairing"),
    "roster.imported": _l("imported a roster"),
    "auth.sign_in": _l("signed in"),
    "auth.sign_out": _l("signed out"),
    "auth.sign_in_failed": _l("failed to sign in"),
    "auth.password_changed": _l("changed their password"),
    "auth.password_set_by_link": _l("chose a password from a link"),
    "auth.reset_requested": _l("asked for a password link"),
    "auth.other_sessions_ended": _l("signed out other devices"),
    "user.created": _l("created the account"),
    "user.updated": _l("changed the account"),
    "user.deactivated": _l("deactivated the account"),
    "user.activated": _l("reactivated the account"),
    "user.reset_link_sent": _l("sent a set-password link"),
}

RECORDS = {
    "user": _l("account"),
    "learning_goal": _l("goal"),
    "assessment_cycle": _l("assessment"),
    "patient_feedback": _l("patient feedback"),
    "patient_invitation": _l("patient invitation"),
    "reflection": _l("reflection"),
    "enrollment": _l("enrolment"),
    "assignment": _l("pairing"),
    "panel_entry": _l("panel entry"),
    "export_job": _l("export"),
    "program": _l("program"),
    "cohort": _l("cohort"),
}


def action_text(event: AuditEvent) -> str:
    return str(ACTIONS.get(event.action, event.action))


def record_text(event: AuditEvent) -> str:
    if event.object_type is None:
        return ""
    kind = str(RECORDS.get(event.object_type, event.object_type.replace("_", " ")))
    return f"{kind} #{event.object_id}" if event.object_id is not None else kind


def person_text(viewer: User, person: User | None) -> str:
    """A name as the viewer may see it (patients are "A patient" to the admin)."""
    if person is None:
        return _("someone not signed in")
    if permissions.can_see_name_of(viewer, person):
        return person.name
    return _("A patient")


HEADER = ["time_utc", "who", "who_role", "action", "what", "record", "student", "student_id", "ip"]


def csv_text(viewer: User, events) -> str:
    """The events as CSV (formula-safe via clerkship.csvfile). Before/after contents are left
    out: the log says who touched which record when, not what the record says."""
    return to_csv(
        [
            HEADER,
            *(
                [
                    e.occurred_at.isoformat(timespec="seconds"),
                    person_text(viewer, e.actor),
                    e.actor.role.value if e.actor else "",
                    e.action,
                    action_text(e),
                    record_text(e),
                    person_text(viewer, e.student) if e.student else "",
                    e.student_id or "",
                    e.ip_address or "",
                ]
                for e in events
            ),
        ]
    )
