"""The baseline for ``bench/load_bench.py``: the smallest Flask app, served the same way.

``gunicorn bench.hello_app:app`` (or ``hello_app:app`` from inside bench/).
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
