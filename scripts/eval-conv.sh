#!/usr/bin/env bash
# Full-data conversion evaluation: purchase prediction on Taobao and REES46 (who, among the users active in the last
# 50 minutes, buys in the next 40; REES46: 15 and 10), every model, with run records written to results/.
# Needs ../shared/data (see its README); run from the repository root.
set -euo pipefail
shared=${1:-../shared/data}
cargo build -p edgerec-trainer
target/debug/edgerec-train purchase --data-set taobao \
  --input "$shared/taobao/UserBehavior_110k.csv" --results-dir results \
  --model constant,carted,item-rate,lr,gbdt
# The conversion transformer, exported as f32/q8/q4 bundles and each scored through the edge's
# loader: results/taobao-purchase-transformer.json and results/quantize/taobao-purchase.json.
target/debug/edgerec-train purchase --data-set taobao \
  --input "$shared/taobao/UserBehavior_110k.csv" --results-dir results \
  --model transformer --bundles build/bundles
# REES46 head: dense only from 02:10 to 02:50 UTC, hence 15-minute look-back, 10-minute horizon (the defaults).
target/debug/edgerec-train purchase --data-set rees46 \
  --input "$shared/rees46/2019-Oct_head17k.csv" --results-dir results \
  --model constant,carted,item-rate,lr,gbdt,transformer
