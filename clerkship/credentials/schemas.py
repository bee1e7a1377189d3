"""The JSON Schemas we wrote from the 1EdTech specifications, as validators."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

HERE = Path(__file__).parent / "schemas"
ACHIEVEMENT = "achievement_credential.schema.json"
CLR = "clr_credential.schema.json"


@cache
def _registry() -> Registry:
    resources = []
    for name in (ACHIEVEMENT, CLR):
        document = json.loads((HERE / name).read_text())
        resource = Resource.from_contents(document)
        resources += [(name, resource), (document["$id"], resource)]
    return Registry().with_resources(resources)


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((HERE / name).read_text())
    return Draft202012Validator(schema, registry=_registry())


def problems(name: str, document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator(name).iter_errors(document)
    ]
