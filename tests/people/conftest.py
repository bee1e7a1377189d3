from tests.assessments.conftest import make_cycle, scaled  # noqa: F401 - shared fixtures
