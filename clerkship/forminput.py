"""What a submission may carry: the fields of an HTML form, as text that can be stored.

- NUL characters are taken out of every submitted field name and value (form and query
  string). Nobody types them; PostgreSQL cannot store them in text and refuses the whole
  statement (a 500 that lost everything typed). Without them the rest of what was typed is
  validated and saved as usual, or comes back beside its field.
- Bidirectional override and embedding controls (U+202A–U+202E, U+2066–U+2069) are taken
  out too: a right-to-left override makes a file named ``<RLO>gnp.exe`` read as ``exe.png``
  and can turn the rest of a page around. Right-to-left text itself needs none of them
  (the marks U+200E/U+200F stay: they only nudge neutral characters). The same
  :func:`clean_text` serves uploads (roster CSV, instruments) and, through the Jinja
  environment, every page and PDF, so text stored before this rule is shown cleaned.
- Ids, in forms and in URLs, are whole numbers the database can hold: a larger one is no id
  at all (PostgreSQL's INTEGER is 32 bits and refuses 99999999999 with an error; SQLite
  stops at 64 bits), so it is "not found" rather than a 500.
- Flask-WTF reads a JSON body as if it were the form, so ``{"title": 5}`` or a bare ``false``
  would reach validators and services as numbers, booleans, lists or dicts where only text
  is expected. No page or script of the app posts JSON, so a JSON body is refused (415).
"""

from __future__ import annotations

import re

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL


def record_id(value) -> int:
    """An id as submitted in a form field; ValueError if it cannot be one. As ``type=`` of
    ``request.form.get`` a bad one becomes None; as ``coerce=`` of a WTForms field, an error."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"not an id: {value!r}")
    return number


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: /goals/99999999999 matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


# NUL, and the bidi controls that override or embed a direction.
_UNWANTED = dict.fromkeys([0, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_HAS_UNWANTED = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")


def clean_text(text):
    """``text`` without NUL and bidi override/embedding controls; other values unchanged."""
    # Every value a template prints passes here (jinja.py): searching first is several times
    # faster than translating text that holds none, the usual case.
    if isinstance(text, str) and _HAS_UNWANTED.search(text):
        return text.translate(_UNWANTED)
    return text


class SubmittedFields(ImmutableMultiDict):
    """Werkzeug builds ``request.form``, ``request.args`` and ``request.files`` from
    (name, value) pairs with this class: the pairs are cleaned on the way in."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):
            mapping = [(clean_text(name), clean_text(value)) for name, value in mapping]
        super().__init__(mapping)


class FormRequest(Request):
    parameter_storage_class = SubmittedFields


def init_app(app: Flask) -> None:
    app.request_class = FormRequest
    app.url_map.converters["int"] = IdConverter  # before the blueprints add their routes

    @app.before_request
    def _forms_only():
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json:
            abort(415)
