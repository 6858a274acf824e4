# citynet — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo ha-demo test test-fast lint deps venv bench soak clean catalogs catalogs-compile

demo: venv  ## seed a demo district and run citynet (web on 127.0.0.1:8080)
	$(BIN)/citynet demo

ha-demo: venv  ## two sites on this machine: Patroni, etcd, a citynet node per site (root; Ctrl-C ends)
	$(BIN)/python -m tests.lab.hademo

# Two workers, a test file each at a time: the suite spends most of its time waiting on
# the real peers it starts (CPU ~17 of ~30 minutes), and every lab claims its own ports,
# namespaces, subnets and databases, so files run side by side (README, "The two commands").
test: deps venv lint  ## everything: system packages, lint, the whole suite (soak tests: make soak)
	$(BIN)/pytest -m "not soak" -n 2 --dist loadfile

test-fast: venv  ## unit and quick integration tests, no slow/lab tests
	$(BIN)/pytest -m "not slow and not soak"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

deps:  ## Debian packages and services the tests use (needs root)
	bash scripts/test-deps.sh

bench: venv  ## the benchmarks in bench/, FreeRADIUS included as the baseline (needs root)
	bash scripts/test-deps.sh freeradius-postgresql  # FreeRADIUS recording to PostgreSQL: a baseline
	$(BIN)/python bench/auth.py
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/eap.py
	$(BIN)/python bench/accounting.py
	$(BIN)/python bench/sessions.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/telemetry.py
	$(BIN)/python bench/steady.py --minutes 3
	$(BIN)/python bench/processes.py
	$(BIN)/python bench/coverage.py --postgres
	$(BIN)/python bench/rowsizes.py
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/devices.py

soak: venv  ## long runs: the long fault tests, RADIUS latency and memory over 30 minutes
	$(BIN)/pytest -m soak
	$(BIN)/python bench/steady.py --minutes 30 --only collectors

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# gettext catalogs (docs/i18n.md): the domains that have translations/, their locales
CATALOGS ?= citynet radius devices portal inventory monitoring admission
LOCALES  ?= zh_Hans_CN zh_Hant_HK en

catalogs: venv  ## extract each domain's msgids into its .pot and merge them into its .po files
	for d in $(CATALOGS); do \
	  $(BIN)/pybabel extract --mapping-file babel.cfg --no-location --sort-output \
	    --project citynet --copyright-holder citynet --width 96 \
	    --output-file $$d/translations/messages.pot $$d && \
	  for l in $(LOCALES); do \
	    $(BIN)/pybabel update --input-file $$d/translations/messages.pot \
	      --output-dir $$d/translations --locale $$l --no-fuzzy-matching --width 96 \
	      --ignore-obsolete || exit 1; \
	  done; done

catalogs-compile: venv  ## the .mo files the app reads (committed: tests check they match)
	for d in $(CATALOGS); do \
	  $(BIN)/pybabel compile --directory $$d/translations --statistics || exit 1; done
