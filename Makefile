# Quick start: `make run` (server with a demo meeting) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run cluster test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,multilingual]'
	touch $(STAMP)

install: $(STAMP)

run: install  # make run PORT=8090: another port than config.toml's
	$(BIN)/assistant serve --config config.toml --demo $(if $(PORT),--port $(PORT))

# Three NATS nodes (JetStream on files under data/cluster/nats), two instances on 8080 and 8081, one worker.
cluster: install
	$(BIN)/assistant cluster --config config.toml --base data/cluster

lint: install
	$(BIN)/ruff check assistant tests bench scripts
	$(BIN)/mypy

test: install lint
	scripts/system-deps.sh
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/fanout.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
