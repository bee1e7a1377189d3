"""What a student may pick: the one owning query for goal, assessment and evidence pickers;
and where a node sits in its tree, for the pages grouped by it (portfolio, calibration)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import Cohort, Competency, Enrollment, Framework, program_framework


def _student_programs(student_id: int):
    return (
        select(Cohort.program_id)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student_id)
    )


def frameworks_for(student_id: int) -> list[Framework]:
    """The frameworks the student's programs chose; every framework when none chose any."""
    chosen = select(program_framework.c.framework_id).where(
        program_framework.c.program_id.in_(_student_programs(student_id))
    )
    query = select(Framework).order_by(Framework.name, Framework.id)
    if db.session.scalar(select(chosen.exists())):
        query = query.where(Framework.id.in_(chosen))
    return list(db.session.scalars(query))


def pickable(
    student_id: int, keep: tuple[int, ...] = ()
) -> list[tuple[Framework, int, Competency]]:
    """The chosen frameworks' trees in reading order, retired nodes hidden — except those in
    ``keep`` (already linked to the record being edited), so saving does not drop them."""
    frameworks = frameworks_for(student_id)
    nodes = db.session.scalars(
        select(Competency).where(Competency.framework_id.in_([f.id for f in frameworks]))
    ).all()
    children: dict[tuple[int, int | None], list[Competency]] = {}
    visible = {c.id for c in nodes if not c.retired or c.id in keep}
    for node in nodes:
        if node.id not in visible:
            continue
        parent = node.parent_id if node.parent_id in visible else None
        children.setdefault((node.framework_id, parent), []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.position, c.id))
    ordered: list[tuple[Framework, int, Competency]] = []
    for framework in frameworks:
        stack = [(0, c) for c in reversed(children.get((framework.id, None), []))]
        while stack:
            depth, node = stack.pop()
            ordered.append((framework, depth, node))
            kids = children.get((framework.id, node.id), [])
            stack.extend((depth + 1, c) for c in reversed(kids))
    return ordered


def indented(depth: int, label: str) -> str:
    """A picker label showing its place in the tree (en spaces: no markup, no script)."""
    return "\u2002\u2002" * depth + label


def picker_groups(student_id: int, form_field, keep: tuple[int, ...] = ()) -> list:
    """The same trees as :func:`pickable`, nested for the tree picker (one group a framework)."""
    from clerkship.picker import Group, Node

    groups: dict[int, Group] = {}
    path: list[Node] = []  # the open branch: path[d] is the last node seen at depth d
    rows = pickable(student_id, keep)
    # A node's type is said only where a framework mixes types (domain → competency …).
    kinds: dict[int, set[str]] = {}
    for framework, _depth, competency in rows:
        kinds.setdefault(framework.id, set()).add(competency.node_type)
    for framework, depth, competency in rows:
        group = groups.get(framework.id)
        if group is None:
            group = groups[framework.id] = Group(form_field, framework.name, [])
        hint = _type_hint(competency) if len(kinds[framework.id]) > 1 else ""
        node = Node(competency.id, competency.label, hint=hint)
        del path[depth:]
        (path[-1].children if path else group.nodes).append(node)
        path.append(node)
    return list(groups.values())


def _type_hint(competency: Competency) -> str:
    """The node type when it says more than "competency" (domain, behaviour, level…)."""
    kind = (competency.node_type or "").replace("_", " ").replace("-", " ")
    return "" if kind in ("", "competency") else kind


@dataclass
class Place:
    """Where a node sits in its framework's tree: the nodes above it (top first) and a key
    that sorts nodes in reading order (the framework, then the tree, parents first)."""

    ancestors: list[Competency]
    order: tuple[int, int]


def places(nodes: Iterable[Competency]) -> dict[int, Place]:
    """The place of each node, retired ones included (signed records still point at them),
    in one query for all their frameworks."""
    wanted = {node.id: node for node in nodes}
    framework_ids = {node.framework_id for node in wanted.values()}
    if not framework_ids:
        return {}
    every = db.session.scalars(
        select(Competency).where(Competency.framework_id.in_(framework_ids))
    ).all()
    by_id = {c.id: c for c in every}
    children: dict[int | None, list[Competency]] = {}
    for node in every:
        parent = node.parent_id if node.parent_id in by_id else None
        children.setdefault(parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.framework_id, c.position, c.id))
    index: dict[int, int] = {}
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        index[node.id] = len(index)
        stack.extend(reversed(children.get(node.id, [])))
    result = {}
    for node_id, node in wanted.items():
        ancestors: list[Competency] = []
        above = by_id.get(node.parent_id) if node.parent_id else None
        while above is not None and len(ancestors) < len(by_id):  # a cycle cannot loop
            ancestors.insert(0, above)
            above = by_id.get(above.parent_id) if above.parent_id else None
        result[node_id] = Place(ancestors, (node.framework_id, index.get(node_id, 0)))
    return result
