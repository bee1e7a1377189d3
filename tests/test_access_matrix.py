"""Every route × every role × own/other record → the expected status.

Every endpoint in ``app.url_map`` must be classified here, or ``test_every_route_is_classified``
fails: no future route can escape the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from clerkship import clock, signing_keys
from clerkship.auth.login import SCRIPT_ENDPOINTS
from clerkship.models import AuditEvent, Framework
from tests.conftest import TEST_PASSWORD, login

ROLES = ("student", "preceptor", "patient", "director", "admin")
ALL = frozenset(ROLES)


@dataclass(frozen=True)
class Route:
    """How to reach an endpoint and who may.

    ``own``: roles that get ``ok`` on a record of their own program/relationship;
    ``other``: roles that get ``ok`` on the other program's record (everyone else gets 404).
    Routes without a record use ``own`` only.
    """

    path: str  # format string filled from the target record's ids
    own: frozenset = field(default_factory=frozenset)
    other: frozenset | None = None  # None: the route has no record to be "other"
    method: str = "GET"
    ok: int = 200
    public: bool = False


GOAL_VOICES = frozenset({"student", "preceptor", "patient"})
GOAL_READERS = GOAL_VOICES | {"director"}
ASSESSMENT_READERS = frozenset({"student", "preceptor", "director"})
PANEL_KEEPERS = frozenset({"student", "director"})

MATRIX: dict[str, Route] = {
    "static": Route("/static/css/app.css", public=True),
    "auth.sign_in": Route("/sign-in", public=True),
    "auth.sign_out": Route("/sign-out", own=ALL, method="POST", ok=302),
    "auth.change_password": Route("/account/password", own=ALL),
    "auth.sessions_list": Route("/account/sessions", own=ALL),
    "auth.end_other_sessions": Route(
        "/account/sessions/end-others", own=ALL, method="POST", ok=302
    ),
    "auth.keep_alive": Route("/account/keep-alive", own=ALL, method="POST", ok=204),
    "auth.forgot_password": Route("/account/forgot-password", public=True),
    # School sign-in is off here (no OIDC_ISSUER): every school route answers 404 and the fresh
    # sign-in asks for a session first. With a provider, tests/sso/test_access.py covers them.
    "sso.start": Route("/sign-in/school", public=True, ok=404),
    "sso.callback": Route("/sign-in/school/callback?code=x&state=y", public=True, ok=404),
    "sso.confirm": Route("/sign-in/school/confirm?next=/", own=frozenset()),
    # SAML is off here too (no SAML_IDP_METADATA), but the SP metadata answers: a school's IT
    # needs it before they can send theirs. With an IdP, tests/sso/test_access.py covers them.
    "sso.saml_metadata": Route("/sso/saml/metadata", public=True),
    "sso.saml_start": Route("/sign-in/school/saml", public=True, ok=404),
    "sso.saml_acs": Route("/sso/saml/acs", public=True, method="POST", ok=404),
    "sso.saml_slo": Route("/sso/saml/slo?SAMLRequest=x", public=True, ok=404),
    "home.index": Route("/", own=ALL),
    "directory.student": Route(
        "/students/{student}",
        own=ALL,  # self, their preceptor, their patient, their director, admin
        other=frozenset({"admin"}),
    ),
    "directory.program": Route(
        "/programs/{program}", own=frozenset({"director", "admin"}), other=frozenset({"admin"})
    ),
    "directory.cohort": Route(
        "/cohorts/{cohort}", own=frozenset({"director", "admin"}), other=frozenset({"admin"})
    ),
    "directory.instrument": Route(
        "/programs/{program}/instrument",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "directory.dashboard": Route(
        "/cohorts/{cohort}/dashboard", own=frozenset({"director"}), other=frozenset()
    ),
    "reflections.index": Route("/reflections/", own=frozenset({"student"})),
    "reflections.new": Route("/reflections/new", own=frozenset({"student"})),
    "reflections.edit": Route(
        "/reflections/{reflection}/edit", own=frozenset({"student"}), other=frozenset()
    ),
    "roster.template": Route(
        "/roster/templates/students.csv", own=frozenset({"director", "admin"})
    ),
    "roster.upload": Route(
        "/cohorts/{cohort}/import", own=frozenset({"director"}), other=frozenset()
    ),
    "roster.confirm": Route(
        "/cohorts/{cohort}/import/confirm",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "roster.cancel": Route(
        "/cohorts/{cohort}/import/cancel",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    # Reached from an e-mailed link; a forged token is a 404 for everyone.
    "auth.set_password": Route("/account/set-password/not-a-token", public=True, ok=404),
    "people.pair": Route(
        "/students/{student}/pairings", own=frozenset({"director"}), other=frozenset()
    ),
    "people.end_pairing": Route(
        "/assignments/{assignment}/end",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "people.deactivate": Route(  # GET asks; POST with confirmed=yes deactivates
        "/people/{student}/deactivate",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "people.reactivate": Route(
        "/people/{student}/reactivate",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
        method="POST",
        ok=302,
    ),
    "people.reset_password": Route(
        "/people/{student}/reset-password",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
        method="POST",
        ok=302,
    ),
    "integrity.jwks": Route("/.well-known/jwks.json", public=True),
    "integrity.page": Route("/integrity", own=frozenset({"director", "admin"})),
    "integrity.check_now": Route(
        "/integrity/check", own=frozenset({"director", "admin"}), method="POST", ok=302
    ),
    "reminders.unsubscribe": Route("/digest/unsubscribe/forged", public=True, ok=404),
    "reminders.remind_person": Route(
        "/people/{student}/remind",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
        method="POST",
        ok=302,
    ),
    "reminders.remind_cohort": Route(
        "/cohorts/{cohort}/remind",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "directory.new_program": Route("/programs/new", own=frozenset({"admin"})),
    "directory.edit_program": Route(
        "/programs/{program}/edit",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "directory.new_cohort": Route(
        "/programs/{program}/cohorts/new",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "directory.edit_cohort": Route(
        "/cohorts/{cohort}/edit",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "directory.frameworks": Route("/frameworks", own=frozenset({"director", "admin"})),
    "directory.search_students": Route("/students?q=student", own=frozenset({"director"})),
    # Goals: the "own" goal is shared with the student's preceptor and panel patient.
    "goals.index": Route("/goals/", own=frozenset({"student", "preceptor", "patient"})),
    "goals.new": Route("/goals/new", own=frozenset({"student"})),
    "goals.show": Route("/goals/{goal}", own=GOAL_READERS, other=frozenset()),
    "goals.history": Route("/goals/{goal}/history", own=GOAL_READERS, other=frozenset()),
    "goals.edit": Route("/goals/{goal}/edit", own=frozenset({"student"}), other=frozenset()),
    "goals.share": Route("/goals/{goal}/share", own=frozenset({"student"}), other=frozenset()),
    "goals.close": Route("/goals/{goal}/close", own=frozenset({"student"}), other=frozenset()),
    # Empty POSTs: those allowed in get their form back (400); everyone else 404.
    "goals.add_note": Route(
        "/goals/{goal}/notes", own=GOAL_VOICES, other=frozenset(), method="POST", ok=400
    ),
    "goals.suggest": Route(
        "/goals/{goal}/suggestions", own=GOAL_VOICES, other=frozenset(), method="POST", ok=400
    ),
    "goals.accept_suggestion": Route(
        "/goals/{goal}/suggestions/{suggestion}/accept",
        own=frozenset({"student"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "goals.decline_suggestion": Route(
        "/goals/{goal}/suggestions/{suggestion}/decline",
        own=frozenset({"student"}),
        other=frozenset(),
        method="POST",
        ok=400,
    ),
    "goals.agree": Route(
        "/goals/{goal}/agree",
        own=frozenset({"preceptor"}),
        other=frozenset(),
        method="POST",
        ok=400,  # allowed, but an empty form says no version it was agreed on
    ),
    "goals.endorse": Route(
        "/goals/{goal}/endorse",
        own=frozenset({"patient"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    # Assessments: each step is reached on a cycle that is at that step. Patients never see
    # assessments; directors read them but never rate or sign.
    "assessments.index": Route("/assessments/", own=frozenset({"student", "preceptor"})),
    "assessments.new": Route("/assessments/new", own=frozenset({"student", "preceptor"})),
    "assessments.show": Route("/assessments/{cycle}", own=ASSESSMENT_READERS, other=frozenset()),
    "assessments.self_assess": Route(
        "/assessments/{cycle}/self", own=frozenset({"student"}), other=frozenset()
    ),
    "assessments.rate": Route(
        "/assessments/{cycle}/rate", own=frozenset({"preceptor"}), other=frozenset()
    ),
    "assessments.react": Route(
        "/assessments/{revealed_cycle}/reaction", own=frozenset({"student"}), other=frozenset()
    ),
    "assessments.goal_from_plan": Route(
        "/assessments/{ready_cycle}/goal",
        own=frozenset({"student"}),
        other=frozenset(),
        method="POST",
        ok=400,
    ),
    "assessments.sign": Route(
        "/assessments/{ready_cycle}/sign", own=frozenset({"preceptor"}), other=frozenset()
    ),
    "assessments.return_to_student": Route(
        "/assessments/{ready_cycle}/return",
        own=frozenset({"preceptor"}),
        other=frozenset(),
        method="POST",
        ok=400,
    ),
    "assessments.addendum": Route(
        "/assessments/{signed_cycle}/addenda",
        own=frozenset({"student", "preceptor"}),
        other=frozenset(),
    ),
    "assessments.calibration": Route(
        "/assessments/calibration/{student}", own=ASSESSMENT_READERS, other=frozenset()
    ),
    # Panels: the student manages their own; the director any in their program.
    "panels.mine": Route("/panel/", own=frozenset({"student"}), ok=302),
    "panels.panel": Route("/panel/{student}", own=PANEL_KEEPERS, other=frozenset()),
    "panels.add_patient": Route(
        "/panel/{student}/patients", own=PANEL_KEEPERS, other=frozenset(), method="POST", ok=400
    ),
    "panels.edit_entry": Route("/panel/entries/{entry}", own=PANEL_KEEPERS, other=frozenset()),
    "panels.invite": Route(
        "/panel/entries/{entry}/invitations",
        own=frozenset({"student"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "panels.invitation": Route(
        "/panel/invitations/{invitation}", own=PANEL_KEEPERS, other=frozenset()
    ),
    "panels.revoke": Route(
        "/panel/invitations/{invitation}/revoke",
        own=PANEL_KEEPERS,
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "panels.feedback": Route(
        "/panel/{student}/feedback", own=ASSESSMENT_READERS, other=frozenset()
    ),
    "panels.remove_feedback": Route(
        "/panel/feedback/{feedback}/remove", own=frozenset({"director"}), other=frozenset()
    ),
    # Patients' pages answer only to a valid invitation link; without one they are 404 for
    # everyone (tests/patients covers what a link opens, and that it opens nothing else).
    "visit.open_link": Route("/p/" + "Z" * 32, public=True, ok=404),
    "visit.start": Route("/p/", public=True, ok=404),
    "visit.thanks": Route("/p/thanks", public=True, ok=404),
    "visit.submit_feedback": Route("/p/feedback", public=True, method="POST", ok=404),
    "visit.submit_goal_input": Route("/p/goal", public=True, method="POST", ok=404),
    "visit.confirm_withdraw": Route("/p/withdraw", public=True, ok=404),
    "visit.withdraw": Route("/p/withdraw", public=True, method="POST", ok=404),
    "visit.language": Route("/p/language", public=True, method="POST", ok=404),
    "visit.finish": Route("/p/finish", public=True, method="POST", ok=200),
    # Portfolios: read by the student, their preceptors, their director; exported by the
    # director only; /verify is public by design.
    "portfolios.show": Route("/portfolios/{student}", own=ASSESSMENT_READERS, other=frozenset()),
    "portfolios.export_student": Route(
        "/portfolios/{student}/export",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "portfolios.export_cohort": Route(
        "/cohorts/{cohort}/export",
        own=frozenset({"director"}),
        other=frozenset(),
        method="POST",
        ok=302,
    ),
    "portfolios.cohort_figures": Route(
        "/cohorts/{cohort}/figures.csv", own=frozenset({"director"}), other=frozenset()
    ),
    "portfolios.job": Route("/exports/{job}", own=frozenset({"director"}), other=frozenset()),
    "portfolios.job_status": Route(
        "/exports/{job}/status", own=frozenset({"director"}), other=frozenset()
    ),
    "portfolios.download": Route(
        "/exports/{job}/download", own=frozenset({"director"}), other=frozenset(), ok=302
    ),
    "portfolios.verify": Route("/verify", public=True),
    # Credentials: the student and their director download; preceptors, patients, admins and
    # the other program get 404. The issuer profile, achievement definitions, status lists
    # and the verify page are public (anyone checking a credential needs them).
    "credentials.achievement": Route(
        "/portfolios/{student}/credentials/{signed_cycle}.jwt",
        own=frozenset({"student", "director"}),
        other=frozenset(),
    ),
    "credentials.clr": Route(
        "/portfolios/{student}/credentials/clr.jwt",
        own=frozenset({"student", "director"}),
        other=frozenset(),
    ),
    "credentials.issuer": Route("/credentials/issuers/{program}", public=True),
    "credentials.achievement_definition": Route(
        "/credentials/achievements/{program}/{competency}", public=True
    ),
    "credentials.status_list": Route("/credentials/status/{program}", public=True),
    "credentials.key": Route("/credentials/keys/{key}", public=True),
    "credentials.verify": Route("/credentials/verify", public=True),
    # API tokens: the program's directors and the admins (tests/api covers what a token reads).
    "api_tokens.index": Route(
        "/programs/{program}/api-tokens",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
    ),
    "api_tokens.revoke": Route(
        "/api-tokens/{token}/revoke",
        own=frozenset({"director", "admin"}),
        other=frozenset({"admin"}),
        method="POST",
        ok=302,
    ),
    # The read API answers tokens only: a signed-in session is no key (401 for everyone).
    # Every operation × token role × own/other program: tests/api/test_api_access.py.
    "api-docs.openapi_json": Route("/api/v1/openapi.json", public=True),
    "api.programs": Route("/api/v1/programs", public=True, ok=401),
    "api.cohorts": Route("/api/v1/cohorts", public=True, ok=401),
    "api.people": Route("/api/v1/people", public=True, ok=401),
    "api.frameworks": Route("/api/v1/frameworks", public=True, ok=401),
    "api.goals": Route("/api/v1/goals", public=True, ok=401),
    "api.goal": Route("/api/v1/goals/1", public=True, ok=401),
    "api.assessments": Route("/api/v1/assessments", public=True, ok=401),
    "api.assessment": Route("/api/v1/assessments/1", public=True, ok=401),
    "api.feedback": Route("/api/v1/students/1/feedback-summary", public=True, ok=401),
    "api.portfolio": Route("/api/v1/students/1/portfolio", public=True, ok=401),
    # The admin's account pages (directors keep their program-scoped student pages).
    "accounts.index": Route("/admin/people/", own=frozenset({"admin"})),
    "accounts.new": Route("/admin/people/new", own=frozenset({"admin"})),
    "accounts.edit": Route(
        "/admin/people/{student}", own=frozenset({"admin"}), other=frozenset({"admin"})
    ),
    # The audit log: the admin all of it, a director their programs' students' rows (the rows
    # are scoped by permissions.audit_events_visible_to; tests/test_auditlog.py checks which).
    "auditlog.index": Route("/audit/", own=frozenset({"director", "admin"})),
    "auditlog.export": Route("/audit/export.csv", own=frozenset({"director", "admin"})),
    "directory.framework": Route(
        "/frameworks/{framework}",
        own=frozenset({"director", "admin"}),
        other=frozenset({"director", "admin"}),  # frameworks are shared set-up data
    ),
    "frameworks.download": Route(
        "/frameworks/{framework}/export/ctdl-asn.json",
        own=frozenset({"director", "admin"}),
        other=frozenset({"director", "admin"}),
    ),
    # Frameworks are shared by every program: only an administrator imports one.
    "frameworks.upload": Route("/frameworks/import", own=frozenset({"admin"})),
    "frameworks.confirm": Route(
        "/frameworks/import/confirm", own=frozenset({"admin"}), method="POST", ok=302
    ),
    "frameworks.cancel": Route(
        "/frameworks/import/cancel", own=frozenset({"admin"}), method="POST", ok=302
    ),
}


# Pages that are also forms (GET shows, POST saves): both methods are tried, an empty POST
# included, so the rule that guards the page also guards the write.
FORM_PAGES = frozenset(
    {
        "people.deactivate",
        "auth.change_password",
        "directory.instrument",
        "directory.new_program",
        "directory.edit_program",
        "directory.new_cohort",
        "directory.edit_cohort",
        "goals.new",
        "goals.edit",
        "goals.share",
        "goals.close",
        "assessments.new",
        "assessments.self_assess",
        "assessments.rate",
        "assessments.react",
        "assessments.sign",
        "assessments.addendum",
        "panels.edit_entry",
        "panels.remove_feedback",
        "reflections.new",
        "reflections.edit",
        "roster.upload",
        "frameworks.upload",
        "people.pair",
        "api_tokens.index",
        "accounts.new",
        "accounts.edit",
    }
)
# An allowed empty POST gets its form back (200/400/409/422) or is done (302); never a 404/5xx.
POST_ANSWERS = frozenset({200, 302, 400, 409, 422})


def test_every_form_page_is_tried_with_post(app):
    both = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if {"GET", "POST"} <= rule.methods and not MATRIX[rule.endpoint].public
    }
    assert both == FORM_PAGES


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = endpoints - MATRIX.keys()
    assert not unclassified, f"add these endpoints to the access matrix: {sorted(unclassified)}"
    stale = MATRIX.keys() - endpoints
    assert not stale, f"these matrix entries no longer exist: {sorted(stale)}"


def _goal(world, side: str, db):
    from clerkship.goals import service
    from clerkship.models import LearningGoal

    part = world[side]
    goal = db.session.scalar(
        select(LearningGoal).where(LearningGoal.student_id == part["student"].id)
    )
    if goal is None:
        goal = service.create_goal(part["student"], service.GoalText(title=f"Goal {side}"), [])
        service.share_goal(part["student"], goal, [part["preceptor"], part["patient"]])
        service.suggest(part["preceptor"], goal, "title", f"Better goal {side}")
        db.session.commit()
    return goal


def _cycles(world, side: str, db) -> dict:
    """One cycle per step: open, revealed, waiting for signature, signed."""
    from clerkship import seeds
    from clerkship.assessments import service
    from clerkship.models import AssessmentCycle, CycleStatus

    part = world[side]
    existing = db.session.scalars(
        select(AssessmentCycle)
        .where(AssessmentCycle.student_id == part["student"].id)
        .order_by(AssessmentCycle.id)
    ).all()
    if not existing:
        seeds.load_shipped()
        part["program"].scale = seeds.default_scale()
        competency = db.session.scalar(select(Framework).where(Framework.code == "aamc-core-epas"))
        levels = part["program"].scale.levels
        # The signed cycle's preceptor level is an entrustment decision (its credential).
        part["program"].entrustment_value = levels[1].value
        student, preceptor = part["student"], part["preceptor"]
        for until in range(4):
            cycle = service.start_cycle(
                student,
                student=student,
                preceptor=preceptor,
                competency_id=competency.competencies[0].id,
                encounter="Clinic",
            )
            if until >= 1:
                service.submit_self_assessment(
                    student, cycle, service.SelfRating(levels[2].id, "evidence")
                )
                service.submit_preceptor_assessment(
                    preceptor, cycle, level_id=levels[1].id, went_well="a", work_on="b"
                )
            if until >= 2:
                service.record_reaction(student, cycle, reaction="r", plan="p")
            if until >= 3:
                service.sign(
                    preceptor, cycle, password=TEST_PASSWORD, meaning="cosigned_supervisor"
                )
            existing.append(cycle)
        db.session.commit()
        assert existing[-1].status is CycleStatus.SIGNED
    return {
        "cycle": existing[0].id,
        "revealed_cycle": existing[1].id,
        "ready_cycle": existing[2].id,
        "signed_cycle": existing[3].id,
        "competency": existing[3].competency_id,
    }


def _panel_records(world, side: str, db) -> dict:
    """The side's panel entry, an invitation and a feedback response."""
    from clerkship import seeds
    from clerkship.models import InvitationPurpose, PanelEntry, PatientFeedback
    from clerkship.panels import service

    part = world[side]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.student_id == part["student"].id)
    )
    feedback = db.session.scalar(
        select(PatientFeedback).where(PatientFeedback.student_id == part["student"].id)
    )
    if feedback is None:
        seeds.load_shipped()
        invitation, _token = service.create_invitation(
            part["student"], entry, InvitationPurpose.FEEDBACK
        )
        feedback = PatientFeedback(
            instrument_id=seeds.default_instrument().id,
            patient_id=part["patient"].id,
            student_id=part["student"].id,
            invitation_id=invitation.id,
        )
        db.session.add(feedback)
        db.session.commit()
    return {"entry": entry.id, "invitation": feedback.invitation_id, "feedback": feedback.id}


