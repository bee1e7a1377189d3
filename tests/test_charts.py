"""Charts: level numbers in a gutter nothing crosses, and the patients' chart is a true time
axis of separate marks (different patients' answers are never one line)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import render_template_string

from clerkship.charts import level_chart, spread_chart
from clerkship.portfolios.render import PATIENT_SCALE, charts_for

LEVELS = [(1, "Observe only"), (2, "Direct supervision"), (3, "Indirect supervision")]
DAYS = [date(2026, 9, 1), date(2026, 9, 3), date(2026, 12, 1)]


def _svg(app, chart) -> str:
    with app.test_request_context():
        return render_template_string(
            '{% from "_macros/charts.html" import level_chart %}{{ level_chart(chart) }}',
            chart=chart,
        )


def test_patient_scores_are_separate_marks_on_a_time_axis(app):
    data = {
        "levels": [],
        "competencies": [],
        "feedback": {
            "responses": [
                {"score": score, "on": day.isoformat()}
                for score, day in zip((40, 90, 60), DAYS, strict=True)
            ]
        },
    }
    with app.test_request_context():
        _charts, chart = charts_for(data)
    xs = [p.x for p in chart.series[0].points]
    # 2 days then 89 days apart: the gaps are to scale, not evenly spaced.
    assert abs((xs[1] - xs[0]) / (xs[2] - xs[0]) - 2 / 91) < 0.01
    svg = _svg(app, chart)
    assert 'class="line patient"' not in svg  # no line joins two patients
    assert svg.count('class="marker patient"') == 3


def test_level_numbers_sit_left_of_everything_drawn(app):
    with app.test_request_context():
        chart = level_chart("EPA 1", LEVELS, DAYS, [("Self", "self", "circle", [1, 3, 2])])
    assert [label for _y, label in chart.gridlines] == ["1", "2", "3"]
    assert min(p.x for p in chart.series[0].points) - 7 > chart.plot_left
    svg = _svg(app, chart)
    label_x = [float(x) for x in re.findall(r'class="level-label"[^>]*x="([\d.]+)"', svg)]
    assert label_x and max(label_x) < chart.plot_left  # right-aligned at the gutter's edge
    assert "Direct supervision" in svg.split("</svg>")[-1]  # the names: in the key below
    assert chart.font >= 12 and chart.width <= 360  # >= 12 px where the column is 340+ px


def test_patient_scale_needs_no_key(app):
    with app.test_request_context():
        chart = level_chart("P", PATIENT_SCALE, DAYS, [("P", "patient", "diamond", [1, 2, 3])])
    assert chart.key == []


def test_two_frameworks_with_the_same_code_each_get_their_own_chart(app):
    """Codes are unique only within a framework: "ICS" in the ACGME domains and in a school's
    own framework are two sections, and each shows its own assessments."""

    def section(self_levels):
        return {
            "code": "ICS",
            "assessments": [
                {"on": day.isoformat(), "self_level": [level], "preceptor_level": [1]}
                for level, day in zip(self_levels, DAYS, strict=True)
            ],
        }

    data = {
        "levels": LEVELS,
        "competencies": [section((1, 1, 1)), section((3, 3, 3))],
        "feedback": {"responses": []},
    }
    with app.test_request_context():
        charts, _patients = charts_for(data)
    assert sorted(charts) == [0, 1]
    first, second = ([p.y for p in charts[n].series[0].points] for n in (0, 1))
    assert first != second


def test_spread_bars_are_as_long_as_their_students_and_mark_the_median(app):
    labels = {
        "row": "{n} assessed",
        "bar": "{n} competencies assessed: {students} students, {flagged} need attention.",
        "median": "The cohort's median is here.",
    }
    chart = spread_chart("Spread", [(0, 10, 4), (1, 40, 0), (2, 20, 2)], 1.2, labels)
    widths = [bar.width for bar in chart.bars]
    assert widths[1] == max(widths)
    assert widths[0] * 4 == pytest.approx(widths[1]) and widths[2] * 2 == pytest.approx(widths[1])
    assert chart.bars[0].flagged_width * 10 / 4 == pytest.approx(widths[0])
    assert [bar.median for bar in chart.bars] == [False, True, False]
    assert chart.bars[1].title.endswith("need attention. The cohort's median is here.")
    assert chart.bar_left + widths[1] <= chart.width
    svg = _svg_of(app, "spread_chart", chart)
    assert svg.count('<g class="bar') == 3 and svg.count('class="bar median"') == 1
    assert "2 competencies assessed: 20 students, 2 need attention." in svg


def _svg_of(app, macro: str, chart) -> str:
    with app.test_request_context():
        return render_template_string(
            f'{{% from "_macros/charts.html" import {macro} %}}{{{{ {macro}(chart) }}}}',
            chart=chart,
        )
