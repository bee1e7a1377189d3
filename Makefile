# Clerkship — the two commands in the README: `make run` and `make test`.
# Everything installs into .venv from this repository's own files.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app clerkship
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint format bench bench-scale venv dev chromium pdf-libs pdf-tools saml-tools translations translations-update clean

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

dev: $(VENV)/.installed-dev

# Compile message catalogues when there are any (Spanish arrives with the patient pages).
translations: venv
	@if ls translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile --use-fuzzy -d translations -D messages --statistics; fi

# After changing user-facing text: refresh the catalogues, then translate the new entries
# in translations/es/LC_MESSAGES/messages.po (patient pages must always be complete).
translations-update: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 -o translations/messages.pot --no-location .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --width 99

# WeasyPrint (portfolio PDFs) needs Pango and HarfBuzz's subsetter from the operating system.
# Without the subsetter WeasyPrint falls back to fontTools, which made every PDF about 0.7 s
# slower (a third of the render): the check asks for the subsetter itself, not just the import.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
pdf-libs: venv
	@if ! $(BIN)/python -W error -c "from weasyprint.text.ffi import harfbuzz_subset; assert harfbuzz_subset" >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing Pango and HarfBuzz for WeasyPrint…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_LIBS) >/dev/null; \
		else \
			echo "!!! WeasyPrint cannot load its libraries: install $(PDF_LIBS) (PDF exports will fail)."; \
		fi; \
	fi

# The tests check PDFs with qpdf and turn pages into images with poppler's pdftoppm.
pdf-tools:
	@if ! command -v qpdf >/dev/null || ! command -v pdftoppm >/dev/null; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing qpdf and poppler-utils for the PDF tests…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qpdf poppler-utils >/dev/null; \
		else \
			echo "!!! qpdf/pdftoppm missing: PDF checks in the browser tests will be skipped."; \
		fi; \
	fi

# School sign-in over SAML (pysaml2) signs and checks XML with the xmlsec1 program.
saml-tools:
	@if ! command -v xmlsec1 >/dev/null; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing xmlsec1 for SAML sign-in…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
		else \
			echo "!!! xmlsec1 is missing: SAML sign-in will not work (sudo apt-get install xmlsec1)."; \
		fi; \
	fi

## run: install, migrate, load the demo year if the database is empty, serve on 127.0.0.1:5000
## with a task-queue worker (portfolio PDFs) running beside the web server
run: venv translations pdf-libs saml-tools
	@export CLERKSHIP_ENV=$${CLERKSHIP_ENV:-development}; \
	export CLERKSHIP_BASE_URL=$${CLERKSHIP_BASE_URL:-http://$(HOST):$(PORT)}; \
	$(FLASK) db upgrade && \
	$(FLASK) seed && \
	$(FLASK) demo --if-empty && \
	echo "" && \
	echo "Clerkship is starting on http://$(HOST):$(PORT)/ (with 2 export workers)" && \
	echo "Demo sign-ins: director@riverbend.example.org, admin@, student01@, preceptor01@, patient@ (same domain)" && \
	echo "Demo password: clerkship-demo-2026" && \
	echo "" && \
	{ $(BIN)/huey_consumer clerkship.tasks.huey --workers 2 --worker-type process --max-delay 1 --quiet & \
	  WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT); }

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's chromium for the browser tests…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "!!! /usr/bin/chromium is missing and cannot be installed here: browser tests will be SKIPPED."; \
			echo "!!! Install it with: sudo apt-get install chromium"; \
		fi; \
	fi

## test: install the dev extras and run the whole suite (SQLite; PostgreSQL with TEST_DATABASE_URL)
test: dev chromium pdf-libs pdf-tools saml-tools translations
	$(BIN)/python -m pytest

# ruff (with the DTZ rules: no naive clocks) and mypy on the models, the access rules and every
# service and query module (the files are listed in pyproject.toml's [tool.mypy]).
lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

## bench: performance measurements, one JSON line per figure (not part of make test): portfolio
## PDFs and pages (SQLite), then a 2-minute Locust load run against gunicorn on PostgreSQL
## (BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test)
bench: dev pdf-libs $(VENV)/.installed-bench
	$(BIN)/python bench/portfolio_bench.py
	$(BIN)/python bench/load_bench.py
	$(BIN)/python bench/page_bench.py

## bench-scale: 1,000 students in 3 programs on PostgreSQL: dashboards, portfolio pages and a
## cohort export with 1, 2 and 4 workers (BENCH_REDIS_URL: a Redis database it may empty)
bench-scale: dev pdf-libs $(VENV)/.installed-bench
	$(BIN)/python bench/scale_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info test-artifacts
