"""Portfolio PDFs with WeasyPrint, fetching nothing but the app's own static files.

The document's base URL is a name that cannot resolve (``.invalid``); the fetcher serves
only paths under ``/static/`` from the app's static folder and stops the render on any
other address: no ``file://``, no network, no ``data:``, no redirects. User text reaches the
template as data and is escaped by Jinja like on every page, so it can never become markup.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
import threading
from base64 import b32encode
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from clerkship import pdf_signing, signatures

BASE_URL = "https://portfolio.clerkship.invalid/"
TEMPLATE_VERSION = "portfolio-6"  # change whenever the PDF's template or CSS changes


class RefusedResource(FatalURLFetchingError):
    """The document asked for something other than our own static files."""


class StaticOnlyFetcher(URLFetcher):
    def __init__(self, static_folder: str):
        super().__init__(allowed_protocols=("https",), allow_redirects=False)
        self.root = Path(static_folder).resolve()
        self.fetched: list[str] = []

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        prefix = urlsplit(BASE_URL)
        if (parts.scheme, parts.netloc) != (prefix.scheme, prefix.netloc) or not (
            parts.path.startswith("/static/")
        ):
            raise RefusedResource(f"refused to fetch {url[:200]}")
        path = (self.root / unquote(parts.path[len("/static/") :])).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RefusedResource(f"refused to fetch {url[:200]}")
        self.fetched.append(parts.path)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    content_hash: str
    file_hash: str


def new_document_id() -> str:
    """Ten random bytes, in groups people can read out: ``ABCD-EFGH-IJKL-MNOP``."""
    raw = b32encode(secrets.token_bytes(10)).decode("ascii")
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def cache_key(data: dict) -> str:
    return hashlib.sha256(
        signatures.canonical({"data": data, "template": TEMPLATE_VERSION})
    ).hexdigest()


_code_fingerprints: dict[tuple[str, ...], str] = {}


def code_fingerprint() -> str:
    """A hash of the code, templates and static files that make a portfolio: a PDF reused
    because no record changed (portfolios.jobs.records_stamp) is never one an older version
    of Clerkship made. Read once per process."""
    app = current_app
    folders = (app.root_path, app.template_folder or "", app.static_folder or "")
    if folders not in _code_fingerprints:
        digest = hashlib.sha256(TEMPLATE_VERSION.encode())
        for folder in folders:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and path.suffix != ".pyc":
                    digest.update(str(path.relative_to(folder)).encode() + b"\0")
                    digest.update(path.read_bytes())
        _code_fingerprints[folders] = digest.hexdigest()
    return _code_fingerprints[folders]


PATIENT_SCALE = [(0, "0"), (25, "25"), (50, "50"), (75, "75"), (100, "100")]


def charts_for(data: dict):
    """Self and preceptor per competency; patients' scores on their own chart (never mixed).

    Charts are keyed by the section's position: codes are unique only within a framework, and
    a portfolio may hold two frameworks that both have, say, "ICS"."""
    from datetime import date as _date

    from clerkship.charts import level_chart

    levels = [tuple(level) for level in data["levels"]]
    charts = {}
    for position, section in enumerate(data["competencies"]):
        points = section["assessments"]
        if not points or not levels:
            continue
        charts[position] = level_chart(
            f"{section['code']}: self and preceptor",
            levels,
            [_date.fromisoformat(p["on"]) for p in points],
            [
                ("Self", "self", "circle", [p["self_level"][0] for p in points]),
                ("Preceptor", "preceptor", "square", [p["preceptor_level"][0] for p in points]),
            ],
        )
    scored = [r for r in data["feedback"]["responses"] if r["score"] is not None]
    patient_chart = None
    if scored:
        patient_chart = level_chart(
            "Patients' scores",
            PATIENT_SCALE,
            [_date.fromisoformat(r["on"]) for r in scored],
            [("Patients", "patient", "diamond", [r["score"] for r in scored])],
            # Different patients' answers: each its own mark, where its date falls.
            time_axis=True,
            joined=False,
        )
    return charts, patient_chart


def verify_address() -> str:
    """Where a reader of the PDF checks it: the site's public address + /verify."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}/verify" if base else ""


STYLESHEET = Path("css") / "portfolio.css"  # under the static folder
_per_thread = threading.local()


def print_stylesheet(static_folder: str) -> tuple[CSS, FontConfiguration]:
    """The print stylesheet, parsed once per thread and again only when the file changes.

    A worker renders many portfolios: parsing the same CSS (and setting up fonts) for each
    was a few percent of every render. WeasyPrint lets parsed stylesheets and a font
    configuration serve many documents; a thread of its own keeps Pango's state unshared.
    """
    path = Path(static_folder) / STYLESHEET
    stamp = (str(path), path.stat().st_mtime_ns)
    cached = getattr(_per_thread, "stylesheet", None)
    if cached is None or cached[0] != stamp:
        fonts = FontConfiguration()
        sheet = CSS(
            string=path.read_text(encoding="utf-8"),
            base_url=f"{BASE_URL}static/{STYLESHEET.as_posix()}",
            url_fetcher=StaticOnlyFetcher(static_folder),
            font_config=fonts,
        )
        cached = _per_thread.stylesheet = (stamp, sheet, fonts)
    return cached[1], cached[2]


def print_html(data: dict, document_id: str, issued_at: str, short_hash: str) -> str:
    charts, patient_chart = charts_for(data)
    return render_template(
        "portfolios/pdf.html",
        data=data,
        charts=charts,
        patient_chart=patient_chart,
        document_id=document_id,
        short_hash=short_hash,
        issued_at=issued_at,
        verify_url=verify_address(),
    )


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """WeasyPrint, tagged PDF/UA, fetching nothing but our static files; (pdf, pages)."""
    static_folder = current_app.static_folder
    sheet, fonts = print_stylesheet(static_folder)
    fetcher = StaticOnlyFetcher(static_folder)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(
        stylesheets=[sheet], font_config=fonts
    )
    return document.write_pdf(pdf_variant="pdf/ua-1"), len(document.pages)


def render_pdf(data: dict, document_id: str, issued_at: str) -> Rendered:
    digest = signatures.content_hash(data)
    unsigned, pages = html_to_pdf(print_html(data, document_id, issued_at, digest[:12]))
    # Signed by the school (PAdES), so a PDF reader itself shows who issued it, unmodified.
    pdf = pdf_signing.sign(unsigned)
    return Rendered(pdf, pages, digest, hashlib.sha256(pdf).hexdigest())
