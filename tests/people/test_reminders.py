"""The daily digest: one per person per day, only when something waits, with unsubscribe."""

from __future__ import annotations

import re
from datetime import timedelta

from clerkship.mail import outbox
from clerkship.models import CycleStatus, utcnow
from clerkship.reminders import service as reminders
from tests.conftest import login


def _to(app, email):
    """Digests sent to ``email`` (other notifications go to the same outbox)."""
    return [
        m
        for m in outbox(app)
        if m["To"] == email and "waiting for you in Clerkship" in m["Subject"]
    ]


def test_one_digest_a_day_and_none_when_nothing_waits(app, db, scaled, make_cycle, make_user):
    from clerkship.models import Role

    mine = scaled["mine"]
    make_cycle(CycleStatus.AWAITING_SIGNATURE)
    idle = make_user(Role.PRECEPTOR)
    db.session.commit()
    # Noon, so "three hours later" is the same day whatever time the suite runs.
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    assert reminders.send_daily(now) >= 1
    db.session.commit()
    mail = _to(app, mine["preceptor"].email)
    assert len(mail) == 1 and "Review and sign" in mail[0].get_content()
    assert "/digest/unsubscribe/" in mail[0].get_content()
    assert _to(app, idle.email) == []  # nothing waiting, nothing sent
    assert _to(app, mine["patient"].email) == []  # patients never get digests
    reminders.send_daily(now + timedelta(hours=3))
    db.session.commit()
    assert len(_to(app, mine["preceptor"].email)) == 1  # not twice on one day
    reminders.send_daily(now + timedelta(days=1))
    db.session.commit()
    assert len(_to(app, mine["preceptor"].email)) == 2


def test_student_digest_lists_stale_goals_and_expiring_links(app, db, scaled, make_goal):
    mine = scaled["mine"]
    goal = make_goal(mine["student"], title="Slow goal", share_with=[mine["preceptor"]])
    goal.created_at = utcnow() - timedelta(days=45)
    db.session.commit()
    lines = reminders.waiting_for(mine["student"])
    assert any("Slow goal" in line for line in lines)


def test_unsubscribe_link_stops_digests(client, db, scaled, make_cycle):
    mine = scaled["mine"]
    make_cycle(CycleStatus.AWAITING_SIGNATURE)
    reminders.send_digest(mine["preceptor"])
    db.session.commit()
    body = _to(client.application, mine["preceptor"].email)[0].get_content()
    link = re.search(r"(/digest/unsubscribe/\S+)", body).group(1)
    assert "Stop the daily e-mails?" in client.get(link).get_data(as_text=True)
    assert client.post(link).status_code == 200
    db.session.refresh(mine["preceptor"])
    assert mine["preceptor"].digest_opt_out
    assert reminders.send_digest(mine["preceptor"], utcnow() + timedelta(days=2)) == "opted_out"
    assert client.get("/digest/unsubscribe/forged").status_code == 404


def test_director_sends_reminders_now_to_those_needing_attention(client, db, scaled, make_cycle):
    mine = scaled["mine"]
    make_cycle()  # the student has a self-assessment to write
    login(client, mine["director"])
    response = client.post(f"/cohorts/{mine['cohort'].id}/remind")
    assert response.status_code == 302
    assert len(_to(client.application, mine["student"].email)) == 1
    client.post(f"/cohorts/{mine['cohort'].id}/remind")
    assert len(_to(client.application, mine["student"].email)) == 1  # still one today


def test_reminders_now_go_to_the_flagged_students_or_to_all_of_them(
    client, db, scaled, make_cycle, make_user, make_goal
):
    from clerkship.goals import service as goals
    from clerkship.models import Assignment, Enrollment, Role

    mine = scaled["mine"]
    make_cycle()  # the student has a self-assessment to write: flagged
    make_cycle(side="other")  # so has the other program's: never reminded from this cohort
    on_track = make_user(Role.STUDENT)  # a goal agreed, new in the program: not flagged
    db.session.add_all(
        [
            Enrollment(cohort_id=mine["cohort"].id, student_id=on_track.id),
            Assignment(
                cohort_id=mine["cohort"].id,
                student_id=on_track.id,
                preceptor_id=mine["preceptor"].id,
                discipline="Family medicine",
                start_date=utcnow().date(),
            ),
        ]
    )
    db.session.flush()
    goals.agree(mine["preceptor"], make_goal(on_track, share_with=[mine["preceptor"]]))
    db.session.commit()
    login(client, mine["director"])

    def reminded(**form):
        page = client.post(
            f"/cohorts/{mine['cohort'].id}/remind", data=form, follow_redirects=True
        ).get_data(as_text=True)
        (message,) = re.findall(r"Reminders: ([^<]*)\.", page)
        return sum(int(n) for n in re.findall(r"(\d+) ", message))

    from clerkship.directory import dashboard

    flagged = [r.student.id for r in dashboard.cohort_rows(mine["cohort"]) if r.needs_attention]
    assert mine["student"].id in flagged and on_track.id not in flagged
    assert reminded() == len(flagged)
    assert reminded(who="all") == len(dashboard.cohort_rows(mine["cohort"])) >= 2
    assert len(_to(client.application, mine["student"].email)) == 1
    assert _to(client.application, scaled["other"]["student"].email) == []
