"""The read API's queries: each list is one page by keyset cursor, loaded in a fixed number
of statements (selectinload), and cut by the same clauses the pages use
(clerkship.permissions) plus the token's program."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from clerkship import permissions
from clerkship.api.uris import competency_uri
from clerkship.assessments.queries import SIGNED_LIST_OPTIONS
from clerkship.assessments.service import signature_valid
from clerkship.clock import at
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.goals import service as goals_service
from clerkship.models import (
    AssessmentCycle,
    Cohort,
    Competency,
    ContributionKind,
    Enrollment,
    ExportDocument,
    ExportJob,
    ExportStatus,
    Framework,
    GoalContribution,
    LearningGoal,
    PreceptorAssessment,
    Program,
    SelfAssessment,
    User,
    program_framework,
)
from clerkship.urls import external_url


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        number = int(value) if kind == "id" else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        number = -1
    if not 0 < number < 2**63:
        raise DomainError("This cursor is not one the API gave out.", "cursor")
    return number


def _page(stmt: Select, id_column, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page after ``cursor`` in id order; the next cursor when more rows follow."""
    after = decode_cursor(cursor)
    rows = list(
        db.session.scalars(stmt.where(id_column > after).order_by(id_column).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def _cohort_students(program_id: int, cohort_id: int):
    return (
        select(Enrollment.student_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Cohort.program_id == program_id, Cohort.id == cohort_id)
    )


# --- set-up ----------------------------------------------------------------------------------


def programs(principal) -> list[Program]:
    program = db.session.get(Program, principal.program_id)
    return [program] if program and permissions.can_manage_program(principal, program) else []


def cohorts(principal, cursor: str | None, limit: int) -> tuple[list, str | None]:
    stmt = select(Cohort).where(Cohort.program_id == principal.program_id)
    if not programs(principal):
        return [], None
    return _page(stmt, Cohort.id, cursor, limit)


def people(principal, args: dict) -> tuple[list, str | None]:
    if not programs(principal):
        return [], None
    stmt = select(User).where(User.id.in_(permissions.program_people([principal.program_id])))
    if args.get("role") is not None:
        stmt = stmt.where(User.role == args["role"])
    if args.get("cohort") is not None:
        stmt = stmt.where(User.id.in_(_cohort_people(args["cohort"], principal.program_id)))
    return _page(stmt, User.id, args.get("cursor"), args["limit"])


def _cohort_people(cohort_id: int, program_id: int):
    from sqlalchemy import union

    from clerkship.models import Assignment, PanelEntry

    in_cohort = select(Cohort.id).where(Cohort.id == cohort_id, Cohort.program_id == program_id)
    return union(
        select(Enrollment.student_id).where(Enrollment.cohort_id.in_(in_cohort)),
        select(Assignment.preceptor_id).where(Assignment.cohort_id.in_(in_cohort)),
        select(PanelEntry.patient_id).where(PanelEntry.cohort_id.in_(in_cohort)),
    )


def frameworks(principal) -> list[dict]:
    if not programs(principal):
        return []
    rows = db.session.scalars(
        select(Framework)
        .join(program_framework, program_framework.c.framework_id == Framework.id)
        .where(program_framework.c.program_id == principal.program_id)
        .options(selectinload(Framework.competencies).selectinload(Competency.framework))
        .order_by(Framework.name)
    )
    return [
        {
            "id": framework.id,
            "code": framework.code,
            "name": framework.name,
            "competencies": [_competency(c) for c in framework.competencies],
        }
        for framework in rows
    ]


def _domain_of(competency: Competency) -> str:
    node = competency.parent
    while node is not None:
        if node.node_type == "domain":
            return node.title
        node = node.parent
    return ""


def _competency(competency: Competency) -> dict:
    return {
        "id": competency.id,
        "code": competency.code,
        "title": competency.title,
        # Frameworks are trees now (issue 17): the domain is the nearest domain ancestor.
        "domain": _domain_of(competency),
        "uri": competency_uri(competency),
    }


# --- goals -----------------------------------------------------------------------------------

GOAL_OPTIONS = (
    selectinload(LearningGoal.versions),
    selectinload(LearningGoal.contributions).selectinload(GoalContribution.signature),
    selectinload(LearningGoal.competencies).selectinload(Competency.framework),
)


def _goals(principal) -> Select:
    return (
        select(LearningGoal)
        .where(permissions.goals_visible_to(principal))
        .where(LearningGoal.student_id.in_(permissions.students_of_program(principal.program_id)))
        .options(*GOAL_OPTIONS)
    )


def goals(principal, args: dict) -> tuple[list[dict], str | None]:
    stmt = _goals(principal)
    if args.get("student") is not None:
        stmt = stmt.where(LearningGoal.student_id == args["student"])
    if args.get("cohort") is not None:
        stmt = stmt.where(
            LearningGoal.student_id.in_(_cohort_students(principal.program_id, args["cohort"]))
        )
    if args.get("updated_since") is not None:
        stmt = stmt.where(LearningGoal.updated_at >= _start_of(args["updated_since"]))
    rows, cursor = _page(stmt, LearningGoal.id, args.get("cursor"), args["limit"])
    return [goal_out(goal) for goal in rows], cursor


def goal(principal, goal_id: int) -> dict | None:
    row = db.session.scalar(_goals(principal).where(LearningGoal.id == goal_id))
    return goal_out(row) if row is not None else None


def goal_out(goal: LearningGoal) -> dict:
    return {
        "id": goal.id,
        "student_id": goal.student_id,
        "status": goal.status,
        "current_version": goal.current_version,
        "competency_uris": [competency_uri(c) for c in goal.competencies],
        "versions": goal.versions,
        "agreements": [
            {
                "version_number": c.version_number,
                "preceptor_id": c.author_id,
                "agreed_at": c.created_at,
                # The one check every page, PDF and figures.csv makes.
                "valid": goals_service.agreement_is_valid(goal, c),
            }
            for c in goal.contributions
            if c.kind is ContributionKind.AGREEMENT
        ],
        "created_at": goal.created_at,
        "updated_at": goal.updated_at,
    }


# --- assessments -----------------------------------------------------------------------------

ASSESSMENT_OPTIONS = (
    *SIGNED_LIST_OPTIONS,
    selectinload(AssessmentCycle.competency).selectinload(Competency.framework),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.level),
    selectinload(AssessmentCycle.preceptor_assessment).selectinload(PreceptorAssessment.level),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.feedback),
    selectinload(AssessmentCycle.signature),
)


