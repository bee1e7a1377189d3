"""Roster imports and program isolation: a file naming another program's people is refused
row by row with a plain reason, writes nothing and shows nothing of theirs; an imported row
takes the same path (same refusals, same audit trail) as the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clerkship import clock
from clerkship.models import Assignment, AuditEvent, Enrollment, PanelEntry, User
from clerkship.permissions import can_manage_person, can_view_student
from tests.conftest import login
from tests.roster.test_import import _confirm, _html, _upload

OTHER_PROGRAM = "belongs to another program; ask its director."


def _csv(*lines: str) -> bytes:
    return "\n".join(lines).encode()


def _snapshot(db) -> dict:
    """Everything an import could write, to prove a refused file wrote none of it."""

    def count(model):
        query = select(func.count()).select_from(model)
        if model is AuditEvent:  # opening a record is logged; that is not a write of the import
            query = query.where(AuditEvent.action != "record.viewed")
        return db.session.scalar(query)

    people = db.session.execute(
        select(User.id, User.name, User.email, User.external_id, User.active).order_by(User.id)
    ).all()
    return {
        "people": people,
        **{m.__name__: count(m) for m in (Enrollment, Assignment, PanelEntry, AuditEvent)},
    }


def _files(mine: dict, other: dict) -> dict[str, list[bytes]]:
    """For each import kind, files an outsider (``other``'s director) could try."""
    today = clock.today().isoformat()
    return {
        "students": [
            _csv("email,name", f"{mine['student'].email},{mine['student'].name}"),  # enrol
            _csv("email,name", f"{mine['student'].email},Renamed By Intruder"),
        ],
        "preceptors": [_csv("email,name", f"{mine['preceptor'].email},Renamed By Intruder")],
        "patients": [
            _csv("external_id,name", "PT-MINE,Renamed By Intruder"),
            _csv("external_id,name,language", f"PT-MINE,{mine['patient'].name},es"),
            _csv("external_id,name", f"PT-MINE,{mine['patient'].name}"),  # even unchanged
        ],
        "assignments": [
            _csv(
                "student_email,preceptor_email,discipline,start_date",
                f"{mine['student'].email},{other['preceptor'].email},Surgery,{today}",
            ),
        ],
        "panels": [
            _csv(
                "student_email,patient_external_id,consent_date",
                f"{mine['student'].email},PT-OTHER,{today}",
            ),
            _csv(
                "student_email,patient_external_id,consent_date",
                f"{other['student'].email},PT-MINE,{today}",
            ),
        ],
    }


@pytest.fixture
def two_programs(db, world):
    world["mine"]["patient"].external_id = "PT-MINE"
    world["other"]["patient"].external_id = "PT-OTHER"
    db.session.commit()
    return world


@pytest.mark.parametrize("kind", ["students", "preceptors", "patients", "assignments", "panels"])
def test_an_import_naming_another_programs_people_is_refused(client, db, two_programs, kind):
    mine, other = two_programs["mine"], two_programs["other"]
    login(client, other["director"])
    for raw in _files(mine, other)[kind]:
        before = _snapshot(db)
        response = _upload(client, other["cohort"], kind, f"{kind}.csv", raw)
        html = _html(response)
        assert response.status_code == 200
        assert OTHER_PROGRAM in html, html[-1500:]
        assert "1 with errors" in html and "Confirm import" not in html
        assert _snapshot(db) == before  # 0 writes, not even an audit row
        # 0 leaks: nothing of the other program's people beyond what the file itself says.
        for record in ("student", "preceptor", "patient"):
            person = mine[record]
            if person.name not in raw.decode():
                assert person.name not in html
        assert mine["program"].name not in html
    assert not can_view_student(other["director"], mine["student"])


def test_confirm_replans_and_refuses_a_file_that_became_an_intrusion(client, db, two_programs):
    """Previewed while harmless, confirmed after the student joined another program: nothing."""
    mine, other = two_programs["mine"], two_programs["other"]
    login(client, other["director"])
    raw = _csv("email,name", "newcomer@school.edu,New Comer")
    preview = _html(_upload(client, other["cohort"], "students", "s.csv", raw))
    assert "1 new" in preview
    newcomer = User(email="newcomer@school.edu", name="New Comer", role=mine["student"].role)
    db.session.add(newcomer)
    db.session.flush()
    db.session.add(Enrollment(cohort_id=mine["cohort"].id, student_id=newcomer.id))
    db.session.commit()
    before = _snapshot(db)
    response = _confirm(client, other["cohort"], preview)
    assert response.status_code == 302
    assert _snapshot(db) == before
    assert OTHER_PROGRAM in _html(client.get(response.headers["Location"]))


def test_a_preceptor_teaching_in_two_programs(client, db, two_programs):
    """One account, reached by each program through its own pairings; changed only by
    someone who runs every program they teach in."""
    from clerkship.permissions import can_change_person

    mine, other = two_programs["mine"], two_programs["other"]
    shared = mine["preceptor"]
    login(client, other["director"])
    today = clock.today().isoformat()
    unchanged = _html(
        _upload(
            client,
            other["cohort"],
            "preceptors",
            "p.csv",
            _csv("email,name", f"{shared.email},{shared.name}"),
        )
    )
    assert "1 unchanged" in unchanged and "Confirm import" in unchanged
    pairing = _csv(
        "student_email,preceptor_email,discipline,start_date",
        f"{other['student'].email},{shared.email},Surgery,{today}",
    )
    preview = _html(_upload(client, other["cohort"], "assignments", "a.csv", pairing))
    assert "1 new" in preview
    assert _confirm(client, other["cohort"], preview).status_code == 302
    assert can_manage_person(other["director"], shared)
    assert can_manage_person(mine["director"], shared)
    # Neither director alone may change the account: it would change the other's program.
    assert not can_change_person(other["director"], shared)
    assert not can_change_person(mine["director"], shared)
    assert client.post(f"/people/{shared.id}/deactivate").status_code == 404
    assert db.session.get(User, shared.id).active
    # Each director sees only their own students through the shared preceptor.
    assert not can_view_student(other["director"], mine["student"])
    assert can_view_student(shared, other["student"]) and can_view_student(shared, mine["student"])
    # Someone who runs both programs may change the account.
    other["program"].directors.append(mine["director"])
    db.session.commit()
    assert can_change_person(mine["director"], shared)


def test_the_pair_form_offers_only_this_programs_preceptors(client, db, two_programs):
    mine, other = two_programs["mine"], two_programs["other"]
    login(client, other["director"])
    page = _html(client.get(f"/students/{other['student'].id}/pairings"))
    assert other["preceptor"].name in page
    assert mine["preceptor"].name not in page
    forged = client.post(
        f"/students/{other['student'].id}/pairings",
        data={
            "preceptor": mine["preceptor"].id,
            "discipline": "Surgery",
            "start_date": clock.today().isoformat(),
        },
    )
    assert forged.status_code == 400
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.preceptor_id == mine["preceptor"].id)
        )
        == 1
    )


