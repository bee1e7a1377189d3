"""Locust users for ``bench/load_bench.py``: the four roles doing their main journeys.

``load_bench.py`` builds the demo year, starts gunicorn and writes the plan this file reads
from ``LOAD_PLAN`` (JSON: sign-ins by role, the password, fresh patient links). Every simulated
person behaves like a browser: they sign in once (the form fetched first for its CSRF token),
follow redirects one request at a time (each HTTP request is measured on its own, as a
browser makes it), fill forms from the page they were given and pause between pages
(``LOAD_THINK`` = "min,max" seconds; "0,0" measures capacity). Every request is recorded with
its role and written to ``LOAD_SAMPLES`` (JSON) when Locust quits.

``Hello`` asks the hello-world Flask app (``bench/hello_app.py``) for ``/``: the baseline.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import time
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, between, events, task

_plan_file = os.environ.get("LOAD_PLAN")
PLAN = json.loads(Path(_plan_file).read_text()) if _plan_file else {}
THINK = tuple(float(s) for s in os.environ.get("LOAD_THINK", "1,4").split(","))
# Single-use invitation links: made in setup through the service layer, and by the simulated
# students during the run; each patient journey uses one up.
PATIENT_LINKS: deque[str] = deque(PLAN.get("patient_tokens", []))
SAMPLES: list[tuple] = []  # (seconds since start, role, request name, milliseconds, error)
RUN: dict[str, float] = {}
LINK = re.compile(r'href="(/[^"#?]*)')
TOKEN = re.compile(r"/p/([A-Za-z0-9_-]{20,})")
IDS = re.compile(r"/\d+(?=/|$)")


class JourneyError(Exception):
    """Not the page a person would have seen (a 4xx/5xx, signed out…): the journey ends."""


# --- recording ------------------------------------------------------------------------------


@events.test_start.add_listener
def _started(**_kwargs) -> None:
    RUN["start"] = time.time()


@events.request.add_listener
def _record(name, response_time, exception, context, start_time=None, **_kwargs) -> None:
    at = (start_time or time.time()) - RUN.get("start", 0)
    error = "" if exception is None else f"{type(exception).__name__}: {exception}"[:300]
    SAMPLES.append((round(at, 3), context.get("role", "?"), name, response_time, error))


@events.test_stop.add_listener
def _stopped(**_kwargs) -> None:
    RUN["stop"] = time.time()


@events.quitting.add_listener
def _write(**_kwargs) -> None:
    if os.environ.get("LOAD_SAMPLES"):
        now = time.time()
        data = {
            "seconds": RUN.get("stop", now) - RUN.get("start", now),
            "samples": SAMPLES,
            "patient_links_left": len(PATIENT_LINKS),
        }
        Path(os.environ["LOAD_SAMPLES"]).write_text(json.dumps(data))


# --- a browser, as far as pages and forms go ------------------------------------------------


@dataclass
class Page:
    path: str
    html: str


class _Forms(HTMLParser):
    """Every <form> on a page with the fields a browser would send as they are."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
            return
        if not self.forms:
            return
        fields, name = self.forms[-1]["fields"], a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                field = fields.setdefault(name, {"kind": kind, "options": [], "chosen": []})
                field["options"].append(a.get("value", "on"))
                if "checked" in a:
                    field["chosen"].append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                fields[name] = {"kind": kind, "value": a.get("value") or ""}
        elif tag == "select" and name:
            self._select = name
            fields[name] = {"kind": "select", "options": [], "chosen": []}
        elif tag == "option" and self._select:
            field = fields[self._select]
            field["options"].append(a.get("value", ""))
            if "selected" in a:
                field["chosen"].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = {"kind": "textarea", "value": ""}

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea]["value"] += data


def find_form(page: Page, action: str = "") -> tuple[str, dict]:
    """(where it posts, what it sends) for the form posting to ``action`` ("" = this page)."""
    parser = _Forms()
    parser.feed(page.html)
    for form in parser.forms:
        if form["action"].split("#")[0] != action:
            continue
        data: dict[str, str | list[str]] = {}
        for name, field in form["fields"].items():
            if field["kind"] == "checkbox":
                if field["chosen"]:
                    data[name] = field["chosen"]
            elif field["kind"] in ("radio", "select"):
                chosen = field["chosen"] or [option for option in field["options"] if option]
                if chosen:
                    data[name] = chosen[0]
            else:
                data[name] = field["value"]
        return action or page.path.split("?")[0], data
    raise JourneyError(f"no form posting to {action or page.path} on {page.path}")


def pattern(path: str) -> str:
    """/goals/31/edit -> /goals/<id>/edit: one endpoint is one line in the figures."""
    return IDS.sub("/<id>", path.split("?")[0].split("#")[0])


