# Developer entry points. Only python3 (>= 3.10), make and access to PyPI are needed:
# every target creates the virtualenv and installs the project into it on first use.
#
#   make demo                  run the example app on http://127.0.0.1:8000
#   make test                  run the whole test suite
#   make check                 lint, types, import contracts, docs and tests
#   PYTHON=python3.12 make test    use another interpreter (rebuilds .venv if needed)
#   VENV=/path/to/venv make lint   use an existing virtualenv instead of .venv

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Targets share one virtualenv; concurrent pip installs into it would race.
.NOTPARALLEL:

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000

BIN := $(VENV)/bin
PY := $(BIN)/python

# Ask for a specific interpreter with PYTHON=...; only then is an existing virtualenv's
# version checked against it (the default accepts whatever the virtualenv already has).
PYTHON_IS_EXPLICIT := $(filter environment command line,$(origin PYTHON))

.PHONY: help venv install install-docs demo test lint types imports docs check clean

help:
	@echo "make demo     run examples/demo_app.py with uvicorn on http://$(HOST):$(PORT)"
	@echo "make test     run the test suite (pytest)"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make types    mypy -p fastapi_taskflow"
	@echo "make imports  check the layer contracts (import-linter)"
	@echo "make docs     build the documentation site (mkdocs --strict)"
	@echo "make check    all of the above except demo"
	@echo "make clean    remove build output and caches (keeps $(VENV))"
	@echo "Variables: PYTHON=$(PYTHON) VENV=$(VENV) HOST=$(HOST) PORT=$(PORT)"

# Creates the virtualenv, or rebuilds our own .venv when PYTHON asks for another version.
venv:
	@want=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		|| { echo "error: cannot run '$(PYTHON)'; set PYTHON to a Python >= 3.10" >&2; exit 1; }; \
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
		|| { echo "error: $(PYTHON) is Python $$want; fastapi-taskflow needs >= 3.10" >&2; exit 1; }; \
	if [ ! -x "$(PY)" ]; then \
		echo "==> creating $(VENV) with $(PYTHON) ($$want)"; \
		$(PYTHON) -m venv "$(VENV)"; \
	elif [ -n "$(PYTHON_IS_EXPLICIT)" ]; then \
		have=$$("$(PY)" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		if [ "$$have" != "$$want" ]; then \
			if [ "$(VENV)" = ".venv" ]; then \
				echo "==> $(VENV) has Python $$have, recreating it with $(PYTHON) ($$want)"; \
				$(PYTHON) -m venv --clear "$(VENV)"; \
			else \
				echo "error: $(VENV) has Python $$have but PYTHON=$(PYTHON) is $$want" >&2; \
				exit 1; \
			fi; \
		fi; \
	fi

# Installs the project (editable) with the given extras, unless a stamp inside the virtualenv
# says that was already done since pyproject.toml last changed. The stamp lives in the
# virtualenv so that deleting or recreating it forces a fresh install.
define install_extras
	@stamp="$(VENV)/.fastapi-taskflow-$(subst $(comma),-,$(1)).stamp"; \
	if [ ! -f "$$stamp" ] || [ pyproject.toml -nt "$$stamp" ]; then \
		echo "==> installing fastapi-taskflow[$(1)] into $(VENV)"; \
		"$(PY)" -m pip install --disable-pip-version-check -e ".[$(1)]"; \
		touch "$$stamp"; \
	fi
endef
comma := ,

install: venv
	$(call install_extras,dev)

install-docs: venv
	$(call install_extras,dev$(comma)docs)

demo: install
	"$(PY)" -m uvicorn examples.demo_app:app --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected no test; make treats that as a failure, as it should.
test: install
	"$(PY)" -m pytest

lint: install
	"$(BIN)/ruff" check .
	"$(BIN)/ruff" format --check .

types: install
	"$(BIN)/mypy" -p fastapi_taskflow

imports: install
	"$(BIN)/lint-imports"

# NO_MKDOCS_2_WARNING silences mkdocs-material's banner about its successor on every build.
docs: install-docs
	NO_MKDOCS_2_WARNING=1 "$(BIN)/mkdocs" build --strict

check: lint types imports docs test

clean:
	rm -rf build dist site .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -path ./.tox -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf
