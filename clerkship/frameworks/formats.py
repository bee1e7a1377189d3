"""Reading framework files into one shape: a :class:`Parsed` framework and its :class:`Node`s.

Every problem is attached to the node it is about (or to the file), so the preview can show
it on the node's line; nothing here touches the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from clerkship import schemas
from clerkship.forminput import clean_text

# Sizes the database holds; anything longer is a per-node problem, never a database error.
LIMITS = {
    "framework_code": 50,
    "framework_name": 200,
    "framework_uri": 500,
    "version": 100,
    "code": 100,
    "uri": 500,
    "title": 2000,
    "description": 10000,
    "node_type": 40,
}
MAX_NODES = 5000

CTDL_CONTEXT = "https://credreg.net/ctdlasn/schema/context/json"
CTDL_FRAMEWORK = "ceasn:CompetencyFramework"
CTDL_COMPETENCY = "ceasn:Competency"


@dataclass
class Node:
    key: str  # the node's identity inside the file: its URI, else its code
    code: str
    title: str
    where: str  # how the preview names the node's place in the file
    uri: str | None = None
    description: str = ""
    node_type: str = "competency"
    parent: str | None = None  # key of the parent node; None for a top-level node
    position: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    format: str
    code: str
    name: str
    uri: str | None = None
    version: str = ""
    description: str = ""
    source: str = ""
    nodes: list[Node] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the file as a whole
    warnings: list[str] = field(default_factory=list)


class Unreadable(Exception):
    """The file is not a framework file at all (not JSON, unknown shape)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- small helpers ---------------------------------------------------------------------------


def _text(value) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


def english(value) -> tuple[str, str | None]:
    """The English wording of a plain string or a JSON-LD language map / value list, and a
    problem when there is wording but none of it is English."""
    if value is None or value == "":
        return "", None
    if isinstance(value, str):
        return _text(value), None
    if isinstance(value, dict) and "@value" in value:
        value = {value.get("@language") or "en": value["@value"]}
    if isinstance(value, list):
        merged: dict[str, str] = {}
        for entry in value:
            if isinstance(entry, str):
                merged.setdefault("en", entry)
            elif isinstance(entry, dict):
                if "@value" in entry:
                    merged.setdefault(str(entry.get("@language") or "en"), entry["@value"])
                else:
                    for language, text in entry.items():
                        merged.setdefault(str(language), text)
        value = merged
    if not isinstance(value, dict):
        return "", "text must be a string or a language map"
    texts = {str(k).lower(): v for k, v in value.items()}
    for language in ("en", "en-us", "en-gb", *sorted(k for k in texts if k.startswith("en"))):
        if language in texts:
            text = texts[language]
            if isinstance(text, list):
                text = text[0] if text else ""
            return _text(text), None
    if texts:
        found = ", ".join(sorted(texts))[:80]
        return "", f"no English text (only {found}); add an “en” entry"
    return "", None


