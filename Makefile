# Two commands matter: `make site` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# Material's end-of-life banner on every mkdocs run: nothing an author can act on here.
export NO_MKDOCS_2_WARNING := 1
PORT ?= 8000
# The site to build: a folder holding mkdocs.yml, docs/ and its site config. The default site is
# the project's root; `$(PY) -m build_data new DIR` makes another (then `make site SITE=DIR`).
SITE ?= .
SITE_ROOT := $(abspath $(SITE))
MKDOCS_YML := $(SITE_ROOT)/mkdocs.yml

.DEFAULT_GOAL := help

# npm packages pinned in package.json + package-lock.json: vega (the chart runtime the site
# serves) and axe-core (the accessibility test).
NODE   := node_modules/.installed

.PHONY: help site data serve preview test test-fast faults bench lock browser clean canary archive

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $(STAMP)

# A .pth file puts this project on the venv's path, so a site in any folder loads the engine's
# macros (`modules: [macros]` in its mkdocs.yml) and `python -m build_data` runs from anywhere.
ENGINE := $(VENV)/.engine-on-path
$(ENGINE): $(STAMP)
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "microsite-engine.pth").write_text("$(CURDIR)\n")'
	touch $(ENGINE)

$(NODE): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE)

data: $(ENGINE) $(NODE) ## Build the snapshot and charts into the site's docs/generated/ (live, else cache, else sample)
	$(PY) -m build_data --site $(SITE_ROOT) $(DATA_ARGS)

# Built aside, then swapped in; archived weeks (site/archive/, `make archive`) are carried over,
# never rebuilt.
site: data ## Create the venv, build the data, then the site into site/ (SITE=DIR: another site's folder)
	rm -rf $(SITE_ROOT)/.site-next
	$(VENV)/bin/mkdocs build --strict -f $(MKDOCS_YML) --site-dir $(SITE_ROOT)/.site-next
	@if [ -d $(SITE_ROOT)/site/archive ]; then mv $(SITE_ROOT)/site/archive $(SITE_ROOT)/.site-next/archive; fi
	rm -rf $(SITE_ROOT)/site && mv $(SITE_ROOT)/.site-next $(SITE_ROOT)/site

ARCHIVE_FROM ?= 2026-01-01
ARCHIVE_TO   ?= $(shell date -u +%F)
ARCHIVE_ARGS ?=
archive: $(ENGINE) $(NODE) ## Build each past week's site into site/archive/DATE/ (ARCHIVE_FROM, ARCHIVE_TO, ARCHIVE_ARGS)
	$(PY) -m build_data archive --site $(SITE_ROOT) --from $(ARCHIVE_FROM) --to $(ARCHIVE_TO) --every week $(ARCHIVE_ARGS)

# Starts at once: the last snapshot, else the cache, else the sample; never waits on the network
# (`make data` refreshes). A macro error shows in the page and the terminal; the server keeps running.
# SITE_URL follows PORT: instant navigation needs the real origin.
serve: $(ENGINE) $(NODE) ## Live preview at http://127.0.0.1:8000 (PORT=...; rebuilds pages on save; errors show in the page)
	$(PY) -m build_data --site $(SITE_ROOT) --if-missing
	SITE_URL=http://127.0.0.1:$(PORT)/ MACRO_ERRORS_FAIL=false $(VENV)/bin/mkdocs serve -f $(MKDOCS_YML) --dev-addr 127.0.0.1:$(PORT)

SITE_DIR ?= $(SITE_ROOT)/site
preview: ## Serve the built site/ at http://127.0.0.1:8000 (builds it first if there is none)
	@test -d $(SITE_DIR) || SITE_URL=http://127.0.0.1:$(PORT)/ $(MAKE) site
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory $(SITE_DIR)

browser: ## Install Debian's chromium for the browser tests (needs root or sudo)
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@$(CHROMIUM) --version

test: $(ENGINE) $(NODE) browser faults ## Run every test (unit, adapters, end-to-end build, browser, fault runs)
	$(PY) -m pytest

TEST_MARKS ?= not browser
test-fast: $(ENGINE) $(NODE) ## Run the tests that need no browser
	$(PY) -m pytest -m "$(TEST_MARKS)"

RUNS ?= 50
FAULT_SEEDS ?= 1 3 7
faults: $(ENGINE) $(NODE) ## Seeded scheduled runs under injected faults (RUNS=50 on seeds 1 3 7; RUNS=500 is the soak); checks the invariants after each
	@for seed in $(FAULT_SEEDS); do $(PY) -m tests.faults --runs $(RUNS) --seed $$seed || exit 1; done

LIGHTHOUSE := tests/tools/lighthouse/node_modules/.installed
$(LIGHTHOUSE): tests/tools/lighthouse/package.json tests/tools/lighthouse/package-lock.json
	cd tests/tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error
	touch $(LIGHTHOUSE)

bench: $(ENGINE) $(NODE) $(LIGHTHOUSE) browser ## Print the 500-symbol daily incremental run (wall, peak RSS, MB written), build, compute and site-build timings, page weight and Lighthouse scores (figures, not pass/fail)
	$(PY) -m tests.tools.bench
	$(PY) -m tests.tools.lighthouse

lock: ## Re-resolve requirements.lock (pins and sha256 hashes) from pyproject.toml
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > .venv-lock/direct.txt
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r .venv-lock/direct.txt
	.venv-lock/bin/pip freeze --exclude pip-tools > .venv-lock/pins.txt
	.venv-lock/bin/pip install --quiet --disable-pip-version-check pip-tools==7.7.0
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-header --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock .venv-lock/pins.txt
	rm -rf .venv-lock

clean: ## Remove the built site and generated data (keeps the cache)
	@test -x $(PY) && $(PY) -m build_data clean --site $(SITE_ROOT) || rm -rf $(SITE_ROOT)/site $(SITE_ROOT)/.site-next

canary: $(ENGINE) $(NODE) ## Build the site with Zensical too (Material's successor) and check the pages
	bash .ci/zensical-canary