def _export_job(world, side: str, db) -> int:
    """A queued (not yet rendered) export of the side's student by their director."""
    from clerkship.models import ExportJob
    from clerkship.portfolios import service

    part = world[side]
    job = db.session.scalar(select(ExportJob).where(ExportJob.student_id == part["student"].id))
    if job is None:
        job = service.start_export(part["director"], student=part["student"])
        db.session.commit()
    return job.id


def _assignment(world, side: str, db) -> int:
    from clerkship.models import Assignment

    return db.session.scalar(
        select(Assignment.id).where(Assignment.student_id == world[side]["student"].id)
    )


def _reflection(world, side: str, db) -> int:
    from clerkship.reflections import service

    reflection = service.write(world[side]["student"], "Night shift", "What I learned", True)
    db.session.commit()
    return reflection.id


def _api_token(world, side: str, db) -> int:
    from clerkship.api import tokens

    part = world[side]
    token, _secret = tokens.create_token(part["director"], part["program"], f"LMS {side}", 30)
    db.session.commit()
    return token.id


def _ids(world, side: str, db, path: str = "") -> dict:
    part = world[side]
    goal = _goal(world, side, db)
    framework = db.session.scalar(select(Framework).where(Framework.code == f"fw-{side}"))
    if framework is None:
        framework = Framework(code=f"fw-{side}", name=f"Framework {side}")
        db.session.add(framework)
        db.session.commit()
    return {
        "student": part["student"].id,
        "program": part["program"].id,
        "cohort": part["cohort"].id,
        "framework": framework.id,
        "goal": goal.id,
        "suggestion": goal.contributions[0].id,
        # Cycles cost a few services calls each: made only for the routes that need them.
        **(_cycles(world, side, db) if "cycle}" in path or "credentials/" in path else {}),
        **(_panel_records(world, side, db) if "/panel/" in path else {}),
        **({"job": _export_job(world, side, db)} if "{job}" in path else {}),
        **({"assignment": _assignment(world, side, db)} if "{assignment}" in path else {}),
        **({"reflection": _reflection(world, side, db)} if "{reflection}" in path else {}),
        **({"token": _api_token(world, side, db)} if "{token}" in path else {}),
        **({"key": signing_keys.ring().kid} if "{key}" in path else {}),
    }


