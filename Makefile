# edgerec: `make demo` to try it, `make test` to check it. `make help` lists the rest.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
WASM_DIR := target/$(WASM_TARGET)/release
TRAIN := target/debug/edgerec-train
DATA ?= data/diginetica
SHARED ?= ../shared/data
PORT ?= 8787
BUNDLE := build/site/models/model.bundle
export WRANGLER_SEND_METRICS := false
# wrangler dev would fetch the `Request.cf` placeholder from the internet and print two stack
# traces when it cannot (the worker does not read `request.cf`).
export CLOUDFLARE_CF_FETCH_ENABLED := false
# worker-build must not download anything: hand it local tools.
export WASM_BINDGEN_BIN = $(shell command -v wasm-bindgen)
export ESBUILD_BIN = $(CURDIR)/node_modules/@esbuild/linux-x64/bin/esbuild

RUST_SOURCES := $(shell find wasm trainer worker -name '*.rs' -o -name Cargo.toml) Cargo.toml Cargo.lock

.PHONY: help setup demo test lint rust-test test-shared types node-test eval eval-model model js worker site serve bench bench-train clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install missing tools (wasm32 target, wasm-bindgen-cli, worker-build, wasm-pack, Chromium, npm packages)
	@scripts/setup.sh

demo: setup model js worker site ## train on the shipped sample, build, serve demo + API at http://127.0.0.1:8787
	@echo "edgerec demo: http://127.0.0.1:$(PORT)/  (API: POST /v1/recommend, GET /v1/health; Ctrl-C stops)"
	npx wrangler dev --ip 127.0.0.1 --port $(PORT)

test: setup lint rust-test model js types worker site node-test ## run every test (what CI runs)

# The trainer binary. `make demo` (and every other target) builds the binary alone; under `make test`
# it is built with --all-targets: the same features as `cargo test --workspace` (dev-dependencies
# unify), so candle and friends compile once for the tests and the trainer, not twice.
TRAIN_BUILD = $(CARGO) build -p edgerec-trainer --bin edgerec-train
test: TRAIN_BUILD = $(CARGO) build --workspace --exclude edgerec-worker --exclude edgerec-js --all-targets

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --exclude edgerec-worker --exclude edgerec-js --all-targets -- -D warnings
	$(CARGO) clippy -p edgerec --target $(WASM_TARGET) -- -D warnings
	$(CARGO) clippy -p edgerec -p edgerec-js -p edgerec-worker --target $(WASM_TARGET) -- -D warnings

# Tests that need ../shared (not in a clone: the pretrained all-MiniLM-L6-v2) are
# #[ignore = "needs ../shared/..."]: rust-test runs them too when ../shared has the model (CI does),
# and names them as skipped when it does not. Nothing passes without having run.
MINILM := ../shared/models/all-MiniLM-L6-v2
HAVE_SHARED := $(wildcard $(MINILM)/model.safetensors)
SHARED_TEST_NAMES = grep -rh -A1 '^ *\#\[ignore = "needs ../shared' wasm trainer worker --include='*.rs' | sed -n 's/.*fn \([a-z0-9_]*\).*/\1/p'

rust-test: ## native unit and integration tests (with those needing ../shared when it is there)
	$(CARGO) test --workspace --exclude edgerec-worker --exclude edgerec-js $(if $(HAVE_SHARED),-- --include-ignored)
	@$(if $(HAVE_SHARED),true,echo "skipped: $(MINILM) is absent, so these tests did not run (make test-shared runs them):"; $(SHARED_TEST_NAMES) | sed 's/^/  skipped: /')

test-shared: ## only the Rust tests that need ../shared (the pretrained MiniLM)
	$(CARGO) test --workspace --exclude edgerec-worker --exclude edgerec-js -- --ignored

types: js ## type-check the TypeScript declarations (build/pkg, web/worker-client.d.ts) against tests/types/usage.ts
	npx tsc -p tests/types

