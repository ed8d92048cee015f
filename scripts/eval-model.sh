#!/usr/bin/env bash
# The transformer conversion model on the full ranking data sets (long: about 1.5 hours on 2 cores).
# DIGINETICA: the validated run (early stopping on the last 10% of training sessions), then the final
# model on every training session for the same epochs, then the hybrid bundle (V-SKNN blended in, the
# weights chosen with the validated run on validation) scored on test through the engine.
# Amazon Beauty: the validated run and its hybrid bundle.
# Writes results/<data set>-{sasrec,sasrec-all-sessions,hybrid,sasrec-served}.json, then regenerates
# RESULTS.md and the HTML report.
# RAYON_NUM_THREADS=1 is faster than 2 when anything else runs on a 2-core machine (candle's
# worker threads spin at barriers); unset it on a quiet or bigger machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
TRAIN=target/debug/edgerec-train

$TRAIN train --data-set diginetica --data "$SHARED/diginetica" --config configs/diginetica.toml \
  --out runs/diginetica --results-dir results
$TRAIN train --data-set diginetica --data "$SHARED/diginetica" --config configs/diginetica.toml \
  --all-sessions --out runs/diginetica-all
# One epoch of full softmax on the newest 10% of sessions (fraction, learning rate and softmax
# chosen on validation with the validated run), for both runs. Full softmax holds the B x catalog
# logits and their gradients: about 18 GB at batch 256 on DIGINETICA.
FINE_TUNE=(--recent-sessions 0.1 --lr 1e-3 --epochs 1 --negatives 0)
$TRAIN train --data-set diginetica --data "$SHARED/diginetica" --config configs/diginetica.toml \
  --init-from runs/diginetica "${FINE_TUNE[@]}" --test-cases 1000 --out runs/diginetica-recent
$TRAIN train --data-set diginetica --data "$SHARED/diginetica" --config configs/diginetica.toml \
  --all-sessions --init-from runs/diginetica-all "${FINE_TUNE[@]}" --out runs/diginetica-all-recent \
  --results-dir results
$TRAIN hybrid --data-set diginetica --data "$SHARED/diginetica" --run runs/diginetica-all-recent \
  --validation-run runs/diginetica-recent --out build/bundles --results-dir results
$TRAIN train --data-set amazon-beauty --data "$SHARED/amazon-beauty" --config configs/amazon-beauty.toml \
  --out runs/amazon-beauty --results-dir results
$TRAIN hybrid --data-set amazon-beauty --data "$SHARED/amazon-beauty" --run runs/amazon-beauty \
  --idf-weight 1 --seen-weights 0 --select-by NDCG@20 --out build/bundles --results-dir results
scripts/results-md.py > RESULTS.md
$TRAIN report --results results --out build/report.html
