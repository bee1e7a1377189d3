"""The demo year: a believable program, cohort and year of records for trying Clerkship.

``year.py`` builds the program, people, pairings and panels, then each area adds its records:
``goals.py``, ``assessments.py``, ``feedback.py`` (patient feedback and reflections).
"""

from clerkship.demo.year import (
    DEMO_PASSWORD,
    DOMAIN,
    PROGRAM_SLUG,
    DemoSignIn,
    academic_year,
    build_demo_year,
    format_sign_ins,
)

__all__ = [
    "DEMO_PASSWORD",
    "DOMAIN",
    "PROGRAM_SLUG",
    "DemoSignIn",
    "academic_year",
    "build_demo_year",
    "format_sign_ins",
]
