"""The audit viewer (issue 16): who viewed, changed, signed or exported which student's
records. The admin sees every row; a director only the rows about their own programs'
students (permissions.audit_events_visible_to), checked with two programs."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from clerkship import audit, clock
from clerkship.models import AuditEvent, Role
from tests.conftest import login


def _views_of_both_students(app, world) -> None:
    """Each program's preceptor opens their own student's page (a "record.viewed" row)."""
    for side in ("mine", "other"):
        browser = app.test_client()
        login(browser, world[side]["preceptor"])
        assert browser.get(f"/students/{world[side]['student'].id}").status_code == 200


def test_audit_rows_carry_the_student_whose_record_it_is(db, world, make_goal):
    goal = make_goal(world["mine"]["student"])
    db.session.commit()
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "goal.created", AuditEvent.object_id == goal.id
        )
    )
    assert event.student_id == world["mine"]["student"].id


def test_director_sees_their_own_programs_students_only(app, client, db, world):
    _views_of_both_students(app, world)
    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    page = client.get("/audit/?kind=viewed").get_data(as_text=True)
    assert mine["student"].name in page and mine["preceptor"].name in page
    assert other["student"].name not in page and other["preceptor"].name not in page
    # Naming the other program's student finds nothing, rather than their rows.
    named = client.get(f"/audit/?student={other['student'].name}").get_data(as_text=True)
    assert other["preceptor"].name not in named and "Nothing matches" in named

    theirs_browser = app.test_client()
    login(theirs_browser, other["director"])
    theirs = theirs_browser.get("/audit/?kind=viewed").get_data(as_text=True)
    assert other["student"].name in theirs and mine["student"].name not in theirs


def test_admin_sees_all_and_filters_by_who_whose_what_and_when(app, client, db, world):
    _views_of_both_students(app, world)
    mine, other = world["mine"], world["other"]
    login(client, world["admin"])
    everything = client.get("/audit/?kind=viewed").get_data(as_text=True)
    assert mine["student"].name in everything and other["student"].name in everything

    by_actor = client.get(f"/audit/?actor={other['preceptor'].email}").get_data(as_text=True)
    assert other["preceptor"].name in by_actor and mine["preceptor"].name not in by_actor

    by_student = client.get(f"/audit/?student={mine['student'].name}&kind=viewed")
    text = by_student.get_data(as_text=True)
    assert mine["preceptor"].name in text and other["preceptor"].name not in text

    sign_ins = client.get("/audit/?kind=signed_in").get_data(as_text=True)
    assert ">signed in</td>" in sign_ins and ">opened</td>" not in sign_ins

    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    later = client.get(f"/audit/?since={tomorrow}").get_data(as_text=True)
    assert "Nothing matches" in later
    today = clock.today().isoformat()
    assert ">opened</td>" in client.get(f"/audit/?since={today}&until={today}").get_data(
        as_text=True
    )


def test_patients_names_are_not_shown_to_the_admin(app, client, db, world):
    mine = world["mine"]
    audit.record(mine["patient"], "goal.endorsed", mine["student"])
    db.session.commit()
    login(client, world["admin"])
    page = client.get("/audit/").get_data(as_text=True)
    assert "A patient" in page and mine["patient"].name not in page
    assert mine["patient"].name not in client.get("/audit/export.csv").get_data(as_text=True)
    # Searching by the patient's name does not single out their rows either.
    found = client.get(f"/audit/?actor={mine['patient'].name}").get_data(as_text=True)
    assert "Nothing matches" in found
    # Their director sees who it was.
    director_browser = app.test_client()
    login(director_browser, mine["director"])
    assert mine["patient"].name in director_browser.get("/audit/").get_data(as_text=True)


def test_looking_at_and_exporting_the_log_is_itself_logged(client, db, world):
    admin = world["admin"]
    login(client, admin)
    client.get("/audit/?kind=viewed")
    client.get("/audit/export.csv?kind=viewed")
    actions = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.actor_id == admin.id, AuditEvent.action.like("audit.%")
        )
    ).all()
    assert [e.action for e in actions] == ["audit.viewed", "audit.exported"]
    assert actions[0].after == {"kind": "viewed", "page": 1}


def test_the_csv_is_formula_safe_and_scoped(app, client, db, world, make_user):
    mine, other = world["mine"], world["other"]
    mine["preceptor"].name = '=HYPERLINK("http://evil.example","x")'
    db.session.commit()
    _views_of_both_students(app, world)
    login(client, mine["director"])
    response = client.get("/audit/export.csv?kind=viewed")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {r["student"] for r in rows} == {mine["student"].name}
    assert other["student"].name not in response.get_data(as_text=True)
    assert {r["who"] for r in rows} == {"'" + mine["preceptor"].name}
    assert all(r["action"] == "record.viewed" for r in rows)


def test_the_log_is_paginated_and_bad_filters_never_fail(client, db, world):
    student = world["mine"]["student"]
    for _ in range(60):
        audit.record(world["mine"]["preceptor"], "record.viewed", student)
    db.session.commit()
    login(client, world["mine"]["director"])
    first = client.get("/audit/?kind=viewed").get_data(as_text=True)
    assert 'rel="next"' in first and "kind=viewed" in first
    second = client.get("/audit/?kind=viewed&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second
    for query in ("?page=x", "?page=0", "?since=2026-13-45", "?until=yesterday", "?kind=<b>"):
        assert client.get(f"/audit/{query}").status_code == 200, query
        assert client.get(f"/audit/export.csv{query}").status_code == 200, query


def test_a_cohort_export_names_each_student_in_the_log(client, db, world):
    from clerkship.portfolios import service

    mine = world["mine"]
    service.start_export(mine["director"], cohort=mine["cohort"])
    db.session.commit()
    rows = db.session.scalars(
        select(AuditEvent.student_id).where(AuditEvent.action == "export.included")
    ).all()
    assert rows == [mine["student"].id]


def test_other_roles_have_no_audit_log(app, db, world):
    for role in ("student", "preceptor", "patient"):
        browser = app.test_client()
        login(browser, world["mine"][role])
        assert browser.get("/audit/").status_code == 404
        assert browser.get("/audit/export.csv").status_code == 404
    assert world["mine"]["student"].role is Role.STUDENT


def test_the_pages_cost_the_same_queries_at_few_and_many_rows(
    client, db, world, count_queries, make_user
):
    mine = world["mine"]
    login(client, world["admin"])

    def cost(path: str) -> int:
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    def add(n: int) -> None:
        for side in ("mine", "other"):
            for _ in range(n):
                audit.record(world[side]["preceptor"], "record.viewed", world[side]["student"])
                make_user(Role.PRECEPTOR)  # more accounts on the people list too
        db.session.commit()

    add(2)
    few = (cost("/audit/"), cost("/admin/people/"))
    add(25)
    assert (cost("/audit/"), cost("/admin/people/")) == few
    assert mine["student"].role is Role.STUDENT
