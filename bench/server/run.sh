#!/usr/bin/env bash
# The history API benchmarks of docs/benchmarks/server.md: a private MariaDB (kept in a state
# folder, so the seeded database is reused by the next run), COUNT incidents from vigie-seed,
# then query_bench (p50/p99 per query shape, API vs SQL, CSV export) and wrk (throughput).
#
#   bench/server/run.sh [COUNT]        # default 10000000
#
# VIGIE_BENCH_STATE: the state folder (default ~/.cache/vigie/bench-server; 10M incidents take
# about 20 GB there: delete the folder afterwards to get the space back).
# VIGIE_BENCH_ITERATIONS: timed requests per shape (default 200).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib.sh

count="${1:-10000000}"
state="${VIGIE_BENCH_STATE:-$HOME/.cache/vigie/bench-server}"
iterations="${VIGIE_BENCH_ITERATIONS:-200}"
# A fixed end, so the same COUNT gives the same data on every machine.
until="2026-11-22T00:00:00Z"
profile=release-native
bin="$CARGO_TARGET_DIR/$profile"

if ! command -v wrk >/dev/null; then
    step "installing wrk (Debian package)"
    sudo_if_needed=()
    [ "$(id -u)" = 0 ] || sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get install -y wrk
fi
step "building (profile $profile)"
cargo build -p vigie-stack --bin vigie-stack
cargo build --profile "$profile" -p vigie-server --bin vigie-server --bin vigie-seed --example query_bench

step "a private MariaDB in $state"
mkdir -p "$state"
rm -f "$state/mysql.env"
"$CARGO_TARGET_DIR/debug/vigie-stack" mysql --state-dir "$state" --exit-with $$ >"$state/mysql.log" 2>&1 &
mysql_pid=$!
server_pid=
trap 'kill -TERM $server_pid $mysql_pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 600); do
    [ -f "$state/mysql.env" ] && break
    kill -0 "$mysql_pid" 2>/dev/null || { cat "$state/mysql.log" >&2; exit 1; }
    sleep 0.1
done
# shellcheck disable=SC1091
source "$state/mysql.env"
admin="${VIGIE_MYSQL_ADMIN_URL%/}"
credentials="${admin#mysql://}"
credentials="${credentials%@*}"
address="${admin##*@}"
sql() {
    MYSQL_PWD="${credentials#*:}" mariadb --no-defaults --protocol=TCP --batch --skip-column-names \
        --host="${address%:*}" --port="${address##*:}" --user="${credentials%%:*}" "$@"
}
# The data and its indexes stay in memory, as on a production database server.
sql -e "SET GLOBAL innodb_buffer_pool_size = 6 * 1024 * 1024 * 1024; SET GLOBAL innodb_log_file_size = 2 * 1024 * 1024 * 1024"
database_url="$admin/vigie_bench"

have="$(sql -e "SELECT COUNT(*) FROM vigie_bench.incidents" 2>/dev/null || echo 0)"
if [ "$have" != "$count" ]; then
    # Fewer: a stopped run, which vigie-seed finishes (it skips the batches already stored).
    if [ "$have" -gt "$count" ] 2>/dev/null || [ "$have" = 0 ]; then
        sql -e "DROP DATABASE IF EXISTS vigie_bench; CREATE DATABASE vigie_bench"
    fi
    step "seeding $count incidents (found $have)"
    /usr/bin/time -v "$bin/vigie-seed" --database-url "$database_url" --count "$count" --until "$until" \
        2> >(grep -E "Elapsed|Maximum resident|incidents in" >&2)
fi
sql -e "SELECT table_name, table_rows, ROUND(data_length / 1e6), ROUND(index_length / 1e6) FROM information_schema.tables WHERE table_schema = 'vigie_bench' AND table_name LIKE 'incident%'"

step "load average before the measurements: $(cat /proc/loadavg)"
step "EXPLAIN of each query shape"
"$bin/examples/query_bench" --database-url "$database_url" --explain
step "query shapes, page of 100 ($iterations requests each) and the CSV export"
"$bin/examples/query_bench" --database-url "$database_url" --iterations "$iterations"
# The first export reads old pages from disk (10M incidents do not fit the buffer pool): again,
# warm, as the server would serve a repeated export.
step "the CSV export again, warm"
"$bin/examples/query_bench" --database-url "$database_url" --iterations 20 --only "no filter"
step "load average: $(cat /proc/loadavg)"

step "throughput (wrk, 2 threads, 32 connections, 20 s per URL)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$bin/vigie-server" --database-url "$database_url" --listen "127.0.0.1:$port" &
server_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
for path in "/api/v1/incidents" "/api/v1/incidents?kind=jam&zone=centre" "/api/v1/incidents?vehicle=v42"; do
    echo "GET $path"
    wrk -t2 -c32 -d20s --latency "http://127.0.0.1:$port$path" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
    echo "load average: $(cat /proc/loadavg)"
done