def test_the_panel_form_refuses_another_programs_patient(client, db, two_programs):
    mine, other = two_programs["mine"], two_programs["other"]
    mine["patient"].email = "mine.patient@example.org"
    db.session.commit()
    login(client, other["director"])
    before = _snapshot(db)
    response = client.post(
        f"/panel/{other['student'].id}/patients",
        data={"name": "Intruder", "language": "en", "email": "mine.patient@example.org"},
    )
    assert response.status_code == 400
    assert OTHER_PROGRAM in _html(response)
    assert _snapshot(db) == before


def _clash_message(html: str) -> str:
    marker = "already has"
    start = html.index(marker)
    return html[html.rindex(">", 0, start) + 1 : html.index("<", start)].strip()


def test_a_pairing_the_form_refuses_the_import_refuses_with_the_same_reason(
    client, db, two_programs
):
    mine = two_programs["mine"]
    second = User(
        email="second.preceptor@example.org", name="Dr Second", role=mine["preceptor"].role
    )
    db.session.add(second)
    db.session.commit()
    login(client, mine["director"])
    today = clock.today().isoformat()
    # The student already has a family medicine preceptor, ongoing.
    form = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={"preceptor": second.id, "discipline": "Family medicine", "start_date": today},
    )
    assert form.status_code == 400
    refused = _clash_message(_html(form))
    raw = _csv(
        "student_email,preceptor_email,discipline,start_date",
        f"{mine['student'].email},{second.email},Family medicine,{today}",
    )
    preview = _html(_upload(client, mine["cohort"], "assignments", "a.csv", raw))
    assert "1 with errors" in preview
    assert _clash_message(preview) == refused


def test_rows_that_clash_with_each_other_show_at_preview(client, db, two_programs):
    """Two new pairings of one student for one discipline at once: the second is refused in
    the preview, exactly as the form would refuse it after the first."""
    mine = two_programs["mine"]
    for n in (1, 2):
        db.session.add(User(email=f"p{n}@clinic.org", name=f"Dr {n}", role=mine["preceptor"].role))
    db.session.commit()
    login(client, mine["director"])
    start = clock.today() + timedelta(days=1)
    raw = _csv(
        "student_email,preceptor_email,discipline,start_date",
        f"{mine['student'].email},p1@clinic.org,Surgery,{start}",
        f"{mine['student'].email},p2@clinic.org,Surgery,{start}",
    )
    preview = _html(_upload(client, mine["cohort"], "assignments", "a.csv", raw))
    assert "1 new, 0 to update, 0 unchanged, 1 with errors" in preview
    assert "already has Dr 1 for Surgery then" in preview


def _trail(db, since: int, student_id: int) -> list[tuple]:
    """The audit rows written after ``since``, with the ids that differ between runs taken out."""
    rows = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.id > since, AuditEvent.action.not_in(("roster.imported", "record.viewed"))
        )
        .order_by(AuditEvent.id)
    ).all()
    return [
        (
            e.action,
            e.object_type,
            e.actor_id,
            {k: ("<student>" if v == student_id else v) for k, v in (e.after or {}).items()},
        )
        for e in rows
    ]


