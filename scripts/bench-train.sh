#!/usr/bin/env bash
# Training throughput of the transformer: candle (`edgerec-train train`) against the same
# architecture and training step in PyTorch (scripts/bench-train-torch.py), on the same data, the
# same machine and thread count, one after the other. Sequences per second over the timed steps;
# validation and test scoring are not timed. A benchmark, not a test: it installs PyTorch (CPU use
# of the PyPI wheel, about 5 GB with its CUDA libraries) into a virtual environment under build/.
# Prints a table and writes results/bench/train.json.
#   scripts/bench-train.sh    (SHARED=../shared/data STEPS=100 CONFIG=configs/diginetica.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
STEPS=${STEPS:-100}
CONFIG=${CONFIG:-configs/diginetica.toml}
VENV=${VENV:-build/bench-venv}
DATA="$SHARED/diginetica"
[ -f "$DATA/train_sessions.txt" ] || DATA=data/diginetica
THREADS=$(nproc)

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch
fi
cargo build --quiet -p edgerec-trainer
out=build/bench-train
rm -rf "$out" && mkdir -p "$out" results/bench
# The config with a small validation subset: validation runs once, untimed.
sed -E 's/^validation_cases *=.*/validation_cases = 200/' "$CONFIG" > "$out/config.toml"
python3 - "$out/config.toml" "$THREADS" > "$out/config.json" <<'PY'
import json, sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))
config["threads"] = int(sys.argv[2])
print(json.dumps(config))
PY

echo "candle: $STEPS steps on $DATA" >&2
RAYON_NUM_THREADS=$THREADS target/debug/edgerec-train -q train --data-set diginetica --data "$DATA" \
  --config "$out/config.toml" --epochs 1 --max-steps-per-epoch "$STEPS" --test-cases 200 --bootstrap 0 \
  --out "$out/run" > "$out/candle.log"
echo "PyTorch: $STEPS steps" >&2
"$VENV/bin/python" scripts/bench-train-torch.py "$DATA/train_sessions.txt" "$out/config.json" "$STEPS" "$out/torch.json"

python3 - "$out" "$DATA" "$CONFIG" "$STEPS" "$THREADS" <<'PY'
import json, os, platform, sys, time
out, data, config_path, steps, threads = sys.argv[1:]
state = json.load(open(f"{out}/run/state.json"))
epoch = state["history"][0]
torch = json.load(open(f"{out}/torch.json"))
lock = open("Cargo.lock").read().split("[[package]]")
candle_version = next(p.split('version = "')[1].split('"')[0] for p in lock if 'name = "candle-core"' in p)
result = {
    "benchmark": f"training throughput of the transformer ({config_path}: hidden {state['model']['hidden']}, "
                 f"{state['model']['layers']} layers, max_len {state['model']['max_len']}, batch "
                 f"{state['config']['train']['batch_size']}, {state['config']['train']['negatives']} sampled negatives), "
                 f"{steps} steps on {data}, sequences per second over the training steps (validation untimed)",
    "machine": {"cpus": os.cpu_count(), "threads": int(threads), "platform": platform.platform()},
    "candle": {"framework": f"candle {candle_version}", "steps": epoch["steps"],
               "sequences_per_second": epoch["sequences_per_second"], "train_loss": epoch["train_loss"]},
    "pytorch": torch,
    "ratio_candle_over_pytorch": epoch["sequences_per_second"] / torch["sequences_per_second"],
    "command": "scripts/bench-train.sh",
    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
}
json.dump(result, open("results/bench/train.json", "w"), indent=2)
print(f"| framework | sequences/s |\n|---|---:|\n| {result['candle']['framework']} | {epoch['sequences_per_second']:.0f} |\n"
      f"| {torch['framework']} | {torch['sequences_per_second']:.0f} |\n"
      f"candle / PyTorch: {result['ratio_candle_over_pytorch']:.2f}")
PY
