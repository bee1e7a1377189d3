from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from clerkship.models import (
    AuditEvent,
    GoalStatus,
    GoalVersion,
    LearningGoal,
    Role,
    User,
)


def test_timestamps_come_back_timezone_aware_utc(db, student):
    eastern = timezone(timedelta(hours=-5))
    event = AuditEvent(action="test", occurred_at=datetime(2026, 3, 1, 7, 30, tzinfo=eastern))
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(AuditEvent, event.id)
    assert loaded.occurred_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert loaded.occurred_at.utcoffset() == timedelta(0)
    assert db.session.get(User, student.id).created_at.tzinfo is not None


def test_naive_timestamps_are_refused(db):
    db.session.add(AuditEvent(action="test", occurred_at=datetime(2026, 3, 1, 7, 30)))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_concurrent_edit_of_a_goal_is_detected_not_lost(db, student):
    goal = LearningGoal(student_id=student.id)
    goal.versions.append(
        GoalVersion(number=1, title="Take a focused history", author_id=student.id)
    )
    db.session.add(goal)
    db.session.commit()
    assert goal.version_id == 1

    # Someone else saves first: the row's version moves on underneath us.
    db.session.execute(
        sa.update(LearningGoal.__table__)
        .where(LearningGoal.__table__.c.id == goal.id)
        .values(version_id=2, status="shared")
    )
    goal.status = GoalStatus.AGREED  # our stale copy still thinks it is version 1
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()


def test_enums_are_stored_by_value(db, student):
    stored = db.session.execute(
        sa.select(User.__table__.c.role).where(User.__table__.c.id == student.id)
    ).scalar_one()
    assert stored == Role.STUDENT.value == "student"


def test_emails_are_unique(db, make_user):
    make_user(Role.STUDENT, email="same@example.org")
    with pytest.raises(sa.exc.IntegrityError):
        make_user(Role.PRECEPTOR, email="same@example.org")
    db.session.rollback()
