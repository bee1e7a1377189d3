"""The portfolio of one student as plain data: the single source of the HTML page, the PDF
and the render cache key. Everything here is JSON-safe and in a stable order, so the same
records always give the same data (and the same hash)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship import signatures
from clerkship.assessments import queries as assessment_queries
from clerkship.assessments import service as assessments
from clerkship.directory.queries import latest_cohort_of
from clerkship.extensions import db
from clerkship.goals import queries as goal_queries
from clerkship.goals import service as goal_service
from clerkship.integrity import chain
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    ContributionKind,
    CycleStatus,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    Reflection,
    SelfAssessment,
    User,
)
from clerkship.panels.queries import FEEDBACK_OPTIONS

MEANING_TEXT = {
    "reviewed_and_agreed": "Reviewed and agreed",
    "cosigned_supervisor": "Co-signed as supervising preceptor",
    "addendum": "Addendum",
    "withdrew_decision": "Withdrew an entrustment decision",
    "agreed_goal": "Agreed learning goal",
}
NO_COMPETENCY = "—"
NO_COMPETENCY_TITLE = "Goals without a competency"


def _in_period(day: date | None, start: date | None, end: date | None) -> bool:
    if day is None:
        return True
    return (start is None or day >= start) and (end is None or day <= end)


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else None


def _program(student_id: int) -> tuple[str, str]:
    cohort = latest_cohort_of(student_id)
    if cohort is None:
        return "", ""
    return cohort.program.name, cohort.name


def _goals(student_id: int, start, end) -> list[tuple[list, dict]]:
    goals = db.session.scalars(
        select(LearningGoal)
        .where(LearningGoal.student_id == student_id, LearningGoal.status != GoalStatus.DRAFT)
        .options(
            selectinload(LearningGoal.versions),
            selectinload(LearningGoal.competencies),
            selectinload(LearningGoal.contributions).selectinload(GoalContribution.signature),
        )
        .order_by(LearningGoal.id)
    )
    rows = []
    for goal in goals:
        agreements = [c for c in goal.contributions if c.kind is ContributionKind.AGREEMENT]
        if not agreements or not _in_period(goal.created_at.date(), None, end):
            continue
        if goal.closed_at and not _in_period(goal.closed_at.date(), start, None):
            continue
        latest = goal.latest
        rows.append(
            (
                list(goal.competencies) or [None],
                {
                    "id": goal.id,
                    "title": latest.title,
                    "specific": latest.specific,
                    "status": goal.status.value,
                    "version": latest.number,
                    "agreed_by": [
                        {
                            "name": a.signature.printed_name,
                            "at": _stamp(a.signature.signed_at),
                            "version": a.version_number,
                            "valid": goal_service.agreement_is_valid(goal, a),
                        }
                        for a in agreements
                    ],
                    "closing_reflection": goal.closing_reflection,
                    "closed_at": _stamp(goal.closed_at),
                },
            )
        )
    return rows


def _assessments(student_id: int, start, end) -> list[tuple[object, dict]]:
    cycles = db.session.scalars(
        select(AssessmentCycle)
        .where(
            AssessmentCycle.student_id == student_id,
            AssessmentCycle.status == CycleStatus.SIGNED,
        )
        .options(
            selectinload(AssessmentCycle.competency),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.level),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.goals),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.reflections),
            selectinload(AssessmentCycle.preceptor_assessment).selectinload(
                PreceptorAssessment.level
            ),
            selectinload(AssessmentCycle.preceptor),
            selectinload(AssessmentCycle.signature),
            selectinload(AssessmentCycle.addenda).selectinload(AssessmentAddendum.signature),
        )
        .order_by(AssessmentCycle.id)
    )
    rows = []
    for cycle in cycles:
        on = assessment_queries.assessed_on(cycle)
        if not _in_period(on, start, end):
            continue
        own, theirs, signature = cycle.self_assessment, cycle.preceptor_assessment, cycle.signature
        rows.append(
            (
                cycle.competency,
                {
                    "id": cycle.id,
                    "on": on.isoformat(),
                    "encounter": cycle.encounter,
                    "period": [
                        cycle.period_start.isoformat() if cycle.period_start else None,
                        cycle.period_end.isoformat() if cycle.period_end else None,
                    ],
                    "preceptor": cycle.preceptor.name,
                    "self_level": [own.level.value, own.level.label],
                    "preceptor_level": [theirs.level.value, theirs.level.label],
                    "gap": own.level.value - theirs.level.value,
                    "evidence": own.evidence,
                    "went_well": theirs.went_well,
                    "work_on": theirs.work_on,
                    "reaction": own.reaction,
                    "plan": own.plan,
                    "signature": {
                        "name": signature.printed_name,
                        "at": _stamp(signature.signed_at),
                        "meaning": MEANING_TEXT[signature.meaning.value],
                        "hash": signature.content_hash,
                        "valid": bool(assessments.signature_valid(cycle)),
                    },
                    "addenda": [
                        {
                            "name": a.signature.printed_name,
                            "at": _stamp(a.signature.signed_at),
                            "body": a.body,
                            "valid": assessments.addendum_valid(a, cycle),
                        }
                        for a in cycle.addenda
                        if a.signature is not None
                    ],
                },
            )
        )
    return rows


def _feedback(student_id: int, start, end) -> dict:
    responses = db.session.scalars(
        select(PatientFeedback)
        .where(PatientFeedback.student_id == student_id)
        .options(*FEEDBACK_OPTIONS)
        .order_by(PatientFeedback.created_at, PatientFeedback.id)
    )
    rows = []
    for response in responses:
        day = response.created_at.date()
        if not _in_period(day, start, end):
            continue
        values = [a.value for a in response.answers if a.value is not None]
        top = max((o["value"] for o in response.instrument.scale), default=5)
        score = round(100 * (sum(values) / len(values) - 1) / (top - 1)) if values else None
        # Only words the patient allowed to be quoted; the rest stays on the feedback page.
        quotes = [q for q in (response.hope_next, response.anything_else) if q]
        if not response.allow_quotes:
            quotes = []
        rows.append(
            {
                "on": day.isoformat(),
                "from": response.shown_name,
                "score": score,
                "quotes": quotes,
            }
        )
    scores = [r["score"] for r in rows if r["score"] is not None]
    return {
        "count": len(rows),
        "median_score": sorted(scores)[len(scores) // 2] if scores else None,
        "responses": rows,
    }


def feedback_summary(student_id: int) -> dict:
    """The patient feedback exactly as the portfolio shows it (the API offers no more)."""
    return _feedback(student_id, None, None)


def _reflections(student_id: int, start, end) -> list[dict]:
    reflections = db.session.scalars(
        select(Reflection)
        .where(Reflection.student_id == student_id, Reflection.in_portfolio.is_(True))
        .order_by(Reflection.created_at, Reflection.id)
    )
    return [
        {"title": r.title, "body": r.body, "on": r.created_at.date().isoformat()}
        for r in reflections
        if _in_period(r.created_at.date(), start, end)
    ]


def figures_today(student_id: int) -> dict:
    """Where things stand for the student now, whatever the period: the same owning queries
    as the cohort dashboard and figures.csv."""
    waiting = assessment_queries.waiting_by_student([student_id])[student_id]
    return {
        "goals_agreed": goal_queries.goals_agreed([student_id]).get(student_id, 0),
        "assessments_waiting": waiting.cycles,
        "waiting_on_student": waiting.on_student,
        "waiting_on_preceptor": waiting.on_preceptor,
    }


def portfolio_data(student: User, *, start: date | None = None, end: date | None = None) -> dict:
    program, cohort = _program(student.id)
    scale = assessments.scale_for(student.id)
    sections: dict[int | None, dict] = {}
    linked: dict[int, object] = {}

    def section(competency) -> dict:
        key = competency.id if competency else None
        if key not in sections:
            if competency is not None:
                linked[competency.id] = competency
            sections[key] = {
                "code": competency.code if competency else NO_COMPETENCY,
                "title": competency.title if competency else NO_COMPETENCY_TITLE,
                "goals": [],
                "assessments": [],
            }
        return sections[key]

    for competencies, goal in _goals(student.id, start, end):
        for competency in competencies:
            section(competency)["goals"].append(goal)
    for competency, cycle in _assessments(student.id, start, end):
        section(competency)["assessments"].append(cycle)
    ordered = _by_tree(sections, linked)
    for item in ordered:
        item["assessments"].sort(key=lambda a: (a["on"], a["id"]))
    return {
        "student": {"id": student.id, "name": student.name},
        "program": program,
        "cohort": cohort,
        "period": [start.isoformat() if start else None, end.isoformat() if end else None],
        "levels": [[level.value, level.label] for level in scale.levels] if scale else [],
        "competencies": ordered,
        "figures": figures_today(student.id),
        "feedback": _feedback(student.id, start, end),
        "reflections": _reflections(student.id, start, end),
        "chain": _chain_head(),
    }


def _by_tree(sections: dict[int | None, dict], linked: dict) -> list[dict]:
    """The sections in the frameworks' reading order, each with the nodes above it (``path``,
    top first) so the page and the PDF group them: domain → competency → …"""
    from clerkship.frameworks.queries import places  # the package imports its views

    where = places(linked.values())
    for key, item in sections.items():
        place = where.get(key) if key is not None else None
        item["path"] = (
            [{"code": a.code, "title": a.title} for a in place.ancestors] if place else []
        )
        top = item["path"][0] if item["path"] else {"code": item["code"], "title": item["title"]}
        framework = linked[key].framework.name if key is not None else ""
        item["group"] = {**top, "framework": framework}
    last = (2**31, 0)  # goals without a competency come after every framework
    keys = sorted(sections, key=lambda k: where[k].order if k in where else last)
    return [sections[k] for k in keys]


def _chain_head() -> dict | None:
    """The signature chain's head when the portfolio was made: anyone holding a later copy
    of the chain can check that nothing signed before it has been removed."""
    head = chain.head()
    return {"seq": head.seq, "hash": head.entry_hash} if head else None


def content_hash(data: dict) -> str:
    return signatures.content_hash(data)
