"""The console mail backend (the development default) prints every e-mail, whole, where the
person running ``make run`` sees it: after a roster import, the new users' set-password links."""

from __future__ import annotations

import re

from tests.conftest import login
from tests.roster.test_import import _confirm, _html, _upload


def test_roster_import_prints_set_password_links(client, db, world, monkeypatch, capsys):
    monkeypatch.setitem(client.application.config, "MAIL_BACKEND", "console")
    mine = world["mine"]
    login(client, mine["director"])
    preview = _html(_upload(client, mine["cohort"], "students", "students_bom_semicolon.csv"))
    capsys.readouterr()
    assert _confirm(client, mine["cohort"], preview).status_code == 302
    printed = capsys.readouterr().out
    assert "E-mail to ana.lopez@school.edu" in printed
    # The whole link, token included: this backend is for following it.
    assert re.search(r"/account/set-password/[A-Za-z0-9_.\-]{20,}", printed)
