"""Every access rule, as named predicates over (user, object).

DESIGN.md's access rules, in one place:

- Students: their own records only; they choose which goals a patient can see.
- Preceptors: students with an assignment to them — full access while the assignment is
  active, read-only once it has ended.
- Patients: only the students whose panel they are on, only goals shared with them and forms
  addressed to them; never assessments, never other patients' feedback.
- Directors: everything in their own programs and nothing in another's; they never sign in
  anyone's name.
- Admins: instance set-up (frameworks, scales, users), not students' records.

Queries reuse the same rules as SQL clauses (:func:`pairing_active`, :func:`panel_active`,
:func:`program_people`), so a page and a predicate never disagree about who is current.

A person in two programs (a preceptor teaching in both) is one account, linked to each
program only through that program's own pairings (students through enrolments, patients
through panel entries), and to the program whose director added the account
(``User.added_by_program_id``: an imported preceptor not yet paired is that program's).
Each program's director reaches them through those links; only a director who runs *every*
program the person is in (or an admin) may change the account itself (rename, deactivate,
enrol): :func:`can_change_person`. Students and patients belong to one program; naming one
of another program in a form or import is refused.

Anything a predicate refuses is a 404 (see :func:`load_or_404`), so nobody learns that a
record they may not see exists. The predicates are also Jinja globals, so templates only
offer what the views will allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, CompoundSelect, exists, false, or_, select, true, union

from clerkship import audit
from clerkship.clock import today
from clerkship.extensions import db
from clerkship.models import (
    AssessmentCycle,
    Assignment,
    AuditEvent,
    Cohort,
    CycleStatus,
    Enrollment,
    ExportJob,
    Framework,
    GoalShare,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    Program,
    Reflection,
    Role,
    User,
)

T = TypeVar("T")


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


# --- relationships ---------------------------------------------------------------------------


# --- SQL clauses the queries reuse ----------------------------------------------------------


def pairing_active(on: date | None = None) -> ColumnElement[bool]:
    """An assignment current on ``on`` (default today): started, and not yet ended."""
    day = on or today()
    return (Assignment.start_date <= day) & (
        Assignment.end_date.is_(None) | (Assignment.end_date >= day)
    )


def pairing_started(on: date | None = None) -> ColumnElement[bool]:
    """An assignment that has begun (current or ended): preceptors keep read-only access."""
    return Assignment.start_date <= (on or today())


def panel_active(on: date | None = None) -> ColumnElement[bool]:
    """A panel entry current on ``on``: consent given, and not yet ended."""
    day = on or today()
    return (PanelEntry.consent_date <= day) & (
        PanelEntry.end_date.is_(None) | (PanelEntry.end_date >= day)
    )


def program_people(program_ids: Iterable[int]) -> CompoundSelect:
    """The ids of everyone linked to these programs: students by enrolment, preceptors by
    pairing, patients by panel entry, and the accounts the programs added (a compound select
    usable in ``User.id.in_(...)``; the SQL twin of :func:`programs_of_person`)."""
    ids = list(program_ids) or [0]
    return union(
        select(User.id.label("id")).where(User.added_by_program_id.in_(ids)),
        select(Enrollment.student_id.label("id"))
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Cohort.program_id.in_(ids)),
        select(Assignment.preceptor_id.label("id"))
        .join(Cohort, Cohort.id == Assignment.cohort_id)
        .where(Cohort.program_id.in_(ids)),
        select(PanelEntry.patient_id.label("id"))
        .join(Cohort, Cohort.id == PanelEntry.cohort_id)
        .where(Cohort.program_id.in_(ids)),
    )


def goals_visible_to(user: User) -> ColumnElement[bool]:
    """The SQL twin of :func:`can_view_goal`, for lists: ``select(LearningGoal).where(...)``."""
    if not _signed_in(user):
        return false()
    if user.role is Role.STUDENT:
        return LearningGoal.student_id == user.id
    if user.role is Role.DIRECTOR:
        return LearningGoal.student_id.in_(students_of_programs(user.directed_program_ids))
    shared = exists().where(
        (GoalShare.goal_id == LearningGoal.id) & (GoalShare.user_id == user.id)
    )
    if user.role is Role.PRECEPTOR:
        link = exists().where(
            (Assignment.preceptor_id == user.id)
            & (Assignment.student_id == LearningGoal.student_id)
            & pairing_started()
        )
    elif user.role is Role.PATIENT:
        link = exists().where(
            (PanelEntry.patient_id == user.id)
            & (PanelEntry.student_id == LearningGoal.student_id)
            & panel_active()
        )
    else:
        return false()
    return shared & link


def programs_of_person(person: User) -> set[int]:
    """The programs a person is linked to (see the module docstring for people in two)."""
    if person.role is Role.STUDENT:
        link = select(Cohort.program_id).join(Enrollment, Enrollment.cohort_id == Cohort.id)
        link = link.where(Enrollment.student_id == person.id)
    elif person.role is Role.PRECEPTOR:
        link = select(Cohort.program_id).join(Assignment, Assignment.cohort_id == Cohort.id)
        link = link.where(Assignment.preceptor_id == person.id)
    elif person.role is Role.PATIENT:
        link = select(Cohort.program_id).join(PanelEntry, PanelEntry.cohort_id == Cohort.id)
        link = link.where(PanelEntry.patient_id == person.id)
    else:
        return set()
    linked = set(db.session.scalars(link))
    if person.added_by_program_id is not None:
        linked.add(person.added_by_program_id)
    return linked


def belongs_to_other_program(person: User, program_id: int) -> bool:
    """The person is linked to a program other than ``program_id``."""
    return bool(programs_of_person(person) - {program_id})


def student_program_ids(student_id: int) -> set[int]:
    rows = db.session.scalars(
        select(Cohort.program_id)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student_id)
    )
    return set(rows)


def directs_student(user: User, student_id: int) -> bool:
    return user.role is Role.DIRECTOR and bool(
        user.directed_program_ids & student_program_ids(student_id)
    )


def students_directed_by(user) -> ColumnElement[bool]:
    """The SQL twin of :func:`directs_student`, for lists of people (``select(User).where``):
    students enrolled in a cohort of a program this director directs; nobody for others."""
    if not _signed_in(user) or user.role is not Role.DIRECTOR or not user.directed_program_ids:
        return false()
    return (User.role == Role.STUDENT) & User.id.in_(
        students_of_programs(user.directed_program_ids)
    )


def students_of_programs(program_ids):
    """The ids of the students enrolled in these programs' cohorts (a select for
    ``.in_(...)``): the one definition every director scope and the API's program cut use."""
    return (
        select(Enrollment.student_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Cohort.program_id.in_(set(program_ids) or {0}))
    )


