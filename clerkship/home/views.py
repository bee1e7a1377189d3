from flask import render_template
from flask_login import current_user, login_required

from clerkship import page_cache
from clerkship.directory.forms import StudentSearchForm
from clerkship.home import bp, service
from clerkship.models import Role

TEMPLATES = {
    Role.STUDENT: "home/student.html",
    Role.PRECEPTOR: "home/preceptor.html",
    Role.PATIENT: "home/patient.html",
    Role.DIRECTOR: "home/director.html",
    Role.ADMIN: "home/admin.html",
}


@bp.route("/")
@login_required
@page_cache.kept
def index():
    """Each role lands on its own page listing what waits for them."""
    context = service.home_for(current_user)
    if current_user.role is Role.DIRECTOR:
        context["search_form"] = StudentSearchForm(formdata=None)
    return render_template(TEMPLATES[current_user.role], **context)
