#!/usr/bin/env bash
# The transformer conversion model on the full ranking data sets (long: about an hour on 2 cores).
# Trains with early stopping on validation, scores the standard test split, writes
# results/<data set>-sasrec.json, then regenerates RESULTS.md and the HTML report.
# RAYON_NUM_THREADS=1 is faster than 2 when anything else runs on a 2-core machine (candle's
# worker threads spin at barriers); unset it on a quiet or bigger machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
TRAIN=target/debug/edgerec-train

$TRAIN train --data-set diginetica --data "$SHARED/diginetica" --config configs/diginetica.toml \
  --out runs/diginetica --results-dir results
$TRAIN train --data-set amazon-beauty --data "$SHARED/amazon-beauty" --config configs/amazon-beauty.toml \
  --out runs/amazon-beauty --results-dir results
scripts/results-md.py > RESULTS.md
$TRAIN report --results results --out build/report.html
