"""Every form, every role that may use it, hostile input (Hypothesis).

For each POST endpoint of the app and each role allowed to use it, generated submissions —
empty, whitespace, very long, RTL/emoji/combining text, control characters and NUL, numbers
where text goes and text where numbers or dates go, HTML/JS payloads, spreadsheet formulas,
bidi override controls, very long unbroken words, CSV files thousands of columns wide,
missing, repeated and unexpected fields, JSON bodies — must never give a 5xx, never echo a
payload unescaped, never print a bidi override control, and never leave half a write: a
refused submission (4xx, or a redirect that flashes an error) changes no row of any table,
except the audit events that record refused attempts.

``test_every_post_endpoint_is_fuzzed`` fails when a POST route is neither in ``TARGETS``
nor in ``EXCLUDED`` (with a reason), so a new form cannot escape.

Bounded and reproducible: ``derandomize=True`` gives the same examples on every run (CI
failures reproduce; no ``.hypothesis`` folder is written) and ``FUZZ_EXAMPLES`` (default 25
per endpoint and role) sets the count. To explore, run more and random examples::

    FUZZ_EXAMPLES=300 FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/test_fuzz_forms.py -x

Each example runs inside a SAVEPOINT that is rolled back, with a copy of a signed-in (or
link-opened) browser, so examples are independent and a failure shrinks to a minimal one.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clerkship import seeds, tasks
from clerkship.extensions import limiter
from clerkship.goals.forms import SuggestionForm
from clerkship.models import InvitationPurpose, PanelEntry, User
from tests import fuzzing
from tests.conftest import TEST_PASSWORD, login
from tests.test_access_matrix import MATRIX, _ids

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

SIGNED_IN = ("student", "preceptor", "patient", "director", "admin")
ANONYMOUS = ("anonymous",)
PATIENT_LINK = ("patient-link",)
# Audit events a refused submission may leave: the record of the refused attempt itself.
REFUSAL_AUDIT = frozenset(
    {
        "auth.sign_in_failed",
        "auth.password_change_refused",
        "assessment.signature_failed",
        "record.viewed",
    }
)


@dataclass(frozen=True)
class Target:
    """How to fuzz one POST endpoint.

    - ``page``: where the form is shown, its fields read from there ("" = ``path`` itself;
      None = no page shows it to every role, e.g. a button only a script presses);
    - ``fields``: fields the view reads that no page renders (name → kind, or the list of
      accepted values), or the WTForms class when there is no page;
    - ``roles``: who posts (default: whom the access matrix lets in);
    - ``read_only``: writes nothing even when it succeeds;
    - ``link``: the patient invitation a patient page needs;
    - ``files``: what goes in file fields; ``before``: a step each example takes first.
    """

    path: str
    page: str | None = ""
    fields: dict | type = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    read_only: bool = False
    link: str | None = None
    files: str = "binary"
    before: str | None = None


GOAL = "/goals/{goal}"
STUDENT = "/students/{student}"

TARGETS: dict[str, Target] = {
    # --- accounts ---
    "auth.sign_in": Target("/sign-in", roles=ANONYMOUS),
    "auth.sign_out": Target("/sign-out", page="/"),
    "auth.change_password": Target("/account/password"),
    "auth.set_password": Target("/account/set-password/{password_token}", roles=ANONYMOUS),
    "auth.forgot_password": Target("/account/forgot-password", roles=ANONYMOUS),
    # Shown only when there is another session; a script posts keep-alive.
    "auth.end_other_sessions": Target("/account/sessions/end-others", page=None, roles=SIGNED_IN),
    "auth.keep_alive": Target("/account/keep-alive", page=None, roles=SIGNED_IN),
    "reminders.unsubscribe": Target("/digest/unsubscribe/{unsubscribe_token}", roles=ANONYMOUS),
    # --- goals ---
    "goals.new": Target("/goals/new"),
    "goals.edit": Target(GOAL + "/edit"),
    "goals.share": Target(GOAL + "/share"),
    "goals.close": Target(GOAL + "/close"),
    "goals.add_note": Target(GOAL + "/notes", page=GOAL),
    # The student edits their own goal instead: no page shows them this form.
    "goals.suggest": Target(GOAL + "/suggestions", page=None, fields=SuggestionForm),
    "goals.accept_suggestion": Target(GOAL + "/suggestions/{suggestion}/accept", page=GOAL),
    "goals.decline_suggestion": Target(GOAL + "/suggestions/{suggestion}/decline", page=GOAL),
    "goals.agree": Target(GOAL + "/agree", page=GOAL),
    "goals.endorse": Target(GOAL + "/endorse", page=GOAL),
    # --- assessments, one cycle at each step ---
    "assessments.new": Target("/assessments/new"),
    "assessments.self_assess": Target("/assessments/{cycle}/self"),
    "assessments.rate": Target("/assessments/{cycle}/rate"),
    "assessments.react": Target("/assessments/{revealed_cycle}/reaction"),
    "assessments.goal_from_plan": Target(
        "/assessments/{ready_cycle}/goal", page="/assessments/{ready_cycle}"
    ),
    "assessments.sign": Target("/assessments/{ready_cycle}/sign"),
    "assessments.return_to_student": Target(
        "/assessments/{ready_cycle}/return", page="/assessments/{ready_cycle}/sign"
    ),
    "assessments.addendum": Target("/assessments/{signed_cycle}/addenda"),
    # --- reflections ---
    "reflections.new": Target("/reflections/new"),
    "reflections.edit": Target("/reflections/{reflection}/edit"),
    # --- panels and patient links ---
    "panels.add_patient": Target("/panel/{student}/patients", page="/panel/{student}"),
    "panels.edit_entry": Target("/panel/entries/{entry}"),
    "panels.invite": Target("/panel/entries/{entry}/invitations", page="/panel/{student}"),
    "panels.revoke": Target(
        "/panel/invitations/{invitation}/revoke", page="/panel/invitations/{invitation}"
    ),
    "panels.remove_feedback": Target("/panel/feedback/{feedback}/remove"),
    "visit.submit_feedback": Target(
        "/p/feedback", page="/p/", roles=PATIENT_LINK, link="feedback"
    ),
    "visit.submit_goal_input": Target(
        "/p/goal", page="/p/", roles=PATIENT_LINK, link="goal_input"
    ),
    "visit.withdraw": Target(
        "/p/withdraw", page="/p/withdraw", roles=PATIENT_LINK, link="answered"
    ),
    # Writes: the chosen language is kept on the invitation (patient_invitation.language).
    "visit.language": Target("/p/language", page="/p/", roles=PATIENT_LINK, link="feedback"),
    # Writes: ends the link's patient pages on the server (sessions_ended_at).
    "visit.finish": Target("/p/finish", page="/p/thanks", roles=PATIENT_LINK, link="answered"),
    # --- programs, cohorts, people ---
    "directory.new_program": Target("/programs/new"),
    "directory.edit_program": Target("/programs/{program}/edit"),
    "directory.instrument": Target("/programs/{program}/instrument", files="instrument"),
    "directory.new_cohort": Target("/programs/{program}/cohorts/new"),
    "directory.edit_cohort": Target("/cohorts/{cohort}/edit"),
    "people.pair": Target(STUDENT + "/pairings"),
    # --- API tokens ---
    "api_tokens.index": Target("/programs/{program}/api-tokens"),
    "api_tokens.revoke": Target(
        "/api-tokens/{token}/revoke", page="/programs/{program}/api-tokens"
    ),
    "accounts.new": Target("/admin/people/new"),
    "accounts.edit": Target("/admin/people/{student}"),
    "people.end_pairing": Target("/assignments/{assignment}/end", page=STUDENT),
    "people.deactivate": Target("/people/{student}/deactivate"),  # the confirm page
    "people.reactivate": Target("/people/{student}/reactivate", page=None),
    "people.reset_password": Target("/people/{student}/reset-password", page=STUDENT),
    "reminders.remind_person": Target("/people/{student}/remind", page=STUDENT),
    "reminders.remind_cohort": Target(
        "/cohorts/{cohort}/remind", page="/cohorts/{cohort}/dashboard", fields={"who": ["all"]}
    ),
    "roster.upload": Target("/cohorts/{cohort}/import", files="roster", read_only=True),
    "roster.confirm": Target(
        "/cohorts/{cohort}/import/confirm", page=None, fields={"token": "hidden"}, before="upload"
    ),
    "roster.cancel": Target(
        "/cohorts/{cohort}/import/cancel",
        page=None,
        fields={"token": "hidden"},
        before="upload",
        read_only=True,
    ),
    # --- framework import (administrators) ---
    "frameworks.upload": Target("/frameworks/import", files="framework", read_only=True),
    # Without a previewed upload of this browser no token is valid: nothing may be written.
    "frameworks.confirm": Target(
        "/frameworks/import/confirm", page=None, fields={"token": "hidden"}, read_only=True
    ),
    "frameworks.cancel": Target(
        "/frameworks/import/cancel", page=None, fields={"token": "hidden"}, read_only=True
    ),
    # --- portfolios ---
    "portfolios.export_student": Target(
        "/portfolios/{student}/export", page="/portfolios/{student}"
    ),
    "portfolios.export_cohort": Target("/cohorts/{cohort}/export", page="/cohorts/{cohort}"),
    "portfolios.verify": Target("/verify", roles=ANONYMOUS, read_only=True),
    # --- credentials ---
    "credentials.verify": Target("/credentials/verify", roles=ANONYMOUS, read_only=True),
    # --- integrity ---
    "integrity.check_now": Target("/integrity/check", page="/integrity"),
}

# POST endpoints deliberately not fuzzed, each with the reason.
EXCLUDED: dict[str, str] = {
    # SAML is off in this app (the route is a 404); with the test IdP configured it is fuzzed
    # in tests/sso/test_fuzz_school_routes.py::test_saml_acs (it takes the IdP's POST, no form).
    "sso.saml_acs": "fuzzed with an IdP in tests/sso/test_fuzz_school_routes.py",
}


def _roles(endpoint: str) -> tuple[str, ...]:
    target = TARGETS[endpoint]
    if target.roles:
        return target.roles
    return tuple(r for r in SIGNED_IN if r in MATRIX[endpoint].own)


def _cases():
    for endpoint in sorted(TARGETS):
        for role in _roles(endpoint):
            yield pytest.param(endpoint, role, id=f"{endpoint}-{role}")


def test_every_post_endpoint_is_fuzzed(app):
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    missing = posts - TARGETS.keys() - EXCLUDED.keys()
    assert not missing, f"add these POST endpoints to TARGETS (or EXCLUDED, with why): {missing}"
    stale = (TARGETS.keys() | EXCLUDED.keys()) - posts
    assert not stale, f"these fuzz targets no longer take POST: {sorted(stale)}"
    assert not TARGETS.keys() & EXCLUDED.keys()
    for endpoint in TARGETS:
        assert _roles(endpoint), f"nobody may post to {endpoint}?"


# --- records, people and browsers ------------------------------------------------------------


def _records(world, db, target: Target) -> dict:
    text = f"{target.path} {target.page}"
    ids = _ids(world, "mine", db, text)
    student = world["mine"]["student"]
    if "{password_token}" in text:
        from clerkship.auth import links

        ids["password_token"] = links.make_token(student)
    if "{unsubscribe_token}" in text:
        from clerkship.reminders import service as reminders

        ids["unsubscribe_token"] = reminders.unsubscribe_token(student)
    return ids


def _open_link(app, world, db, purpose: str):
    """A browser on a patient's page, opened from a fresh invitation link."""
    from clerkship.goals import service as goals
    from clerkship.models import LearningGoal
    from clerkship.panels import service as panels

    seeds.load_shipped()
    part = world["mine"]
    part["program"].feedback_instrument = seeds.default_instrument()
    entry = db.session.query(PanelEntry).filter_by(student_id=part["student"].id).one()
    goal = None
    if purpose == "goal_input":
        goal = db.session.query(LearningGoal).filter_by(student_id=part["student"].id).first()
        if goal is None:
            goal = goals.create_goal(part["student"], goals.GoalText(title="Walk again"), [])
            goals.share_goal(part["student"], goal, [part["patient"]])
    kind = InvitationPurpose.GOAL_INPUT if purpose == "goal_input" else InvitationPurpose.FEEDBACK
    _invitation, token = panels.create_invitation(part["student"], entry, kind, goal=goal)
    db.session.commit()
    client = app.test_client()
    assert client.get(f"/p/{token}").status_code == 302
    if purpose == "answered":
        instrument = seeds.default_instrument()
        answers = {f"item-{item.key}": "4" for item in instrument.items}
        response = client.post("/p/feedback", data={**answers, "show_name": "no"})
        assert response.status_code == 302, response.status_code
    return client


