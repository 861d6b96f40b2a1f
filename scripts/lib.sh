# Sourced by scripts/install, scripts/run and scripts/test: one place for tool locations.
# shellcheck shell=bash

# Builds land outside the clone, shared between runs.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigie/target}"
# npm's binaryen (wasm-opt 132), never Debian's: its wasm-opt 108 breaks the wasm.
export VIGIE_BINARYEN_DIR="${VIGIE_BINARYEN_DIR:-$HOME/.cache/vigie/binaryen}"
export PATH="$VIGIE_BINARYEN_DIR/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true

# The wasm-bindgen version in Cargo.lock (the CLI must match it exactly).
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

step() { printf '==> %s\n' "$*" >&2; }
