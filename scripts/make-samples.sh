#!/usr/bin/env bash
# Re-creates the small real-data samples shipped in data/ from the full sets in ../shared/data.
# Deterministic: the same inputs give the same samples.
set -euo pipefail
src=${1:-../shared/data}
seeded() { shuf -n "$1" --random-source=<(yes edgerec) "$2"; }
mkdir -p data/diginetica
# Random whole sessions from training, random test lines (prefix -> next item).
seeded 30000 "$src/diginetica/train_sessions.txt" > data/diginetica/train_sessions.txt
seeded 2000 "$src/diginetica/test_sessions.tsv" > data/diginetica/test_sessions.tsv
wc -lc data/diginetica/*
# Taobao: the complete rows (in file order) of every user with a purchase and at least two events,
# plus 6,000 random users, so that purchase labels exist in a sample small enough to ship.
mkdir -p data/taobao
tb="$src/taobao/UserBehavior_110k.csv"
keep=$(mktemp)
{ awk -F, '{ n[$1]++ } $4 == "buy" { b[$1] = 1 } END { for (u in b) if (n[u] >= 2) print u }' "$tb"
  cut -d, -f1 "$tb" | LC_ALL=C sort -u | seeded 6000 /dev/stdin; } | LC_ALL=C sort -u > "$keep"
awk -F, 'NR == FNR { keep[$1] = 1; next } $1 in keep' "$keep" "$tb" > data/taobao/UserBehavior_sample.csv
rm "$keep"
wc -lc data/taobao/*
# REES46: the header and the complete rows (in file order) of every user who carts or buys, plus
# 500 random users: purchase labels and prices for the tests, well under 1 MB.
mkdir -p data/rees46
rees="$src/rees46/2019-Oct_head17k.csv"
keep=$(mktemp)
{ tail -n +2 "$rees" | awk -F, '$2 == "purchase" || $2 == "cart" { print $8 }'
  tail -n +2 "$rees" | cut -d, -f8 | LC_ALL=C sort -u | seeded 500 /dev/stdin; } | LC_ALL=C sort -u > "$keep"
{ head -n 1 "$rees"; tail -n +2 "$rees" | awk -F, 'NR == FNR { keep[$1] = 1; next } $8 in keep' "$keep" -; } \
  > data/rees46/2019-Oct_sample.csv
rm "$keep"
wc -lc data/rees46/*
# Random whole users (all of each user's items), kept in the file's user order.
mkdir -p data/amazon-beauty
seeded 2000 "$src/amazon-beauty/Beauty.txt" | sort -n -k1,1 > data/amazon-beauty/Beauty.txt
wc -lc data/amazon-beauty/*

# REES46: the first 2,000 events (header kept), and a file of deliberately broken rows, each derived
# from one real row by breaking one field, for the reject tests (see data/README.md).
mkdir -p data/rees46
head -n 2001 "$src/rees46/2019-Oct_head17k.csv" > data/rees46/events_head2000.csv
{
  head -n 1 data/rees46/events_head2000.csv
  LC_ALL=C awk -F, -v OFS=, '
    NR == 2 { print; good = $0 }
    NR == 3 { $1 = "2019-10-01 24:61:00 UTC"; print }          # bad_time
    NR == 4 { $7 = "-" $7; print }                             # negative_price
    NR == 5 { $2 = "wishlist"; print }                         # unknown_event
    NR == 6 { $8 = ""; print }                                 # missing_field (user_id)
    NR == 7 { $6 = "puls\377er"; print }                       # encoding (brand not UTF-8)
    NR == 8 { $7 = "908.6.2"; print }                          # bad_number (price)
    NR == 9 { print $1, $2, $3, $4, $5 }                       # malformed (5 of 9 fields)
    NR == 10 { print good }                                    # exact duplicate of line 2
  ' data/rees46/events_head2000.csv
} > data/rees46/bad_rows.csv

# Taobao UserBehavior: the first 3,000 events of the 110k file (2017-11-26 01:00 UTC on).
mkdir -p data/taobao
head -n 3000 "$src/taobao/UserBehavior_110k.csv" > data/taobao/UserBehavior_head3000.csv

# Amazon Beauty: the first 300 user sequences.
mkdir -p data/amazon-beauty
head -n 300 "$src/amazon-beauty/Beauty.txt" > data/amazon-beauty/Beauty_head300.txt

# Women's clothing reviews: the first 400 rows of the Parquet file, same schema (brotli).
mkdir -p data/womens-reviews
cargo run -q -p edgerec-trainer --example parquet_head -- \
  "$src/womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli" \
  data/womens-reviews/reviews_head400.parquet 400
# A small text encoder for the tests and the demo: all-MiniLM-L6-v2 cut to its first 2 layers,
# Q4, vocabulary trimmed to the review sample and the REES46 sample's catalog texts (plus every
# ASCII character), 64 tokens. The item text vectors of build/rees46.bundle come from it.
mkdir -p data/models build/samples
cargo run -q -p edgerec-trainer -- -q text-bundle --encoder "$(dirname "$src")/models/all-MiniLM-L6-v2" \
  --texts data/womens-reviews/reviews_head400.parquet \
  --catalog-mapping mappings/rees46.toml --catalog-input data/rees46/2019-Oct_sample.csv \
  --policies q4 --layers 2 --max-len 64 --bootstrap 0 --out build/samples
cp build/samples/minilm-q4-L2.bundle data/models/minilm-L2-q4.bundle

wc -c data/rees46/* data/taobao/* data/amazon-beauty/* data/womens-reviews/* data/models/*