def _browser(app, world, db, role: str, target: Target):
    if role == "patient-link":
        return _open_link(app, world, db, target.link)
    client = app.test_client()
    if role != "anonymous":
        login(client, world["admin"] if role == "admin" else world["mine"][role])
    return client


def _copy(app, client):
    """A second browser with the same cookie (so nothing an example does to it lasts)."""
    name = app.config["SESSION_COOKIE_NAME"]
    twin = app.test_client()
    cookie = client.get_cookie(name)
    if cookie is not None:
        twin.set_cookie(name, cookie.value)
    return twin


def _form(client, target: Target, path: str, ids: dict) -> fuzzing.Form:
    form = fuzzing.Form(path, multipart=False)
    if target.page is not None:
        page = (target.page or target.path).format(**ids)
        response = client.get(page)
        assert response.status_code == 200, f"{page}: {response.status_code}"
        forms = fuzzing.forms_on(page, response.get_data(as_text=True))
        found = [f for f in forms if f.action == path]
        assert found, f"no form posting to {path} on {page}"
        form = found[0]
    if isinstance(target.fields, type):  # a WTForms class
        with client.application.test_request_context():
            form.fields.update(fuzzing.fields_of(target.fields))
        return form
    for name, kind in target.fields.items():
        if isinstance(kind, list):
            form.fields[name] = fuzzing.Field(name, "choice", options=list(kind))
        else:
            form.fields[name] = fuzzing.Field(name, kind)
    return form


