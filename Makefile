# screenwise: `make run` sets up and serves the demo review; `make test` sets up and runs the checks.
# Both create (or reuse) the virtual environment in .venv; it is rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo/Cohen_2006_ADHD.csv
DEMO_THEMES := data/demo/themes.csv
DEMO_QUESTION := Efficacy and safety of drug treatments for attention deficit hyperactivity disorder (ADHD)
HOST ?= 127.0.0.1
PORT ?= 5000

CHROMIUM ?= /usr/bin/chromium
REDIS_SERVER ?= redis-server

.PHONY: setup browser redis run worker test test-slow test-quick lint format bench clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# Import the demo review (labels set aside, so the queue is full), embed, index; give it the
# themes of data/demo/themes.csv (names and descriptions); make the local
# administrator demo its maintainer, with a token in data/demo-token; then serve (which prints it).
# The server starts one job worker process beside it (imports, embedding, retraining) on the queue
# in data/queue.db; `make worker` (or screenwise worker) in another terminal adds more.
run: setup
	$(BIN)/screenwise import --project demo --ignore-labels --question "$(DEMO_QUESTION)" $(DEMO)
	$(BIN)/screenwise theme add --project demo --exist-ok --file $(DEMO_THEMES)
	$(BIN)/screenwise user demo --project demo
	$(BIN)/screenwise serve --host $(HOST) --port $(PORT) --workers 1

worker: setup
	$(BIN)/screenwise worker --workers 1

# The browser tests drive Debian's Chromium through Playwright (pip installs Playwright with the
# test extra; no browser download). Install Chromium when it is missing and apt-get may run (as
# root, or with sudo that asks no password); otherwise the browser tests skip, saying why.
browser:
	@if [ ! -x "$(CHROMIUM)" ] && command -v apt-get >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "Chromium is missing and apt-get needs root: the browser tests will skip"; exit 0; fi; \
		echo "installing chromium for the browser tests"; \
		$$sudo apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null || \
		echo "could not install chromium: the browser tests will skip"; \
	fi

# The Redis queue test drives a real redis-server: installed like Chromium, else it skips.
redis:
	@if ! command -v $(REDIS_SERVER) >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
		else echo "redis-server is missing and apt-get needs root: the Redis test will skip"; exit 0; fi; \
		echo "installing redis-server for the Redis queue test"; \
		$$sudo apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq redis-server >/dev/null || \
		echo "could not install redis-server: the Redis test will skip"; \
	fi

test: setup browser redis
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not slow"

# The whole-review simulations make test leaves out (about a minute).
test-slow: setup
	$(BIN)/python -m pytest -m slow

# The larger property-based runs: Schemathesis over every API operation (EXAMPLES calls each,
# valid and invalid), then the reader fuzzing with more mutated files. Prints cases and failures.
EXAMPLES ?= 100
fuzz: setup
	$(BIN)/python -m tests.fuzz_api --examples $(EXAMPLES)
	FUZZ_EXAMPLES=$$(( $(EXAMPLES) * 10 )) $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz_readers.py

# The quick subset while working: everything but the real-model and browser tests.
test-quick: setup
	$(BIN)/python -m pytest -m "not model and not browser and not slow"

lint: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
