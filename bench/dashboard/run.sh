#!/usr/bin/env bash
# The dashboard benchmarks (docs/benchmarks/dashboard.md): builds the dashboard as shipped
# (`trunk build --release`, into the target dir so the checkout's dist/ stays as it is), builds
# the benchmark's stack program, installs playwright-core from npm, and runs run.mjs, which
# starts a private Vigie on free ports, measures, and stops it.
# Usage: bench/dashboard/run.sh [--loads 20] [--minutes 10] [--rate 100] [--sample 10]
# VIGIE_BENCH_SRC=DIR builds the dashboard of another checkout (e.g. a `git worktree` of a
# commit); VIGIE_BENCH_DIST=DIR benchmarks an already built dashboard instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib.sh
scripts/install

out="$CARGO_TARGET_DIR/vigie-bench-dashboard"
mkdir -p "$out" artifacts
if [ -z "${VIGIE_BENCH_DIST:-}" ]; then
    step "building the dashboard"
    export VIGIE_BENCH_DIST="$out/dist"
    rm -rf "$VIGIE_BENCH_DIST"
    (cd "${VIGIE_BENCH_SRC:-.}" && cargo fetch && trunk build --release --dist "$VIGIE_BENCH_DIST")
fi
step "building the benchmark's stack"
# The gateway and the collector run as child processes (vigie-e2e-program, beside the bench).
cargo build --profile release-native -p vigie-bench-dashboard -p vigie-e2e --bins
export VIGIE_BENCH_STACK="$CARGO_TARGET_DIR/release-native/vigie-bench-dashboard"
export VIGIE_BENCH_LOG="${VIGIE_BENCH_LOG:-$out/stack.log}"

cd bench/dashboard
npm ci --no-audit --no-fund --silent
step "benchmarking (the stack's log: $VIGIE_BENCH_LOG)"
node run.mjs --out "../../artifacts/bench-dashboard.json" "$@"
