"""Framework fixtures: the assessment fixtures (shipped scale, programs, a cycle maker)."""

from tests.assessments.conftest import make_cycle, scaled  # noqa: F401  (fixtures)