def can_search_students(user) -> bool:
    """Directors find students by name or e-mail, within their programs only."""
    return _signed_in(user) and user.role is Role.DIRECTOR


def _assignment_clause(preceptor_id: int, student_id: int, *, active_only: bool):
    clause = (Assignment.preceptor_id == preceptor_id) & (Assignment.student_id == student_id)
    return clause & (pairing_active() if active_only else pairing_started())


def precepts(user: User, student_id: int, *, active_only: bool = True) -> bool:
    """The user is (or, with ``active_only=False``, has been) this student's preceptor."""
    if user.role is not Role.PRECEPTOR:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(_assignment_clause(user.id, student_id, active_only=active_only))
            )
        )
    )


def on_panel_of(user: User, student_id: int) -> bool:
    """The user is a patient on this student's panel today."""
    if user.role is not Role.PATIENT:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    (PanelEntry.patient_id == user.id)
                    & (PanelEntry.student_id == student_id)
                    & panel_active()
                )
            )
        )
    )


def _shared_with(goal: LearningGoal, user: User) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where((GoalShare.goal_id == goal.id) & (GoalShare.user_id == user.id)))
        )
    )


# --- people and programs ---------------------------------------------------------------------


def is_admin(user) -> bool:
    return _signed_in(user) and user.role is Role.ADMIN


def can_view_integrity(user) -> bool:
    """The signature chain and its checks: the people who run programs and the instance.

    The page names records only by kind and id, never by content or person.
    """
    return _signed_in(user) and user.role in (Role.DIRECTOR, Role.ADMIN)


