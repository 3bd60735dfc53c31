# autobot — the two set-up commands are `make run` and `make test`.
# uv is bootstrapped into .tools/ from PyPI with the pyenv Python named in .python-version;
# the project environment is .venv/, installed exactly from uv.lock: `make run` installs the
# runtime dependencies only, `make test` (and `make env`) the dev tools too.
#
#   make run [ARGS="--listen 127.0.0.1:9465 --status-listen 127.0.0.1:8081"]   the demo
#   make test         lint, format check, type check, every test       (~15-20 min on 2 cores)
#   make test-quick   the same without the slow process-level tests     (~4-6 min)

PYTHON ?= python3.12
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-quick lint typecheck check env runtime clean soak ha-soak bench bench-quick bench-postgres axe status-examples screenshots

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --python $(PYTHON)
	touch $@

env: $(VENV)/.synced

# The runtime dependencies only (no test or lint tools); --inexact keeps dev tools already there.
$(VENV)/.runtime: $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --no-dev --inexact --python $(PYTHON)
	touch $@

runtime: $(VENV)/.runtime

# `make run SCENARIO=ops`: the operations story (a stuck draw, a paused VRF deposit, the DRAW feature
# off, a lottery closed by hand; README "The ops scenario").
SCENARIO ?= demo

# ARGS are passed to `autobot run` after the defaults, so they win (e.g. another --listen).
run: runtime
	rm -rf .autobot && mkdir -p .autobot
	$(VENV)/bin/autobot run --state-dir .autobot --scenario $(SCENARIO) --status-listen 127.0.0.1:8080 $(ARGS)

# The PostgreSQL journal's tests need PostgreSQL: $$AUTOBOT_TEST_PG_DSN's server, or Debian's server
# binaries (apt-get install postgresql) for a throwaway cluster; said up front when missing.
test: env axe
	$(VENV)/bin/python -m autobot.journal.pgserver
	$(VENV)/bin/ruff check daemon tests bench
	$(VENV)/bin/ruff format --check daemon tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

# Everything but the tests marked slow (real processes, two-minute stories).
test-quick: env
	$(VENV)/bin/ruff check daemon tests bench
	$(VENV)/bin/ruff format --check daemon tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -m "not slow"

lint: env
	$(VENV)/bin/ruff check daemon tests bench
	$(VENV)/bin/ruff format --check daemon tests bench

typecheck: env
	$(VENV)/bin/mypy

# axe-core (npm) for the status page's accessibility check in the browser test; not committed.
AXE := .tools/npm/node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE):
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --prefix .tools/npm axe-core@4; \
	else echo "npm is missing (apt-get install npm): the status page's browser test will fail"; fi

# The status page's published examples and screenshots, generated from the demo (tests/e2e/status_story.py).
status-examples: env
	$(VENV)/bin/python tests/e2e/status_story.py examples docs/status-examples

screenshots: env
	$(VENV)/bin/python tests/e2e/status_story.py screenshots docs

# Benchmarks (bench/): each prints a table and a final `BENCH <name> key=value ...` line.
# BENCH_JOURNAL=postgres journals the daemons in PostgreSQL ($$AUTOBOT_TEST_PG_DSN's server, else a
# throwaway cluster with fsync on); `make bench-postgres`: reaction and takeover with PostgreSQL.
BENCH_JOURNAL ?= sqlite

bench: env
	$(VENV)/bin/python -m bench.run --journal $(BENCH_JOURNAL)

bench-quick: env
	$(VENV)/bin/python -m bench.run --quick --journal $(BENCH_JOURNAL)

bench-postgres: env
	$(VENV)/bin/python -m bench.run --only reaction takeover --journal postgres

soak: env
	$(VENV)/bin/python tests/soak/soak.py

# The failover soak: three instances on a throwaway PostgreSQL cluster (Debian's server binaries),
# the leader killed, frozen and cut off from its database, PostgreSQL restarted (<= 10 minutes).
ha-soak: env
	$(VENV)/bin/python tests/soak/ha_soak.py

clean:
	rm -rf .tools $(VENV) .autobot .pytest_cache .mypy_cache .ruff_cache
