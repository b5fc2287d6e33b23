# Two commands matter: `make site` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# Material's end-of-life banner on every mkdocs run: nothing an author can act on here.
export NO_MKDOCS_2_WARNING := 1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help site data serve preview test test-fast faults bench lock browser clean canary

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

data: $(STAMP) ## Build the snapshot and charts into docs/generated/ (live, else cache, else sample)
	$(PY) -m build_data

site: data ## Create the venv, build the data, then the site into site/
	$(VENV)/bin/mkdocs build --strict --site-dir site

SNAPSHOT := docs/generated/metrics.json
CACHE    := .cache/market-data
# Starts at once: the last snapshot, else the cache, else the sample; never waits on the network
# (`make data` refreshes). A macro error shows in the page and the terminal; the server keeps running.
serve: $(STAMP) ## Live preview at http://127.0.0.1:8000 (rebuilds pages on save; errors show in the page)
	@if [ -f $(SNAPSHOT) ]; then echo "preview: the last snapshot, $(SNAPSHOT) (make data refreshes it)"; \
	elif [ -d $(CACHE)/prices ]; then $(PY) -m build_data --source cache; \
	else $(PY) -m build_data --source sample; fi
	MACRO_ERRORS_FAIL=false $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:$(PORT)

SITE_DIR ?= site
preview: ## Serve the built site/ at http://127.0.0.1:8000 (builds it first if there is none)
	@test -d $(SITE_DIR) || $(MAKE) site
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory $(SITE_DIR)

browser: ## Install Debian's chromium for the browser tests (needs root or sudo)
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@$(CHROMIUM) --version

test: $(STAMP) browser faults ## Run every test (unit, adapters, end-to-end build, browser, fault runs)
	$(PY) -m pytest

TEST_MARKS ?= not browser
test-fast: $(STAMP) ## Run the tests that need no browser
	$(PY) -m pytest -m "$(TEST_MARKS)"

faults: $(STAMP) ## 50 seeded scheduled runs under injected faults; checks the invariants after each
	$(PY) -m tests.faults --runs 50 --seed 7

bench: $(STAMP) ## Print build and compute timings, peak memory, and the macros-vs-bare site build ratio
	$(PY) -m build_data.tools.bench

lock: ## Re-resolve requirements.lock from pyproject.toml
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > .venv-lock/direct.txt
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r .venv-lock/direct.txt
	.venv-lock/bin/pip freeze > requirements.lock
	rm -rf .venv-lock

clean: ## Remove the built site and generated data (keeps the cache)
	rm -rf site docs/generated

canary: $(STAMP) ## Build the site with Zensical too (Material's successor) and check the pages
	bash .ci/zensical-canary
