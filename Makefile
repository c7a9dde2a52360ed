# Traza: the two commands of the Quick start, and a few more.
#   make demo   installs what is missing, brings the network up, runs a demo donation
#   make test   installs what is missing, runs unit and integration tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test setup system binaries lint unit integration gotest bench down reset clean i18n

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

# go test replays the committed fuzz seeds; then each fuzz target runs 5 s (long runs:
# python -m bench.fuzz.contract).
FUZZ_TARGETS = FuzzCheckID FuzzCodes FuzzDecodeStrict FuzzTransaction
gotest:
	cd chaincode && go vet ./... && go test ./...
	cd chaincode && for t in $(FUZZ_TARGETS); do \
	  go test ./contract/ -run '^$$' -fuzz "^$$t$$" -fuzztime 5s -parallel 2 >/dev/null || \
	  { go test ./contract/ -run "^$$t$$" ; exit 1; }; done

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

# Re-extract the web's messages (lazy ones are marked _l), merge them into es/en, compile.
i18n: $(VENV)/.installed
	$(BIN)/pybabel extract -k _l -F web/babel.cfg -o web/translations/messages.pot web
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d web/translations

down:
	-$(BIN)/traza web stop
	$(BIN)/traza network down

reset:
	$(BIN)/traza network reset --yes

clean: reset
	rm -rf $(VENV)
