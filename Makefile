# The only set-up a user needs: every target creates .venv and installs txlanes into it first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HYPOTHESIS_PROFILE ?= ci

.PHONY: check test stress mutants bench lint typecheck format install clean

check: $(STAMP)  ## the main job: the demo through every engine, the CI gate, the proofs
	$(BIN)/txlanes run examples/demo.json --engine sequential
	$(BIN)/txlanes run examples/demo.json --engine blockstm --workers 4
	$(BIN)/txlanes run examples/demo.json --engine blockstm --workers 4 --schedule-seed 1
	$(BIN)/txlanes run examples/demo.json --engine sharded --shards 4
	$(BIN)/txlanes check
	$(BIN)/txlanes verify --timeout 60
	$(BIN)/txlanes bench --quick

test: lint typecheck  ## the test suite (deterministic Hypothesis profile "ci"), on both cores
	$(BIN)/python -m pytest -n 2

stress: $(STAMP)  ## long randomized property runs
	HYPOTHESIS_PROFILE=stress $(BIN)/python -m pytest

mutants: $(STAMP)  ## the seeded-bug catalogue against the default check budget
	$(BIN)/txlanes mutants

bench: $(STAMP)  ## the full benchmark: reports/bench.md, bench.json and plots
	$(BIN)/txlanes bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' package-dir mapping, so check a tree of links shaped like the
# installed package (txlanes/{models,executor,checker} → the root folders).
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/txlanes
	for f in txlanes/*.py txlanes/py.typed; do ln -s ../../$$f .typecheck/txlanes/; done
	for d in models executor checker; do ln -s ../../$$d .typecheck/txlanes/$$d; done
	cd .typecheck && ../$(BIN)/mypy --config-file ../pyproject.toml -p txlanes

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .ruff_cache .pytest_cache build *.egg-info
