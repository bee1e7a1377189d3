"""Issue 16: every role walks the pages of its main jobs at 1280 and 390 px; axe-core finds no
serious or critical violation on any of them and none scrolls sideways.

A walk opens the role's own pages (``Walk.seeds``) and follows, for each pattern in
``Walk.follow``, the first link on a visited page whose path matches it — the records a user of
that role would open next (a goal, an assessment, a student...). Every pattern must be
reached, so a walk cannot silently shrink when a page loses a link.

The school sign-in refusal pages need an IdP, which this server has not: the SAML ones are
checked the same way (axe, no sideways scroll, both widths) in test_saml_sign_in.py.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest

from tests.browser.conftest import ARTIFACTS, axe_problems, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"
WIDTHS = (1280, 390)
LINKS = "els => els.map(a => a.getAttribute('href'))"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@dataclass(frozen=True)
class Walk:
    email: str | None  # None: signed out
    seeds: tuple[str, ...]
    follow: tuple[str, ...] = ()


WALKS = {
    # Signed out: where every role starts, and the page anyone checks an export on.
    "visitor": Walk(
        None, seeds=("/sign-in", "/account/forgot-password", "/verify", "/credentials/verify")
    ),
    "student": Walk(
        f"student01@{DOMAIN}",
        seeds=(
            "/",
            "/goals/",
            "/goals/new",
            "/assessments/",
            "/panel/",
            "/reflections/",
            "/reflections/new",
            "/account/sessions",
            "/account/password",
        ),
        follow=(
            r"/goals/\d+",
            r"/goals/\d+/history",
            r"/goals/\d+/edit",
            r"/goals/\d+/share",
            r"/assessments/new",
            r"/assessments/\d+",
            r"/assessments/\d+/self",
            r"/portfolios/\d+",
            r"/assessments/calibration/\d+",
            r"/panel/\d+/feedback",
            r"/panel/entries/\d+",
        ),
    ),
    "preceptor": Walk(
        f"preceptor01@{DOMAIN}",
        seeds=("/", "/goals/", "/assessments/", "/account/sessions"),
        follow=(
            r"/students/\d+",
            r"/goals/\d+",
            r"/goals/\d+/history",
            r"/assessments/\d+",
            r"/assessments/new",
            r"/assessments/\d+/addenda",
            r"/panel/\d+/feedback",
            r"/portfolios/\d+",
            r"/assessments/calibration/\d+",
        ),
    ),
    "director": Walk(
        f"director@{DOMAIN}",
        seeds=("/", "/students", "/frameworks", "/integrity", "/audit/", "/account/sessions"),
        follow=(
            r"/cohorts/\d+",
            r"/cohorts/\d+/dashboard",
            r"/cohorts/\d+/import",
            r"/cohorts/\d+/edit",
            r"/students/\d+",
            r"/students/\d+/pairings",
            r"/people/\d+/deactivate",
            r"/panel/\d+",
            r"/portfolios/\d+",
            r"/assessments/calibration/\d+",
            r"/programs/\d+",
            r"/programs/\d+/edit",
            r"/programs/\d+/instrument",
            r"/programs/\d+/cohorts/new",
            r"/programs/\d+/api-tokens",
            r"/frameworks/\d+",
        ),
    ),
    "admin": Walk(
        f"admin@{DOMAIN}",
        seeds=(
            "/",
            "/admin/people/",
            "/admin/people/new",
            "/audit/",
            "/frameworks",
            "/frameworks/import",
            "/integrity",
            "/programs/new",
            "/account/sessions",
        ),
        follow=(
            r"/admin/people/\d+",
            r"/people/\d+/deactivate",
            r"/programs/\d+",
            r"/programs/\d+/edit",
            r"/cohorts/\d+",
            r"/frameworks/\d+",
        ),
    ),
    "patient": Walk(
        f"patient@{DOMAIN}",
        seeds=("/", "/account/sessions", "/account/password"),
        follow=(r"/goals/\d+",),
    ),
}


def _check(page, base: str, path: str, width: int) -> list[str]:
    """Opens the page; what axe-core and the width check find wrong with it."""
    response = page.goto(base + path)
    if response is None or response.status != 200:
        return [f"{path} @{width}: HTTP {response and response.status}"]
    problems = [f"{path} @{width}: {p}" for p in axe_problems(page)]
    if not page.evaluate(FITS):
        wide = page.evaluate("document.documentElement.scrollWidth")
        problems.append(f"{path} @{width}: {wide} px wide in a {width} px window")
    return problems


def _walk(page, base: str, walk: Walk, width: int, problems: list[str]) -> list[str]:
    """Checks the seeds and the links they lead to; returns the paths, in visiting order."""
    queue, visited, pending = list(walk.seeds), [], list(walk.follow)
    while queue:
        path = queue.pop(0)
        problems += _check(page, base, path, width)
        visited.append(path)
        hrefs = page.eval_on_selector_all("a[href^='/']", LINKS)
        for pattern in list(pending):
            found = next(
                (h for h in hrefs if re.fullmatch(pattern, h.split("#")[0].split("?")[0])), None
            )
            if found:
                pending.remove(pattern)
                queue.append(found.split("#")[0])
    assert pending == [], f"no link reached {pending}"
    return visited


@pytest.mark.parametrize("role", list(WALKS))
def test_every_page_of_the_role_is_accessible_at_both_widths(browser, live_server, role):
    walk, started = WALKS[role], time.perf_counter()
    paths: list[str] = []
    problems: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            if walk.email:
                sign_in(page, live_server, walk.email)
                page.wait_for_url(f"{live_server}/")
            if not paths:
                paths = _walk(page, live_server, walk, width, problems)
            else:
                for path in paths:
                    problems += _check(page, live_server, path, width)
        finally:
            context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "every-role-axe.txt").open("a") as figures:
        figures.write(
            f"{role}: {len(paths)} pages x {len(WIDTHS)} widths in "
            f"{time.perf_counter() - started:.1f} s: {' '.join(paths)}\n"
        )
    assert problems == []
