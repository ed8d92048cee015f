#!/usr/bin/env bash
# Sentence embeddings at the edge, side by side with the incumbent: edgerec's TextEmbedder (wasm in
# Node; q8 and q4 bundles, its int8 kernels and candle's f32 ops) and Transformers.js (the int8 ONNX
# export of the same all-MiniLM-L6-v2, on onnxruntime-web = wasm, 1 thread, and onnxruntime-node)
# on 200 real reviews, one text per call, tokenization and mean pooling included: load time,
# p50/p99 ms per text, cosine to the f32 reference, .wasm sizes, peak RSS. Prints a table and writes
# results/bench/embed.json. A benchmark, not a test.
#
# Needs ../shared/models/all-MiniLM-L6-v2, ../shared/data/womens-reviews and the minilm bundles
# (`edgerec-train text-bundle`, build/bundles/minilm-*.bundle); builds what else it needs under
# build/ (a Python venv for the ONNX export, Transformers.js in build/bench-embed/node_modules).
# Nothing is fetched at run time (no model hub): packages come from PyPI and npm once.
#   scripts/bench-embed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
ENCODER=$SHARED/models/all-MiniLM-L6-v2
REVIEWS=$SHARED/data/womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli
DIR=build/bench-embed
TRANSFORMERS_JS=${TRANSFORMERS_JS:-4.3.1}
mkdir -p "$DIR" results/bench

for p in f32 q8 q4 q8-L3 q8-L4; do
  if [ ! -f "build/bundles/minilm-$p.bundle" ]; then
    # The command of results/quantize/womens-reviews-text-int8.json (it rewrites that record too).
    target/debug/edgerec-train -q text-bundle --encoder "$ENCODER" --texts "$REVIEWS" --limit 2400 --max-len 64 \
      --policies f32,q8,q4 --layers 3,4 --compute quantized --catalog-mapping mappings/rees46.toml \
      --catalog-input "$SHARED/data/rees46/2019-Oct_head17k.csv" --out build/bundles --results-dir results
    break
  fi
done

# The ONNX export, without torch (a plain `pip install torch` is the 5.7 GB CUDA build): the graph
# is written from the safetensors with the `onnx` package, quantized by onnxruntime's tools.
if [ ! -x "$DIR/venv/bin/python" ]; then
  python3 -m venv "$DIR/venv"
fi
if ! "$DIR/venv/bin/python" -c 'import onnx, onnxruntime, numpy, safetensors, pyarrow' 2>/dev/null; then
  "$DIR/venv/bin/pip" install --quiet onnx onnxruntime numpy safetensors pyarrow
fi
MODEL=$DIR/models/all-MiniLM-L6-v2
if [ ! -f "$MODEL/onnx/model_quantized.onnx" ]; then
  "$DIR/venv/bin/python" scripts/bench-embed-prep.py onnx "$ENCODER" "$MODEL"
fi
"$DIR/venv/bin/python" scripts/bench-embed-prep.py texts "$REVIEWS" "$DIR/texts.json"

# Transformers.js in a bench-only folder (not the root package.json). onnxruntime-node's install
# step would download CUDA files; its CPU binding ships in the package.
if [ ! -f "$DIR/node_modules/@huggingface/transformers/package.json" ] ||
  ! grep -q "\"version\": \"$TRANSFORMERS_JS\"" "$DIR/node_modules/@huggingface/transformers/package.json"; then
  echo '{ "name": "edgerec-bench-embed", "private": true, "type": "module" }' > "$DIR/package.json"
  (cd "$DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund \
    "@huggingface/transformers@$TRANSFORMERS_JS")
fi

make js
node scripts/bench-embed.mjs "$DIR/texts.json" "$MODEL" results/bench/embed.json
