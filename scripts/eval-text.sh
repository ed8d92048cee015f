#!/usr/bin/env bash
# Full-data text-to-conversion evaluation (issue 4): Women's E-Commerce Clothing Reviews, review title + text ->
# recommended and rating, split by item (Clothing ID, 80/10/10, seeded). TF-IDF + linear model, the frozen
# all-MiniLM-L6-v2 + linear model, and MiniLM fine-tuned on the CPU (the bottom 4 layers frozen and cached once,
# the top 2 layers and the heads trained). Run records go to results/, the fine-tuned model to build/text-model.
# Needs ../shared/data and ../shared/models (see their READMEs); run from the repository root.
set -euo pipefail
shared=${1:-../shared/data}
models=${2:-$(dirname "$shared")/models}
cargo build -p edgerec-trainer
target/debug/edgerec-train text \
  --input "$shared/womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli" \
  --encoder "$models/all-MiniLM-L6-v2" --out build/text-model --results-dir results \
  --max-len 128 --train-layers 2 --epochs 2
