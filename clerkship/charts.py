"""Server-rendered SVG line charts of levels over time: no JavaScript, prints in PDFs.

This module only computes geometry; ``templates/_macros/charts.html`` draws it, so every
label goes through Jinja's escaping. Each series has its own marker shape and line style as
well as colour, so the chart reads without colour too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

WIDTH = 560
# Drawn as SVG attributes as well as CSS classes, so PDFs (WeasyPrint) draw them the same.
STYLES = {
    "self": {"stroke": "#2b6cb0", "fill": "#ffffff", "dash": "6 4"},
    "preceptor": {"stroke": "#2e7d5b", "fill": "#2e7d5b", "dash": ""},
    "patient": {"stroke": "#7b4fb0", "fill": "#7b4fb0", "dash": "2 3"},
}
ROW = 34  # vertical space per level
LEFT = 16
RIGHT = 16
TOP = 14
BOTTOM = 34


@dataclass
class Point:
    x: float
    y: float
    label: str  # the accessible title of the marker, e.g. "12 Mar 2027: Self — Level 3"


@dataclass
class Series:
    name: str
    css: str  # "self" | "preceptor" | "patient": colour, marker and dash come from CSS
    marker: str  # "circle" | "square" | "diamond"
    points: list[Point] = field(default_factory=list)

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
    gridlines: list[tuple[float, str]]  # (y, level label)
    ticks: list[tuple[float, str]]  # (x, date label)
    series: list[Series]
    title: str


def level_chart(
    title: str,
    levels: list[tuple[int, str]],
    dates: list[date],
    series: list[tuple[str, str, str, list[int | None]]],
) -> Chart:
    """``levels``: (value, label) lowest first; ``series``: (name, css, marker, values by date).

    Dates are spaced evenly in order: the chart is about the sequence of assessments, and
    evenly spaced points stay readable when several fall in one week.
    """
    values = [value for value, _label in levels]
    low, high = min(values), max(values)
    height = TOP + ROW * (len(levels) - 1) + BOTTOM
    plot_left, plot_right = LEFT, WIDTH - RIGHT

    def y_of(value: int) -> float:
        if high == low:
            return TOP
        return TOP + (high - value) * ROW * (len(levels) - 1) / (high - low)

    def x_of(index: int) -> float:
        if len(dates) <= 1:
            return (plot_left + plot_right) / 2
        return plot_left + 20 + index * (plot_right - plot_left - 40) / (len(dates) - 1)

    labels = dict(levels)
    drawn = []
    for number, (name, css, marker, by_date) in enumerate(series):
        # Side by side, not on top of each other, when two voices chose the same level.
        nudge = (number - (len(series) - 1) / 2) * 7
        points = [
            Point(
                x_of(i) + nudge,
                y_of(value),
                f"{dates[i]:%d %b %Y}: {name} — {labels.get(value, value)}",
            )
            for i, value in enumerate(by_date)
            if value is not None
        ]
        drawn.append(Series(name, css, marker, points))
    step = max(1, len(dates) // 6)  # at most about six date labels
    ticks = [(x_of(i), f"{d:%d %b}") for i, d in enumerate(dates) if i % step == 0]
    return Chart(
        width=WIDTH,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        gridlines=[(y_of(value), label) for value, label in levels],
        ticks=ticks,
        series=drawn,
        title=title,
    )


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
        (x, y, f"{day:%d %b %Y}: {value:.0f}")
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
