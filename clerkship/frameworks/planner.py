"""One import planner for the command line and the admin page: compare a parsed file with
the stored framework, say per node what would happen (new / updated / unchanged / retired /
error), and apply it all or not at all.

Nodes are matched by URI, then by code. Nodes the file no longer holds are retired (never
deleted): goals, assessments and signed snapshots keep pointing at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from clerkship import audit
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.frameworks.formats import Node, Parsed
from clerkship.models import Competency, Framework

NEW, UPDATED, UNCHANGED, RETIRED, ERROR = "new", "updated", "unchanged", "retired", "error"
FIELDS = ("code", "uri", "title", "description", "node_type", "position")


@dataclass
class Row:
    status: str
    code: str
    title: str
    where: str
    depth: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class Plan:
    parsed: Parsed
    framework: Framework | None
    rows: list[Row]
    matches: dict[str, Competency | None]  # node key -> stored node (None: new)
    to_retire: list[Competency]

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def ok(self) -> bool:
        return not self.parsed.problems and self.count(ERROR) == 0

    def summary(self) -> str:
        return (
            f"{self.count(NEW)} new, {self.count(UPDATED)} updated, "
            f"{self.count(UNCHANGED)} unchanged, {self.count(RETIRED)} retired"
        )


class PlanRefused(DomainError):
    """The file has problems; nothing was written. ``plan`` says which, node by node."""

    def __init__(self, plan: Plan):
        super().__init__(f"{plan.count(ERROR) + len(plan.parsed.problems)} problem(s)")
        self.plan = plan

    def report(self, name: str) -> str:
        lines = [f"Nothing was imported from {name}. Fix these and try again:"]
        lines += [f"  {problem}" for problem in self.plan.parsed.problems]
        for row in self.plan.rows:
            if row.status == ERROR:
                lines += [f"  {row.where}: {message}" for message in row.messages]
        return "\n".join(lines)


def _stored_framework(parsed: Parsed) -> Framework | None:
    clauses = [Framework.code == parsed.code]
    if parsed.uri:
        clauses.append(Framework.uri == parsed.uri)
    found = db.session.scalars(select(Framework).where(or_(*clauses))).all()
    by_uri = [f for f in found if parsed.uri and f.uri == parsed.uri]
    return (by_uri or found or [None])[0]


def _check_tree(parsed: Parsed) -> dict[str, int]:
    """Per-node problems that need the whole file: duplicate keys and codes, missing
    parents (warning, the node is kept at the top), loops, duplicate texts under one parent.
    Returns each node's depth."""
    keys: dict[str, Node] = {}
    codes: dict[str, Node] = {}
    for node in parsed.nodes:
        if node.key in keys:
            node.problems.append(f"the same identifier as {keys[node.key].where}")
        keys.setdefault(node.key, node)
        if node.code in codes and node.code:
            node.problems.append(f"the same code as {codes[node.code].where}")
        codes.setdefault(node.code, node)
    for node in parsed.nodes:
        if node.parent is not None and node.parent not in keys:
            node.warnings.append(
                f"its parent {node.parent[:80]} is not in the file; kept at the top level"
            )
            node.parent = None
    depth: dict[str, int] = {}
    for node in parsed.nodes:
        seen, current, steps = {node.key}, node, 0
        while current.parent is not None:
            current = keys[current.parent]
            steps += 1
            if current.key in seen:
                node.problems.append("its parents loop back to itself")
                node.parent = None
                break
            seen.add(current.key)
        depth[node.key] = steps
    texts: dict[tuple[str | None, str], Node] = {}
    for node in parsed.nodes:
        text_key = (node.parent, " ".join(node.title.lower().split()))
        if node.title and text_key in texts:
            node.problems.append(f"the same text as {texts[text_key].where} under the same parent")
        texts.setdefault(text_key, node)
    _number_in_reading_order(parsed)
    return depth


def _number_in_reading_order(parsed: Parsed) -> None:
    """Positions 1..k among siblings, in file order: a file and its export give the same
    numbers, and dropping or adding a node does not renumber the rest of the tree."""
    children: dict[str | None, list[Node]] = {}
    for node in parsed.nodes:
        children.setdefault(node.parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda n: n.position)
        for number, node in enumerate(siblings, start=1):
            node.position = number


def _reading_order(parsed: Parsed) -> list[Node]:
    children: dict[str | None, list[Node]] = {}
    for node in parsed.nodes:
        children.setdefault(node.parent, []).append(node)
    ordered: list[Node] = []
    stack = sorted(children.get(None, []), key=lambda n: n.position, reverse=True)
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(sorted(children.get(node.key, []), key=lambda n: n.position, reverse=True))
    return ordered


