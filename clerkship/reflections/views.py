from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, IntegerField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from clerkship import submissions, transactions
from clerkship.extensions import db
from clerkship.formerrors import put_error
from clerkship.goals.forms import MultiCheckboxField
from clerkship.models import LearningGoal, Reflection, Role
from clerkship.permissions import can_edit_reflection, load_or_404, require_role
from clerkship.reflections import bp, service


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReflectionForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[InputRequired(_l("Give the reflection a title.")), Length(max=300)],
        filters=[_strip],
    )
    body = TextAreaField(
        _l("Reflection"),
        validators=[InputRequired(_l("Write the reflection itself.")), Length(max=10_000)],
        filters=[_strip],
        description=_l("What happened, what you made of it, what you will do differently."),
    )
    goals = MultiCheckboxField(_l("Related learning goals"), coerce=int)
    in_portfolio = BooleanField(
        _l("Include in my portfolio (my preceptors and program director will read it)")
    )
    # The reflection's lock version when the form was opened: a save from another window
    # in between is a conflict, not a silent overwrite.
    seen_version = IntegerField(widget=HiddenInput(), validators=[Optional()])


def _form(student_id: int, **kwargs) -> ReflectionForm:
    form = ReflectionForm(**kwargs)
    goals = db.session.scalars(
        select(LearningGoal)
        .where(LearningGoal.student_id == student_id)
        .options(selectinload(LearningGoal.versions))
        .order_by(LearningGoal.id.desc())
    )
    form.goals.choices = [SelectChoice(g.id, g.latest.title) for g in goals]
    return form


@bp.route("/")
@login_required
def index():
    require_role(Role.STUDENT)
    reflections = db.session.scalars(
        select(Reflection)
        .where(Reflection.student_id == current_user.id)
        .options(selectinload(Reflection.goals).selectinload(LearningGoal.versions))
        .order_by(Reflection.created_at.desc())
    ).all()
    return render_template("reflections/index.html", reflections=reflections)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(Role.STUDENT)
    student = current_user._get_current_object()
    form = _form(student.id)
    if submissions.valid(form):
        if (again := submissions.repeated()) is not None:
            return again
        try:
            service.write(
                student, form.title.data, form.body.data, form.in_portfolio.data, form.goals.data
            )
        except service.ReflectionError as error:
            put_error(form, error)
        else:
            flash(_("Reflection saved."), "success")
            return redirect(submissions.done(url_for("reflections.index")))
    status = 400 if request.method == "POST" else 200
    return render_template("reflections/form.html", form=form, reflection=None), status


@bp.route("/<int:reflection_id>/edit", methods=["GET", "POST"])
@login_required
def edit(reflection_id: int):
    reflection = load_or_404(Reflection, reflection_id, can_edit_reflection)
    student = current_user._get_current_object()
    if request.method == "GET":
        form = _form(
            student.id,
            data={
                "title": reflection.title,
                "body": reflection.body,
                "in_portfolio": reflection.in_portfolio,
                "goals": [g.id for g in reflection.goals],
                "seen_version": reflection.version_id,
            },
        )
        return render_template("reflections/form.html", form=form, reflection=reflection)
    form = _form(student.id)
    if form.validate_on_submit():
        try:
            service.edit(
                student,
                reflection,
                form.title.data,
                form.body.data,
                form.in_portfolio.data,
                form.goals.data,
                seen_version_id=form.seen_version.data,
            )
            db.session.flush()
        except (service.EditConflict, StaleDataError):
            transactions.fail()
            flash(_("This reflection changed in another window; your text is below."), "error")
            # Saving again from here overwrites knowingly. (raw_data is what renders.)
            form.seen_version.raw_data = [str(reflection.version_id)]
            page = render_template(
                "reflections/form.html", form=form, reflection=reflection, conflict=True
            )
            return page, 409
        except service.ReflectionError as error:
            put_error(form, error)
        else:
            flash(_("Reflection saved."), "success")
            return redirect(url_for("reflections.index"))
    return render_template("reflections/form.html", form=form, reflection=reflection), 400