# --- what a submission looks like -------------------------------------------------------------

SUSPICIOUS_NAMES = st.sampled_from(
    ["csrf_token", "id", "user_id", "student_id", "role", "is_admin", "next", "goal", "kind"]
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), fuzzing.HOSTILE),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


RAW_FORMS = st.lists(
    st.sampled_from([b"a=\xff\xfe", b"%ff%00=%zz", b"==&&", b"a=1;b=2", b"\x00=\x00", b"a" * 300]),
    max_size=4,
).map(b"&".join)


def _file(kind: str, shipped_instrument: dict) -> st.SearchStrategy[bytes]:
    if kind == "roster":
        from clerkship.roster.service import KINDS

        return st.sampled_from(list(KINDS.values())).flatmap(
            lambda k: fuzzing.csv_file([*k.required, *k.optional])
        )
    if kind == "instrument":
        return fuzzing.json_file(shipped_instrument)
    if kind == "framework":
        from pathlib import Path

        ctdl = Path(__file__).parent / "frameworks" / "files" / "ctdl-v1.jsonld"
        return fuzzing.json_file(json.loads(ctdl.read_text("utf-8")))
    return st.binary(max_size=300)


@st.composite
def submissions(draw, form: fuzzing.Form, target: Target, emails: list[str], instrument: dict):
    """One POST: (mode, payload); mode is "form", "multipart", "json" or "raw" (bytes)."""
    mode = draw(st.sampled_from(["form", "form", "form", "form", "multipart", "json", "raw"]))
    if form.multipart and mode == "form":
        mode = "multipart"
    if mode == "raw":  # bytes that are no valid form encoding: Werkzeug reads no fields
        return "raw", draw(st.one_of(st.binary(max_size=200), RAW_FORMS))
    if mode == "json":
        names = st.sampled_from(sorted(form.fields)) if form.fields else SUSPICIOUS_NAMES
        body = draw(
            st.one_of(
                st.dictionaries(st.one_of(names, SUSPICIOUS_NAMES), JSON_VALUES, max_size=6),
                JSON_VALUES,
            )
        )
        return "json", body
    # Usually there, as a browser sends it (the suite turns CSRF off). Not always: the token
    # may come in the X-CSRFToken header instead, so a body without any field reaches views.
    data: dict = {"csrf_token": "x"} if draw(st.integers(0, 4)) else {}
    # As a person would fill it in (to reach the services and the database), with one field
    # hostile, or anything in any field.
    style = draw(st.sampled_from(["person", "one bad field", "one bad field", "anything"]))
    names = sorted(form.fields)
    bad = draw(st.sampled_from(names)) if names and style == "one bad field" else None
    for name in names:
        fld = form.fields[name]
        if fld.kind == "file":
            content = draw(_file(target.files, instrument))
            data[name] = (io.BytesIO(content), draw(fuzzing.FILENAMES))
            mode = "multipart"
            continue
        good = fuzzing.plausible(fld, password=TEST_PASSWORD, known_emails=emails)
        evil = fuzzing.hostile(fld, known_emails=emails)
        if style == "person" or (style == "one bad field" and name != bad):
            data[name] = draw(good)
            continue
        strategy = evil if name == bad else st.one_of(good, evil)
        presence = draw(st.sampled_from(["sent", "sent", "sent", "missing", "twice"]))
        if presence == "missing":
            continue
        value = draw(strategy)
        if presence == "twice" and not fld.multiple:
            value = [value, draw(strategy)]
        data[name] = value
    extra = draw(
        st.dictionaries(
            st.one_of(SUSPICIOUS_NAMES, fuzzing.HOSTILE.filter(bool)),
            st.one_of(fuzzing.HOSTILE, fuzzing.MIXED),
            max_size=2,
        )
    )
    for name, value in extra.items():
        data.setdefault(name, value)
    return mode, data


