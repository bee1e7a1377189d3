"""What the benchmarks share: the output format and the demo year they measure.

``bench/portfolio_bench.py`` and ``bench/load_bench.py`` both print one JSON line per figure
and both measure the demo year (``BENCH_STUDENTS`` students, default 150), built the same way
``flask db upgrade``, ``flask seed`` and ``flask demo`` would build it.
"""

from __future__ import annotations

import json
import os
import time

STUDENTS = int(os.environ.get("BENCH_STUDENTS", "150"))


def emit(figure: str, **values) -> None:
    print(json.dumps({"figure": figure, "cores": os.cpu_count(), **values}), flush=True)


def build_demo_year(app, students: int = STUDENTS) -> float:
    """Migrate the app's empty database, load the shipped frameworks and build the demo year;
    commit and return the seconds it took."""
    import flask_migrate

    from clerkship import demo
    from clerkship.extensions import db

    started = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        demo.build_demo_year(students=students)  # loads the shipped frameworks (seed) first
        db.session.commit()
        db.session.remove()
    return time.perf_counter() - started
