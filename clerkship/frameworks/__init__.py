"""Competency frameworks as schools publish them: trees of nodes with stable URIs, read from
CTDL-ASN JSON-LD, 1EdTech CASE 1.1 JSON and Clerkship's own CSV/JSON (:mod:`.formats`),
compared with what is stored (:mod:`.planner`) and written back out (:mod:`.export`).
Formats and mapping: docs/data-formats.md."""

from flask import Blueprint

bp = Blueprint("frameworks", __name__)

from clerkship.frameworks import views  # noqa: E402,F401