def _post(client, path: str, mode: str, payload):
    if mode == "raw":
        return client.post(path, data=payload, content_type="application/x-www-form-urlencoded")
    if mode == "json":
        return client.post(path, data=json.dumps(payload), content_type="application/json")
    if mode == "multipart":
        return client.post(path, data=payload, content_type="multipart/form-data")
    return client.post(path, data=payload)


def _upload_first(client, ids: dict, csv: bytes) -> str | None:
    """roster.confirm's first step: a preview, whose token the confirm form carries."""
    response = client.post(
        f"/cohorts/{ids['cohort']}/import",
        data={"kind": "students", "file": (io.BytesIO(csv), "students.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    found = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True))
    return found.group(1) if found else None


def _check_page(response, seen: str) -> None:
    assert response.status_code < 500, seen
    if response.mimetype.startswith(("text/", "application/json")):
        text = response.get_data(as_text=True)
        echoed = fuzzing.REFLECTED.search(text)
        assert echoed is None, f"unescaped {echoed.group(0)!r} in {seen}"
        override = fuzzing.BIDI_OVERRIDE.search(text)
        assert override is None, f"bidi control {override.group(0)!r} printed in {seen}"


def _flashed_errors(client) -> list[str]:
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return [message for category, message in flashes if category == "error"]


def _describe(mode, payload) -> str:
    def short(value):
        if isinstance(value, tuple):
            return f"<file {value[1]!r}>"
        text = repr(value)
        return text if len(text) < 120 else f"{text[:100]}…({len(text)} chars)"

    if isinstance(payload, dict):
        return f"{mode}: " + ", ".join(f"{k!r}={short(v)}" for k, v in payload.items())
    return f"{mode}: {short(payload)}"


# --- the property ----------------------------------------------------------------------------


@pytest.mark.fuzz
@pytest.mark.parametrize(("endpoint", "role"), list(_cases()))
def test_form_survives_hostile_input(app, db, world, monkeypatch, tmp_path, endpoint, role):
    target = TARGETS[endpoint]
    # Exports are rendered by workers; here nothing is queued (and no shared Redis touched).
    monkeypatch.setattr(tasks, "run_export", lambda job_id: None)
    monkeypatch.setattr("clerkship.roster.pending._folder", lambda: tmp_path)
    seeds.load_shipped()
    ids = _records(world, db, target)
    path = target.path.format(**ids)
    browser = _browser(app, world, db, role, target)
    form = _form(browser, target, path, ids)
    emails = sorted(u.email for u in db.session.query(User).filter(User.email.is_not(None)))
    db.session.commit()
    instrument = json.loads(seeds._shipped("patient-feedback.json").read_text("utf-8"))
    strategy = submissions(form, target, emails, instrument)
    upload = fuzzing.csv_file(["email", "name", "external_id"])
    connection = db.engines[None]
    baseline = fuzzing.snapshot(connection, db.metadata)  # every example starts from here
    writes = fuzzing.Writes(connection)
    # A form without fields has less to vary.
    examples = EXAMPLES if len(form.fields) > 0 else max(3, EXAMPLES // 3)

    @settings(FUZZ, max_examples=examples)
    @given(st.data())
    def example(data):
        with fuzzing.rolled_back(connection):
            limiter.reset()  # a refused password counts; five would make the rest 429s
            client = _copy(app, browser)
            state = baseline
            if target.before == "upload":
                writes.seen = False
                token = _upload_first(client, ids, data.draw(upload, label="roster"))
                form.fields["token"].value = token or ""
                if writes.seen:
                    state = fuzzing.snapshot(connection, db.metadata)
            for _ in range(data.draw(st.integers(1, 2), label="submissions")):
                mode, payload = data.draw(strategy, label="submission")
                writes.seen = False
                response = _post(client, path, mode, payload)
                seen = f"{endpoint} as {role}: {response.status_code} after " + _describe(
                    mode, payload
                )
                _check_page(response, seen)
                refused = bool(_flashed_errors(client)) or response.status_code >= 400
                if writes.seen:  # else nothing was even tried, so nothing was half-written
                    after = fuzzing.snapshot(connection, db.metadata)
                    if refused or target.read_only:
                        changed = fuzzing.changes(state, after, REFUSAL_AUDIT)
                        assert not changed, f"refused but wrote {changed} — {seen}"
                    state = after
                if response.status_code in (301, 302, 303):
                    # Where the person lands shows what was saved: stored, still escaped?
                    writes.seen = False
                    location = urlsplit(response.headers["Location"])
                    landing = client.get(location.path, query_string=location.query)
                    _check_page(landing, f"{location.path} after {seen}")
                    if writes.seen:
                        state = fuzzing.snapshot(connection, db.metadata)

    try:
        example()
    finally:
        writes.close()
