"""Frameworks, scales and patient-feedback instruments, loaded from data files.

Shipped files live in ``clerkship/data/``; a program that holds a licence for another
framework or instrument loads its own with ``flask --app clerkship import-framework FILE``
or ``import-instrument FILE`` (formats: docs/data-formats.md).

Framework CSV: a header row, then one competency per row. Columns (any order; names are
matched without case or surrounding spaces): ``framework_code``, ``framework_name``,
``code``, ``title``, ``description``, ``domain``, ``uri``, ``parent`` (another row's code or
URI), ``type`` (domain, competency, sub-competency…). Other columns are reported and ignored.
CTDL-ASN and CASE files are read by :mod:`clerkship.frameworks.formats`; every format goes
through the one planner in :mod:`clerkship.frameworks.planner`.
UTF-8 (with or without a byte-order mark) or Excel's Windows-1252; comma or semicolon.

Every import checks every row first and writes nothing unless all rows are good; re-importing
the same file changes nothing (rows are keyed by framework code + competency code).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from clerkship import audit, schemas
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.forminput import clean_text
from clerkship.models import (
    EntrustmentLevel,
    EntrustmentScale,
    FeedbackInstrument,
    FeedbackItem,
)

EPA_FRAMEWORK_CODE = "aamc-core-epas"
ACGME_FRAMEWORK_CODE = "acgme-domains"
DEFAULT_SCALE_CODE = "entrustment-5"
DEFAULT_INSTRUMENT_CODE = "clerkship-continuity"

SHIPPED_FRAMEWORKS = ("aamc-core-epas.json", "acgme-domains.json")
SHIPPED_SCALES = ("entrustment-5.json",)
SHIPPED_INSTRUMENTS = ("patient-feedback.json",)

CSV_COLUMNS = (
    "framework_code",
    "framework_name",
    "code",
    "title",
    "description",
    "domain",
    "uri",
    "parent",
    "type",
)
ITEM_COLUMNS = ("code", "title", "description", "domain", "uri", "parent", "type")
LIMITS = {
    "code": 100,
    "title": 2000,
    "framework_code": 50,
    "framework_name": 200,
    "domain": 200,
    "uri": 500,
    "parent": 500,
    "type": 40,
}


class ImportFailed(DomainError):
    """The file cannot be imported; ``errors`` lists (row number or 0, message)."""

    def __init__(self, path: str, errors: list[tuple[int, str]]):
        super().__init__(f"{path}: {len(errors)} problem(s)")
        self.path = path
        self.errors = errors

    def report(self) -> str:
        lines = [f"Nothing was imported from {self.path}. Fix these and try again:"]
        for row, message in self.errors:
            lines.append(f"  row {row}: {message}" if row else f"  {message}")
        return "\n".join(lines)


@dataclass
class ParsedFramework:
    code: str
    name: str
    description: str = ""
    source: str = ""
    uri: str = ""
    version: str = ""
    competencies: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- reading files ---------------------------------------------------------------------------


def _read_text(path: Path) -> tuple[str, list[str]]:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("cp1252"), ["the file is not UTF-8; read it as Excel's Windows-1252"]


def _clean(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _check_competency(row: int, item: dict, seen: dict[str, int]) -> list[tuple[int, str]]:
    errors = []
    code, title = item["code"], item["title"]
    if not code:
        errors.append((row, "code is missing"))
    elif code in seen:
        errors.append((row, f"duplicate code {code} (first on row {seen[code]})"))
    else:
        seen[code] = row
    if not title:
        errors.append((row, "title is missing"))
    for key in ("code", "title", "domain", "uri", "parent", "type"):
        if len(item.get(key, "")) > LIMITS[key]:
            errors.append((row, f"{key} is longer than {LIMITS[key]} characters"))
    return errors


def _parse_framework_csv(path: Path) -> ParsedFramework:
    text, warnings = _read_text(path)
    return parse_framework_csv_text(text, warnings, path)


def parse_framework_csv_text(text: str, warnings: list[str], path) -> ParsedFramework:
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise ImportFailed(str(path), [(0, "the file is empty; a header row is required")])
    header = {name: _clean(name).lower() for name in reader.fieldnames if name is not None}
    missing = [c for c in ("framework_code", "code", "title") if c not in header.values()]
    if missing:
        raise ImportFailed(str(path), [(1, f"missing column(s): {', '.join(missing)}")])
    unknown = sorted(v for v in header.values() if v not in CSV_COLUMNS)
    if unknown:
        warnings.append(f"ignored unknown column(s): {', '.join(unknown)}")

    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    by_code: dict[str, dict] = {}
    frameworks: set[tuple[str, str]] = set()
    competencies = []
    for number, raw in enumerate(reader, start=2):
        row = {header[k]: _clean(v) for k, v in raw.items() if k in header}
        if not any(row.values()):
            continue  # blank line
        if None in raw:
            errors.append((number, "more cells than there are columns"))
        item = {key: row.get(key, "") for key in ITEM_COLUMNS}
        earlier = by_code.get(item["code"])
        if earlier is not None and earlier == item:
            # Spreadsheets often repeat a row; an exact repeat is harmless.
            warnings.append(f"row {number}: repeats row {seen[item['code']]}; skipped")
            continue
        by_code.setdefault(item["code"], dict(item))
        errors.extend(_check_competency(number, item, seen))
        if not row.get("framework_code"):
            errors.append((number, "framework_code is missing"))
        frameworks.add((row.get("framework_code", ""), row.get("framework_name", "")))
        item["position"] = item["row"] = number
        competencies.append(item)
    codes = {code for code, _ in frameworks if code}
    if len(codes) > 1:
        errors.append((0, f"one framework per file, found: {', '.join(sorted(codes))}"))
    if not competencies:
        errors.append((0, "no competencies found below the header"))
    if errors:
        raise ImportFailed(str(path), errors)
    code = codes.pop()
    names = {name for c, name in frameworks if c == code and name}
    return ParsedFramework(
        code=code,
        name=names.pop() if names else code,
        competencies=competencies,
        warnings=warnings,
    )


def _parse_framework_json(path: Path) -> ParsedFramework:
    text, warnings = _read_text(path)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ImportFailed(str(path), [(0, f"not valid JSON: {error}")]) from None
    return parse_framework_json_data(data, warnings, path)


def parse_framework_json_data(data, warnings: list[str], path) -> ParsedFramework:
    if not isinstance(data, dict):
        raise ImportFailed(str(path), [(0, "expected an object with code, name, competencies")])
    errors = []
    code, name = _clean(data.get("code")), _clean(data.get("name"))
    if not code:
        errors.append((0, "code is missing"))
    if not name:
        errors.append((0, "name is missing"))
    items = data.get("competencies")
    if not isinstance(items, list) or not items:
        errors.append((0, "competencies must be a non-empty list"))
        items = []
    seen: dict[str, int] = {}
    competencies = []
    for number, raw in enumerate(items, start=1):
        if not isinstance(raw, dict):
            errors.append((number, "each competency must be an object"))
            continue
        item = {k: _clean(raw.get(k)) for k in ITEM_COLUMNS}
        errors.extend(_check_competency(number, item, seen))
        item["position"] = item["row"] = number
        competencies.append(item)
    if errors:
        raise ImportFailed(str(path), errors)
    return ParsedFramework(
        code=code,
        name=name,
        description=_clean(data.get("description")),
        source=_clean(data.get("source")),
        uri=_clean(data.get("uri")),
        version=_clean(data.get("version")),
        competencies=competencies,
        warnings=warnings,
    )


# --- writing ---------------------------------------------------------------------------------


def import_framework_file(path: str | Path) -> str:
    """Import a framework file (CSV, Clerkship JSON, CTDL-ASN or CASE) all or nothing."""
    from clerkship.frameworks import planner, reading

    path = Path(path)
    parsed = reading.parse_file(path.read_bytes(), path.name)
    the_plan = planner.plan(parsed)
    try:
        framework = planner.apply(the_plan, file_name=path.name)
    except planner.PlanRefused as refused:
        raise ImportFailed(
            str(path), [(0, line.strip()) for line in refused.report(str(path)).splitlines()[1:]]
        ) from None
    lines = [
        f"Imported framework {framework.name} ({parsed.format}): {len(parsed.nodes)} "
        f"competencies ({the_plan.count(planner.NEW)} new, "
        f"{the_plan.count(planner.UPDATED)} updated), "
        f"{the_plan.count(planner.UNCHANGED)} unchanged, "
        f"{the_plan.count(planner.RETIRED)} retired"
    ]
    lines += [f"warning: {w}" for w in parsed.warnings]
    lines += [
        f"warning: {row.where}: {message}"
        for row in the_plan.rows
        for message in row.messages
        if not message.startswith("changes:")
    ]
    return "\n".join(lines)


def _load_scale(data: dict) -> EntrustmentScale:
    scale = db.session.scalar(
        select(EntrustmentScale).where(EntrustmentScale.code == data["code"])
    )
    if scale is None:
        scale = EntrustmentScale(code=data["code"], name=data["name"])
        db.session.add(scale)
    scale.name = data["name"]
    scale.description = data.get("description", "")
    by_value = {level.value: level for level in scale.levels}
    for item in data["levels"]:
        level = by_value.get(item["value"])
        if level is None:
            scale.levels.append(EntrustmentLevel(**item))
        else:
            level.label, level.description = item["label"], item.get("description", "")
    db.session.flush()
    return scale


# --- patient-feedback instruments --------------------------------------------------------------


def _check_texts(where: str, texts, errors: list) -> None:
    if not isinstance(texts, dict) or not _clean(texts.get("en")):
        errors.append((0, f'{where} needs at least an English text: {{"en": "..."}}'))


def _parse_instrument(path: Path) -> dict:
    text, _warnings = _read_text(path)
    return parse_instrument_text(text, str(path))


def parse_instrument_text(text: str, where: str) -> dict:
    """Check an instrument file's content; :class:`ImportFailed` lists every problem."""
    path = where
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # also huge numbers, deep nesting
        raise ImportFailed(str(path), [(0, f"not valid JSON: {error}")]) from None
    found = schemas.problems(data, "instrument")  # types and sizes: data/schemas/
    if found:
        raise ImportFailed(str(path), [(0, problem) for problem in found])
    errors: list[tuple[int, str]] = []
    if not _clean(data.get("code")):
        errors.append((0, "code is missing"))
    _check_texts("name", data.get("name"), errors)
    scale = data.get("scale")
    if not isinstance(scale, list) or len(scale) < 2:
        errors.append((0, "scale must list at least two answer options"))
        scale = []
    values = []
    for number, option in enumerate(scale, start=1):
        if not isinstance(option, dict) or not isinstance(option.get("value"), int):
            errors.append((number, "each scale option needs a whole-number value"))
            continue
        values.append(option["value"])
        _check_texts(f"scale option {number} label", option.get("label"), errors)
    if values != sorted(set(values)):
        errors.append((0, "scale values must be different and listed lowest first"))
    items = data.get("items")
    if not isinstance(items, list) or not items:
        errors.append((0, "items must be a non-empty list"))
        items = []
    keys = set()
    for number, item in enumerate(items, start=1):
        key = _clean(item.get("key")) if isinstance(item, dict) else ""
        if not key:
            errors.append((number, "item key is missing"))
        elif key in keys:
            errors.append((number, f"duplicate item key {key}"))
        keys.add(key)
        _check_texts(f"item {number} prompt", item.get("prompt") if key else None, errors)
    if errors:
        raise ImportFailed(str(path), errors)
    return {
        "code": _clean(data["code"]),
        "name": _texts(data["name"]),
        "source": _clean(data.get("source")),
        "scale": [{"value": o["value"], "label": _texts(o["label"])} for o in scale],
        "items": [{"key": _clean(i["key"]), "prompt": _texts(i["prompt"])} for i in items],
    }


