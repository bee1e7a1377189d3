"""Reminder routes: unsubscribe from the digest (public, signed link) and "remind now"."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from clerkship.directory import dashboard
from clerkship.directory import queries as cohort_students
from clerkship.models import Cohort, User
from clerkship.permissions import can_manage_person, can_view_dashboard, load_or_404
from clerkship.reminders import bp
from clerkship.reminders import service as reminders

OUTCOMES = {
    "sent": "sent",
    "already_today": "already had one today",
    "nothing": "nothing waiting",
    "opted_out": "turned digests off",
    "no_email": "no e-mail address",
    "inactive": "deactivated",
}


def _summary(results: list[str]) -> str:
    counts = {key: results.count(key) for key in OUTCOMES if results.count(key)}
    return ", ".join(f"{n} {OUTCOMES[key]}" for key, n in counts.items()) or _("nobody")


@bp.route("/digest/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    user = reminders.user_for_unsubscribe(token)
    if user is None:
        return render_template("reminders/unsubscribe.html", user=None), 404
    if request.method == "POST":
        reminders.unsubscribe(user)
        return render_template("reminders/unsubscribe.html", user=user, done=True)
    return render_template("reminders/unsubscribe.html", user=user, done=False)


@bp.route("/people/<int:user_id>/remind", methods=["POST"])
@login_required
def remind_person(user_id: int):
    person = load_or_404(User, user_id, can_manage_person)
    result = reminders.send_digest(person)
    flash(_("Reminder: %(result)s.", result=_summary([result])), "info")
    return redirect(request.referrer or url_for("directory.student", student_id=person.id))


@bp.route("/cohorts/<int:cohort_id>/remind", methods=["POST"])
@login_required
def remind_cohort(cohort_id: int):
    """Send the digest now to the students the dashboard flags (or to all of them)."""
    cohort = load_or_404(Cohort, cohort_id, can_view_dashboard)
    only = None  # everyone in the cohort, or only those the dashboard flags
    if request.form.get("who") != "all":
        only = [row.student.id for row in dashboard.cohort_rows(cohort) if row.needs_attention]
    students = cohort_students.students_of_cohort(cohort, only=only)
    results = [reminders.send_digest(student) for student in students]
    flash(_("Reminders: %(result)s.", result=_summary(results)), "info")
    return redirect(url_for("directory.dashboard", cohort_id=cohort.id, show="attention"))
