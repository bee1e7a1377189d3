"""The cohort dashboard: one row per student, and who needs attention, and why.

Every figure comes from a grouped query over the whole cohort, so the number of queries is
the same for 10 students or 150.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from clerkship import charts, permissions
from clerkship.assessments import queries as assessment_queries
from clerkship.directory import queries as cohort_students
from clerkship.extensions import db
from clerkship.goals import queries as goal_queries
from clerkship.models import (
    AssessmentCycle,
    Cohort,
    Competency,
    ContributionKind,
    CycleStatus,
    EntrustmentLevel,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PreceptorAssessment,
    SelfAssessment,
    User,
    utcnow,
)

STALE_DAYS = 30  # an open goal with no progress note for this long needs a look
WAITING_DAYS = 14  # an assessment waiting this long for someone
FEEDBACK_DAYS = 60  # no patient feedback for this long (once in the program this long)
GAP_LEVELS = 2  # self and preceptor this many levels apart
# "Behind" is measured against the cohort, not a fixed quota: a program sets no number of
# assessments due by a date, and its students pace each other (same preceptors, same year).
# Three competencies below the cohort's median is a gap a director can act on; a student
# one or two behind is within the ordinary spread of the year.
BEHIND_BY = 3
TREND_DAYS = 30  # "since last month" on the dashboard's chart and table
# A large cohort (several LIC tracks in one, 700 students) is shown a page of rows at a time,
# sorted and filtered over all of them; its chart counts students at each standing instead of
# drawing a bar per student (700 bars were 17,000 pixels tall).
ROWS_PER_PAGE = 100
CHART_STUDENTS = 50

COLUMNS = {
    "name": _l("Student"),
    "agreed": _l("Agreed goals"),
    "stale": _l("Goals without progress 30+ days"),
    "waiting": _l("Assessments waiting"),
    "oldest_wait": _l("Oldest wait (days)"),
    "last_feedback": _l("Last patient feedback"),
    "assessed": _l("Competencies assessed (a month ago)"),
    "gap": _l("Latest self − preceptor gap"),
}


class Wording:
    """The board's words, looked up in the catalogue it fetched once: flask_babel's gettext
    looks the catalogue up again on every call, and a 700-student board asks hundreds of
    times. The same lookups and formatting as flask_babel's gettext and ngettext."""

    def __init__(self) -> None:
        self.catalogue = get_translations()

    def gettext(self, text: str, **variables) -> str:
        found = self.catalogue.ugettext(text)
        return found % variables if variables else found

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        variables.setdefault("num", num)
        return self.catalogue.ungettext(singular, plural, num) % variables


@dataclass
class Reason:
    """Why a student is flagged, and who or what it waits on."""

    what: str
    waits_on: str

    def __str__(self) -> str:
        return f"{self.what} — {self.waits_on}"


@dataclass
class Row:
    student: cohort_students.ListedStudent
    in_program_since: date | None = None
    agreed: int = 0
    shared_unagreed: int = 0  # goals shared, waiting for a preceptor's agreement
    stale: int = 0
    waiting: int = 0
    waiting_on_student: int = 0
    waiting_on_preceptor: int = 0
    oldest_wait: int | None = None
    oldest_step: assessment_queries.NamedStep | None = None
    last_feedback: date | None = None
    panel_patients: int = 0
    assessed: int = 0
    assessed_month_ago: int = 0
    gap: int | None = None
    gap_on: str = ""  # the competency of the latest gap
    gap_with: str = ""  # the preceptor of the latest gap
    reasons: list[Reason] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)

    @property
    def trend(self) -> int:
        return self.assessed - self.assessed_month_ago


@dataclass
class Board:
    """The cohort's rows and the cohort figure each is measured against."""

    rows: list[Row]
    median_assessed: float

    @property
    def flagged(self) -> list[Row]:
        return [row for row in self.rows if row.needs_attention]


def _on_board(rows: dict[int, Row], results):
    """(row, the other values) for each result of a student on the board. The figures are
    read with the cohort's query (never its list: thousands of bound values for a large
    cohort), so one enrolled since the board's first query is left for the next view."""
    for student_id, *values in results:
        row = rows.get(student_id)
        if row is not None:
            yield row, *values


def _days(moment: datetime, now: datetime) -> int:
    return max(0, (now - moment).days)


def cohort_rows(cohort: Cohort, now: datetime | None = None) -> list[Row]:
    return cohort_board(cohort, now).rows


