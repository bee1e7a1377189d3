"""Right-to-left override characters never take effect: a file named "<RLO>gnp.exe" is never
shown as "exe.png" — not in what is saved (forms, roster files), not on pages, not in PDFs."""

from __future__ import annotations

import io
import re
import subprocess

from sqlalchemy import select

from clerkship.models import Reflection, User
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import render
from tests.conftest import login

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"
OVERRIDES = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
TRAP = f"{RLO}gnp.exe"


def test_forms_save_text_without_direction_overrides(client, db, world):
    mine = world["mine"]
    login(client, mine["student"])
    body = "Ask " + "".join(OVERRIDES) + "early" + PDF
    response = client.post("/reflections/new", data={"title": TRAP, "body": body})
    assert response.status_code == 302
    reflection = db.session.scalar(select(Reflection))
    assert reflection.title == "gnp.exe" and reflection.body == "Ask early"
    html = client.get("/reflections/").get_data(as_text=True)
    assert "gnp.exe" in html and RLO not in html


def test_pages_never_print_overrides_already_stored(client, db, world):
    mine = world["mine"]
    login(client, mine["student"])
    client.post("/reflections/new", data={"title": "placeholder", "body": "text"})
    reflection = db.session.scalar(select(Reflection))
    reflection.title = TRAP + f" {LRI}x{PDI}"  # as if stored before the input rule
    db.session.commit()
    html = client.get("/reflections/").get_data(as_text=True)
    assert "gnp.exe" in html
    assert not any(control in html for control in OVERRIDES)


def test_roster_files_lose_overrides_too(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    raw = f"email,name\nrlo@school.edu,{TRAP}\n".encode()
    preview = client.post(
        f"/cohorts/{mine['cohort'].id}/import",
        data={"kind": "students", "file": (io.BytesIO(raw), "s.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert RLO not in preview
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    client.post(f"/cohorts/{mine['cohort'].id}/import/confirm", data={"token": token})
    assert db.session.scalar(select(User.name).where(User.email == "rlo@school.edu")) == "gnp.exe"


def test_the_pdf_prints_gnp_exe_never_exe_png(app, db, tmp_path):
    from clerkship import demo

    demo.build_demo_year(students=1)
    db.session.commit()
    student = db.session.scalar(select(User).where(User.email.like("student01@%")))
    data = portfolio.portfolio_data(student)
    data["reflections"] = [{"title": TRAP, "body": f"Attached {TRAP} today", "on": "2026-10-01"}]
    result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    path = tmp_path / "p.pdf"
    path.write_bytes(result.pdf)
    text = subprocess.run(  # noqa: S603
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "gnp.exe" in text and "Attached gnp.exe today" in text
    assert "exe.png" not in text and RLO not in text
