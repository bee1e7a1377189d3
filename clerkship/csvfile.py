"""The one way the app writes CSV: spreadsheet formulas in people's text are made inert.

A name such as ``=HYPERLINK("http://…","Click me")`` or ``+cmd|' /C calc'!A0`` would run as a
formula when a program director opens the file in Excel or LibreOffice. OWASP's rule: a text
cell that begins with ``= + - @``, a tab or a carriage return gets a leading ``'``, which
spreadsheets show as text and do not evaluate. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will take it without evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: Iterable[Iterable[object]]) -> str:
    """The rows (a header first, if any) as CSV text, every text cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
