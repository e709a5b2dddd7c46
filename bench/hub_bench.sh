#!/usr/bin/env bash
# Hub benchmark on loopback: 10,000 idle long polls (hub RSS per poll), write-to-wake
# latency, device writes/s. Bounded: the load generator stops by itself (--max-secs).
# Usage: bench/hub_bench.sh [extra loadgen options]
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 21000 ]; then
    echo "note: ulimit -n is $(ulimit -n); hub and load generator each need ~10,100 descriptors" >&2
fi

cargo build --release -q -p gwe-hub --bin gwe-hub --example loadgen
target=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
out=$(mktemp)
cleanup() {
    [ -n "${hub_pid:-}" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    rm -rf "$data" "$out"
}
trap cleanup EXIT

"$target/gwe-hub" serve --data-dir "$data" --listen 127.0.0.1:0 >"$out" 2>&1 &
hub_pid=$!
for _ in $(seq 1 200); do
    grep -q "listening on" "$out" && break
    sleep 0.05
done
addr=$(sed -n 's#.*listening on http://##p' "$out")
[ -n "$addr" ] || { cat "$out"; exit 1; }
token=$(cat "$data/operator-token")
echo "hub pid $hub_pid at $addr (release build, SQLite in $data)"
"$target/examples/loadgen" --addr "$addr" --token "$token" --hub-pid "$hub_pid" \
    --devices 100 --polls 10000 --wakes 1000 --writers 32 --write-secs 10 --max-secs 300 "$@"
