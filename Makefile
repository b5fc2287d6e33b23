# Two commands matter: `make site` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# npm packages pinned in package.json + package-lock.json: vega (the chart runtime the site
# serves) and axe-core (the accessibility test).
NODE   := node_modules/.installed

.DEFAULT_GOAL := help
.PHONY: help site data serve test test-fast bench lock browser clean canary archive

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

$(NODE): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE)

data: $(STAMP) $(NODE) ## Build the snapshot and charts into docs/generated/ (live, else cache, else sample)
	$(PY) -m build_data

# Built aside, then swapped in; archived weeks (site/archive/, `make archive`) are carried over,
# never rebuilt.
site: data ## Create the venv, build the data, then the site into site/
	rm -rf .site-next
	$(VENV)/bin/mkdocs build --strict --site-dir .site-next
	@if [ -d site/archive ]; then mv site/archive .site-next/archive; fi
	rm -rf site && mv .site-next site

ARCHIVE_FROM ?= 2026-01-01
ARCHIVE_TO   ?= $(shell date -u +%F)
ARCHIVE_ARGS ?=
archive: $(STAMP) $(NODE) ## Build each past week's site into site/archive/DATE/ (ARCHIVE_FROM, ARCHIVE_TO, ARCHIVE_ARGS)
	$(PY) -m build_data archive --from $(ARCHIVE_FROM) --to $(ARCHIVE_TO) --every week $(ARCHIVE_ARGS)

serve: data ## Live preview at http://127.0.0.1:8000 (rebuilds pages on save)
	$(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

browser: ## Install Debian's chromium for the browser tests (needs root or sudo)
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@$(CHROMIUM) --version

test: $(STAMP) $(NODE) browser ## Run every test (unit, adapters, end-to-end build, browser)
	$(PY) -m pytest

TEST_MARKS ?= not browser
test-fast: $(STAMP) $(NODE) ## Run the tests that need no browser
	$(PY) -m pytest -m "$(TEST_MARKS)"

LIGHTHOUSE := build_data/tools/lighthouse/node_modules/.installed
$(LIGHTHOUSE): build_data/tools/lighthouse/package.json build_data/tools/lighthouse/package-lock.json
	cd build_data/tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error
	touch $(LIGHTHOUSE)

bench: $(STAMP) $(NODE) $(LIGHTHOUSE) browser ## Print timings, page weight and Lighthouse scores per page (figures, not pass/fail)
	$(PY) -m build_data.tools.bench
	$(PY) -m build_data.tools.lighthouse

lock: ## Re-resolve requirements.lock from pyproject.toml
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > .venv-lock/direct.txt
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r .venv-lock/direct.txt
	.venv-lock/bin/pip freeze > requirements.lock
	rm -rf .venv-lock

clean: ## Remove the built site and generated data (keeps the cache)
	rm -rf site .site-next docs/generated

canary: $(STAMP) $(NODE) ## Build the site with Zensical too (Material's successor) and check the pages
	bash .ci/zensical-canary
