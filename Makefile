# crossexec_ml task runner. `make help` lists the targets.
# Everything runs inside .venv, created from the machine's python3; nothing is installed globally.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CROSSEXEC := $(VENV)/bin/crossexec
STAMP := $(VENV)/.installed
SAMPLE := data/sample
DEMO := reports/demo
# Stable, fast results on a shared 2-core machine: one OpenMP thread per process
# (NOTEBOOK_NOTES.md: multi-threaded fits were 3-4x slower with another busy process).
export OMP_NUM_THREADS ?= 1

.PHONY: help install demo test test-all lint lab sample clean benchmark benchmark-scale dashboard rescore

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[ui,dev,scale]'
	# rfc3987-syntax adds ~3 s to every process importing nbformat (NOTEBOOK_NOTES.md).
	$(PY) -m pip uninstall -y -q rfc3987-syntax || true
	# --sys-prefix keeps the kernel inside this venv, so papermill never starts another Python.
	$(PY) -m ipykernel install --sys-prefix --name crossexec-ml --display-name "Python (crossexec-ml)" >/dev/null
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with all extras (idempotent)

demo: install ## the main job on the sample: validate, train + back-test, score, plan into reports/demo/, then one run into reports/rescore/
	$(CROSSEXEC) validate $(SAMPLE)/history.csv
	$(CROSSEXEC) validate $(SAMPLE)/current.csv
	$(CROSSEXEC) validate --kind handlers $(SAMPLE)/handlers.csv
	$(CROSSEXEC) train --cases $(SAMPLE)/history.csv --out $(DEMO)/model
	$(CROSSEXEC) score --model $(DEMO)/model --cases $(SAMPLE)/current.csv --out $(DEMO)/scored.parquet
	$(CROSSEXEC) score --model $(DEMO)/model --cases $(SAMPLE)/current.csv --out $(DEMO)/scored.xlsx
	$(CROSSEXEC) plan --scored $(DEMO)/scored.parquet --handlers $(SAMPLE)/handlers.csv --model $(DEMO)/model --out $(DEMO)/plan.xlsx
	$(CROSSEXEC) evaluate --model $(DEMO)/model --cases $(SAMPLE)/history.csv --truth $(SAMPLE)/truth.csv --json $(DEMO)/evaluation.json
	$(CROSSEXEC) fairness --model $(DEMO)/model --cases $(SAMPLE)/history.csv --truth $(SAMPLE)/truth.csv --out $(DEMO)/fairness.json --quiet
	$(CROSSEXEC) card $(DEMO)/model --out $(DEMO)/card.html --fairness $(DEMO)/fairness.json
	# One scheduled run, so that `make dashboard` right after shows a real run.
	$(MAKE) --no-print-directory rescore

test: install ## the whole test suite (what CI runs)
	$(PY) -m pytest -q -m "not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; \
	exit $$rc

test-all: install ## the test suite including slow, heavy variants
	$(PY) -m pytest -q; rc=$$?; [ $$rc -eq 5 ] && { echo "no tests collected"; exit 1; }; exit $$rc

lint: install ## ruff lint and format check (the package, tests, benchmarks and the notebooks' .py pairs)
	$(VENV)/bin/ruff check crossexec_ml tests benchmarks notebooks/*.py
	$(VENV)/bin/ruff format --check crossexec_ml tests benchmarks notebooks/*.py

# The workspace reads RUNS (the scheduled runs; the newest is shown), LEDGER and HANDLERS when a
# page is opened: no preheated kernel, which would render the page before the visit and show a
# decision recorded a second before only on the reload after. A login proxy's user header
# (USER_HEADER) reaches the page as HTTP_X_FORWARDED_USER: the decider is then the logged-in user.
RUNS ?= reports/rescore
LEDGER ?= var/ledger.sqlite
HANDLERS ?= $(SAMPLE)/handlers.csv
USER_HEADER ?= X-Forwarded-User
dashboard: install ## serve the leader's workspace (notebook 04) with Voila on 127.0.0.1: the newest run under RUNS=, the ledger LEDGER=
	@port=$$($(PY) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'); \
	echo "Leader's workspace: http://127.0.0.1:$$port/  (Ctrl-C stops it)"; \
	cd notebooks && exec env JUPYTER_PATH=$(CURDIR)/crossexec_ml/apps/jupyter \
		CROSSEXEC_RUNS=$(abspath $(RUNS)) CROSSEXEC_LEDGER=$(abspath $(LEDGER)) \
		CROSSEXEC_HANDLERS=$(abspath $(HANDLERS)) CROSSEXEC_EXPORTS=$(abspath reports/workspace) \
		../$(VENV)/bin/voila 04_leadership_dashboard.ipynb \
		--template=crossexec --Voila.config_file_paths="['$(CURDIR)/crossexec_ml/apps/jupyter']" \
		--Voila.ip=127.0.0.1 --port=$$port --Voila.port_retries=0 --no-browser \
		--preheat_kernel=False --VoilaConfiguration.http_header_envs="['$(USER_HEADER)']"

$(DEMO)/model/card.json: $(STAMP)
	$(CROSSEXEC) train --cases $(SAMPLE)/history.csv --out $(DEMO)/model --quiet

# rescore's --ledger must exist (a mistyped path is refused): an empty ledger until a decision.
var/ledger.sqlite: | $(STAMP)
	$(CROSSEXEC) ledger init --ledger $@

rescore: install $(DEMO)/model/card.json var/ledger.sqlite ## one scheduled re-scoring run on the sample into reports/rescore/<today>/ (the newest earlier run there is its previous)
	@$(CROSSEXEC) rescore --cases $(SAMPLE)/current.csv --model $(DEMO)/model \
		--handlers $(SAMPLE)/handlers.csv --ledger var/ledger.sqlite --runs reports/rescore \
		$$([ -f $(DEMO)/fairness.json ] && echo --fairness $(DEMO)/fairness.json); rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "exit 3: drift or stale input (the sample's dates age): see the run's manifest.json under reports/rescore/"; exit 0; fi; \
	exit $$rc

# LAB_ARGS adds JupyterLab options, e.g. LAB_ARGS="--ip=127.0.0.1 --port=8890".
LAB_ARGS ?=
lab: install ## JupyterLab on the notebooks (no browser opened; LAB_ARGS= adds options)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --no-browser $(LAB_ARGS)

sample: install ## regenerate data/sample/ with the generator's defaults
	$(CROSSEXEC) generate --out $(SAMPLE)

benchmark: install ## model-quality benchmark on generated data (minutes; prints a table)
	$(PY) benchmarks/model_quality.py

benchmark-scale: install ## province-scale scoring, chunked pandas vs Dask, on 1M generated cases (minutes)
	OMP_NUM_THREADS=1 $(PY) benchmarks/scale.py --rows 1000000

clean: ## remove generated outputs (keeps .venv)
	rm -rf reports models var