def can_manage_program(user, program: Program) -> bool:
    return (_signed_in(user) and user.role is Role.ADMIN) or directs_program(user, program.id)


def can_view_framework(user, framework: Framework) -> bool:
    """Frameworks and scales are set-up data for the people who run programs."""
    return _signed_in(user) and user.role in (Role.ADMIN, Role.DIRECTOR)


def can_import_framework(user) -> bool:
    """Frameworks are shared by every program: only an administrator loads or replaces one."""
    return _signed_in(user) and user.role == Role.ADMIN


def can_view_cohort(user, cohort: Cohort) -> bool:
    return can_manage_program(user, cohort.program)


def directs_program(user, program_id: int) -> bool:
    """A director of this very program (admins run programs' set-up, not their records)."""
    return (
        _signed_in(user) and user.role is Role.DIRECTOR and program_id in user.directed_program_ids
    )


def can_view_dashboard(user, cohort: Cohort) -> bool:
    """The cohort dashboard shows education records: the program's directors only."""
    return directs_program(user, cohort.program_id)


def _over_person(user, person: User, enough: Callable[[set[int], set[int]], bool]) -> bool:
    """The shared start of the people rules: admins over everyone; directors over students,
    preceptors and patients when ``enough(programs they run, the person's programs)``."""
    if not _signed_in(user):
        return False
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.DIRECTOR or person.role in (Role.ADMIN, Role.DIRECTOR):
        return False
    return enough(user.directed_program_ids, programs_of_person(person))


def can_manage_person(user, person: User) -> bool:
    """Directors manage the students, preceptors and patients of their programs; admins all."""
    return _over_person(user, person, lambda mine, theirs: bool(mine & theirs))


def can_manage_accounts(user) -> bool:
    """The list of every account, and creating one: the admin only. Directors reach their
    people through their cohorts and students (the list would show other programs' people)."""
    return is_admin(user)


def can_edit_account(user, person: User) -> bool:
    """Correct a name, e-mail or role: the admin, for any account but a patient's (patients
    are kept by their student and director, and the admin does not see their names)."""
    return is_admin(user) and person.role is not Role.PATIENT


def can_change_person(user, person: User) -> bool:
    """Change the account itself (rename, deactivate, enrol): an admin, or a director who runs
    every program the person is in. A preceptor teaching in two programs is changed only by
    someone who runs both; an account in no program at all (made by an admin with the
    create-user command) by any director."""
    return _over_person(user, person, lambda mine, theirs: theirs <= mine)


def can_deactivate_person(user, person: User) -> bool:
    """Deactivating ends the person's sessions in every program: reach them and change them."""
    return can_manage_person(user, person) and can_change_person(user, person)


def can_pair_student(user, student: User) -> bool:
    return (
        _signed_in(user)
        and student.role is Role.STUDENT
        and user.role is Role.DIRECTOR
        and can_manage_person(user, student)
    )


def can_import_roster(user, cohort: Cohort) -> bool:
    """Roster imports write a program's people: its own directors only (not admins)."""
    return directs_program(user, cohort.program_id)


def can_manage_assignment(user, assignment: Assignment) -> bool:
    return directs_program(user, assignment.cohort.program_id)


def can_view_student(user, student: User) -> bool:
    """See a student's record: self, their preceptors (also after the end), their director."""
    if not _signed_in(user) or student.role is not Role.STUDENT:
        return False
    if user.id == student.id or user.role is Role.ADMIN:
        return True
    if user.role is Role.PRECEPTOR:
        return precepts(user, student.id, active_only=False)
    if user.role is Role.DIRECTOR:
        return directs_student(user, student.id)
    if user.role is Role.PATIENT:
        return on_panel_of(user, student.id)
    return False


def can_see_pairings(user, student: User) -> bool:
    """Who precepts a student: not the patient account (it needs only its own student)."""
    return can_view_student(user, student) and user.role is not Role.PATIENT


def can_see_panel(user, student: User) -> bool:
    """The student's continuity patients, by name: the student, their preceptors and their
    director; never the admin (set-up and people, not students' records) nor a patient."""
    return can_view_student(user, student) and user.role not in (Role.PATIENT, Role.ADMIN)


