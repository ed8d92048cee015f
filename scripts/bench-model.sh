#!/usr/bin/env bash
# The engine serving the quantized transformer (int8 retrieval over the whole catalog, 100
# candidates re-scored exactly), natively and as wasm in Node, with both compute paths (weights
# dequantized to f32 at load, or QMatMul on the quantized blocks), on real DIGINETICA test
# prefixes: p50/p99 per request (k = 20, one at a time), bundle load, cold start, memory, .wasm size;
# for the plain transformer bundles (sasrec-q8, sasrec-q4) and the hybrid one (V-SKNN blended in).
# Prints a table and writes results/bench/model.json. A benchmark, not a test.
# Needs ../shared/data/diginetica and a trained run (runs/diginetica, `edgerec-train train`).
#   scripts/bench-model.sh         (or: make bench)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
RUN=${RUN:-runs/diginetica}
EVERY=${EVERY:-120} # every 120th test line: about 500 prefixes spread over the test week
BUNDLES=${BUNDLES:-sasrec-q8,sasrec-q4,hybrid-q8}

mkdir -p build/bundles results/bench
IFS=, read -ra bundles <<< "$BUNDLES"
for b in "${bundles[@]}"; do
  [ -f "build/bundles/diginetica-$b.bundle" ] && continue
  case "$b" in
    sasrec-*) target/debug/edgerec-train quantize --data-set diginetica --data "$SHARED/diginetica" --run "$RUN" \
        --policies "${b#sasrec-}" --test-cases 1000 --out build/bundles ;;
    hybrid-*) target/debug/edgerec-train hybrid --data-set diginetica --data "$SHARED/diginetica" --run "$RUN" \
        --policy "${b#hybrid-}" --test-cases 1000 --out build/bundles ;;
  esac
done
awk -v every="$EVERY" 'NR % every == 1' "$SHARED/diginetica/test_sessions.tsv" > build/bench-model-prefixes.tsv
cargo build --quiet -p edgerec --features model --example bench_model
make --quiet js # the npm package serves transformer bundles
# One thread natively, as in a wasm isolate: candle's rayon pool only adds contention for one
# request at a time (and spins on a shared 2-core machine).
export RAYON_NUM_THREADS=1
natives=()
for b in "${bundles[@]}"; do
  target/debug/examples/bench_model "build/bundles/diginetica-$b.bundle" build/bench-model-prefixes.tsv 20 \
    > "build/bench-model-native-$b.json"
  natives+=("$b=build/bench-model-native-$b.json")
done
node scripts/bench-model.mjs build/bench-model-prefixes.tsv results/bench/model.json "${natives[@]}"
