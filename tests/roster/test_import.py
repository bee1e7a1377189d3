"""Roster imports: preview writes nothing, confirm writes all or nothing, re-import changes
nothing, and every bad file gets a clear message (fixture files in tests/roster/files)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clerkship.models import Assignment, AuditEvent, Enrollment, PanelEntry, Role, User
from tests.conftest import login

FILES = Path(__file__).parent / "files"


def _html(response) -> str:
    return response.get_data(as_text=True)


def _upload(client, cohort, kind: str, name: str, raw: bytes | None = None):
    content = raw if raw is not None else (FILES / name).read_bytes()
    return client.post(
        f"/cohorts/{cohort.id}/import",
        data={"kind": kind, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _confirm(client, cohort, preview_html: str):
    token = re.search(r'name="token" value="([^"]+)"', preview_html).group(1)
    return client.post(f"/cohorts/{cohort.id}/import/confirm", data={"token": token})


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_preview_then_confirm_then_reimport_changes_nothing(client, db, world):
    from clerkship.mail import outbox

    mine = world["mine"]
    cohort = mine["cohort"]
    login(client, mine["director"])
    preview = _upload(client, cohort, "students", "students_bom_semicolon.csv")
    html = _html(preview)
    assert preview.status_code == 200
    assert "2 new, 0 to update, 1 unchanged, 0 with errors" in html
    assert "same as row 2" in html
    assert "Column “favourite_colour” is not used and was ignored." in html
    assert _count(db, User, User.email == "ana.lopez@school.edu") == 0  # nothing written yet

    response = _confirm(client, cohort, html)
    assert response.status_code == 302
    ana = db.session.scalar(select(User).where(User.email == "ana.lopez@school.edu"))
    assert ana.name == "Ana López" and ana.external_id == "S-1001" and ana.role is Role.STUDENT
    assert _count(db, Enrollment, Enrollment.student_id == ana.id) == 1
    sent = [m for m in outbox(client.application) if m["To"] == "ana.lopez@school.edu"]
    assert len(sent) == 1 and "/account/set-password/" in sent[0].get_content()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "roster.imported"))

    again = _html(_upload(client, cohort, "students", "students_bom_semicolon.csv"))
    assert "0 new, 0 to update, 3 unchanged, 0 with errors" in again


def test_excel_encoding_tabs_and_column_order(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    html = _html(_upload(client, mine["cohort"], "students", "students_excel_cp1252.csv"))
    assert "José Núñez" in html and "1 new" in html
    _confirm(client, mine["cohort"], html)
    assert _count(db, User, User.name == "José Núñez") == 1
    patients = _html(_upload(client, mine["cohort"], "patients", "tab_separated_patients.csv"))
    assert "2 new" in patients and "Mrs. A." in patients


def test_bad_files_get_clear_messages_and_write_nothing(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    before = _count(db, User)
    missing = _upload(client, mine["cohort"], "students", "students_missing_column.csv")
    assert missing.status_code == 400
    assert "Missing required columns: name" in _html(missing)
    binary = _upload(client, mine["cohort"], "students", "not_a_csv.xlsx")
    assert binary.status_code == 400
    assert "This is not a CSV file" in _html(binary)
    conflict = _html(_upload(client, mine["cohort"], "students", "students_conflicting_names.csv"))
    assert "rows 2 and 3 disagree about the same entry" in conflict
    assert "Confirm import" not in conflict  # errors block the whole file
    empty = _upload(client, mine["cohort"], "students", "empty.csv", raw=b"")
    assert "The file is empty." in _html(empty)
    assert _count(db, User) == before


def test_pairings_file_errors_per_row(client, db, world):
    mine = world["mine"]
    cohort = mine["cohort"]
    login(client, mine["director"])
    _confirm(
        client, cohort, _html(_upload(client, cohort, "students", "students_bom_semicolon.csv"))
    )
    _confirm(client, cohort, _html(_upload(client, cohort, "preceptors", "preceptors.csv")))
    html = _html(_upload(client, cohort, "assignments", "assignments_bad.csv"))
    assert "the assignment ends before it starts" in html
    assert "rows 3 and 4 disagree about the same entry" in html  # twice in one discipline
    assert "no student with e-mail nobody@school.edu" in html
    assert "Confirm import" not in html
    good = _html(_upload(client, cohort, "assignments", "assignments_good.csv"))
    assert "1 new" in good
    _confirm(client, cohort, good)
    kim = db.session.scalar(select(User).where(User.email == "dr.kim@clinic.org"))
    assert _count(db, Assignment, Assignment.preceptor_id == kim.id) == 1
    _confirm(
        client, cohort, _html(_upload(client, cohort, "patients", "tab_separated_patients.csv"))
    )
    panels = _html(_upload(client, cohort, "panels", "panels.csv"))
    assert "1 new" in panels
    _confirm(client, cohort, panels)
    assert _count(db, PanelEntry, PanelEntry.consent_date.is_not(None)) >= 2


def test_five_thousand_rows_preview(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    lines = ["email,name"] + [f"student{n}@bulk.example.org,Student {n}" for n in range(5000)]
    response = _upload(client, mine["cohort"], "students", "bulk.csv", "\n".join(lines).encode())
    assert response.status_code == 200
    assert "5000 new" in _html(response)


def test_fifty_megabytes_are_refused_with_the_limit(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    # A raw body, so the test client keeps it in memory instead of a temporary file.
    response = client.post(
        f"/cohorts/{mine['cohort'].id}/import",
        data=b"a" * (50 * 1024 * 1024),
        content_type="multipart/form-data; boundary=xyz",
    )
    assert response.status_code == 413
    assert "16 MB" in _html(response)


def test_only_the_programs_director_imports(client, db, world):
    cohort = world["mine"]["cohort"]
    for outsider in (world["other"]["director"], world["mine"]["student"], world["admin"]):
        login(client, outsider)
        assert client.get(f"/cohorts/{cohort.id}/import").status_code == 404
        client.post("/sign-out")


def test_set_password_link_works_once(client, db, world):
    from clerkship.auth import links

    mine = world["mine"]
    login(client, mine["director"])
    _confirm(
        client,
        mine["cohort"],
        _html(_upload(client, mine["cohort"], "preceptors", "preceptors.csv")),
    )
    client.post("/sign-out")
    kim = db.session.scalar(select(User).where(User.email == "dr.kim@clinic.org"))
    with client.application.app_context():
        link = links.make_token(db.session.get(User, kim.id))
    page = client.get(f"/account/set-password/{link}")
    assert page.status_code == 200
    short = client.post(
        f"/account/set-password/{link}", data={"new_password": "short", "confirm": "short"}
    )
    assert short.status_code == 400
    new = "a long and memorable sentence"
    assert (
        client.post(
            f"/account/set-password/{link}", data={"new_password": new, "confirm": new}
        ).status_code
        == 302
    )
    assert client.get(f"/account/set-password/{link}").status_code == 404  # used
    assert (
        client.post("/sign-in", data={"email": "dr.kim@clinic.org", "password": new}).status_code
        == 302
    )
    assert client.get("/account/set-password/forged.token.value").status_code == 404


def test_a_row_of_half_a_million_columns_is_refused_quickly_on_a_small_page(client, db, world):
    import time

    mine = world["mine"]
    login(client, mine["director"])
    raw = ",".join(f"c{n}" for n in range(500_000)).encode()  # 3.4 MB
    # A raw multipart body: the test client would put a large file in an unclosed temp file.
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="kind"\r\n\r\nstudents\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="wide.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + raw + b"\r\n--xyz--\r\n"
    )
    started = time.perf_counter()
    response = client.post(
        f"/cohorts/{mine['cohort'].id}/import",
        data=body,
        content_type="multipart/form-data; boundary=xyz",
    )
    elapsed = time.perf_counter() - started
    html = _html(response)
    assert response.status_code in (200, 400)
    assert "The first row has 500000 columns" in html
    print(f"\n500,000 columns: {elapsed:.2f} s, page {len(html)} characters")
    assert len(html) < 50_000 and elapsed < 3, (len(html), elapsed)


def test_unused_columns_are_summarised_after_ten(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    header = ["email", "name", *(f"extra{n}" for n in range(900))]
    raw = (",".join(header) + "\nwide@school.edu,Wide Person\n").encode()
    html = _html(_upload(client, mine["cohort"], "students", "wide.csv", raw))
    assert "1 new" in html
    assert html.count("is not used and was ignored") == 10
    assert "890 more columns are not used and were ignored." in html


def _waiting(client) -> set[str]:
    folder = Path(client.application.instance_path) / "imports"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_previewed_files_are_deleted_on_confirm_and_on_cancel(client, db, world):
    mine = world["mine"]
    cohort = mine["cohort"]
    login(client, mine["director"])
    before = _waiting(client)
    html = _html(_upload(client, cohort, "students", "students_bom_semicolon.csv"))
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert _waiting(client) - before == {token}
    assert _confirm(client, cohort, html).status_code == 302
    assert _waiting(client) == before

    html = _html(_upload(client, cohort, "preceptors", "preceptors.csv"))
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert f'formaction="/cohorts/{cohort.id}/import/cancel"' in html
    assert _waiting(client) - before == {token}
    response = client.post(f"/cohorts/{cohort.id}/import/cancel", data={"token": token})
    assert response.status_code == 302
    assert _waiting(client) == before
    # A cancelled upload cannot be confirmed afterwards.
    assert _confirm(client, cohort, html).status_code == 302
    assert _count(db, User, User.email == "dr.kim@clinic.org") == 0


def test_a_confirm_whose_commit_fails_keeps_the_file_to_confirm_again(client, db, world):
    """The previewed file is deleted after the import is saved, not before the commit."""
    mine = world["mine"]
    cohort = mine["cohort"]
    login(client, mine["director"])
    before = _waiting(client)
    html = _html(_upload(client, cohort, "students", "students_bom_semicolon.csv"))
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)

    def database_gone(session):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(Session, "before_commit", database_gone)
    try:
        failed = _confirm(client, cohort, html)
    finally:
        event.remove(Session, "before_commit", database_gone)
    assert failed.status_code == 503
    assert _waiting(client) - before == {token}  # still there, and still this browser's
    assert _count(db, User, User.email == "ana.lopez@school.edu") == 0

    assert _confirm(client, cohort, html).status_code == 302
    assert _waiting(client) == before
    assert _count(db, User, User.email == "ana.lopez@school.edu") == 1


def test_a_preview_with_errors_keeps_no_file(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    before = _waiting(client)
    raw = b"email,name\nnot-an-address,Someone\n"
    html = _html(_upload(client, mine["cohort"], "students", "bad.csv", raw))
    assert "1 with errors" in html
    assert _waiting(client) == before


def test_the_hourly_task_expires_files_left_behind(app, client, db, world, monkeypatch):
    import contextlib
    import os
    import time
    from datetime import UTC, datetime

    from clerkship import locks, tasks

    # The once-across-machines lock takes its own connection from the engine, which the test's
    # ``db`` fixture has swapped for one shared connection on PostgreSQL; the lock itself is
    # tested with the periodic tasks (tests/people/test_digest_once.py), not here.
    monkeypatch.setattr(locks, "held", lambda name: contextlib.nullcontext(True))

    mine = world["mine"]
    login(client, mine["director"])
    html = _html(_upload(client, mine["cohort"], "students", "students_bom_semicolon.csv"))
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    folder = Path(app.instance_path) / "imports"
    fresh = folder / "fresh-but-not-confirmed"
    fresh.write_bytes(b"email,name\n")
    hour_ago = time.time() - 61 * 60
    os.utime(folder / token, (hour_ago, hour_ago))
    # A periodic task of the queue, run once an hour.
    names = [task.name for task in tasks.huey._registry.periodic_tasks]
    assert "expire_pending_imports" in names
    day = [datetime(2026, 12, 3, h, m, tzinfo=UTC) for h in range(24) for m in range(60)]
    assert sum(map(tasks.expire_pending_imports.task_class().validate_datetime, day)) == 24
    with app.app_context():
        tasks.expire_pending_imports.call_local()
    assert not (folder / token).exists()  # older than an hour: gone
    assert fresh.exists()  # still within its hour
    fresh.unlink()


def test_a_refused_file_is_marked_beside_its_field_and_the_kind_is_kept(client, world):
    mine = world["mine"]
    login(client, mine["director"])
    response = _upload(client, mine["cohort"], "preceptors", "not_a_csv.xlsx")
    assert response.status_code == 400
    html = _html(response)
    file_input = re.search(r'<input[^>]*name="file"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in file_input
    assert 'aria-describedby="file-hint file-error"' in file_input
    assert re.search(r'<p class="error" id="file-error">[^<]*not a CSV file', html)
    kept = re.search(r'<input[^>]*value="preceptors"[^>]*>', html).group(0)
    assert "checked" in kept


def test_no_file_and_an_unknown_kind_are_marked_beside_their_fields(client, world):
    mine = world["mine"]
    login(client, mine["director"])
    response = client.post(
        f"/cohorts/{mine['cohort'].id}/import",
        data={"kind": "aliens"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = _html(response)
    assert re.search(r'<p class="error" id="file-error">Choose a CSV file', html)
    assert 'id="kind-error"' in html
    assert 'aria-describedby="kind-error"' in html


def test_a_row_reports_every_error_and_the_preview_offers_the_upload_box(client, db, world):
    """A bad e-mail AND a missing name are both reported; the error page is no dead end."""
    mine = world["mine"]
    cohort = mine["cohort"]
    login(client, mine["director"])
    raw = b"email,name\nnot-an-email,\nok@school.edu,Ok Person\n"
    response = _upload(client, cohort, "students", "students.csv", raw)
    html = _html(response)
    assert "“not-an-email” is not an e-mail address; the name is empty" in html
    assert "Confirm import" not in html
    box = html[html.index("Upload the corrected file") :]
    assert f'action="/cohorts/{cohort.id}/import"' in box and 'type="file"' in box
    assert re.search(r'<input checked[^>]*value="students"', box)  # the kind stays chosen
    assert _count(db, User, User.email == "ok@school.edu") == 0
