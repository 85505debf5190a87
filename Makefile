# The only set-up a user needs: every target creates .venv and installs txlanes into it first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HYPOTHESIS_PROFILE ?= ci

.PHONY: check test stress mutants witnesses bench lint typecheck format install clean

check: $(STAMP)  ## the main job: the demo through every engine, the CI gate, the proofs
	$(BIN)/txlanes run examples/demo.json --engine sequential
	$(BIN)/txlanes run examples/demo.json --engine blockstm --workers 4
	$(BIN)/txlanes run examples/demo.json --engine blockstm-det --workers 4 --schedule-seed 1
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

witnesses: $(STAMP)  ## regrow the spec's witnesses (checker/witnesses.json), keeping the committed ones
	$(BIN)/python -m txlanes.checker.witness_search --seconds 600 --keep checker/witnesses.json

bench: $(STAMP)  ## the full benchmark: reports/bench.md, bench.json and plots
	$(BIN)/txlanes bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' package-dir mapping through an editable install (nor does
# setuptools' strict editable mode serve: its tree misses modules added after the install, and
# txlanes/ shadows it from the repository root), so check a tree of links shaped like the
# installed package, made from pyproject.toml: each package of `packages`, its files linked
# from the folder setuptools takes it from (`package-dir`).
define LINK_TREE
import os, sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    setuptools = tomllib.load(f)["tool"]["setuptools"]
mapping, out = setuptools.get("package-dir", {}), sys.argv[1]
def folder(parts):  # as setuptools finds it: under the closest mapped parent
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in mapping:
            return os.path.join(mapping[".".join(parts[:n])], *parts[n:])
    return os.path.join(mapping.get("", ""), *parts)
for package in setuptools["packages"]:
    parts = package.split(".")
    src, dst = folder(parts), os.path.join(out, *parts)
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        if os.path.isfile(os.path.join(src, name)):
            os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(dst, name))
endef
export LINK_TREE

typecheck: $(STAMP)
	rm -rf .typecheck && $(BIN)/python -c "$$LINK_TREE" .typecheck
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