class Browser(FastHttpUser):
    abstract = True
    role = "?"
    wait_time = between(*THINK)

    def context(self) -> dict:
        return {"role": self.role}

    def pause(self) -> None:
        """Reading the page before the next click (between the steps of a journey too)."""
        if THINK[1] > 0:
            gevent.sleep(random.uniform(*THINK))

    def _request(self, method: str, path: str, expect: tuple, name: str | None, **kwargs):
        name = name or f"{method} {pattern(path)}"
        with self.client.request(
            method, path, name=name, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code not in expect:
                response.failure(f"{response.status_code}, expected {expect} {location}")
                raise JourneyError(f"{name}: {response.status_code}")
            if "/sign-in" in location and not path.startswith("/sign-in"):
                response.failure(f"signed out: {location}")
                raise JourneyError(f"{name}: signed out")
            return response

    def _follow(self, response, path: str) -> Page:
        while response.status_code in (301, 302, 303):
            # Where the browser goes next: this host's path, without the #fragment.
            location = urlsplit(response.headers["Location"])
            path = location.path + (f"?{location.query}" if location.query else "")
            response = self._request("GET", path, (200, 302), None)
        return Page(path, response.text)

    def page(self, path: str, name: str | None = None) -> Page:
        """A page, following its redirects as a browser does (each request measured)."""
        return self._follow(self._request("GET", path, (200, 302), name), path)

    def submit(
        self, page: Page, action: str = "", *, expect: int = 302, name=None, **values
    ) -> Page:
        """Fill the form on ``page`` (its CSRF token included), post it, open where it leads."""
        target, data = find_form(page, action)
        data.update(values)
        response = self._request("POST", target, (expect,), name, data=data)
        return self._follow(response, target)

    @staticmethod
    def links(page: Page, shape: str) -> list[str]:
        return sorted({link for link in LINK.findall(page.html) if re.fullmatch(shape, link)})

    def visit_one(self, page: Page, shape: str) -> Page | None:
        choices = self.links(page, shape)
        if not choices:
            return None
        self.pause()
        return self.page(random.choice(choices))

    def journey(self, steps) -> None:
        """Run one journey; a wrong page ends it (the failure is already counted)."""
        with contextlib.suppress(JourneyError):
            steps()


class Person(Browser):
    """Someone with an account: signs in once, then does their journeys."""

    abstract = True
    accounts: list[str] = []

    def on_start(self) -> None:
        account = self.accounts[next(self.numbers) % len(self.accounts)]
        form = self.page("/sign-in")
        self.pause()
        self.submit(form, email=account, password=PLAN["password"])


# --- the four roles -------------------------------------------------------------------------


class Student(Person):
    weight = 5
    role = "student"
    accounts = PLAN.get("students", [])
    numbers = itertools.count()

    @task(4)
    def goals(self):
        def steps():
            self.page("/")
            self.pause()
            goal = self.visit_one(self.page("/goals/"), r"/goals/\d+")
            if goal and random.random() < 0.5:
                self.visit_one(goal, r"/goals/\d+/history")

        self.journey(steps)

    @task(2)
    def progress(self):
        """Record progress on a goal their preceptor can see: a POST with its CSRF token."""

        def steps():
            goals = self.links(self.page("/goals/"), r"/goals/\d+")
            for path in random.sample(goals, k=min(3, len(goals))):
                self.pause()
                goal = self.page(path)
                # Shared, not closed: the goal can be closed and takes notes.
                if f'href="{path}/close"' in goal.html and f'action="{path}/notes' in goal.html:
                    self.pause()
                    self.submit(
                        goal,
                        f"{path}/notes",
                        kind="progress_note",
                        body="Two more home visits this week; I led the medication review.",
                    )
                    return

        self.journey(steps)

    @task(2)
    def assessments(self):
        def steps():
            listing = self.page("/assessments/")
            self.visit_one(listing, r"/assessments/\d+")
            if random.random() < 0.5:
                self.visit_one(listing, r"/assessments/calibration/\d+")

        self.journey(steps)

    @task(1)
    def reflection(self):
        def steps():
            form = self.page("/reflections/new")
            self.pause()
            self.submit(
                form,
                title="A home visit",
                body="What happened, what I made of it, and what I will do differently.",
            )

        self.journey(steps)

    @task(1)
    def invite_patient(self):
        """Make an invitation link (and QR code) at a visit; a patient will open it."""

        def steps():
            panel = self.page("/panel/")
            actions = re.findall(r'action="(/panel/entries/\d+/invitations)"', panel.html)
            if not actions:
                return
            self.pause()
            shown = self.submit(panel, random.choice(actions), purpose="feedback")
            found = TOKEN.search(shown.html)
            if not found:
                raise JourneyError("the new link is not on the invitation page")
            PATIENT_LINKS.append(found.group(1))

        self.journey(steps)

    @task(1)
    def overview(self):
        def steps():
            self.visit_one(self.page("/"), r"/students/\d+")

        self.journey(steps)


class Preceptor(Person):
    weight = 3
    role = "preceptor"
    accounts = PLAN.get("preceptors", [])
    numbers = itertools.count()

    @task(3)
    def students(self):
        def steps():
            student = self.visit_one(self.page("/"), r"/students/\d+")
            if student and random.random() < 0.3:
                self.visit_one(student, r"/portfolios/\d+")

        self.journey(steps)

    @task(3)
    def goals(self):
        """Read the goals shared with them; now and then comment on one."""

        def steps():
            goal = self.visit_one(self.page("/goals/"), r"/goals/\d+")
            action = goal and re.search(r'action="(/goals/\d+/notes)', goal.html)
            if action and random.random() < 0.3:
                self.pause()
                self.submit(
                    goal,
                    action.group(1),
                    kind="comment",
                    body="Good plan. Let us look at it together after Thursday's clinic.",
                )

        self.journey(steps)

    @task(2)
    def assessments(self):
        def steps():
            self.visit_one(self.page("/assessments/"), r"/assessments/\d+")

        self.journey(steps)

    @task(1)
    def rate(self):
        """Start an assessment with a student and rate it: narrative first, then the level."""

        def steps():
            form = self.page("/assessments/new")
            self.pause()
            cycle = self.submit(form, encounter="Home visit, Thursday")
            rate = self.visit_one(cycle, r"/assessments/\d+/rate")
            if rate is None:
                raise JourneyError("no rating link on a new assessment")
            self.pause()
            self.submit(
                rate,
                went_well="Clear, kind history taking; the patient felt heard.",
                work_on="Summarise the plan back to the patient before leaving.",
            )

        self.journey(steps)


class Director(Person):
    weight = 1
    role = "director"
    accounts = PLAN.get("directors", [])
    numbers = itertools.count()

    @task(2)
    def dashboard(self):
        def steps():
            self.page("/")
            self.pause()
            self.page(f"/cohorts/{PLAN['cohort']}/dashboard")

        self.journey(steps)

    @task(2)
    def student(self):
        def steps():
            student = self.visit_one(self.page(f"/cohorts/{PLAN['cohort']}"), r"/students/\d+")
            if student:
                self.visit_one(student, r"/assessments/calibration/\d+")

        self.journey(steps)

    @task(2)
    def portfolio(self):
        def steps():
            self.page(f"/portfolios/{random.choice(PLAN['student_ids'])}")

        self.journey(steps)


class Patient(Browser):
    """A continuity patient with an invitation link on their phone: no account, no sign-in."""

    weight = 1
    role = "patient"

    @task
    def answer(self):
        if not PATIENT_LINKS:
            gevent.sleep(1)  # every link is used: wait for a student to make another
            return

        def steps():
            form = self.page(f"/p/{PATIENT_LINKS.popleft()}", name="GET /p/<token>")
            self.pause()
            answers = {f"item-{key}": random.choice("2345") for key in PLAN["patient_items"]}
            thanks = self.submit(
                form,
                "/p/feedback",
                hope_next="To keep explaining things in plain words.",
                show_name=random.choice(["yes", "no"]),
                **answers,
            )
            self.pause()
            self.submit(thanks, "/p/finish", expect=200)

        self.journey(steps)


# --- one page alone, for its capacity (bench/page_bench.py) ----------------------------------


class OnePage(Person):
    """Signs in once (not counted), then asks for one page as fast as it is answered."""

    abstract = True
    path = "/"

    @task
    def ask(self):
        self.journey(lambda: self._request("GET", self.path, (200,), f"page {self.path_name}"))

    @property
    def path_name(self) -> str:
        return pattern(self.path)


class StudentHome(OnePage):
    role = "student"
    accounts = PLAN.get("students", [])
    numbers = itertools.count()


class PreceptorHome(OnePage):
    role = "preceptor"
    accounts = PLAN.get("preceptors", [])
    numbers = itertools.count()


class CohortDashboard(OnePage):
    role = "director"
    accounts = PLAN.get("directors", [])
    numbers = itertools.count()
    path = f"/cohorts/{PLAN.get('cohort')}/dashboard"


class Hello(Browser):
    """The baseline: the same client asking a hello-world Flask app for its one page."""

    role = "hello"

    @task
    def hello(self):
        self.client.get("/", name="GET /")
