#!/usr/bin/env bash
# Benchmarks recommend (k=20) natively and as wasm in Node on real DIGINETICA test prefixes with the
# full-catalog bundle, plus cold start and .wasm size; prints a table, writes results/bench/recommend.json.
# Needs ../shared/data/diginetica, the trainer (target/debug/edgerec-train) and `make js`.
#   scripts/bench-recommend.sh            (or: make bench)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
EVERY=${EVERY:-12} # every 12th test line: about 5,000 prefixes spread over the whole test week

mkdir -p build results/bench
if [ ! -f build/full.bundle ]; then
  target/debug/edgerec-train covisit --data "$SHARED/diginetica" --out build/full.bundle
fi
awk -v every="$EVERY" 'NR % every == 1' "$SHARED/diginetica/test_sessions.tsv" > build/bench-prefixes.tsv
cargo build --quiet -p edgerec --example bench_recommend
target/debug/examples/bench_recommend build/full.bundle build/bench-prefixes.tsv 20 > build/bench-native.json
node scripts/bench-recommend.mjs build/full.bundle build/bench-prefixes.tsv build/bench-native.json results/bench/recommend.json
