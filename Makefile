# kaggletk: `make setup`, then `make cv comp=fashion_mnist`. `make test` runs the test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
comp ?= fashion_mnist
data ?= auto

.PHONY: setup test fetch cv bench

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'

test:
	$(BIN)/pytest -q -n 2 --dist loadfile

fetch:
	$(BIN)/kaggletk fetch $(comp) $(if $(from),--from $(from))

# The competition's default set of models (sample data when the full data is absent).
cv:
	$(BIN)/kaggletk cv $(comp) --model $(or $(model),default) --data $(data)

# Benchmarks (not tests): `make bench quick=1` takes a few minutes on the sample; the full run takes hours and resumes.
bench:
	$(BIN)/python bench/run_all.py $(if $(quick),--quick)
