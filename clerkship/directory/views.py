from flask import render_template
from flask_login import current_user, login_required

from clerkship.directory import bp, service
from clerkship.models import Cohort, Framework, Program, Role, User
from clerkship.permissions import (
    can_manage_program,
    can_view_cohort,
    can_view_framework,
    can_view_student,
    load_or_404,
    require_role,
)


@bp.route("/students/<int:student_id>")
@login_required
def student(student_id: int):
    student = load_or_404(User, student_id, can_view_student, owner=lambda s: s.id)
    return render_template(
        "directory/student.html",
        student=student,
        **service.student_overview(student, current_user),
    )


@bp.route("/programs/<int:program_id>")
@login_required
def program(program_id: int):
    program = load_or_404(Program, program_id, can_manage_program)
    return render_template("directory/program.html", program=program)


@bp.route("/cohorts/<int:cohort_id>")
@login_required
def cohort(cohort_id: int):
    cohort = load_or_404(Cohort, cohort_id, can_view_cohort)
    return render_template(
        "directory/cohort.html", cohort=cohort, rows=service.cohort_roster(cohort)
    )


@bp.route("/frameworks")
@login_required
def frameworks():
    require_role(Role.ADMIN, Role.DIRECTOR)
    return render_template("directory/frameworks.html", **service.frameworks_overview())


@bp.route("/frameworks/<int:framework_id>")
@login_required
def framework(framework_id: int):
    framework = load_or_404(Framework, framework_id, can_view_framework)
    return render_template("directory/framework.html", framework=framework)