def can_supervise_student(user, student: User) -> bool:
    """Act on a student's records as their preceptor: only while an assignment is active."""
    return _signed_in(user) and precepts(user, student.id, active_only=True)


def can_download_credentials(user, student: User) -> bool:
    """The student's own credentials, and their program's directors: a preceptor sees the
    portfolio but does not hand out the student's credentials; an admin never sees records."""
    if not _signed_in(user):
        return False
    if user.role is Role.STUDENT:
        return user.id == student.id
    if user.role is not Role.DIRECTOR:
        return False
    enrolled = students_of_programs(user.directed_program_ids).where(
        Enrollment.student_id == student.id
    )
    return bool(db.session.scalar(select(exists(enrolled))))


def can_withdraw_decision(user, cycle: AssessmentCycle) -> bool:
    """Only the preceptor who may sign for the cycle withdraws an entrustment decision."""
    return can_add_addendum(user, cycle) and can_sign_assessment(user, cycle)


def can_view_portfolio(user, student: User) -> bool:
    """The student, their preceptors and their director; nobody else (not even admins)."""
    if not _signed_in(user) or user.role in (Role.PATIENT, Role.ADMIN):
        return False
    return can_view_student(user, student)


# --- goals -----------------------------------------------------------------------------------


def can_view_goal(user, goal: LearningGoal) -> bool:
    if not _signed_in(user):
        return False
    if user.id == goal.student_id:
        return True
    if user.role is Role.DIRECTOR:
        return directs_student(user, goal.student_id)
    if user.role is Role.PRECEPTOR:
        return _shared_with(goal, user) and precepts(user, goal.student_id, active_only=False)
    if user.role is Role.PATIENT:
        return _shared_with(goal, user) and on_panel_of(user, goal.student_id)
    return False


def can_edit_goal(user, goal: LearningGoal) -> bool:
    return _signed_in(user) and user.id == goal.student_id


def can_contribute_to_goal(user, goal: LearningGoal) -> bool:
    """Suggest, comment or add progress: the owner, or a shared party whose link is current."""
    if not _signed_in(user):
        return False
    if user.id == goal.student_id:
        return True
    if user.role is Role.PRECEPTOR:
        return _shared_with(goal, user) and precepts(user, goal.student_id)
    if user.role is Role.PATIENT:
        return _shared_with(goal, user) and on_panel_of(user, goal.student_id)
    return False


def can_agree_goal(user, goal: LearningGoal) -> bool:
    return (
        _signed_in(user)
        and user.role is Role.PRECEPTOR
        and _shared_with(goal, user)
        and precepts(user, goal.student_id)
    )


def can_endorse_goal(user, goal: LearningGoal) -> bool:
    """Patients say "this matters to me"; only those the goal is shared with."""
    return (
        _signed_in(user)
        and user.role is Role.PATIENT
        and _shared_with(goal, user)
        and on_panel_of(user, goal.student_id)
    )


def can_see_name_of(viewer, person: User) -> bool:
    """Continuity patients stay anonymous to each other: a patient account sees another
    patient only as "Another patient" (on a shared goal's people and thread). The admin keeps
    accounts, not panels, and sees a patient only as "A patient" (audit log) or by account
    number ("Patient #12": people list, deactivate page).
    Staff and the student see names as their pages allow; everyone sees their own name."""
    if person.role is not Role.PATIENT:
        return True
    return can_see_patient_names(viewer) or (_signed_in(viewer) and viewer.id == person.id)


def can_see_patient_names(viewer) -> bool:
    """:func:`can_see_name_of` for every patient at once (a search must not match a name the
    viewer would see as "A patient")."""
    return _signed_in(viewer) and viewer.role not in (Role.PATIENT, Role.ADMIN)


# --- assessments -----------------------------------------------------------------------------


def can_view_assessment(user, cycle: AssessmentCycle) -> bool:
    """Patients never see assessments; other preceptors of the student do not either."""
    if not _signed_in(user):
        return False
    if user.id == cycle.student_id:
        return True
    if user.role is Role.PRECEPTOR:
        return user.id == cycle.preceptor_id and precepts(
            user, cycle.student_id, active_only=False
        )
    if user.role is Role.DIRECTOR:
        return directs_student(user, cycle.student_id)
    return False


