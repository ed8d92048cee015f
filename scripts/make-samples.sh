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
