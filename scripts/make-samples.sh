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
# Random whole users (all of each user's items), kept in the file's user order.
mkdir -p data/amazon-beauty
seeded 2000 "$src/amazon-beauty/Beauty.txt" | sort -n -k1,1 > data/amazon-beauty/Beauty.txt
wc -lc data/amazon-beauty/*
