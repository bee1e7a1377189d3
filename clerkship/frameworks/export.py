"""Any stored framework as CTDL-ASN JSON-LD or as a CASE 1.1 CFPackage.

Nodes without a publisher URI get one under the framework's URI (or a ``urn:clerkship:``
name), so an export imported elsewhere keeps one identity per node. Retired nodes are left
out: the export says what the framework is now.
"""

from __future__ import annotations

import uuid

from clerkship.frameworks import formats, planner
from clerkship.models import Competency, Framework

_NAMESPACE = uuid.UUID("7d1c1f0e-5b0a-4a53-9a0e-17f2a0c0de17")


def framework_uri(framework: Framework) -> str:
    return framework.uri or f"urn:clerkship:framework:{framework.code}"


def node_uri(framework: Framework, node: Competency) -> str:
    return node.uri or f"{framework_uri(framework)}:{node.code}"


def _children(nodes: list[tuple[int, Competency]]) -> dict[int | None, list[Competency]]:
    ids = {node.id for _, node in nodes}
    children: dict[int | None, list[Competency]] = {}
    for _, node in nodes:
        children.setdefault(node.parent_id if node.parent_id in ids else None, []).append(node)
    return children


def to_ctdl(framework: Framework) -> dict:
    nodes = planner.tree(framework)
    children = _children(nodes)
    top_uri = framework_uri(framework)
    top: dict = {
        "@id": top_uri,
        "@type": formats.CTDL_FRAMEWORK,
        # codedNotation is a Competency property; Clerkship also writes it on the framework
        # so its short code survives the round trip (readers ignore what they do not know).
        "ceasn:codedNotation": framework.code,
        "ceasn:name": {"en": framework.name},
        "ceasn:inLanguage": ["en"],
        "ceasn:hasTopChild": [node_uri(framework, c) for c in children.get(None, [])],
    }
    if framework.description:
        top["ceasn:description"] = {"en": framework.description}
    if framework.version:
        top["ceasn:versionCode"] = framework.version
    graph = [top]
    for _, node in nodes:
        entry: dict = {
            "@id": node_uri(framework, node),
            "@type": formats.CTDL_COMPETENCY,
            "ceasn:isPartOf": top_uri,
            "ceasn:codedNotation": node.code,
            "ceasn:competencyCategory": {"en": node.node_type},
            "ceasn:isChildOf": node_uri(framework, node.parent) if node.parent else top_uri,
        }
        if node.description:
            # A short title and a longer statement: label + text, as CTDL-ASN has both.
            entry["ceasn:competencyLabel"] = {"en": node.title}
            entry["ceasn:competencyText"] = {"en": node.description}
        else:
            entry["ceasn:competencyText"] = {"en": node.title}
        kids = children.get(node.id, [])
        if kids:
            entry["ceasn:hasChild"] = [node_uri(framework, c) for c in kids]
        graph.append(entry)
    return {"@context": formats.CTDL_CONTEXT, "@graph": graph}


def _identifier(uri: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, uri))


def _link(title: str, uri: str) -> dict:
    return {"title": title[:200], "identifier": _identifier(uri), "uri": uri}


def to_case(framework: Framework) -> dict:
    nodes = planner.tree(framework)
    children = _children(nodes)
    top_uri = framework_uri(framework)
    changed = framework.created_at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    document: dict = {
        "identifier": _identifier(top_uri),
        "uri": top_uri,
        "creator": framework.source or "Clerkship",
        "title": framework.name,
        "humanCodingScheme": framework.code,
        "lastChangeDateTime": changed,
        "language": "en",
    }
    if framework.version:
        document["version"] = framework.version
    if framework.description:
        document["description"] = framework.description
    items, associations = [], []
    for _, node in nodes:
        uri = node_uri(framework, node)
        item: dict = {
            "identifier": _identifier(uri),
            "uri": uri,
            "humanCodingScheme": node.code,
            "CFItemType": node.node_type,
            "language": "en",
            "lastChangeDateTime": changed,
            "CFDocumentURI": _link(framework.name, top_uri),
        }
        if node.description:
            item["abbreviatedStatement"] = node.title
            item["fullStatement"] = node.description
        else:
            item["fullStatement"] = node.title
        items.append(item)
        parent = node.parent if node.parent and not node.parent.retired else None
        siblings = children.get(parent.id if parent else None, [])
        destination = (
            _link(parent.title, node_uri(framework, parent))
            if parent
            else _link(framework.name, top_uri)
        )
        associations.append(
            {
                "identifier": _identifier(f"{uri}#isChildOf"),
                "uri": f"{uri}#isChildOf",
                "associationType": "isChildOf",
                "sequenceNumber": siblings.index(node) + 1,
                "lastChangeDateTime": changed,
                "originNodeURI": _link(node.title, uri),
                "destinationNodeURI": destination,
                "CFDocumentURI": _link(framework.name, top_uri),
            }
        )
    return {"CFDocument": document, "CFItems": items, "CFAssociations": associations}
