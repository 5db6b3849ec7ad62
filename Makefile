# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/crm_demo.duckdb
PORT   ?= 8501

.PHONY: run test demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(DEMO): | $(VENV)/.installed
	$(BIN)/python -m data demo --out $(DEMO)

## run: install into .venv, build the demo database if missing, serve the app
run: $(VENV)/.installed $(DEMO)
	$(BIN)/streamlit run app.py --server.port $(PORT)

## test: install the dev requirements, check the machine has what it cannot provide, run every test
test: $(VENV)/.installed-dev
	$(BIN)/python -m tests.provision
	$(BIN)/python -m pytest

## demo: rebuild the demo database (CUSTOMERS=5000 SEED=42)
demo: $(VENV)/.installed
	$(BIN)/python -m data demo --out $(DEMO) --customers $(or $(CUSTOMERS),5000) --seed $(or $(SEED),42)

## bench: run the benchmarks in bench/ and write their results files
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(DEMO) test-artifacts
