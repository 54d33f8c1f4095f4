# Two entry points for a fresh machine: `make demo` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
PORT ?= 8000

.PHONY: demo test setup assets bundle system-deps test-deps clean-demo

demo: setup
	$(PY) manage.py demo --port $(PORT)

test: setup test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian packages, installed only when missing. The demo needs gettext to compile translations and Node.js
# with npm to bundle dingtalk-jsapi; only the tests need a browser: Chromium, with a Chinese font so that
# pages are measured as a reader sees them.
SYSTEM_DEPS := msgfmt:gettext node:nodejs npm:npm
TEST_DEPS := chromium:chromium fc-list:fontconfig wqy-microhei:fonts-wqy-microhei
APT_INSTALL = if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
# A pair is command:package; a font counts as present when fc-list knows its file.
HAS = command -v $${pair%%:*} >/dev/null || fc-list 2>/dev/null | grep -q $${pair%%:*}

system-deps:
	@missing=""; for pair in $(SYSTEM_DEPS); do $(HAS) || missing="$$missing $${pair#*:}"; done; $(APT_INSTALL)

test-deps:
	@missing=""; for pair in $(TEST_DEPS); do $(HAS) || missing="$$missing $${pair#*:}"; done; $(APT_INSTALL)

setup: system-deps $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet '.[dev,postgres,redis]'
	touch $@

# Translations are compiled here rather than committed, so they never drift from the .po files.
# The dingtalk-jsapi browser bundle (window.dd) is built from npm, never fetched from a CDN.
DD_BUNDLE := sso/static/sso/vendor/dingtalk-jsapi.js
assets: $(VENV)/.installed $(DD_BUNDLE)
	$(PY) manage.py compilemessages --ignore '$(VENV)' --ignore node_modules -v0

# Production builds only the bundle (Node.js and npm on the build machine; `check --deploy` fails without it).
bundle: $(DD_BUNDLE)

$(DD_BUNDLE): sso/frontend/package.json sso/frontend/package-lock.json sso/frontend/entry.js
	cd sso/frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

clean-demo:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm var/demo-admin.json
