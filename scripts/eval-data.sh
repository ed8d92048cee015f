#!/usr/bin/env bash
# Runs `edgerec-train prepare` on every full data set in ${SHARED:-../shared/data} and prints the reject
# reports and summaries. Outputs go to build/prepared/<data set>/summary.json.
set -euo pipefail
shared=${SHARED:-../shared/data}
train=${TRAIN:-target/debug/edgerec-train}
out=${OUT:-build/prepared}
[ -x "$train" ] || cargo build -q -p edgerec-trainer
run() { # name mapping input [extra args]
  local name=$1 mapping=$2 input=$3
  shift 3
  "$train" -q prepare --mapping "mappings/$mapping.toml" --input "$shared/$input" --out "$out/$name" "$@"
  echo
}
run rees46 rees46 rees46/2019-Oct_head17k.csv
run taobao-110k taobao taobao/UserBehavior_110k.csv
run taobao-43users taobao taobao/UserBehavior_43users.csv
run diginetica diginetica diginetica/train_sessions.txt
run amazon-beauty amazon-beauty amazon-beauty/Beauty.txt
run womens-reviews womens-reviews womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli
