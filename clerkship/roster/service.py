"""Roster imports from CSV: upload → preview (every row new / update / unchanged / error,
with the reason) → confirm. Nothing is written before confirm; confirm writes every row or
none; importing the same file again changes nothing (rows are keyed by e-mail or id).

The parts, each in its own module: ``reading`` (the file and its kinds), ``rows`` (a row's
plan and the shared checks), one ``*_rows`` module per kind (what its rows become through the
forms' services), ``preview`` (plan and try every row) and ``confirm`` (write them).
"""

from clerkship.roster.confirm import apply
from clerkship.roster.preview import ROW_ERRORS, plan
from clerkship.roster.reading import KINDS, MAX_BYTES, FileProblem, Kind, read, template_csv
from clerkship.roster.rows import Plan, RowPlan

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "ROW_ERRORS",
    "FileProblem",
    "Kind",
    "Plan",
    "RowPlan",
    "apply",
    "plan",
    "read",
    "template_csv",
]