def _ids(value) -> list[str]:
    """A JSON-LD reference or list of references as plain identifiers."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    found = []
    for entry in values:
        if isinstance(entry, dict):
            entry = entry.get("@id") or entry.get("uri") or entry.get("identifier")
        if isinstance(entry, str) and entry.strip():
            found.append(entry.strip())
    return found


def _tail(uri: str) -> str:
    """The last path segment of a URI: the short identifier publishers print (``ce-…``)."""
    return uri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1] or uri


def _check_sizes(node: Node) -> None:
    for name in ("code", "title", "description", "node_type"):
        value = getattr(node, name)
        if len(value) > LIMITS[name]:
            node.problems.append(f"{name} is longer than {LIMITS[name]} characters")
    if node.uri and len(node.uri) > LIMITS["uri"]:
        node.problems.append(f"uri is longer than {LIMITS['uri']} characters")
    if not node.title:
        node.problems.append("text is missing")
    if not node.code:
        node.problems.append("code is missing")


def _check_framework(parsed: Parsed) -> None:
    for name, value in (
        ("framework_code", parsed.code),
        ("framework_name", parsed.name),
        ("framework_uri", parsed.uri or ""),
        ("version", parsed.version),
    ):
        if len(value) > LIMITS[name]:
            parsed.problems.append(
                f"{name.replace('_', ' ')} is longer than {LIMITS[name]} characters"
            )
    if not parsed.code:
        parsed.problems.append("the framework has no code or identifier")
    if not parsed.nodes:
        parsed.problems.append("the file holds no competencies")
    if len(parsed.nodes) > MAX_NODES:
        parsed.problems.append(f"more than {MAX_NODES} competencies in one file")


def detect(data) -> str:
    if isinstance(data, dict) and ("@graph" in data or "@context" in data):
        return "ctdl-asn"
    if isinstance(data, dict) and "CFDocument" in data:
        return "case"
    return "clerkship-json"


def load_json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Unreadable([f"not valid JSON: {str(error)[:200]}"]) from None


# --- CTDL-ASN --------------------------------------------------------------------------------


def _types(entry: dict) -> set[str]:
    kinds = entry.get("@type")
    return set(kinds) if isinstance(kinds, list) else {kinds}


def parse_ctdl(data: dict) -> Parsed:
    found = schemas.problems(data, "ctdl-asn")
    if found:
        raise Unreadable(found)
    graph = data["@graph"]
    frameworks = [e for e in graph if CTDL_FRAMEWORK in _types(e)]
    competencies = [e for e in graph if CTDL_COMPETENCY in _types(e)]
    if len(frameworks) != 1:
        raise Unreadable([f"expected one {CTDL_FRAMEWORK} in @graph, found {len(frameworks)}"])
    top = frameworks[0]
    uri = _text(top["@id"])
    name, name_problem = english(top.get("ceasn:name"))
    description, _ = english(top.get("ceasn:description"))
    code = _text(top.get("ceasn:codedNotation")) or _text(top.get("ceterms:ctid")) or _tail(uri)
    parsed = Parsed(
        format="CTDL-ASN",
        code=code,
        name=name or code,
        uri=uri,
        version=_text(top.get("ceasn:versionCode") or top.get("schema:version")),
        description=description,
        source=_text(top.get("ceasn:source") if isinstance(top.get("ceasn:source"), str) else ""),
    )
    if name_problem:
        parsed.problems.append(f"framework name: {name_problem}")
    # Order: the publisher's hasTopChild / hasChild lists, else the order of the graph.
    order: dict[str, int] = {}
    for entry in [top, *competencies]:
        for child in _ids(entry.get("ceasn:hasTopChild")) + _ids(entry.get("ceasn:hasChild")):
            order.setdefault(child, len(order))
    parents: dict[str, str] = {}
    for entry in competencies:
        for child in _ids(entry.get("ceasn:hasChild")):
            parents.setdefault(child, _text(entry["@id"]))
    for number, entry in enumerate(competencies, start=1):
        node_uri = _text(entry["@id"])
        text, text_problem = english(entry.get("ceasn:competencyText"))
        label, _ = english(entry.get("ceasn:competencyLabel"))
        comment, _ = english(entry.get("ceasn:comment"))
        category, _ = english(entry.get("ceasn:competencyCategory"))
        code = (
            _text(entry.get("ceasn:codedNotation"))
            or _text(entry.get("ceterms:ctid"))
            or _tail(node_uri)
        )
        parent_ids = [p for p in _ids(entry.get("ceasn:isChildOf")) if p != uri]
        parent = parent_ids[0] if parent_ids else parents.get(node_uri)
        node = Node(
            key=node_uri,
            uri=node_uri,
            code=code,
            title=label or text,
            description=comment if label else "",
            node_type=(category or "competency").lower(),
            parent=parent,
            position=order.get(node_uri, len(order) + number),
            where=f"competency {number} ({code[:40]})",
        )
        if label:
            # competencyLabel is the short name; the full statement goes to the description.
            node.description = text if not comment else f"{text}\n\n{comment}"
        if text_problem:
            node.problems.append(f"competency text: {text_problem}")
        if len(parent_ids) > 1:
            node.warnings.append("has more than one parent; the first is used")
        _check_sizes(node)
        parsed.nodes.append(node)
    _check_framework(parsed)
    return parsed


# --- CASE 1.1 --------------------------------------------------------------------------------


def parse_case(data: dict) -> Parsed:
    found = schemas.problems(data, "case")
    if found:
        raise Unreadable(found)
    document = data["CFDocument"]
    uri = _text(document.get("uri")) or _text(document["identifier"])
    parsed = Parsed(
        format="CASE 1.1",
        code=_text(document.get("humanCodingScheme")) or _text(document["identifier"]),
        name=_text(document.get("title")),
        uri=uri,
        version=_text(document.get("version")),
        description=_text(document.get("description")),
        source=_text(document.get("creator")),
    )
    items = data.get("CFItems") or []
    ids = {
        _text(item["identifier"]): _text(item.get("uri")) or _text(item["identifier"])
        for item in items
    }
    document_ids = {_text(document["identifier"]), uri}
    parents: dict[str, str] = {}
    sequence: dict[str, float] = {}
    for association in data.get("CFAssociations") or []:
        if association.get("associationType") != "isChildOf":
            continue
        origin = association["originNodeURI"]
        destination = association["destinationNodeURI"]
        child = _text(origin.get("identifier"))
        parent = _text(destination.get("identifier"))
        child_key = ids.get(child, _text(origin.get("uri")) or child)
        if parent in document_ids or _text(destination.get("uri")) in document_ids:
            parent_key = None
        else:
            parent_key = ids.get(parent, _text(destination.get("uri")) or parent)
        if child_key in parents:
            continue
        parents[child_key] = parent_key or ""
        if isinstance(association.get("sequenceNumber"), (int, float)):
            sequence[child_key] = association["sequenceNumber"]
    for number, item in enumerate(items, start=1):
        key = ids[_text(item["identifier"])]
        code = _text(item.get("humanCodingScheme")) or _text(item["identifier"])
        abbreviated = _text(item.get("abbreviatedStatement"))
        statement = _text(item.get("fullStatement"))
        node = Node(
            key=key,
            uri=key,
            code=code,
            title=abbreviated or statement,
            description=statement if abbreviated else _text(item.get("notes")),
            node_type=(_text(item.get("CFItemType")) or "competency").lower(),
            parent=parents.get(key) or None,
            position=int(sequence.get(key, number) * 1000) + number,
            where=f"item {number} ({code[:40]})",
        )
        language = _text(item.get("language"))
        if language and not language.lower().startswith("en"):
            node.problems.append(f"the item is in “{language[:20]}”; an English text is needed")
        _check_sizes(node)
        parsed.nodes.append(node)
    _check_framework(parsed)
    return parsed


# --- Clerkship's own CSV/JSON (see clerkship.seeds) --------------------------------------------


def from_own_format(format_name: str, parsed_framework) -> Parsed:
    """The shape :mod:`clerkship.seeds` reads (rows already checked), as a tree: a ``parent``
    column names another row's code or URI; the old ``domain`` text becomes a domain node."""
    parsed = Parsed(
        format=format_name,
        code=parsed_framework.code,
        name=parsed_framework.name,
        uri=parsed_framework.uri or None,
        version=parsed_framework.version,
        description=parsed_framework.description,
        source=parsed_framework.source,
        warnings=list(parsed_framework.warnings),
    )
    keys = {}
    for item in parsed_framework.competencies:
        keys[item["code"]] = item.get("uri") or item["code"]
        if item.get("uri"):
            keys[item["uri"]] = item["uri"]
    domains: dict[str, str] = {}
    for item in parsed_framework.competencies:
        domain = item.get("domain", "")
        if domain and domain not in domains:
            code = "D-" + "-".join(domain.split())[:90]
            domains[domain] = code
            node = Node(
                key=f"domain:{domain}",
                code=code,
                title=domain,
                node_type="domain",
                position=-1000 + len(domains),
                where=f"domain “{domain[:40]}”",
            )
            _check_sizes(node)
            parsed.nodes.append(node)
    for item in parsed_framework.competencies:
        parent_ref = item.get("parent", "")
        parent = keys.get(parent_ref, parent_ref) if parent_ref else None
        if parent is None and item.get("domain"):
            parent = f"domain:{item['domain']}"
        node = Node(
            key=item.get("uri") or item["code"],
            uri=item.get("uri") or None,
            code=item["code"],
            title=item["title"],
            description=item.get("description", ""),
            node_type=(item.get("type") or "competency").lower(),
            parent=parent,
            position=item["position"],
            where=f"row {item['row']}",
        )
        _check_sizes(node)
        parsed.nodes.append(node)
    _check_framework(parsed)
    return parsed
