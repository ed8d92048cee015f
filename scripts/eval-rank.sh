#!/usr/bin/env bash
# Ranking baselines on the full data sets with their standard protocols: DIGINETICA (every test
# prefix, full catalog, seen items included) and Amazon Beauty (leave-one-out, history excluded).
# Writes results/<data set>-<model>.json, regenerates RESULTS.md and the HTML report.
# Needs target/debug/edgerec-train (cargo build -p edgerec-trainer) and the data in $SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
TRAIN=target/debug/edgerec-train

$TRAIN baselines --data-set diginetica --data "$SHARED/diginetica" \
  --models popularity,covisit,sknn,vsknn --results-dir results
$TRAIN baselines --data-set amazon-beauty --data "$SHARED/amazon-beauty" \
  --models popularity,covisit,sknn,vsknn --results-dir results
scripts/results-md.py > RESULTS.md
$TRAIN report --results results --out build/report.html