def cohort_board(cohort: Cohort, now: datetime | None = None) -> Board:
    now = now or utcnow()
    students = cohort_students.students_listed(cohort)
    ids = cohort_students.student_ids_of_cohort(cohort.id)
    rows = {s.id: Row(s) for s in students}
    for row in rows.values():
        # Enrolment has no date of its own: a student is in the program from the cohort's
        # start, or from the day their account was made (an import mid-year), if later.
        row.in_program_since = max(cohort.start_date, row.student.created_at.date())

    for row, count in _on_board(rows, goal_queries.goals_agreed(ids).items()):
        row.agreed = count
    for row, count in _on_board(
        rows,
        db.session.execute(
            select(LearningGoal.student_id, func.count())
            .where(LearningGoal.student_id.in_(ids), LearningGoal.status == GoalStatus.SHARED)
            .group_by(LearningGoal.student_id)
        ),
    ):
        row.shared_unagreed = count

    # Open goals without a progress note (or, with none yet, since they were drafted) for
    # STALE_DAYS: each open goal's latest note, grouped per goal, so only the cohort's goals'
    # notes are read (whatever the planner knows of the tables); counted per student.
    latest = (
        select(
            LearningGoal.student_id.label("student_id"),
            func.coalesce(func.max(GoalContribution.created_at), LearningGoal.created_at).label(
                "latest"
            ),
        )
        .outerjoin(
            GoalContribution,
            (GoalContribution.goal_id == LearningGoal.id)
            & (GoalContribution.kind == ContributionKind.PROGRESS_NOTE),
        )
        .where(
            LearningGoal.student_id.in_(ids),
            LearningGoal.status.in_([GoalStatus.SHARED, GoalStatus.AGREED]),
        )
        .group_by(LearningGoal.id, LearningGoal.student_id, LearningGoal.created_at)
        .subquery()
    )
    stale = db.session.execute(
        select(latest.c.student_id, func.count())
        .where(latest.c.latest < now - timedelta(days=STALE_DAYS))
        .group_by(latest.c.student_id)
    )
    for row, count in _on_board(rows, stale):
        row.stale = count

    for row, waiting in _on_board(rows, assessment_queries.waiting_by_student(ids).items()):
        row.waiting = waiting.cycles
        row.waiting_on_student = waiting.on_student
        row.waiting_on_preceptor = waiting.on_preceptor
        row.oldest_wait = _days(waiting.oldest, now) if waiting.oldest else None
        row.oldest_step = waiting.oldest_step

    feedback = db.session.execute(
        select(PatientFeedback.student_id, func.max(PatientFeedback.created_at))
        .where(PatientFeedback.student_id.in_(ids))
        .group_by(PatientFeedback.student_id)
    )
    for row, latest in _on_board(rows, feedback):
        row.last_feedback = latest.date() if latest else None
    panels = db.session.execute(
        select(PanelEntry.student_id, func.count(func.distinct(PanelEntry.patient_id)))
        .where(PanelEntry.student_id.in_(ids), permissions.panel_active(now.date()))
        .group_by(PanelEntry.student_id)
    )
    for row, count in _on_board(rows, panels):
        row.panel_patients = count

    month_ago = now - timedelta(days=TREND_DAYS)
    assessed = assessment_queries.competencies_assessed(ids, month_ago)
    for row, (count, then) in _on_board(rows, assessed.items()):
        row.assessed, row.assessed_month_ago = count, then

    own_level = aliased(EntrustmentLevel)
    their_level = aliased(EntrustmentLevel)
    ranked = (
        select(
            AssessmentCycle.student_id.label("student_id"),
            (own_level.value - their_level.value).label("gap"),
            AssessmentCycle.competency_id.label("competency_id"),
            AssessmentCycle.preceptor_id.label("preceptor_id"),
            func.row_number()
            .over(
                partition_by=AssessmentCycle.student_id,
                order_by=(AssessmentCycle.status_changed_at.desc(), AssessmentCycle.id.desc()),
            )
            .label("rank"),
        )
        .join(SelfAssessment, SelfAssessment.cycle_id == AssessmentCycle.id)
        .join(PreceptorAssessment, PreceptorAssessment.cycle_id == AssessmentCycle.id)
        .join(own_level, own_level.id == SelfAssessment.level_id)
        .join(their_level, their_level.id == PreceptorAssessment.level_id)
        .where(
            AssessmentCycle.student_id.in_(ids),
            AssessmentCycle.status != CycleStatus.OPEN,
            and_(
                SelfAssessment.submitted_at.is_not(None),
                PreceptorAssessment.submitted_at.is_not(None),
            ),
        )
        .subquery()
    )
    for row, gap, competency_code, preceptor_name in _on_board(
        rows,
        db.session.execute(
            select(ranked.c.student_id, ranked.c.gap, Competency.code, User.name)
            .join(Competency, Competency.id == ranked.c.competency_id)
            .join(User, User.id == ranked.c.preceptor_id)
            .where(ranked.c.rank == 1)
        ),
    ):
        row.gap, row.gap_on, row.gap_with = gap, competency_code, preceptor_name

    median_assessed = float(median([r.assessed for r in rows.values()])) if rows else 0.0
    words = Wording()
    for row in rows.values():
        row.reasons = _reasons(row, now.date(), median_assessed, words)
    return Board(list(rows.values()), median_assessed)


def _waits_on_step(step: assessment_queries.NamedStep, words: Wording) -> str:
    from clerkship.assessments.service import WAITING_LABELS

    who = step.preceptor if step.on == "preceptor" else words.gettext("the student")
    return words.gettext(
        "waits on %(who)s: %(step)s (%(competency)s)",
        who=who,
        step=str(WAITING_LABELS[step.action]),
        competency=step.competency,
    )


