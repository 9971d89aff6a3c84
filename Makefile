# mediaupload: `make run` serves the app with a local S3; `make test` runs every test tier.
SHELL := /bin/bash
# .venv holds the newest supported pair (Python 3.13, Django 6.x) when the machine has Python 3.13
# (on PATH, or pyenv's); otherwise python3 with the oldest pair's versions.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
	$(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# The page's dev tools (TypeScript, to type-check its JSDoc), exactly as package-lock.json pins them.
NODE_STAMP := node_modules/.package-lock.json
# The database tier runs a second time on PostgreSQL; it skips with one line where none answers.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# Debian packages the browser and strict tiers need; installed when missing and we are root.
SYSTEM_PACKAGES := chromium ffmpeg radosgw ceph-mon ceph-osd

# The embedded defaults `make run` uses when no .env exists: SQLite and a local S3 on :9000.
LOCAL_DEFAULTS := DEBUG=$${DEBUG-true} \
	AWS_S3_ENDPOINT_URL=$${AWS_S3_ENDPOINT_URL-http://127.0.0.1:9000} \
	CONTENT_UPLOAD_BUCKET=$${CONTENT_UPLOAD_BUCKET-mediaupload-local} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID-local} \
	AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY-local-secret}

# Bytecode caches on, whatever the environment says (some images set PYTHONDONTWRITEBYTECODE):
# without them every pytest run parses and assertion-rewrites its plugins again (Hypothesis and
# Schemathesis: about 5 s) and every child process compiles Django again. They go to
# __pycache__/ directories, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

# The unit tier: the tests with none of the slower tiers' markers (no S3 server, browser, RGW…).
UNIT_TIER := not functional and not db and not browser and not s3strict and not package
# The checks `make lint` runs (CI runs it after the tests), and `make check` with the unit tier.
LINTS := check-ruff check-mypy check-js-types check-js-format

.PHONY: install lock run serve worker test test-matrix test-python test-unit test-sample test-postgres \
	test-strict test-package test-js check lint $(LINTS) format system-deps bench bench-scale clean

# Exactly the versions of requirements/newest.txt (every extra, the demo's, test and dev tools),
# then the project itself, editable.
$(STAMP): pyproject.toml requirements/newest.txt requirements/oldest.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# uv, as locked, installs everything else (here, in the test matrix and in the package tier).
	$(PY) -m pip install --quiet "$$(grep -m1 '^uv==' requirements/newest.txt || echo uv)"
	if $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  $(UV) pip sync --quiet --python $(PY) requirements/newest.txt; \
	else \
	  $(UV) pip sync --quiet --python $(PY) requirements/oldest.txt; \
	  $(UV) pip install --quiet --python $(PY) --group dev --group matrix; \
	fi
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund

install: $(STAMP)

run: $(STAMP)
ifeq ($(wildcard .env),)
	$(LOCAL_DEFAULTS) $(PY) manage.py runlocal --demo --seed seed_demo
else
	$(PY) manage.py runlocal --demo --seed seed_demo
endif

# Production: settings from the environment or .env (SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, the
# bucket…); WEB_CONCURRENCY worker processes (gunicorn reads it; default 2); BIND host:port.
serve: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn mediaupload.wsgi --bind "$${BIND:-0.0.0.0:8000}" \
	  --workers "$${WEB_CONCURRENCY:-2}" --access-logfile - --error-logfile -

# Production's background work (media analysis): one task worker on the same settings and
# database as `make serve`; run as many as the analysis load needs, on any machine with ffmpeg.
worker: $(STAMP)
	$(PY) manage.py db_worker --no-reload

# Every tier: the page's JavaScript, then the test matrix (the newest pair runs every Python tier,
# the package tier included; the oldest pair unit, functional, db and the sample project).
test: $(STAMP) system-deps test-js test-matrix

test-matrix: $(STAMP)
	$(VENV)/bin/nox

# Renew the matrix's locked versions from PyPI (then run `make test` and commit them).
lock: $(STAMP)
	$(UV) pip compile pyproject.toml --all-extras --group demo --group test --group dev \
	  --group matrix --python-version 3.13 --custom-compile-command "make lock" -q \
	  -o requirements/newest.txt
	$(UV) pip compile pyproject.toml requirements/oldest.in --all-extras --group demo --group test \
	  --python-version 3.11 --custom-compile-command "make lock" -q -o requirements/oldest.txt

# The quick loops below run in .venv: one tier or the whole suite on one pair.
test-python: $(STAMP)
	$(PY) -m pytest

# The unit tier alone (about 30 s).
test-unit: $(STAMP)
	$(PY) -m pytest -m "$(UNIT_TIER)"

# A second, minimal project that installs the app as the README says (its own settings and models).
test-sample: $(STAMP)
	DJANGO_SETTINGS_MODULE=tests.sampleproject.settings $(PY) -m pytest tests/sampleproject --no-migrations

test-postgres: $(STAMP)
	DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest -m db

test-strict: $(STAMP) system-deps
	$(PY) -m pytest -m s3strict

# The built wheel in a fresh virtualenv, in a project made by django-admin startproject.
test-package: $(STAMP)
	$(PY) -m pytest -m package

test-js:
	node --test tests/js/

# Before each commit (about 40 s once mypy's and ruff's caches are warm): lint, format and types of
# the Python and the JavaScript alongside the unit tier, every piece to its end (--keep-going), each
# one's output printed whole when it ends. `pre-commit install` makes git run it on each commit
# (.pre-commit-config.yaml; pre-commit is not among the locked tools: `uv tool install pre-commit`).
check: $(STAMP) $(NODE_STAMP)
	@$(MAKE) --no-print-directory --keep-going --jobs=5 --output-sync=target $(LINTS) test-unit

# The same checks without the tests (CI runs them after `make test`).
lint: $(STAMP) $(NODE_STAMP)
	@$(MAKE) --no-print-directory --keep-going --jobs=4 --output-sync=target $(LINTS)

check-ruff: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check-mypy: $(STAMP)
	$(VENV)/bin/mypy .

# tsc over the page's modules and their tests; prettier over them (package.json's scripts).
check-js-types: $(NODE_STAMP)
	npm run --silent typecheck

check-js-format: $(NODE_STAMP)
	npm run --silent format:check

format: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	npm run --silent format

system-deps:
	@missing=""; \
	for package in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "Missing Debian packages:$$missing (the tiers that need them will skip; CI=true fails them)"; \
	fi

# The tables of bench/README.md: every bench against moto, then against Ceph RGW (about 25 minutes).
bench: $(STAMP) system-deps
	$(UV) pip install --quiet --python $(PY) --group bench
	set -e; for store in moto rgw; do \
	  $(PY) bench/issuance.py --s3 $$store; \
	  $(PY) bench/bytes.py --s3 $$store; \
	  $(PY) bench/complete.py --s3 $$store; \
	  $(PY) bench/browser.py --s3 $$store; \
	  $(PY) bench/analysis.py --s3 $$store; \
	done

# At scale (bench/README.md): 50 users at once on one app node and on two, against moto and Ceph
# RGW; the sweeps over 10,000 and 100,000 records and objects on RGW (about 15 minutes).
bench-scale: $(STAMP) system-deps
	set -e; for store in moto rgw; do $(PY) bench/load.py --s3 $$store; done
	$(PY) bench/sweeps.py --s3 rgw

clean:
	rm -rf $(VENV) .nox node_modules .pytest_cache .mypy_cache .ruff_cache var staticfiles \
	  *.egg-info build dist
