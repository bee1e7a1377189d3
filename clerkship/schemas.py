"""Uploaded JSON files checked against the JSON Schemas in ``clerkship/data/schemas/``, each
problem said in plain words with where it is (``items[2].prompt.es must be text``).

The schema says what a file may hold (types, required fields, sizes); the importers keep the
rules a schema cannot say (values in order, keys unique). A schema may say a rule in its own
words with ``"x-messages": {"minItems": "must list …"}`` (JSON Schema ignores keywords it
does not know).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

MAX_DEPTH = 16  # no valid file nests deeper; a 900-level list is refused before validation
MAX_PROBLEMS = 20

_KINDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "object": 'an object {"…": …}',
    "array": "a list […]",
    "boolean": "true or false",
}


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    text = (resources.files("clerkship") / "data" / "schemas" / f"{name}.schema.json").read_text(
        "utf-8"
    )
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(path) -> str:
    where = ""
    for part in path:
        where += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if where else part)
    return where or "the file"


def _too_deep(data) -> str | None:
    """Where ``data`` nests deeper than MAX_DEPTH (walked without recursion), or None."""
    stack = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return _where(path)
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return None


def _plain(error: ValidationError) -> str:
    where = _where(error.absolute_path)
    rule, wanted, found = error.validator, error.validator_value, error.instance
    # A schema may say a rule in its own words: "x-messages": {"minItems": "must list …"}.
    own_words = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    if rule in own_words:
        return f"{where} {own_words[rule]}"
    if rule == "type":
        return f"{where} must be {_KINDS.get(str(wanted), wanted)}"
    if rule == "required":
        missing = [name for name in wanted if name not in found]
        return f"{where} needs {', '.join(missing)}"
    if rule == "additionalProperties" and isinstance(found, dict):
        known = error.schema.get("properties", {})
        extra = sorted(str(name) for name in found if name not in known)
        return f"{where} has fields that are not used: {', '.join(extra)[:200]}"
    if rule == "propertyNames":
        return f"{where}: “{str(found)[:40]}” is not a language code such as en or es"
    limits = {
        "minItems": f"{where} needs at least {wanted} entries",
        "maxItems": f"{where} may have at most {wanted} entries",
        "minLength": f"{where} must not be empty",
        "maxLength": f"{where} may be at most {wanted} characters long",
        "minimum": f"{where} must be at least {wanted}",
        "maximum": f"{where} must be at most {wanted}",
        "minProperties": f"{where} needs at least {wanted} texts",
        "maxProperties": f"{where} may have at most {wanted} texts",
    }
    return limits.get(str(rule), f"{where}: {error.message[:200]}")


def problems(data, schema: str) -> list[str]:
    """What is wrong with ``data`` for the schema named ``schema``; empty when it fits."""
    deep = _too_deep(data)
    if deep is not None:
        return [f"{deep} is nested more than {MAX_DEPTH} levels deep"]
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.path)))
    found = list(dict.fromkeys(_plain(error) for error in errors))  # "required": one per name
    if len(found) > MAX_PROBLEMS:
        found = [*found[:MAX_PROBLEMS], f"and {len(found) - MAX_PROBLEMS} more problems"]
    return found