def _cases():
    for endpoint, route in sorted(MATRIX.items()):
        methods = [route.method] + (["POST"] if endpoint in FORM_PAGES else [])
        for method in methods:
            suffix = "" if method == route.method else "-post"
            yield pytest.param(endpoint, None, "own", method, id=f"{endpoint}{suffix}-anonymous")
            if route.public:
                continue
            for role in ROLES:
                yield pytest.param(
                    endpoint, role, "own", method, id=f"{endpoint}{suffix}-{role}-own"
                )
                if route.other is not None:
                    yield pytest.param(
                        endpoint, role, "other", method, id=f"{endpoint}{suffix}-{role}-other"
                    )


@pytest.mark.parametrize(("endpoint", "role", "relation", "method"), list(_cases()))
def test_access(client, db, world, endpoint, role, relation, method):
    """``mine`` is the actor's program; ``other`` is a second program with its own director,
    student, preceptor and patient, whose records every role of ``mine`` must find 404."""
    route = MATRIX[endpoint]
    side = "mine" if relation == "own" else "other"
    path = route.path.format(**_ids(world, side, db, route.path))
    if role is not None:
        user = world["admin"] if role == "admin" else world["mine"][role]
        login(client, user)
    response = client.open(path, method=method)
    response.close()  # static files are streamed from an open file
    if method != route.method and role is not None:  # the POST of a form page
        allowed = route.own if relation == "own" else route.other or frozenset()
        if role in allowed:
            assert response.status_code in POST_ANSWERS, f"{role} {relation} POST {path}"
        else:
            assert response.status_code == 404, f"{role} {relation} POST {path}"
        return

    if route.public:
        expected = route.ok
    elif role is None and endpoint in SCRIPT_ENDPOINTS:
        expected = 401  # a script asked: it shows its own notice
    elif role is None:
        expected = 302  # to the sign-in page
    else:
        allowed = route.own if relation == "own" else route.other
        expected = route.ok if role in allowed else 404
    assert response.status_code == expected, f"{role} {relation} {route.method} {path}"
    if expected == 302 and role is None:
        assert response.headers["Location"].startswith("/sign-in")


