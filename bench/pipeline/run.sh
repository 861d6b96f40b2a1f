#!/bin/sh
# Vigie pipeline benchmarks (docs/benchmarks/pipeline.md): gateway ingest vs a bare MQTT
# subscriber, collector catch-up through MAM into MySQL, telemetry → room latency.
# Each run starts its own private Mosquitto, Prosody and MariaDB (VIGIE_MYSQL_ADMIN_URL, when
# set, names a MariaDB to use instead). Results go to stdout, one line per benchmark.
set -eu
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/vigie/target}"
nice -n 15 cargo build --profile release-native -p vigie-pipeline --example pipeline_bench
bench="$CARGO_TARGET_DIR/release-native/examples/pipeline_bench"
export RUST_LOG="${RUST_LOG:-warn}"
"$bench" ingest --vehicles 10000 --seconds 30 --zones 100 --rounds 5
"$bench" catchup --events 20000
"$bench" latency --samples 1000 --per-second 50
