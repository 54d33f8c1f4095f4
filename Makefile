# Two entry points for a fresh machine: `make demo` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
PORT ?= 8000

.PHONY: demo test setup assets clean-demo

demo: setup
	$(PY) manage.py demo --port $(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet '.[dev,postgres,redis]'
	touch $@

# Translations are compiled here rather than committed, so they never drift from the .po files.
assets: $(VENV)/.installed
	$(PY) manage.py compilemessages --ignore '$(VENV)' -v0

clean-demo:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm var/demo-admin.json
