"""Tree pickers: the goal, assessment and evidence pickers share one shape and one search.

A picker is a list of groups (a framework, or a kind of record), each a tree of nodes; the
template ``tree_picker`` (templates/_macros/forms.html) renders it as nested checkboxes or
radio buttons with a search box. The search runs twice over the same rule: as you type in
static/js/tree-picker.js, and here, server-side, for a browser without JavaScript — its
"Search" button sends the whole form back (a POST: what was typed stays out of addresses
and logs) and the page comes back filtered, nothing saved, every field as typed. ``?q=``
on a GET filters the same way.

The rule: a node shows when its label holds every word searched for (case and accents
ignored), when an ancestor or a descendant does (its place in the tree and what it holds),
or when it is ticked (a search never hides, and so never drops, a choice)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import request

SEARCH_FIELD = "q"
SEARCH_BUTTON = "search"
MAX_QUERY = 100


@dataclass
class Node:
    value: int
    label: str
    children: list[Node] = field(default_factory=list)
    hint: str = ""  # shown beside the label, searched too (a node type, a date)
    shown: bool = True  # False: hidden by the search (still on the page, so a script can
    # show it again as the words change)


@dataclass
class Group:
    """One top-level group: ``field`` is the form field its boxes belong to."""

    field: object
    name: str
    nodes: list[Node]
    shown: bool = True


def folded(text: str) -> str:
    """Lower case without accents: "Atención" is found by "atencion"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(query: str) -> list[str]:
    return folded(query[:MAX_QUERY]).split()


def _matches(label: str, wanted: list[str]) -> bool:
    text = folded(label)
    return all(word in text for word in wanted)


def _mark(nodes: list[Node], wanted: list[str], ticked: set[int], above: bool) -> bool:
    """Mark which nodes the rule shows (``above``: an ancestor matched); True if any."""
    any_shown = False
    for node in nodes:
        here = above or _matches(f"{node.label} {node.hint}", wanted)
        below = _mark(node.children, wanted, ticked, here)
        node.shown = here or below or node.value in ticked
        any_shown = any_shown or node.shown
    return any_shown


def search(groups: list[Group], query: str, ticked: Iterable[int] = ()) -> list[Group]:
    """Mark what the search shows (no words: everything). Changes and returns ``groups``."""
    wanted = words(query)
    chosen = set(ticked)
    for group in groups:
        group.shown = _mark(
            group.nodes, wanted, chosen, not wanted or _matches(group.name, wanted)
        )
    return groups


def count(groups: list[Group], shown_only: bool = True) -> int:
    """How many choices the groups hold (only those the search shows, by default)."""

    def walk(nodes: list[Node]) -> int:
        return sum(walk(n.children) + (1 if n.shown or not shown_only else 0) for n in nodes)

    return sum(walk(g.nodes) for g in groups)


def query() -> str:
    """What was searched for: the box of a form sent back, or ``?q=``."""
    return (request.values.get(SEARCH_FIELD) or "").strip()[:MAX_QUERY]


def searching() -> bool:
    """The form came back through its Search button (no JavaScript): show it, save nothing."""
    return request.method == "POST" and SEARCH_BUTTON in request.form


def ticked(form_field) -> list[int]:
    """The values the field holds now (one for a radio group, several for checkboxes)."""
    data = form_field.data
    if data is None:
        return []
    values = data if isinstance(data, list | tuple) else [data]
    return [v for v in values if isinstance(v, int)]


def flat(form_field, name: str, items: Iterable[tuple[int, str, str]]) -> Group:
    """A one-level group: (value, label, hint) rows."""
    return Group(form_field, name, [Node(value, label, hint=hint) for value, label, hint in items])


def prepared(groups: list[Group]) -> list[Group]:
    """The groups as this request's search shows them, the boxes ticked now always shown."""
    fields = {id(g.field): g.field for g in groups}.values()
    return search(groups, query(), [v for f in fields for v in ticked(f)])
