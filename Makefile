# cclreview: `make reports` builds the review workbook, `make test` runs the tests.
# Every stage is a real file target, so only stale steps rerun.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CLI    := $(BIN)/cclreview
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements-dev.lock
export CCLREVIEW_MIRROR

RAW  := data/raw
PROC := data/processed
REPORT := reports/decontrol_candidates.xlsx
WEIGHTS := config/weights.toml
SOURCES := config/sources.toml
MANIFEST := $(RAW)/MANIFEST.json

# Inputs found on disk when make starts (empty on a fresh clone: the manifest target
# fetches them first, and the stage outputs do not exist yet either).
CCL_XML      := $(wildcard $(RAW)/ccl/*.xml)
HS_FILES     := $(wildcard $(RAW)/hs/*.csv)
HS_WEIGHTS   := $(wildcard $(RAW)/hs/atlas_conversion_weights_*.csv.gz)
TRADE_FILES  := $(wildcard $(RAW)/trade/*)
EVID_FILES   := $(shell find $(RAW)/evidence -type f 2>/dev/null)
CONC_FILES   := $(wildcard $(RAW)/concordance/*)
CURATED      := cclreview/reference/eccn_hs_curated.csv cclreview/reference/specificity_classes.csv \
                cclreview/reference/link_sources.csv $(wildcard cclreview/reference/link_*.csv)
DIVERSION    := $(wildcard $(RAW)/priority/*.csv) $(wildcard $(RAW)/ear/*part746*.csv)

.PHONY: help reports data test lint format bench clean clean-all venv lock

help: ## Show this help
	@echo "cclreview - review the Commerce Control List for decontrol candidates"
	@echo
	@echo "Usage: make <target>   (set CCLREVIEW_MIRROR=DIR to copy sources from a local mirror)"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# The pinned versions the tests passed with (requirements-dev.lock), then the package.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e '.[dev]'
	@touch $@

venv: $(STAMP) ## Create .venv and install cclreview with its dev tools (pinned)

lock: $(STAMP) ## Regenerate requirements-dev.lock from pyproject.toml (after changing a dependency)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header \
		--annotation-style line -o $(LOCK)

# Fetch once; stage targets depend on the files themselves (order-only on the manifest),
# so re-fetching unchanged sources reruns nothing.
$(MANIFEST): $(SOURCES) | $(STAMP)
	$(CLI) fetch all
	@touch $@

data: $(STAMP) ## Get or refresh every source into data/raw (mirror or download)
	$(CLI) fetch all

# A stage writes all its outputs as one unit (temp names, renamed at the end with the
# targets below last), so a stage killed half-way leaves old targets and is rerun.
$(PROC)/ccl_entries.parquet $(PROC)/ccl_paragraphs.parquet &: $(CCL_XML) | $(STAMP) $(MANIFEST)
	$(CLI) ingest-ccl --out $(PROC)

EAR_FILES    := $(wildcard $(RAW)/ear/*)
$(PROC)/eccn_controls.parquet: $(PROC)/ccl_entries.parquet $(EAR_FILES) cclreview/reference/control_reasons.csv | $(STAMP) $(MANIFEST)
	$(CLI) controls

# The focus importers of $(SOURCES), rewritten only when they change (so editing another
# key of sources.toml reruns nothing).
$(PROC)/.trade_focus: $(SOURCES) | $(STAMP)
	@mkdir -p $(PROC)
	@$(BIN)/python -c "from cclreview.sources import load_sources; print(load_sources('$(SOURCES)').trade.focus_importers)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# One pass over the trade files writes the three tables (exports.parquet renamed last);
# a new focus list re-reads only the files with partner detail (BACI).
$(PROC)/exports.parquet $(PROC)/flows_focus.parquet $(PROC)/us_exports.parquet &: $(TRADE_FILES) $(PROC)/.trade_focus | $(STAMP) $(MANIFEST)
	$(CLI) ingest-trade --out $(PROC)

$(PROC)/evidence.parquet: $(EVID_FILES) | $(STAMP) $(MANIFEST)
	$(CLI) ingest-evidence --out $(PROC)

# Supplier floors come from the weights file ([suppliers]); HS revisions from data/raw/hs;
# the diversion lists (CHPL, Part 746) from data/raw.
$(PROC)/availability_hs.parquet: $(PROC)/exports.parquet $(HS_FILES) $(HS_WEIGHTS) $(DIVERSION) $(WEIGHTS) | $(STAMP)
	$(CLI) availability --out $(PROC)

$(PROC)/eccn_hs_links.parquet: $(PROC)/ccl_entries.parquet $(HS_FILES) $(CONC_FILES) $(CURATED) | $(STAMP) $(MANIFEST)
	$(CLI) link --out $(PROC)

# Scores and the sensitivity analysis come from one process (one load of the inputs).
$(PROC)/scores.parquet $(PROC)/sensitivity.parquet $(PROC)/eccn_hs_indicators.parquet &: $(PROC)/ccl_entries.parquet $(PROC)/eccn_controls.parquet $(PROC)/eccn_hs_links.parquet $(PROC)/availability_hs.parquet $(PROC)/evidence.parquet $(WEIGHTS) | $(STAMP)
	$(CLI) score --sensitivity-draws 1000 --out $(PROC)

# The workbook formats every processed table (and carries reviewer notes over from an
# existing workbook at the same path). It holds reviewers' work, so make must never delete
# it (.PRECIOUS overrides .DELETE_ON_ERROR and the delete-on-interrupt rule): cclreview
# replaces it atomically itself and keeps the old one in reports/history/.
.PRECIOUS: $(REPORT)
$(REPORT): $(PROC)/scores.parquet $(PROC)/sensitivity.parquet $(PROC)/eccn_hs_indicators.parquet $(PROC)/ccl_entries.parquet \
           $(PROC)/eccn_hs_links.parquet $(PROC)/availability_hs.parquet $(PROC)/exports.parquet \
           $(PROC)/evidence.parquet $(WEIGHTS) | $(STAMP) $(MANIFEST)
	$(CLI) report --summary --out $@

# The evidence dossier: one HTML page per ECCN plus an index. It shows the reviewers'
# notes of the workbook, so it follows the workbook; optional tables of later stages
# (controls, per-link indicators, focus flows) are prerequisites when they exist.
DOSSIER := reports/dossier/index.html
DOSSIER_OPTIONAL := $(wildcard $(addprefix $(PROC)/,eccn_hs_indicators.parquet \
                      flows_focus.parquet us_exports.parquet ccl_paragraphs.parquet))
$(DOSSIER): $(REPORT) $(PROC)/scores.parquet $(PROC)/sensitivity.parquet $(PROC)/ccl_entries.parquet $(PROC)/eccn_controls.parquet \
            $(PROC)/eccn_hs_links.parquet $(PROC)/availability_hs.parquet $(PROC)/exports.parquet \
            $(PROC)/evidence.parquet $(DOSSIER_OPTIONAL) $(wildcard cclreview/dossier/templates/*) | $(STAMP)
	$(CLI) dossier --out $(@D)

reports: $(REPORT) $(DOSSIER) ## Build the review workbook and the evidence dossier (main job)

test: $(STAMP) ## Run the test suite (real-data tests use CCLREVIEW_MIRROR or ../shared/data)
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## Check style and types: ruff (lint + format) and mypy
	$(BIN)/ruff check cclreview tests bench
	$(BIN)/ruff format --check cclreview tests bench
	$(BIN)/mypy

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format cclreview tests bench

bench: $(STAMP) ## Run the benchmarks (CCL ingest, trade at full BACI scale, linking, scoring, workbook, dossier)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean: ## Remove stage outputs and reports (keeps data/raw and .venv)
	find $(PROC) -mindepth 1 ! -name README.md -exec rm -rf {} +
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +

clean-all: clean ## Also remove downloaded sources and the virtual environment
	find $(RAW) -mindepth 1 ! -name README.md ! -path '$(RAW)/templates*' -exec rm -rf {} +
	rm -rf $(VENV)