def _texts(texts: dict[str, str]) -> dict[str, str]:
    """Wording per language, without bidi overrides (as every form field)."""
    return {language: clean_text(text) for language, text in texts.items()}


def _instrument_content(instrument: FeedbackInstrument) -> dict:
    return {
        "code": instrument.code,
        "name": instrument.name,
        "source": instrument.source,
        "scale": instrument.scale,
        "items": [{"key": i.key, "prompt": i.prompt} for i in instrument.items],
    }


def _save_instrument(data: dict) -> tuple[FeedbackInstrument, bool]:
    """Same content as the latest version: nothing to do. Different: a new version, so
    answers already given keep the wording they were given on."""
    latest = latest_instrument(data["code"])
    if latest is not None and _instrument_content(latest) == data:
        return latest, False
    instrument = FeedbackInstrument(
        code=data["code"],
        version=(latest.version + 1) if latest else 1,
        name=data["name"],
        scale=data["scale"],
        source=data["source"],
    )
    for position, item in enumerate(data["items"], start=1):
        instrument.items.append(
            FeedbackItem(key=item["key"], prompt=item["prompt"], position=position)
        )
    db.session.add(instrument)
    db.session.flush()
    return instrument, True


def import_instrument_file(path: str | Path) -> str:
    path = Path(path)
    instrument, created = _save_instrument(_parse_instrument(path))
    if not created:
        return f"Instrument {instrument.code} version {instrument.version} is already loaded."
    audit.record(
        None,
        "instrument.imported",
        instrument,
        after={"file": path.name, "version": instrument.version},
    )
    return (
        f"Imported instrument {instrument.code} version {instrument.version}: "
        f"{len(instrument.items)} items"
    )


