from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from clerkship import page_cache, seeds, submissions, transactions
from clerkship.directory import bp, service, setup
from clerkship.directory import dashboard as cohort_dashboard
from clerkship.directory import queries as cohort_students
from clerkship.directory.forms import CohortForm, InstrumentForm, ProgramForm, StudentSearchForm
from clerkship.formerrors import put_error
from clerkship.models import Cohort, Framework, Program, Role, User
from clerkship.permissions import (
    can_manage_program,
    can_search_students,
    can_view_cohort,
    can_view_dashboard,
    can_view_framework,
    can_view_student,
    load_or_404,
    require_role,
)
from clerkship.portfolios.forms import PeriodForm


@bp.route("/students/<int:student_id>")
@login_required
def student(student_id: int):
    student = load_or_404(User, student_id, can_view_student, owner=lambda s: s.id)
    return render_template(
        "directory/student.html",
        student=student,
        **service.student_overview(student, current_user),
    )


@bp.route("/students")
@login_required
def search_students():
    """Find a student of one's programs by name or e-mail."""
    if not can_search_students(current_user):
        abort(404)
    form = StudentSearchForm(request.args)
    found = None
    if form.q.data and form.validate():
        found = cohort_students.search_students(current_user, form.q.data)
    return render_template("directory/search.html", form=form, found=found)


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
        "directory/cohort.html",
        cohort=cohort,
        rows=service.cohort_roster(cohort),
        export_form=PeriodForm(),
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
    from clerkship.frameworks.planner import tree

    return render_template("directory/framework.html", framework=framework, nodes=tree(framework))


MAX_INSTRUMENT_BYTES = 512 * 1024


@bp.route("/programs/<int:program_id>/instrument", methods=["GET", "POST"])
@login_required
def instrument(program_id: int):
    """Switch the program's patient-feedback instrument, choosing a loaded one or a file."""
    program = load_or_404(Program, program_id, can_manage_program)
    instruments = service.all_instruments()
    form = InstrumentForm()
    form.instrument_id.choices = [SelectChoice(i.id, _instrument_label(i)) for i in instruments]
    if request.method == "GET":
        form.instrument_id.data = program.feedback_instrument_id
    if form.validate_on_submit():
        upload = form.file.data
        chosen = None
        try:
            if upload is not None and upload.filename:
                raw = upload.stream.read(MAX_INSTRUMENT_BYTES + 1)
                if len(raw) > MAX_INSTRUMENT_BYTES:
                    raise seeds.ImportFailed(upload.filename, [(0, _("the file is too large"))])
                chosen, _created = seeds.import_instrument_upload(raw, upload.filename)
            else:
                chosen = next((i for i in instruments if i.id == form.instrument_id.data), None)
                if chosen is None:
                    form.instrument_id.errors.append(_("Choose an instrument or upload a file."))
        except seeds.ImportFailed as failed:
            transactions.fail()
            form.file.errors.extend(
                _("row %(row)d: %(message)s", row=row, message=message) if row else message
                for row, message in failed.errors
            )
            chosen = None
        if chosen is not None:
            service.use_instrument(current_user._get_current_object(), program, chosen)
            flash(
                _(
                    "Patients are now asked “%(name)s” (version %(v)d). Answers already given "
                    "keep the version they were given on.",
                    name=chosen.text(chosen.name, "en"),
                    v=chosen.version,
                ),
                "success",
            )
            if any("es" not in item.prompt for item in chosen.items):
                flash(_("Some questions have no Spanish text; Spanish speakers see English."))
            return redirect(url_for("directory.program", program_id=program.id))
    return render_template(
        "directory/instrument.html", program=program, instruments=instruments, form=form
    ), (400 if form.errors else 200)


def _instrument_label(instrument) -> str:
    return _(
        "%(name)s · version %(n)d · %(questions)d questions",
        name=instrument.text(instrument.name, "en"),
        n=instrument.version,
        questions=len(instrument.items),
    )


@bp.route("/cohorts/<int:cohort_id>/dashboard")
@login_required
@page_cache.kept
def dashboard(cohort_id: int):
    """Who needs help: sortable by every column, filterable to those needing attention."""
    cohort = load_or_404(Cohort, cohort_id, can_view_dashboard)
    board = cohort_dashboard.cohort_board(cohort)
    rows = board.rows
    column = request.args.get("sort", "name")
    descending = request.args.get("dir") == "desc"
    attention_only = request.args.get("show") == "attention"
    shown = [r for r in rows if r.needs_attention] if attention_only else rows
    page = cohort_dashboard.page_of(
        cohort_dashboard.sort_rows(shown, column, descending),
        request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "directory/dashboard.html",
        cohort=cohort,
        rows=page.rows,
        pager=page,
        total=len(rows),
        flagged=len(board.flagged),
        median_assessed=board.median_assessed,
        chart=cohort_dashboard.standing(board),
        columns=cohort_dashboard.COLUMNS,
        column=column if column in cohort_dashboard.COLUMNS else "name",
        descending=descending,
        attention_only=attention_only,
    )


