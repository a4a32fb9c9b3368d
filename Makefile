# screenwise: `make run` sets up and serves the demo review; `make test` sets up and runs the checks.
# Both create (or reuse) the virtual environment in .venv; it is rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo/Cohen_2006_ADHD.csv
DEMO_QUESTION := Efficacy and safety of drug treatments for attention deficit hyperactivity disorder (ADHD)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# Import the demo review (labels set aside, so the queue is full), embed, index; make the local
# administrator demo its maintainer, with a token in data/demo-token; then serve (which prints it).
run: setup
	$(BIN)/screenwise import --project demo --ignore-labels --question "$(DEMO_QUESTION)" $(DEMO)
	$(BIN)/screenwise user demo --project demo
	$(BIN)/screenwise serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
