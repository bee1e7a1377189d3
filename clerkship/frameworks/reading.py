"""Any framework file to a :class:`~clerkship.frameworks.formats.Parsed` tree, by its name
and content: ``.csv`` is Clerkship's CSV; JSON is CTDL-ASN when it has ``@graph`` or
``@context``, CASE when it has ``CFDocument``, else Clerkship's own JSON."""

from __future__ import annotations

from clerkship import seeds
from clerkship.frameworks import formats

MAX_BYTES = 5 * 1024 * 1024


def parse_file(raw: bytes, filename: str) -> formats.Parsed:
    """Raises :class:`clerkship.seeds.ImportFailed` when the file cannot be read at all;
    problems with single nodes are kept on the nodes for the planner to report."""
    if len(raw) > MAX_BYTES:
        raise seeds.ImportFailed(filename, [(0, "the file is larger than 5 MB")])
    try:
        text, warnings = raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        text, warnings = (
            raw.decode("cp1252"),
            ["the file is not UTF-8; read it as Excel's Windows-1252"],
        )
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in ("csv", "txt"):
        own = seeds.parse_framework_csv_text(text, warnings, filename)
        return formats.from_own_format("Clerkship CSV", own)
    if suffix not in ("json", "jsonld"):
        raise seeds.ImportFailed(filename, [(0, "use a .csv, .json or .jsonld file")])
    try:
        data = formats.load_json(text)
        kind = formats.detect(data)
        if kind == "ctdl-asn":
            return formats.parse_ctdl(data)  # type: ignore[arg-type]
        if kind == "case":
            return formats.parse_case(data)  # type: ignore[arg-type]
    except formats.Unreadable as unreadable:
        raise seeds.ImportFailed(filename, [(0, p) for p in unreadable.problems]) from None
    own = seeds.parse_framework_json_data(data, warnings, filename)
    return formats.from_own_format("Clerkship JSON", own)