# --- programs and cohorts --------------------------------------------------------------------


def _program_form(program: Program | None) -> ProgramForm:
    if request.method == "POST":
        form = ProgramForm()
    elif program is None:
        form = ProgramForm(formdata=None)
    else:
        form = ProgramForm(
            formdata=None,
            data={
                "name": program.name,
                "institution": program.institution,
                "scale_id": program.scale_id,
                "entrustment_value": program.entrustment_value,
                "framework_ids": [f.id for f in program.frameworks],
                "password_for_school_accounts": program.password_for_school_accounts,
                "school_sign_up_domains": program.school_sign_up_domains,
            },
        )
    scales = service.all_scales()
    form.scale_id.choices = [(s.id, s.name) for s in scales]
    # The levels of the program's scale (a new program: of every scale, named with it).
    shown = [program.scale] if program is not None and program.scale else scales
    form.entrustment_value.choices = [(None, _("None: issue no credentials"))] + [
        (level.value, f"{level.label}" if len(shown) == 1 else f"{scale.name}: {level.label}")
        for scale in shown
        for level in scale.levels
    ]
    form.framework_ids.choices = [(f.id, f.name) for f in service.all_frameworks()]
    return form


def _program_details(form: ProgramForm) -> setup.ProgramDetails:
    return setup.ProgramDetails(
        name=form.name.data or "",
        institution=form.institution.data or "",
        slug=form.slug.data or "",
        scale_id=form.scale_id.data,
        entrustment_value=form.entrustment_value.data,
        framework_ids=[i for i in form.framework_ids.data or () if i is not None],
        director_emails=form.emails(),
        password_for_school_accounts=bool(form.password_for_school_accounts.data),
        school_sign_up_domains=form.school_sign_up_domains.data or "",
    )


def _program_page(program, form, status=200):
    return render_template("directory/program_form.html", program=program, form=form), status


@bp.route("/programs/new", methods=["GET", "POST"])
@login_required
def new_program():
    require_role(Role.ADMIN)
    form = _program_form(None)
    if request.method == "GET":
        return _program_page(None, form)
    if not submissions.valid(form):
        return _program_page(None, form, 400)
    if (again := submissions.repeated()) is not None:
        return again
    try:
        program = setup.create_program(current_user._get_current_object(), _program_details(form))
    except setup.SetupError as error:
        put_error(form, error)
        return _program_page(None, form, 400)
    flash(_("Program created."), "success")
    return redirect(submissions.done(url_for("directory.program", program_id=program.id)))


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@login_required
def edit_program(program_id: int):
    program = load_or_404(Program, program_id, can_manage_program)
    form = _program_form(program)
    if request.method == "GET":
        return _program_page(program, form)
    if not form.validate_on_submit():
        return _program_page(program, form, 400)
    try:
        setup.edit_program(current_user._get_current_object(), program, _program_details(form))
    except setup.SetupError as error:
        put_error(form, error)
        return _program_page(program, form, 400)
    flash(_("Saved."), "success")
    return redirect(url_for("directory.program", program_id=program.id))


def _cohort_page(program, cohort, form, status=200):
    return render_template(
        "directory/cohort_form.html", program=program, cohort=cohort, form=form
    ), status


def _save_cohort(program, cohort):
    form = CohortForm()
    if not (form.validate_on_submit() if cohort else submissions.valid(form)):
        return _cohort_page(program, cohort, form, 400)
    if cohort is None and (again := submissions.repeated()) is not None:
        return again
    try:
        saved = setup.save_cohort(
            current_user._get_current_object(),
            program,
            cohort,
            form.name.data or "",
            form.start_date.data,
            form.end_date.data,
        )
    except setup.SetupError as error:
        put_error(form, error)
        return _cohort_page(program, cohort, form, 400)
    flash(_("Cohort saved."), "success")
    return redirect(submissions.done(url_for("directory.cohort", cohort_id=saved.id)))


@bp.route("/programs/<int:program_id>/cohorts/new", methods=["GET", "POST"])
@login_required
def new_cohort(program_id: int):
    program = load_or_404(Program, program_id, can_manage_program)
    if request.method == "GET":
        return _cohort_page(program, None, CohortForm(formdata=None))
    return _save_cohort(program, None)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@login_required
def edit_cohort(cohort_id: int):
    cohort = load_or_404(Cohort, cohort_id, can_view_cohort)
    if request.method == "GET":
        return _cohort_page(cohort.program, cohort, CohortForm(formdata=None, obj=cohort))
    return _save_cohort(cohort.program, cohort)