def _match(parsed: Parsed, framework: Framework | None) -> dict[str, Competency | None]:
    stored = list(framework.competencies) if framework else []
    by_uri = {c.uri: c for c in stored if c.uri}
    by_code = {c.code: c for c in stored}
    matches: dict[str, Competency | None] = {}
    used: set[int] = set()
    for node in parsed.nodes:
        found = by_uri.get(node.uri) if node.uri else None
        if found is None:
            candidate = by_code.get(node.code)
            # A code match only counts when the stored node has no other URI.
            if candidate is not None and (not candidate.uri or candidate.uri == node.uri):
                found = candidate
        if found is not None and found.id in used:
            found = None
        if found is not None:
            used.add(found.id)
        matches[node.key] = found
    for node in parsed.nodes:
        holder = by_code.get(node.code)
        if holder is not None and matches[node.key] is not holder and holder.id not in used:
            node.problems.append(
                f"code {node.code[:40]} belongs to another stored node with a different URI"
            )
    return matches


def _changes(node: Node, stored: Competency, parent_id: int | None, parent_new: bool) -> list[str]:
    changed = [name for name in FIELDS if getattr(stored, name) != getattr(node, name)]
    if parent_new or stored.parent_id != parent_id:
        changed.append("parent")
    if stored.retired:
        changed.append("back from retired")
    return changed


def plan(parsed: Parsed) -> Plan:
    framework = _stored_framework(parsed)
    depth = _check_tree(parsed)
    matches = _match(parsed, framework)
    rows = []
    order = {node.key: number for number, node in enumerate(_reading_order(parsed))}
    for node in sorted(parsed.nodes, key=lambda n: order[n.key]):
        stored = matches[node.key]
        parent = matches.get(node.parent) if node.parent else None
        parent_new = node.parent is not None and parent is None
        row = Row(NEW, node.code, node.title, node.where, depth.get(node.key, 0))
        if node.problems:
            row.status, row.messages = ERROR, list(node.problems)
        elif stored is not None:
            changed = _changes(node, stored, parent.id if parent else None, parent_new)
            row.status = UPDATED if changed else UNCHANGED
            row.messages = [f"changes: {', '.join(changed)}"] if changed else []
        row.messages += node.warnings
        rows.append(row)
    kept = {c.id for c in matches.values() if c is not None}
    to_retire = [
        c
        for c in (framework.competencies if framework else [])
        if c.id not in kept and not c.retired
    ]
    rows += [Row(RETIRED, c.code, c.title, "not in the file") for c in to_retire]
    return Plan(parsed, framework, rows, matches, to_retire)


def _framework_changed(framework: Framework, parsed: Parsed) -> bool:
    wanted = {
        "code": parsed.code,
        "name": parsed.name,
        "uri": parsed.uri,
        "version": parsed.version,
    }
    changed = False
    for name, value in wanted.items():
        if getattr(framework, name) != value:
            setattr(framework, name, value)
            changed = True
    for name in ("description", "source"):
        value = getattr(parsed, name)
        if value and getattr(framework, name) != value:
            setattr(framework, name, value)
            changed = True
    return changed


def apply(the_plan: Plan, actor=None, file_name: str = "") -> Framework:
    """Write the plan (all of it) or raise :class:`PlanRefused` having written nothing."""
    if not the_plan.ok:
        raise PlanRefused(the_plan)
    parsed = the_plan.parsed
    framework = the_plan.framework
    if framework is None:
        framework = Framework(code=parsed.code, name=parsed.name)
        db.session.add(framework)
    changed = _framework_changed(framework, parsed)
    stored: dict[str, Competency] = {}
    for node in _reading_order(parsed):
        competency = the_plan.matches[node.key]
        if competency is None:
            competency = Competency(framework=framework)
            db.session.add(competency)
        for name in FIELDS:
            setattr(competency, name, getattr(node, name))
        competency.retired = False
        stored[node.key] = competency
    for competency in the_plan.to_retire:
        competency.retired = True
    db.session.flush()
    for node in parsed.nodes:
        parent = stored[node.parent] if node.parent else None
        stored[node.key].parent_id = parent.id if parent else None
    db.session.flush()
    db.session.refresh(framework)
    if not changed and not any(the_plan.count(s) for s in (NEW, UPDATED, RETIRED)):
        return framework  # the same file again: nothing to record
    audit.record(
        actor,
        "framework.imported",
        framework,
        after={
            "file": file_name,
            "format": parsed.format,
            "version": parsed.version,
            "new": the_plan.count(NEW),
            "updated": the_plan.count(UPDATED),
            "retired": the_plan.count(RETIRED),
        },
    )
    return framework


def tree(framework: Framework, include_retired: bool = False) -> list[tuple[int, Competency]]:
    """The framework's nodes in reading order, each with its depth (0 = top level)."""
    nodes = [c for c in framework.competencies if include_retired or not c.retired]
    children: dict[int | None, list[Competency]] = {}
    ids = {c.id for c in nodes}
    for node in nodes:
        parent = node.parent_id if node.parent_id in ids else None
        children.setdefault(parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.position, c.id))
    ordered: list[tuple[int, Competency]] = []
    stack = [(0, c) for c in reversed(children.get(None, []))]
    while stack:
        depth, node = stack.pop()
        ordered.append((depth, node))
        stack.extend((depth + 1, c) for c in reversed(children.get(node.id, [])))
    return ordered