def can_rate_assessment(user, cycle: AssessmentCycle) -> bool:
    return (
        _signed_in(user)
        and user.id == cycle.preceptor_id
        and precepts(user, cycle.student_id, active_only=True)
    )


def can_sign_assessment(user, cycle: AssessmentCycle) -> bool:
    """Only the cycle's own preceptor signs; a director can never sign in their name."""
    return can_rate_assessment(user, cycle)


def is_assessed_student(user, cycle: AssessmentCycle) -> bool:
    """The student the cycle is about: they self-assess, react, and turn the plan into a goal."""
    return _signed_in(user) and user.id == cycle.student_id


def self_rating_unblinded(user, cycle: AssessmentCycle) -> bool:
    """The blind rule alone, for lists already cut by who may view (no query per row)."""
    return cycle.both_submitted or user.id == cycle.student_id


def preceptor_rating_unblinded(user, cycle: AssessmentCycle) -> bool:
    return cycle.both_submitted or user.id == cycle.preceptor_id


def can_see_self_rating(user, cycle: AssessmentCycle) -> bool:
    """Blind until both are in: before the reveal only the student sees their own rating."""
    return can_view_assessment(user, cycle) and self_rating_unblinded(user, cycle)


def can_see_preceptor_rating(user, cycle: AssessmentCycle) -> bool:
    """Blind until both are in: before the reveal only the preceptor sees their own rating."""
    return can_view_assessment(user, cycle) and preceptor_rating_unblinded(user, cycle)


def can_add_addendum(user, cycle: AssessmentCycle) -> bool:
    """A signed record never changes; the student or their current preceptor adds a signed
    addendum beneath it (a director never writes in their name)."""
    return (
        _signed_in(user)
        and cycle.status is CycleStatus.SIGNED
        and (user.id == cycle.student_id or can_sign_assessment(user, cycle))
    )


def can_view_calibration(user, student: User) -> bool:
    """Self vs preceptor levels: the portfolio's readers (it shows the same levels)."""
    return can_view_portfolio(user, student)


# --- feedback, reflections, exports ----------------------------------------------------------


def can_view_feedback(user, feedback: PatientFeedback) -> bool:
    if not _signed_in(user):
        return False
    if user.id in (feedback.student_id, feedback.patient_id):
        return True
    if user.role is Role.PRECEPTOR:
        return precepts(user, feedback.student_id, active_only=False)
    if user.role is Role.DIRECTOR:
        return directs_student(user, feedback.student_id)
    return False


def can_view_patient_feedback(user, student: User) -> bool:
    """The feedback page of a student: the student, their preceptors, their director."""
    if not _signed_in(user) or student.role is not Role.STUDENT:
        return False
    if user.id == student.id:
        return True
    if user.role is Role.PRECEPTOR:
        return precepts(user, student.id, active_only=False)
    if user.role is Role.DIRECTOR:
        return directs_student(user, student.id)
    return False


def can_remove_feedback(user, feedback: PatientFeedback) -> bool:
    """Removal on a patient's request is the director's job."""
    return (
        _signed_in(user)
        and user.role is Role.DIRECTOR
        and directs_student(user, feedback.student_id)
    )


# --- panels and invitations ------------------------------------------------------------------


def can_manage_panel(user, student: User) -> bool:
    """Add and edit continuity patients: the student for their own panel, and the director."""
    if not _signed_in(user) or student.role is not Role.STUDENT:
        return False
    return user.id == student.id or directs_student(user, student.id)


def can_edit_panel_entry(user, entry: PanelEntry) -> bool:
    return _signed_in(user) and can_manage_panel(user, entry.student)


def can_invite_patient(user, entry: PanelEntry) -> bool:
    """Only the student makes invitation links for their patients (nobody answers for them)."""
    return _signed_in(user) and user.id == entry.student_id


def can_manage_invitation(user, invitation: PatientInvitation) -> bool:
    """See and revoke a link: the student who made it, and their director."""
    if not _signed_in(user):
        return False
    return user.id == invitation.student_id or directs_student(user, invitation.student_id)