def test_preceptor_keeps_read_only_access_after_the_assignment_ends(client, db, world):
    from datetime import timedelta

    from clerkship.models import Assignment
    from clerkship.permissions import can_supervise_student, can_view_student

    mine = world["mine"]
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == mine["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    assert can_view_student(mine["preceptor"], mine["student"])
    assert not can_supervise_student(mine["preceptor"], mine["student"])
    login(client, mine["preceptor"])
    assert client.get(f"/students/{mine['student'].id}").status_code == 200


def test_patient_loses_access_when_the_panel_entry_ends(client, db, world):
    from datetime import timedelta

    from clerkship.models import PanelEntry

    mine = world["mine"]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == mine["patient"].id)
    )
    entry.end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    login(client, mine["patient"])
    assert client.get(f"/students/{mine['student'].id}").status_code == 404


def test_opening_another_persons_record_is_audited(client, db, world):
    mine = world["mine"]
    student_id = mine["student"].id

    def views():
        return db.session.scalars(
            select(AuditEvent.actor_id)
            .where(
                AuditEvent.action == "record.viewed",
                AuditEvent.object_type == "user",
                AuditEvent.object_id == student_id,
            )
            .order_by(AuditEvent.id)  # PostgreSQL returns rows in no set order without one
        ).all()

    login(client, mine["student"])
    client.get(f"/students/{student_id}")
    assert views() == []  # reading one's own record is not logged
    client.post("/sign-out")

    for viewer in ("director", "preceptor"):
        login(client, mine[viewer])
        assert client.get(f"/students/{student_id}").status_code == 200
        client.post("/sign-out")
    assert views() == [mine["director"].id, mine["preceptor"].id]

    # A refused look is a 404 and leaves no "viewed" record.
    login(client, world["other"]["director"])
    assert client.get(f"/students/{student_id}").status_code == 404
    assert len(views()) == 2
