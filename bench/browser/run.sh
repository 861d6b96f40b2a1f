#!/usr/bin/env bash
# Builds the wasm core as the dashboard ships it (release profile: opt-level z but 3 for the
# XML parser, LTO; then wasm-opt -Os, as Trunk does), installs Strophe.js and playwright-core
# from npm, and runs the side-by-side benchmark in headless Chromium.
# Usage: bench/browser/run.sh [stanzas] [rounds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib.sh
scripts/install

cargo build --release --target wasm32-unknown-unknown -p vigie-bench-browser
pkg="$CARGO_TARGET_DIR/vigie-bench-browser/pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/vigie_bench_browser.wasm"
wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$pkg/vigie_bench_browser_bg.wasm" -o "$pkg/vigie_bench_browser_bg.wasm"
printf 'wasm: %s bytes, %s gzipped\n' "$(stat -c %s "$pkg/vigie_bench_browser_bg.wasm")" \
    "$(gzip -9 -c "$pkg/vigie_bench_browser_bg.wasm" | wc -c)"

cd bench/browser
npm ci --no-audit --no-fund --silent
VIGIE_BENCH_PKG="$pkg" node run.mjs "$@"