def can_view_reflection(user, reflection: Reflection) -> bool:
    """Reflections are the student's; others read only those chosen for the portfolio."""
    if not _signed_in(user):
        return False
    if user.id == reflection.student_id:
        return True
    student = db.session.get(User, reflection.student_id)
    return reflection.in_portfolio and student is not None and can_view_portfolio(user, student)


def can_edit_reflection(user, reflection: Reflection) -> bool:
    return _signed_in(user) and user.id == reflection.student_id


def can_export_portfolios(user, program: Program) -> bool:
    return _signed_in(user) and user.role is Role.DIRECTOR and can_manage_program(user, program)


def can_export_cohort(user, cohort: Cohort) -> bool:
    """Export a cohort's portfolios or its figures: the program's directors."""
    return can_export_portfolios(user, cohort.program)


def can_export_student(user, student: User) -> bool:
    return _signed_in(user) and user.role is Role.DIRECTOR and directs_student(user, student.id)


def export_jobs_clause(user):
    """The export jobs a user may see, as SQL (can_view_export_job as a clause)."""
    if not _signed_in(user):
        return false()
    return or_(
        ExportJob.requested_by_id == user.id,
        ExportJob.program_id.in_(user.directed_program_ids or {0}),
    )


def can_view_export_job(user, job: ExportJob) -> bool:
    if not _signed_in(user):
        return False
    if user.id == job.requested_by_id:
        return True
    program = db.session.get(Program, job.program_id)
    return program is not None and can_export_portfolios(user, program)


# --- the read API ----------------------------------------------------------------------------


def can_manage_api_tokens(user, program: Program) -> bool:
    """Make and revoke a program's read-only API tokens: its directors and the admins (a
    token acts as its maker, narrowed to the program, so an admin's token reads set-up and
    people only, as the admin's pages do)."""
    return can_manage_program(user, program)


def can_revoke_api_token(user, token) -> bool:
    """Revoke a token: whoever may manage its program's tokens."""
    return can_manage_api_tokens(user, token.program)


def students_of_program(program_id: int):
    """The ids of a program's enrolled students (a select for ``.in_(...)``): every API list
    of education records is cut to the token's program with it, on top of the page rules."""
    return students_of_programs({program_id})


# --- the audit log ---------------------------------------------------------------------------


def can_view_audit_log(user) -> bool:
    """Who saw, changed, signed or exported a student's records: the admin for the whole
    instance, a director for their own programs' students (:func:`audit_events_visible_to`)."""
    return _signed_in(user) and user.role in (Role.ADMIN, Role.DIRECTOR)


def audit_events_visible_to(user) -> ColumnElement[bool]:
    """The audit rows a user may read, as SQL. A director sees the rows about their own
    programs' students (whoever the actor, whatever program the actor is in) and nothing
    else: not other programs' students, not instance set-up or other people's sign-ins."""
    if not _signed_in(user):
        return false()
    if user.role is Role.ADMIN:
        return true()
    if user.role is Role.DIRECTOR:
        return AuditEvent.student_id.in_(students_of_programs(user.directed_program_ids))
    return false()


PREDICATES: dict[str, Callable[..., bool]] = {
    name: obj
    for name, obj in dict(globals()).items()
    if (name.startswith("can_") or name.startswith("is_")) and callable(obj)
}


# --- loading ---------------------------------------------------------------------------------


def load_or_404(
    model: type[T],
    ident: Any,
    predicate: Callable[[Any, T], bool],
    *,
    owner: Callable[[T], int | None] | None = None,
    options: tuple = (),
) -> T:
    """Fetch ``model`` by primary key and authorize it in one step.

    Missing and forbidden look the same (404). With ``owner`` given, opening someone
    else's record is written to the audit log.
    """
    obj = db.session.get(model, ident, options=options)
    if obj is None or not predicate(current_user, obj):
        abort(404)
    if owner is not None and owner(obj) != current_user.id:
        # Kept only with the request's success: a refused request leaves no "viewed" row.
        audit.record_view(current_user, obj, owner_id=owner(obj))
    return obj


def require_role(*roles: Role) -> None:
    """Refuse (404) a signed-in user whose role has no business on this page."""
    if not _signed_in(current_user) or current_user.role not in roles:
        abort(404)
