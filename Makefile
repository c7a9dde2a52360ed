# Traza: the two commands of the Quick start, and a few more.
#   make demo   installs what is missing, brings the network up, runs a demo donation
#   make test   installs what is missing, runs unit and integration tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test setup system binaries lint unit integration gotest bench down reset clean

demo: setup
	$(BIN)/traza network up
	$(BIN)/traza demo
	$(BIN)/traza index rebuild
	$(BIN)/traza web start

test: setup lint gotest
	$(BIN)/pytest -q -p no:cacheprovider tests

setup: system $(VENV)/.installed binaries

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

system:
	bash scripts/install-system.sh

binaries:
	bash scripts/install-binaries.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

gotest:
	cd chaincode && go vet ./... && go test ./...

unit: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

bench: setup
	$(BIN)/python -m bench.ledger.run
	$(BIN)/python -m bench.deid.run
	$(BIN)/python -m bench.deid.floor
	$(BIN)/python -m bench.pipeline.run
	$(BIN)/python -m bench.web.run

down:
	-$(BIN)/traza web stop
	$(BIN)/traza network down

reset:
	$(BIN)/traza network reset --yes

clean: reset
	rm -rf $(VENV)