def _reasons(
    row: Row, today: date, median_assessed: float, words: Wording | None = None
) -> list[Reason]:
    words = words or Wording()
    reasons = []
    if row.agreed == 0:
        if row.shared_unagreed:
            waits = words.ngettext(
                "waits on a preceptor to agree the shared goal",
                "waits on a preceptor to agree one of %(num)d shared goals",
                row.shared_unagreed,
            )
        else:
            waits = words.gettext("waits on the student to draft and share one")
        reasons.append(Reason(words.gettext("no agreed learning goal"), waits))
    if row.stale:
        reasons.append(
            Reason(
                words.ngettext(
                    "%(num)d goal without progress for 30+ days",
                    "%(num)d goals without progress for 30+ days",
                    row.stale,
                ),
                words.gettext("waits on the student for a progress note"),
            )
        )
    if row.oldest_wait is not None and row.oldest_wait >= WAITING_DAYS and row.oldest_step:
        reasons.append(
            Reason(
                words.gettext("an assessment waiting %(n)d days", n=row.oldest_wait),
                _waits_on_step(row.oldest_step, words),
            )
        )
    in_program = (today - row.in_program_since).days if row.in_program_since else FEEDBACK_DAYS
    quiet = row.last_feedback is None or (today - row.last_feedback).days >= FEEDBACK_DAYS
    if quiet and in_program >= FEEDBACK_DAYS:
        if row.panel_patients:
            waits = words.ngettext(
                "waits on the student to invite their panel patient",
                "waits on the student to invite one of %(num)d panel patients",
                row.panel_patients,
            )
        else:
            waits = words.gettext("waits on the program: no continuity patient on the panel yet")
        reasons.append(Reason(words.gettext("no patient feedback for 60+ days"), waits))
    if median_assessed - row.assessed >= BEHIND_BY:
        reasons.append(
            Reason(
                words.gettext(
                    "%(n)d competencies assessed, the cohort's median is %(median)s",
                    n=row.assessed,
                    median=f"{median_assessed:g}",
                ),
                words.gettext("waits on the student to ask for assessments"),
            )
        )
    if row.gap is not None and abs(row.gap) >= GAP_LEVELS:
        reasons.append(
            Reason(
                words.gettext(
                    "self and preceptor %(n)d levels apart on %(competency)s",
                    n=abs(row.gap),
                    competency=row.gap_on,
                ),
                words.gettext("worth a talk with %(name)s", name=row.gap_with),
            )
        )
    return reasons


@dataclass
class RowsPage:
    """One page of the sorted rows, with what the pager (``_pager.html``) reads."""

    rows: list[Row]
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page_of(rows: list[Row], page: int) -> RowsPage:
    """Page ``page`` (from 1; one out of range shows the nearest) of ``rows``."""
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * ROWS_PER_PAGE
    return RowsPage(rows[start : start + ROWS_PER_PAGE], page, pages)


def sort_rows(rows: list[Row], column: str, descending: bool) -> list[Row]:
    if column not in COLUMNS:
        column = "name"

    def key(row: Row):
        value = row.student.name.lower() if column == "name" else getattr(row, column)
        if column == "gap" and value is not None:
            value = abs(value)
        # Empty values sort last whichever the direction.
        return (value is None, value if value is not None else 0)

    present = [r for r in rows if key(r)[0] is False]
    missing = [r for r in rows if key(r)[0] is True]
    return sorted(present, key=key, reverse=descending) + missing


def standing(board: Board) -> charts.StandingChart | charts.SpreadChart:
    """The dashboard's chart: competencies assessed per student, a month ago, the median; for
    a large cohort, how many students have assessed each number of competencies."""
    if len(board.rows) > CHART_STUDENTS:
        return _spread(board)
    rows = sorted(board.rows, key=lambda r: (r.assessed, r.student.name.lower()))
    return charts.standing_chart(
        str(_l("Competencies assessed per student, now and a month ago")),
        [(r.student.name, r.assessed, r.assessed_month_ago, r.needs_attention) for r in rows],
        board.median_assessed,
        {
            "bar": str(_l("{name}: {now} competencies assessed, {before} a month ago")),
            "median": str(_l("Cohort median: {median}")),
        },
    )


def _spread(board: Board) -> charts.SpreadChart:
    students = [0] * (max(r.assessed for r in board.rows) + 1)
    flagged = [0] * len(students)
    for row in board.rows:
        students[row.assessed] += 1
        flagged[row.assessed] += row.needs_attention
    return charts.spread_chart(
        str(_l("Students by number of competencies assessed")),
        [(n, students[n], flagged[n]) for n in range(len(students))],
        board.median_assessed,
        {
            "row": str(_l("{n} assessed")),
            "bar": str(
                _l("{n} competencies assessed: {students} students, {flagged} need attention.")
            ),
            "median": str(_l("The cohort's median is here.")),
        },
    )
