# Fleetward's everyday commands. `make help` lists them.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help demo setup setup-dev test verify lint format bench clean

help:
	@echo "make demo   set up, create a demo tenant on SQLite, print a login and serve on :8080"
	@echo "make test   set up (PostgreSQL and Chromium too, when root), lint, run every test"
	@echo "make verify prove at full size that nothing is lost, leaked or answered 500 (about 30 min)"
	@echo "make lint   ruff and mypy"
	@echo "make bench  run the benchmarks with their baselines"

setup:
	./scripts/setup.sh

setup-dev:
	./scripts/setup.sh --dev

demo: setup
	$(BIN)/fleetward demo
	$(BIN)/fleetward serve

lint: setup-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/mypy tests/fakes  # the fakes must stay the ports they fake

test: setup-dev lint
	./scripts/install-test-services.sh
	./scripts/run-tests.sh

verify: setup-dev
	./scripts/install-test-services.sh
	./scripts/verify.sh

format: setup-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: setup-dev
	$(BIN)/pytest -q -p no:cacheprovider bench/tests
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench/results
