# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/crm_demo.duckdb
PORT   ?= 8501

.PHONY: run warm test demo bench clean i18n i18n-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "Installing the requirements into $(VENV) (a few minutes the first time; pip shows its progress)..."
	$(BIN)/pip install --progress-bar on -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(DEMO): | $(VENV)/.installed
	$(BIN)/python -m data demo --out $(DEMO)

## run: install into .venv, build the demo database if missing, serve the app (its libraries loaded before
## the first visitor; the server then computes its default view in the background, into the results kept per
## data refresh in .cache/)
run: $(VENV)/.installed $(DEMO)
	$(BIN)/python -m pages.serve --server.port $(PORT)

## warm: compute the default view into .cache/ (run it after each data refresh, e.g. from cron)
warm: $(VENV)/.installed
	$(BIN)/python -m pages.warm

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

## i18n: extract the messages of the code and update the catalogues (then translate i18n/locales/*/LC_MESSAGES/messages.po)
i18n: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 -k lazy -k lazy_plural:1,2 --no-location --sort-output \
		--ignore-dirs=".venv tests bench __pycache__ .git test-artifacts" -o i18n/messages.pot .
	$(BIN)/pybabel update -i i18n/messages.pot -d i18n/locales -D messages --no-wrap --ignore-obsolete
	rm i18n/messages.pot

## i18n-compile: write .mo files (optional: the app compiles the .po in memory when it starts)
i18n-compile: $(VENV)/.installed
	$(BIN)/pybabel compile -d i18n/locales -D messages