def import_instrument_upload(raw: bytes, filename: str) -> tuple[FeedbackInstrument, bool]:
    """An instrument file uploaded by a director: same rules as the command line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(filename, [(0, "the file is not UTF-8 text")]) from None
    instrument, created = _save_instrument(parse_instrument_text(text, filename))
    if created:
        audit.record(
            None,
            "instrument.imported",
            instrument,
            after={"file": filename, "version": instrument.version},
        )
    return instrument, created


def latest_instrument(code: str) -> FeedbackInstrument | None:
    return db.session.scalar(
        select(FeedbackInstrument)
        .where(FeedbackInstrument.code == code)
        .order_by(FeedbackInstrument.version.desc())
        .limit(1)
    )


# --- shipped data ----------------------------------------------------------------------------


def _shipped(name: str) -> Path:
    return Path(str(resources.files("clerkship") / "data" / name))


def load_shipped() -> str:
    """Load every shipped framework, scale and instrument; running it again changes nothing."""
    from clerkship.frameworks import planner, reading

    frameworks = [
        planner.apply(planner.plan(reading.parse_file(_shipped(n).read_bytes(), n)), file_name=n)
        for n in SHIPPED_FRAMEWORKS
    ]
    scales = [_load_scale(json.loads(_shipped(n).read_text("utf-8"))) for n in SHIPPED_SCALES]
    instruments = [
        _save_instrument(_parse_instrument(_shipped(n)))[0] for n in SHIPPED_INSTRUMENTS
    ]
    return (
        "Loaded "
        + ", ".join(f"{f.name} ({len(f.competencies)})" for f in frameworks)
        + "; scale "
        + ", ".join(s.name for s in scales)
        + "; patient instrument "
        + ", ".join(f"{i.code} v{i.version}" for i in instruments)
        + "."
    )


def default_scale() -> EntrustmentScale | None:
    return db.session.scalar(
        select(EntrustmentScale).where(EntrustmentScale.code == DEFAULT_SCALE_CODE)
    )


def default_instrument() -> FeedbackInstrument | None:
    return latest_instrument(DEFAULT_INSTRUMENT_CODE)