node-test: build/native-top20.jsonl build/native-events-top20.jsonl build/rees46.bundle build/signed/model.bundle build/native-sasrec-top20.jsonl build/native-predict.jsonl build/native-embed.jsonl ## JS API in Node, native/wasm parity, the worker in workerd
	node --test tests/

$(TRAIN): $(RUST_SOURCES)
	$(TRAIN_BUILD)
	@touch $@

model: $(BUNDLE) ## train the co-visitation model on the shipped sample

$(BUNDLE): $(TRAIN) $(wildcard $(DATA)/*)
	$(TRAIN) covisit --data $(DATA) --out $@

build/native-top20.jsonl: $(BUNDLE) $(TRAIN)
	$(TRAIN) recommend --bundle $(BUNDLE) --sessions $(DATA)/test_sessions.tsv --limit 1000 --k 20 --out $@

build/native-events-top20.jsonl: $(BUNDLE) $(TRAIN)
	$(TRAIN) recommend --bundle $(BUNDLE) --sessions $(DATA)/test_sessions.tsv --limit 1000 --k 20 --events --out $@

# A bundle with a catalog (category, price) for the filter tests: REES46 events through its mapping,
# with item text vectors from the shipped text encoder (text candidates, semantic search).
TEXT_ENCODER := data/models/minilm-L2-q4.bundle
build/rees46.bundle: $(TRAIN) data/rees46/2019-Oct_sample.csv mappings/rees46.toml $(TEXT_ENCODER)
	$(TRAIN) covisit --mapping mappings/rees46.toml --input data/rees46/2019-Oct_sample.csv --name rees46 \
	  --text-encoder $(TEXT_ENCODER) --out $@

# The transformer trained on the shipped sample (about 20 s), quantized to Q8, with V-SKNN's
# session index blended in (weight chosen on the sample's validation split): the bundle the
# Node, workerd and Chromium tests serve through the same Engine API.
SASREC_BUNDLE := build/sasrec/diginetica-hybrid-q8.bundle
$(SASREC_BUNDLE): $(TRAIN) $(wildcard $(DATA)/*) configs/sample.toml
	rm -rf build/sasrec-run build/sasrec
	$(TRAIN) -q train --data-set diginetica --data $(DATA) --config configs/sample.toml --out build/sasrec-run
	$(TRAIN) -q hybrid --data-set diginetica --data $(DATA) --run build/sasrec-run --policy q8 \
	  --weights 0,1,2,5 --validation-cases 2000 --out build/sasrec

build/native-sasrec-top20.jsonl: $(SASREC_BUNDLE) $(TRAIN)
	$(TRAIN) recommend --bundle $(SASREC_BUNDLE) --sessions $(DATA)/test_sessions.tsv --limit 1000 --k 20 --out $@

# The conversion transformer (ESMM heads) trained on the shipped Taobao sample (about 10 s), Q8,
# and the native engine's predictions for 300 of its users: the Node tests replay them in wasm.
FUNNEL_BUNDLE := build/funnel/taobao-purchase-transformer-q8.bundle
$(FUNNEL_BUNDLE): $(TRAIN) data/taobao/UserBehavior_sample.csv mappings/taobao.toml
	rm -rf build/funnel
	$(TRAIN) -q purchase --model transformer --bootstrap 0 --transformer-epochs 3 --bundles build/funnel --policies q8

build/native-predict.jsonl: $(FUNNEL_BUNDLE) $(TRAIN)
	$(TRAIN) predict --bundle $(FUNNEL_BUNDLE) --limit 300 --out $@

# Real texts for embedding parity: the distinct "category brand" pairs of the REES46 sample, and
# every tenth line the ten before it joined (long enough to be cut at the encoder's 64 tokens).
build/embed-texts.txt: data/rees46/2019-Oct_sample.csv
	mkdir -p build
	awk -F, 'NR > 1 && ($$5 != "" || $$6 != "") { t = $$5 " " $$6; if (t in seen) next; seen[t]; \
	  print t; joined = joined " " t; if (++n % 10 == 0) { print joined; joined = "" } }' $< > $@

build/native-embed.jsonl: $(TRAIN) build/embed-texts.txt $(TEXT_ENCODER)
	$(TRAIN) -q embed --text-encoder $(TEXT_ENCODER) --texts build/embed-texts.txt --out $@

# The demo bundle signed with a fresh test key, plus a second key that did not sign it.
build/signed/model.bundle: $(BUNDLE) $(TRAIN)
	rm -rf build/signed && mkdir -p build/signed
	$(TRAIN) -q keygen --out build/signed/test
	$(TRAIN) -q keygen --out build/signed/other
	$(TRAIN) sign --bundle $(BUNDLE) --key build/signed/test.key --out $@

js: build/pkg/node/edgerec_js.js build/pkg/web/edgerec_js.js build/pkg/bundler/edgerec_js.js ## the JS API (wasm-pack): build/pkg/{node,web,bundler}, used by the npm package in web/

# wasm-pack runs cargo (release, wasm32) and the wasm-bindgen on PATH; --mode no-install downloads
# nothing, and wasm-opt is off in wasm/js/Cargo.toml (see ../shared/TOOLCHAIN.md).
build/pkg/%/edgerec_js.js: $(RUST_SOURCES)
	wasm-pack --quiet build wasm/js --release --mode no-install \
	  --target $(if $(filter node,$*),nodejs,$*) --out-dir ../../build/pkg/$* --out-name edgerec_js
	@touch $@

worker: worker/build/index.js ## the Cloudflare Worker (worker-build)

worker/build/index.js: $(RUST_SOURCES)
	cd worker && worker-build --release --no-opt
	@touch $@

site: $(BUNDLE) $(SASREC_BUNDLE) $(FUNNEL_BUNDLE) build/rees46.bundle build/pkg/web/edgerec_js.js $(wildcard web/demo/* web/*.js) ## static assets: demo page, browser engine and Web Worker helper, bundles
	mkdir -p build/site/pkg build/site/edgerec/pkg/web
	cp $(SASREC_BUNDLE) build/site/models/sasrec.bundle
	cp $(FUNNEL_BUNDLE) build/site/models/funnel.bundle
	cp build/rees46.bundle build/site/models/rees46.bundle
	cp $(TEXT_ENCODER) build/site/models/text-encoder.bundle
	cp web/demo/* build/site/
	cp build/pkg/web/edgerec_js.js build/pkg/web/edgerec_js_bg.wasm build/site/pkg/
	cp web/worker-client.js web/engine-worker.js build/site/edgerec/
	cp build/pkg/web/edgerec_js.js build/pkg/web/edgerec_js_bg.wasm build/site/edgerec/pkg/web/

bench: $(TRAIN) js ## recommend latency native vs wasm, cold start, .wasm size; the transformer's two compute paths (needs ../shared/data and runs/diginetica): results/bench/
	scripts/bench-recommend.sh
	scripts/bench-model.sh

bench-train: ## training throughput, candle vs the same transformer in PyTorch (installs PyTorch into build/bench-venv): results/bench/train.json
	scripts/bench-train.sh

serve: ## serve what is built, without rebuilding (WRANGLER_ARGS="--var EDGEREC_BUNDLE:/models/sasrec.bundle" for the transformer)
	npx wrangler dev --ip 127.0.0.1 --port $(PORT) $(WRANGLER_ARGS)

eval-model: $(TRAIN) ## train + evaluate the transformer on full DIGINETICA and Amazon Beauty (about an hour)
	SHARED=$(SHARED) scripts/eval-model.sh

eval: $(TRAIN) ## full-data evaluation (needs ../shared/data): results/*.json, RESULTS.md, build/report.html
	SHARED=$(SHARED) scripts/eval-conv.sh $(SHARED)
	# Before eval-rank.sh, which regenerates RESULTS.md and the report from every record.
	scripts/eval-text.sh $(SHARED)
	SHARED=$(SHARED) scripts/eval-rank.sh

clean: ## remove build outputs
	rm -rf build worker/build
