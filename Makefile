# Engage: `make run` and `make test` work on a fresh machine; each installs what it needs first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The stamp names the pyproject it was installed from: editing dependencies reinstalls.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
NODE_CONTRACT := tests/contract/node
NODE_STAMP := $(NODE_CONTRACT)/node_modules/.installed
PROTO_FILES := $(shell find protos/engage -name '*.proto' | sort)

.PHONY: install run server worker test check protos protos-check lint typecheck bench clean node-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# The HTML report's browser test drives Debian's chromium (root installs it; elsewhere the test says so).
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation)
	@rm -f $(VENV)/.installed-*
	@touch $@

# Node's grpc-js and proto-loader: a gRPC client no one here wrote, for the contract test.
node-deps: $(NODE_STAMP)

$(NODE_STAMP): $(NODE_CONTRACT)/package.json $(NODE_CONTRACT)/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd $(NODE_CONTRACT) && npm ci --silent --no-audit --no-fund
	@touch $@

run: install
	$(PY) -m server.launcher

server: install
	$(PY) -m server

worker: install
	$(PY) -m workers

protos: install
	$(PY) protos/generate.py

# Regenerates the stubs into a scratch folder and fails when they differ from the committed ones.
protos-check: install
	$(PY) protos/generate.py --check

lint: install
	$(BIN)/ruff check .

# mypy as configured in pyproject.toml (strict on server.domain and server.services); cache in .mypy_cache.
typecheck: install
	$(BIN)/mypy

check: lint protos-check typecheck

# Two workers (CI has two cores, and the tests mostly wait on processes, sockets and databases), then
# the fault tests apart: they time real processes killed and cut off, and load beside them skews that.
# Those timed closely (xdist_group "faults-timed") run one after another; beside them, on the second
# worker, the two that mostly wait with generous bounds ("faults-waiting": the Redis outage, make run).
# The slowest tests are listed at the end of each part, where a run that grew shows why.
test: install node-deps check
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal -m "not faults" --durations=25
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -m faults --durations=10

# Every suite of tests/bench (ingest and the bus, insight batches, goals, products, personas, triggers:
# var/bench.json), engagement dispatch (var/bench-dispatch.json), the HTML report over a million
# deliveries (var/bench-report.json), the event history's CSV export (var/bench-export.json).
# docs/benchmarks.md says what each measures and how to run one alone.
bench: install
	$(PY) -m tests.bench
	$(PY) -m tests.bench.dispatch
	$(PY) -m tests.bench.html_report
	$(PY) -m tests.bench.exports

clean:
	rm -rf $(VENV) var $(NODE_CONTRACT)/node_modules
