#!/usr/bin/env bash
# Installs what edgerec's build and tests need, skipping whatever is already there.
# Safe to run again; on a fresh machine the cargo installs take about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen` crate pinned in Cargo.toml
WORKER_BUILD_VERSION=0.8.7
WASM_PACK_VERSION=0.15.1

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for tool in rustfmt clippy; do
  rustup component list --installed | grep -q "^$tool" || rustup component add "$tool"
done

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 6 minutes)"
  # Not --locked: its lock file pins a crate version this registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if ! cargo install --list | grep -q "^worker-build v$WORKER_BUILD_VERSION:"; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 8 minutes)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --force
fi

if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  log "installing wasm-pack $WASM_PACK_VERSION (about 6 minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --force
fi

if ! command -v chromium >/dev/null; then
  log "installing Chromium (for the browser tests)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y chromium || { $sudo apt-get update && $sudo apt-get install -y chromium; }
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (wrangler, workerd, playwright-core)"
  npm ci --no-audit --no-fund
fi
log "ready"