def _assessments(principal) -> Select:
    """Cycles the principal may read (permissions.can_view_assessment as a clause: the
    student's director; admins none), in the token's program."""
    directed = principal.directed_program_ids
    stmt = select(AssessmentCycle).options(*ASSESSMENT_OPTIONS)
    if principal.program_id not in directed:
        return stmt.where(AssessmentCycle.id.is_(None))
    return stmt.where(
        AssessmentCycle.student_id.in_(permissions.students_of_program(principal.program_id))
    )


def assessments(principal, args: dict) -> tuple[list[dict], str | None]:
    stmt = _assessments(principal)
    if args.get("student") is not None:
        stmt = stmt.where(AssessmentCycle.student_id == args["student"])
    if args.get("cohort") is not None:
        stmt = stmt.where(
            AssessmentCycle.student_id.in_(_cohort_students(principal.program_id, args["cohort"]))
        )
    if args.get("since") is not None:
        stmt = stmt.where(AssessmentCycle.status_changed_at >= _start_of(args["since"]))
    rows, cursor = _page(stmt, AssessmentCycle.id, args.get("cursor"), args["limit"])
    return [assessment_out(principal, cycle) for cycle in rows], cursor


def assessment(principal, cycle_id: int) -> dict | None:
    row = db.session.scalar(_assessments(principal).where(AssessmentCycle.id == cycle_id))
    if row is None or not permissions.can_view_assessment(principal, row):
        return None
    return assessment_out(principal, row)


def _rating(entry: Any) -> dict | None:
    if entry is None or entry.level is None:
        return None
    return {
        "value": entry.level.value,
        "label": entry.level.label,
        "submitted_at": entry.submitted_at,
    }


def assessment_out(principal, cycle: AssessmentCycle) -> dict:
    signature = cycle.signature
    return {
        "id": cycle.id,
        "student_id": cycle.student_id,
        "preceptor_id": cycle.preceptor_id,
        "competency_id": cycle.competency_id,
        "competency_uri": competency_uri(cycle.competency),
        "status": cycle.status,
        "period_start": cycle.period_start,
        "period_end": cycle.period_end,
        # Blind until both are in: the assessment page's rule (the rows are already those
        # the principal may view: _assessments is can_view_assessment's clause).
        "self_rating": _rating(cycle.self_assessment)
        if permissions.self_rating_unblinded(principal, cycle)
        else None,
        "preceptor_rating": _rating(cycle.preceptor_assessment)
        if permissions.preceptor_rating_unblinded(principal, cycle)
        else None,
        "signature": None
        if signature is None
        else {
            "signer_id": signature.signer_id,
            "printed_name": signature.printed_name,
            "meaning": signature.meaning.value,
            "signed_at": signature.signed_at,
            "valid": bool(signature_valid(cycle)),
        },
    }


def _start_of(day: date):
    return at(day)


def portfolio(principal, student: User) -> dict:
    """What the portfolio page offers its reader, as links: never more than the page shows."""
    from clerkship.credentials import decisions

    documents = db.session.scalars(
        select(ExportDocument)
        .join(ExportJob, ExportJob.id == ExportDocument.job_id)
        .where(
            ExportDocument.student_id == student.id,
            ExportDocument.status == ExportStatus.DONE,
            ExportJob.program_id == principal.program_id,
        )
        .order_by(ExportDocument.issued_at, ExportDocument.id)
    )
    may_download = permissions.can_download_credentials(principal, student)
    standing = decisions.decisions_of(student) if may_download else []
    return {
        "student_id": student.id,
        "portfolio_url": external_url("portfolios.show", student_id=student.id),
        "documents": [
            {
                "id": document.public_id,
                "issued_at": document.issued_at,
                "pages": document.pages,
                "content_hash": document.content_hash,
                "verify_url": external_url("portfolios.verify", id=document.public_id),
                "download_url": external_url("portfolios.download", job_id=document.job_id),
            }
            for document in documents
        ],
        "credentials": [
            {
                "assessment_id": cycle.id,
                "competency_uri": competency_uri(cycle.competency),
                "level": decisions.signed_level(cycle)[0],
                "signed_at": decisions.signed_level(cycle)[1],
                "withdrawn": gone,
                "download_url": None
                if gone
                else external_url(
                    "credentials.achievement", student_id=student.id, cycle_id=cycle.id
                ),
            }
            for cycle, gone in standing
        ],
        "learner_record_url": external_url("credentials.clr", student_id=student.id)
        if any(not gone for _cycle, gone in standing)
        else None,
    }
