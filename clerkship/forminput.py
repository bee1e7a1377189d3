"""What a submission may carry: the fields of an HTML form, as text that can be stored.

- NUL characters are taken out of every submitted field name and value (form and query
  string). Nobody types them; PostgreSQL cannot store them in text and refuses the whole
  statement (a 500 that lost everything typed). Without them the rest of what was typed is
  validated and saved as usual, or comes back beside its field.
- Ids, in forms and in URLs, are whole numbers the database can hold: a larger one is no id
  at all (PostgreSQL's INTEGER is 32 bits and refuses 99999999999 with an error; SQLite
  stops at 64 bits), so it is "not found" rather than a 500.
- Flask-WTF reads a JSON body as if it were the form, so ``{"title": 5}`` or a bare ``false``
  would reach validators and services as numbers, booleans, lists or dicts where only text
  is expected. No page or script of the app posts JSON, so a JSON body is refused (415).
"""

from __future__ import annotations

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


def _without_nul(text):
    return text.replace("\x00", "") if isinstance(text, str) else text


class SubmittedFields(ImmutableMultiDict):
    """Werkzeug builds ``request.form``, ``request.args`` and ``request.files`` from
    (name, value) pairs with this class: the pairs are cleaned on the way in."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):
            mapping = [(_without_nul(name), _without_nul(value)) for name, value in mapping]
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
