"""Server-rendered SVG charts of levels over time: no JavaScript, prints in PDFs.

This module only computes geometry; ``templates/_macros/charts.html`` draws it, so every
label goes through Jinja's escaping. Each series has its own marker shape and line style as
well as colour, so the chart reads without colour too.

Sized for a phone: the drawing is 340 units wide and its text 13 units tall, so at 390 px
(about 340 px of column) the text is at least 12 px; wider screens cap it (CSS). The y axis
names each level by its number in a gutter of its own, left of everything drawn, so no line
crosses a label; what the numbers mean is a key under the chart (HTML), which can be as long
as a level's name is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from clerkship.dates import short_day, show_date

WIDTH = 340
FONT = 13  # user units; drawn at WIDTH wide this is 13 px
# Drawn as SVG attributes as well as CSS classes, so PDFs (WeasyPrint) draw them the same.
STYLES = {
    "self": {"stroke": "#2b6cb0", "fill": "#ffffff", "dash": "6 4"},
    "preceptor": {"stroke": "#2e7d5b", "fill": "#2e7d5b", "dash": ""},
    "patient": {"stroke": "#7b4fb0", "fill": "#7b4fb0", "dash": "2 3"},
}
ROW = 30  # vertical space per level
RIGHT = 12
TOP = 12
BOTTOM = 30
INSET = 14  # between the axis and the first and last point (markers are 7 units wide)
MAX_TICKS = 4  # date labels that fit side by side at 13 units


@dataclass
class Point:
    x: float
    y: float
    label: str  # the accessible title of the marker, e.g. "Mar 12, 2027: Self — Level 3"


@dataclass
class Series:
    name: str
    css: str  # "self" | "preceptor" | "patient": colour, marker and dash come from CSS
    marker: str  # "circle" | "square" | "diamond"
    points: list[Point] = field(default_factory=list)
    joined: bool = True  # one voice over time; False: separate people, markers only

    @property
    def style(self) -> dict:
        return STYLES[self.css]

    @property
    def path(self) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points)
        )


@dataclass
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    gridlines: list[tuple[float, str]]  # (y, the level's number, drawn in the gutter)
    ticks: list[tuple[float, str]]  # (x, date label)
    series: list[Series]
    title: str
    key: list[tuple[str, str]]  # (number, name) under the chart; empty when they are the same
    font: int = FONT


def level_chart(
    title: str,
    levels: list[tuple[int, str]],
    dates: list[date],
    series: list[tuple[str, str, str, list[int | None]]],
    *,
    time_axis: bool = False,
    joined: bool = True,
) -> Chart:
    """``levels``: (value, label) lowest first; ``series``: (name, css, marker, values by date).

    By default dates are spaced evenly in order: a student's assessments are a sequence, and
    evenly spaced points stay readable when several fall in one week. ``time_axis`` places
    them by date instead (patients' answers, which come when they come); ``joined=False``
    draws markers only, for points that are different people's.
    """
    values = [value for value, _label in levels]
    low, high = min(values), max(values)
    height = TOP + ROW * (len(levels) - 1) + BOTTOM
    gutter = max(len(str(value)) for value in values) * FONT * 0.62 + 10
    plot_left, plot_right = gutter, WIDTH - RIGHT
    first, last = (min(dates), max(dates)) if dates else (None, None)

    def y_of(value: int) -> float:
        if high == low:
            return TOP
        return TOP + (high - value) * ROW * (len(levels) - 1) / (high - low)

    def x_at(fraction: float) -> float:
        return plot_left + INSET + fraction * (plot_right - plot_left - 2 * INSET)

    def x_of(index: int) -> float:
        if len(dates) <= 1 or first == last:
            return (plot_left + plot_right) / 2
        if time_axis:
            return x_at((dates[index] - first).days / (last - first).days)
        return x_at(index / (len(dates) - 1))

    labels = dict(levels)
    drawn = []
    for number, (name, css, marker, by_date) in enumerate(series):
        # Side by side, not on top of each other, when two voices chose the same level.
        nudge = (number - (len(series) - 1) / 2) * 7
        points = [
            Point(
                x_of(i) + nudge,
                y_of(value),
                f"{show_date(dates[i])}: {name} — {labels.get(value, value)}",
            )
            for i, value in enumerate(by_date)
            if value is not None
        ]
        drawn.append(Series(name, css, marker, points, joined))
    if time_axis and first is not None and last is not None and first != last:
        ticks = [
            (x_at((day - first).days / (last - first).days), short_day(day))
            for day in _time_ticks(first, last)
        ]
    else:
        step = -(-len(dates) // MAX_TICKS) if dates else 1
        ticks = [(x_of(i), short_day(d)) for i, d in enumerate(dates) if i % step == 0]
    key = [(str(value), label) for value, label in levels if label != str(value)]
    return Chart(
        width=WIDTH,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        gridlines=[(y_of(value), str(value)) for value in values],
        ticks=ticks,
        series=drawn,
        title=title,
        key=key,
    )


def _time_ticks(first: date, last: date) -> list[date]:
    """The first and last day and, between them, evenly spaced days (at most MAX_TICKS)."""
    span = (last - first).days
    count = min(MAX_TICKS, span + 1)
    if count <= 1:
        return [first]
    return [first + timedelta(days=round(i * span / (count - 1))) for i in range(count)]


@dataclass
class Sparkline:
    width: int
    height: int
    path: str
    dots: list[tuple[float, float, str]]  # (x, y, accessible label)


def sparkline(points: list[tuple[date, float]], *, low=0, high=100, width=160, height=36):
    """A small trend line of scores between ``low`` and ``high`` (e.g. patient feedback)."""
    pad = 4

    def xy(index: int, value: float) -> tuple[float, float]:
        x = pad + (index * (width - 2 * pad) / (len(points) - 1) if len(points) > 1 else width / 2)
        y = height - pad - (value - low) * (height - 2 * pad) / (high - low)
        return x, y

    coords = [xy(i, value) for i, (_day, value) in enumerate(points)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    dots = [
        (x, y, f"{show_date(day)}: {value:.0f}")
        for (x, y), (day, value) in zip(coords, points, strict=True)
    ]
    return Sparkline(width, height, path, dots)


# --- where each student of a cohort stands ------------------------------------------------------
STANDING_WIDTH = 360  # narrow viewBox: on a 390 px phone its text is drawn near its true size
STANDING_ROW = 24
STANDING_NAMES = 128  # room for the names on the left


@dataclass
class StandingBar:
    name: str
    y: float
    width: float  # competencies assessed now
    before_x: float  # where the student stood a month ago
    flagged: bool
    label: str  # the accessible title: "Ana Ruiz: 6 competencies assessed, 4 a month ago"


@dataclass
class StandingChart:
    kind = "standing"  # which macro draws it (_macros/charts.html)
    width: int
    height: int
    bar_left: float
    bar_right: float
    median_x: float
    median_label: str
    ticks: list[tuple[float, str]]
    bars: list[StandingBar]
    title: str


def standing_chart(
    title: str,
    students: list[tuple[str, int, int, bool]],
    median: float,
    labels: dict[str, str],
) -> StandingChart:
    """``students``: (name, assessed now, assessed a month ago, flagged), in display order;
    ``labels``: the translated "bar" and "median" wordings (the template owns no arithmetic)."""
    top = max([now for _n, now, _b, _f in students] + [median, 1])
    left, right = STANDING_NAMES, STANDING_WIDTH - 12
    span = right - left

    def x_of(value: float) -> float:
        return left + value * span / top

    bars = [
        StandingBar(
            name=name if len(name) <= 18 else name[:17] + "…",
            y=8 + index * STANDING_ROW,
            width=x_of(now) - left,
            before_x=x_of(before),
            flagged=flagged,
            label=labels["bar"].format(name=name, now=now, before=before),
        )
        for index, (name, now, before, flagged) in enumerate(students)
    ]
    step = max(1, round(top / 4))
    ticks = [(x_of(v), str(v)) for v in range(0, int(top) + 1, step)]
    return StandingChart(
        width=STANDING_WIDTH,
        height=8 + len(students) * STANDING_ROW + 22,
        bar_left=left,
        bar_right=right,
        median_x=x_of(median),
        median_label=labels["median"].format(median=f"{median:g}"),
        ticks=ticks,
        bars=bars,
        title=title,
    )


# --- how many students of a large cohort stand where ------------------------------------------
SPREAD_NAMES = 112  # room for "12 competencies" on the left


@dataclass
class SpreadBar:
    label: str  # "4 competencies"
    y: float
    width: float  # every student with this many
    flagged_width: float  # those of them who need attention
    count: str  # the number drawn at the bar's end
    title: str  # the accessible title: "4 competencies assessed: 31 students, 5 need attention"
    median: bool  # the cohort's median falls on this row


@dataclass
class SpreadChart:
    kind = "spread"
    width: int
    height: int
    bar_left: float
    bars: list[SpreadBar]
    ticks: list[tuple[float, str]]
    title: str


def spread_chart(
    title: str,
    rows: list[tuple[int, int, int]],
    median: float,
    labels: dict[str, str],
) -> SpreadChart:
    """``rows``: (competencies assessed, students, of them flagged), one per count from 0 to
    the highest; ``labels``: the translated "row", "bar" and "median" wordings, each with
    ``{n}``, ``{students}`` and ``{flagged}`` to fill (the template owns no arithmetic)."""
    top = max([students for _n, students, _f in rows] + [1])
    left, right = SPREAD_NAMES, STANDING_WIDTH - 40  # room for the count after the bar
    span = right - left

    def length(value: float) -> float:
        return value * span / top

    bars = [
        SpreadBar(
            label=labels["row"].format(n=n),
            y=8 + index * STANDING_ROW,
            width=length(students),
            flagged_width=length(flagged),
            count=str(students),
            title=labels["bar"].format(n=n, students=students, flagged=flagged)
            + (" " + labels["median"] if n == round(median) else ""),
            median=n == round(median),
        )
        for index, (n, students, flagged) in enumerate(rows)
    ]
    step = max(1, round(top / 4))
    ticks = [(left + length(v), str(v)) for v in range(0, top + 1, step)]
    return SpreadChart(
        width=STANDING_WIDTH,
        height=8 + len(rows) * STANDING_ROW + 22,
        bar_left=left,
        bars=bars,
        ticks=ticks,
        title=title,
    )
