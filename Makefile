# Party school LMS — `make run` serves the demo, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SYSTEM_PACKAGES := fonts-noto-cjk fonts-arphic-ukai libharfbuzz-subset0 poppler-utils chromium
# nginx: the load balancer of the two-node deployment (README, Two nodes) and its fault test.
SYSTEM_PACKAGES += nginx
# slapd, ldap-utils, openssl: the throwaway OpenLDAP server (and its TLS certificate) the
# company-directory sign-in tests start.
SYSTEM_PACKAGES += slapd ldap-utils openssl
export LMS_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run serve test lint bench system-deps install install-dev db demo translations clean

run: install system-deps db demo
	@echo "Serving the demo on http://127.0.0.1:5000 (Ctrl+C to stop)"
	$(BIN)/lms run --host 127.0.0.1 --port 5000 --no-reload

# Production: gunicorn + PostgreSQL + Redis + an RQ worker, all from environment variables
# (see README, Deploy). The worker stops when gunicorn does.
serve: install
	@test -n "$$LMS_DATABASE_URL" || { echo "set LMS_DATABASE_URL (PostgreSQL)"; exit 1; }
	@test -n "$$LMS_REDIS_URL" || { echo "set LMS_REDIS_URL"; exit 1; }
	LMS_ENV=production $(BIN)/lms db upgrade
	LMS_ENV=production $(BIN)/rq worker --url "$$LMS_REDIS_URL" $${LMS_RQ_QUEUE:-lms} & worker=$$!; \
	trap 'kill $$worker' EXIT INT TERM; \
	LMS_ENV=production $(BIN)/gunicorn -c python:lms.gunicorn_conf --workers $${LMS_WORKERS:-2} \
		--bind $${LMS_BIND:-0.0.0.0:8000} 'lms:create_app()'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-install
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.stamp-install
install-dev: $(VENV)/.stamp-dev

# Installs missing Debian packages when root with apt; otherwise names them.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "NOTE: please install these system packages (e.g. sudo apt-get install$$missing):"; \
		echo "      CJK fonts and HarfBuzz subsetting for certificates, Chromium for browser tests,"; \
		echo "      nginx for the two-node deployment and its fault test,"; \
		echo "      slapd and ldap-utils for the company-directory sign-in tests."; \
	fi

db: install
	$(BIN)/lms db upgrade

demo: install
	$(BIN)/lms content load

lint: install-dev
	$(BIN)/ruff check lms tests bench migrations
	$(BIN)/ruff format --check lms tests bench migrations
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

test: install-dev system-deps lint
	$(BIN)/pytest -q --cov=lms --cov-report=term:skip-covered --cov-fail-under=90
	@if $(BIN)/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL run =="; \
		LMS_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not once"; \
	elif [ "$$CI" = "true" ]; then \
		echo "FAIL: PostgreSQL at 127.0.0.1:5432 is unreachable and CI=true"; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL at 127.0.0.1:5432 is unreachable; tests ran on SQLite only"; \
	fi

bench: install-dev
	$(BIN)/python bench/run.py

translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -o lms/translations/messages.pot .
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d lms/translations

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache
