# `make run` and `make test` are all a new machine needs; both build .venv first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# pip warns about index folders this machine kind does not have; keep set-up output readable.
QUIET_PIP := grep -v "^WARNING: Location" || true
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests run under a non-UTC zone on purpose: stored timestamps must not move with it.
TEST_TZ ?= America/Sao_Paulo

export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: setup run dev test test-fast test-integration lint bench lock clean

setup: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml scripts/install-system-deps
	scripts/install-system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | { $(QUIET_PIP); }
	$(PY) -m pip install -q -r requirements.lock -r requirements-dev.lock 2>&1 | { $(QUIET_PIP); }
	$(PY) -m pip install -q --no-deps -e . 2>&1 | { $(QUIET_PIP); }
	mkdir -p $(VENV)/share/java
	cp /usr/share/java/postgresql.jar $(VENV)/share/java/postgresql.jar
	$(PY) -m roles_assets_dev.spark_class_archive
	touch $@

# Every landed day, in natural order, into $ROLES_DATABASE_URL or a project-local PostgreSQL;
# the Dagster instance (DAGSTER_HOME=.local/dagster_home) on that local server too.
run: setup
	$(PY) -m roles_assets_dev.run_days

# The Dagster UI on http://127.0.0.1:3000, against the same database as `make run`.
dev: setup
	$(PY) -m roles_assets_dev.run_days --dev

# Test workers in parallel, each with its own PostgreSQL (one Spark Connect server serves them all);
# the default suits this machine kind's 2 cores.
# Tests are handed out one at a time: xdist's default hands each worker a block of consecutive
# tests up front, which put every slow test (they start first) on one worker.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --maxschedchunk 1

# The 25 slowest tests close the output, so the suite's cost stays in view (CI prints it).
test: setup
	TZ=$(TEST_TZ) $(PY) -m pytest $(XDIST) --durations=25

# The fast layer (transforms, partitions, sensor, settings, the Freshdesk client): no PostgreSQL;
# the transforms run on a Spark Connect server of the run's own.
test-fast: setup
	TZ=$(TEST_TZ) $(PY) -m pytest $(XDIST) -m fast

# Everything with real servers: PostgreSQL, the CLI, Spark Connect, a cluster, the webserver.
test-integration: setup
	TZ=$(TEST_TZ) $(PY) -m pytest $(XDIST) -m integration

# ruff: lint and format (pyproject.toml); import-linter: the package's floors (.importlinter),
# without its cache, which served a stale import graph after a file was restored. CI runs it
# before the tests.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# The benchmark: the graph next to the floor and dlt; prints a table, writes .local/bench/results.json.
# Scale it with BENCH_ARGS, e.g. `make bench BENCH_ARGS="--roles 20000 --repeats 1"`.
bench: setup
	$(PY) -m bench.run $(BENCH_ARGS)

# Re-pin requirements.lock from what the venv holds now.
lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v -F -x -f <(grep -v '^#' requirements-dev.lock) \
		| sed '1i # Every runtime package, pinned (pip freeze of a working set). Regenerate with `make lock`.' > requirements.lock

clean:
	-$(PY) -m roles_assets_dev.local_postgres stop
	rm -rf $(VENV) .local
