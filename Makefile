# autobot — the two set-up commands are `make run` and `make test`.
# uv is bootstrapped into .tools/ from PyPI with the pyenv Python named in .python-version;
# the project environment is .venv/, installed exactly from uv.lock.

PYTHON ?= python3.12
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint typecheck check env clean soak bench bench-quick axe status-examples screenshots

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --python $(PYTHON)
	touch $@

env: $(VENV)/.synced

# `make run SCENARIO=ops`: the operations story (a stuck draw, a paused VRF deposit, the DRAW feature
# off, a lottery closed by hand; README "The ops scenario").
SCENARIO ?= demo

run: env
	rm -rf .autobot && mkdir -p .autobot
	$(VENV)/bin/autobot run --state-dir .autobot --scenario $(SCENARIO) --status-listen 127.0.0.1:8080

test: env axe
	$(VENV)/bin/ruff check daemon tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

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
bench: env
	$(VENV)/bin/python -m bench.run

bench-quick: env
	$(VENV)/bin/python -m bench.run --quick

soak: env
	$(VENV)/bin/python tests/soak/soak.py

clean:
	rm -rf .tools $(VENV) .autobot .pytest_cache .mypy_cache .ruff_cache