def _last_audit(db) -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def test_an_imported_row_leaves_the_same_audit_trail_as_the_form(client, db, two_programs):
    mine = two_programs["mine"]
    twin = User(email="twin@school.edu", name="Twin", role=mine["student"].role)
    db.session.add(twin)
    db.session.flush()
    db.session.add(Enrollment(cohort_id=mine["cohort"].id, student_id=twin.id))
    db.session.commit()
    login(client, mine["director"])
    start = (clock.today() + timedelta(days=3)).isoformat()

    mark = _last_audit(db)
    form = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={"preceptor": mine["preceptor"].id, "discipline": "Surgery", "start_date": start},
    )
    assert form.status_code == 302
    by_form = _trail(db, mark, mine["student"].id)

    mark = _last_audit(db)
    raw = _csv(
        "student_email,preceptor_email,discipline,start_date",
        f"{twin.email},{mine['preceptor'].email},Surgery,{start}",
    )
    _confirm(
        client, mine["cohort"], _html(_upload(client, mine["cohort"], "assignments", "a.csv", raw))
    )
    by_import = _trail(db, mark, twin.id)
    assert (
        by_form
        == by_import
        == [
            (
                "assignment.created",
                "assignment",
                mine["director"].id,
                {
                    "student": "<student>",
                    "preceptor": mine["preceptor"].id,
                    "discipline": "Surgery",
                },
            )
        ]
    )

    # Panels: the form's "panel.added" and the import's are the same record.
    consent = clock.today().isoformat()
    mark = _last_audit(db)
    client.post(
        f"/panel/{mine['student'].id}/patients",
        data={"name": "Mr. B.", "language": "en", "consent_date": consent},
    )
    by_form = [(*row[:3], sorted(row[3])) for row in _trail(db, mark, mine["student"].id)]
    raw = _csv("external_id,name", "PT-NEW,Mr. C.")
    _confirm(
        client, mine["cohort"], _html(_upload(client, mine["cohort"], "patients", "p.csv", raw))
    )
    mark = _last_audit(db)
    raw = _csv("student_email,patient_external_id,consent_date", f"{twin.email},PT-NEW,{consent}")
    _confirm(
        client, mine["cohort"], _html(_upload(client, mine["cohort"], "panels", "p.csv", raw))
    )
    by_import = [(*row[:3], sorted(row[3])) for row in _trail(db, mark, twin.id)]
    assert (
        by_form
        == by_import
        == [("panel.added", "panel_entry", mine["director"].id, ["consent", "end", "patient"])]
    )


@pytest.mark.parametrize(
    ("kind", "header", "row", "column"),
    [
        ("students", "email,name", "a@b.org,{long}", "name"),
        ("preceptors", "email,name,external_id", "a@b.org,Dr A,{long}", "external_id"),
        ("patients", "external_id,name", "PT-9,{long}", "name"),
        ("patients", "external_id,name", "{long},Mr. D.", "external_id"),
        ("panels", "student_email,patient_external_id", "{long}@b.org,PT-9", "student_email"),
    ],
)
def test_too_long_values_are_error_rows_not_database_errors(
    client, db, world, kind, header, row, column
):
    """Rows are tried against the database at preview: a value longer than its column would
    be a database error on PostgreSQL, so it is an error row first."""
    login(client, world["mine"]["director"])
    raw = _csv(header, row.format(long="x" * 300))
    response = _upload(client, world["mine"]["cohort"], kind, "long.csv", raw)
    assert response.status_code == 200
    assert f"{column} is longer than" in _html(response)


def test_a_nul_character_deep_in_the_file_is_refused_whole(client, db, world):
    login(client, world["mine"]["director"])
    rows = [f"PT-{n},Patient {n}" for n in range(400)] + ["PT-X,Mr.\x00 X"]
    response = _upload(
        client, world["mine"]["cohort"], "patients", "p.csv", _csv("external_id,name", *rows)
    )
    assert response.status_code == 400
    assert "This is not a CSV file" in _html(response)


def test_people_a_program_added_are_its_own_before_any_pairing_or_panel(client, db, world):
    """Imported but not yet paired or on a panel: still the importing program's people."""
    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    for kind, raw in (
        ("preceptors", _csv("email,name", "dr.new@clinic.org,Dr New")),
        ("patients", _csv("external_id,name", "PT-NEW,Mrs. N.")),
    ):
        _confirm(
            client, mine["cohort"], _html(_upload(client, mine["cohort"], kind, "f.csv", raw))
        )
    client.post("/sign-out")

    login(client, other["director"])
    before = _snapshot(db)
    for kind, raw in (
        ("preceptors", _csv("email,name", "dr.new@clinic.org,Renamed By Intruder")),
        ("patients", _csv("external_id,name", "PT-NEW,Renamed By Intruder")),
    ):
        html = _html(_upload(client, other["cohort"], kind, "f.csv", raw))
        assert OTHER_PROGRAM in html and "Confirm import" not in html
    assert _snapshot(db) == before
    pair_form = _html(client.get(f"/students/{other['student'].id}/pairings"))
    assert "Dr New" not in pair_form
