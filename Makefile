# OPSG Metrics: the two commands of the README's quick start.
#   make run   - set up .venv, build data/opsg.duckdb from the sample if absent, start the app
#   make test  - set up .venv with the test extras (and Debian's chromium and Java if absent and root), run every test

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The database: $OPSG_DB when set (as the app resolves it), else data/opsg.duckdb.
DB ?= $(if $(OPSG_DB),$(OPSG_DB),data/opsg.duckdb)
PORT ?= 8501

.PHONY: run serve test lint deps dev-deps browser java sample clean-db

$(VENV)/.deps: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: $(VENV)/.deps requirements-dev.txt requirements-spark.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

deps: $(VENV)/.deps

dev-deps: $(VENV)/.dev-deps

# Built under a temporary name and moved into place, so an interrupted build is never taken for a whole one;
# with the sample, 300,000 synthetic request records (illustrative) for the Events page.
EVENTS_SAMPLE ?= 300k
$(DB): | $(VENV)/.deps
	rm -rf $(DB).building $(DB).building.wal $(DB).building.events $(DB).building.snapshots data/events-sample
	$(PY) -m opsg_metrics --db $(DB).building init --sample
	$(PY) -m opsg_metrics.sample --events --scale $(EVENTS_SAMPLE) --db $(DB).building --out data/events-sample
	$(PY) -m opsg_metrics --db $(DB).building events load data/events-sample/events-*.parquet \
		--source "Synthetic request records (illustrative)" 2>/dev/null
	rm -rf $(DB).building.snapshots $(DB).building.lock data/events-sample
	rm -rf $(DB).events && mv $(DB).building.events $(DB).events
	mv $(DB).building $(DB)

# Local mode (no [auth] in .streamlit/secrets.toml): only this machine can reach the app. In team mode the
# server listens where .streamlit/config.toml or ADDRESS says (make run ADDRESS=0.0.0.0).
ADDRESS ?= $(shell grep -qs '^\[auth\]' .streamlit/secrets.toml && echo "" || echo 127.0.0.1)
run: $(VENV)/.deps $(DB)
	$(PY) -m opsg_metrics.app.preflight .streamlit/secrets.toml
	$(PY) -m opsg_metrics --db $(DB) init
	$(PY) -m streamlit run app.py --server.port $(PORT) $(if $(ADDRESS),--server.address $(ADDRESS),)

# The production way (docs/deploy.md): team mode required, headless, no file watcher, the configured address
# and port (ADDRESS, PORT or .streamlit/config.toml), a log line per request on standard output, /healthz.
serve: $(VENV)/.deps
	$(PY) -m opsg_metrics.app.preflight --serve .streamlit/secrets.toml
	$(PY) -m opsg_metrics --db $(DB) init
	$(PY) -m streamlit run opsg_metrics/app/server.py --server.headless true --server.fileWatcherType none \
		--server.runOnSave false --browser.gatherUsageStats false --server.port $(PORT) \
		$(if $(ADDRESS),--server.address $(ADDRESS),)

# The browser tests drive Debian's chromium through Playwright (never a downloaded browser).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| { echo "could not install chromium"; exit 1; }; \
	else \
		echo "chromium is missing: install Debian's chromium (sudo apt-get install chromium) for the browser tests"; \
	fi

# The Spark tests run Apache Spark in local mode on Debian's Java runtime (never a downloaded one).
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's Java runtime for the Spark tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
		|| { echo "could not install openjdk-17-jre-headless"; exit 1; }; \
	else \
		echo "java is missing: install Debian's Java runtime (sudo apt-get install openjdk-17-jre-headless) for the Spark tests"; \
	fi

# Lint and format are checked first (ruff, configured in pyproject.toml); then every test.
lint: $(VENV)/.dev-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: $(VENV)/.dev-deps browser java lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Regenerate the committed illustrative sample data (deterministic).
sample: $(VENV)/.deps
	$(PY) -m opsg_metrics.sample

# Rebuild the local database from the sample.
clean-db:
	rm -rf $(DB) $(DB).wal $(DB).lock $(DB).snapshots $(DB).events
