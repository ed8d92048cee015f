#!/usr/bin/env bash
# Text-to-conversion evaluation (issue 4): Women's E-Commerce Clothing Reviews, review title + text -> recommended
# and rating, split by item (Clothing ID, 80/10/10, seeded). TF-IDF + linear model, the frozen all-MiniLM-L6-v2 +
# linear model, and MiniLM fine-tuned (the bottom 4 layers frozen and cached once, the top 2 layers and the heads
# trained). Run records go to results/, the fine-tuned model folder to build/text-model.
#
# Sized for a CPU run of about 10 minutes on 2 shared cores, where the full 6-layer pass runs at only ~500
# tokens/s: the first 4,000 reviews with text, at most 2,000 of their training reviews, 64 tokens, one epoch.
# On a GPU drop --limit/--max-train-reviews, use --max-len 128 --epochs 3, and add --cuda (--train-layers all).
# Needs ../shared/data and ../shared/models (see their READMEs); run from the repository root.
set -euo pipefail
shared=${1:-../shared/data}
models=${2:-$(dirname "$shared")/models}
cargo build -p edgerec-trainer
target/debug/edgerec-train text \
  --input "$shared/womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli" \
  --encoder "$models/all-MiniLM-L6-v2" --out build/text-model --results-dir results \
  --limit 4000 --max-train-reviews 2000 --max-len 64 --train-layers 2 --epochs 2 --learning-rate 2e-4
