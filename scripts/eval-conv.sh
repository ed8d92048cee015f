#!/usr/bin/env bash
# Full-data conversion evaluation: Taobao purchase prediction (who, among the users active in the last
# 50 minutes, buys in the next 40), every model, with run records written to results/.
# Needs ../shared/data (see its README); run from the repository root.
set -euo pipefail
shared=${1:-../shared/data}
cargo build -p edgerec-trainer
target/debug/edgerec-train purchase --data-set taobao \
  --input "$shared/taobao/UserBehavior_110k.csv" --results-dir results \
  --model constant,carted,item-rate,lr,gbdt
