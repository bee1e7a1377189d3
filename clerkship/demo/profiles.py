"""How each demo student's year is going, so the dashboard shows what real use looks like.

Most students are on track; in every twelve, five are behind, each for a different reason a
director meets in a real year. Goals, assessments and feedback read the same profile, so a
student's records tell one story.
"""

from __future__ import annotations

ON_TRACK = "on_track"
STALE_GOALS = "stale_goals"  # goals agreed months ago, no progress note since
WAITING_ON_PRECEPTOR = "waiting_on_preceptor"  # a signature owed for weeks
NO_AGREED_GOAL = "no_agreed_goal"  # goals shared, none agreed yet
QUIET_PATIENTS = "quiet_patients"  # no patient feedback for two months and more
NO_ASSESSMENTS = "no_assessments"  # started late with assessments: behind the cohort

_CYCLE = [
    ON_TRACK,
    STALE_GOALS,
    ON_TRACK,
    WAITING_ON_PRECEPTOR,
    ON_TRACK,
    NO_AGREED_GOAL,
    ON_TRACK,
    QUIET_PATIENTS,
    ON_TRACK,
    ON_TRACK,
    NO_ASSESSMENTS,
    ON_TRACK,
]


def profile(index: int) -> str:
    """The profile of the ``index``-th demo student (in the order the demo lists them)."""
    return _CYCLE[index % len(_CYCLE)]
