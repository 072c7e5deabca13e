# The README's two commands: `make demo` (the main job on the embedded example)
# and `make test` (installs every test dependency, then runs all tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The bundle is frozen from Debian's own Python (stripped libpython, no pyenv rpath).
BUNDLE_PYTHON ?= /usr/bin/python3.11

.PHONY: venv test lint agent-bundle demo bench clean

$(BIN)/vault-exec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/vault-exec

lint: venv
	$(BIN)/ruff check transformer tests bench packaging testkit
	$(BIN)/ruff format --check transformer tests bench packaging testkit
	$(BIN)/mypy

test: venv
	$(BIN)/python -m pytest

# dist/vault-exec-agent/: the self-contained agent (no libc/shell/Python needed); docs/distroless.md
AGENT_BUNDLE  := dist/vault-exec-agent/vault-exec-agent
AGENT_SOURCES := transformer/__init__.py $(wildcard transformer/agent/*.py) \
                 $(wildcard packaging/build_bundle.py packaging/vault*) packaging/requirements-bundle.txt
$(AGENT_BUNDLE): $(AGENT_SOURCES)
	$(BUNDLE_PYTHON) packaging/build_bundle.py --python $(BUNDLE_PYTHON)

agent-bundle: $(AGENT_BUNDLE)

# chart -> vault-exec render -> init container -> app as PID 1, in a no-shell no-libc rootfs
demo: venv agent-bundle
	$(BIN)/python packaging/demo.py

clean:
	rm -rf build dist $(VENV)
