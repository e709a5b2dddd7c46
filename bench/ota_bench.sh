#!/usr/bin/env bash
# OTA benchmark on loopback: a 100 MB app (incompressible payload) served by gwe-hub, installed
# end to end by the OTA pipeline (`Installer::fetch_and_install`, the engine's path: download
# teed into the cache file and, in the same pass, SHA-256 + safe extraction; digest checked
# before anything moves; install.sh; fsync of the new files; atomic switch; registry) versus
# `curl -s URL | tar xz` of the same content from the same hub, in the same run. Each run does
# curl|tar, curl|tar + `sync -f`, and the OTA, in that order; prints every run, then the ranges.
# Usage: bench/ota_bench.sh [SIZE_MB] [RUNS]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-100}
runs=${2:-3}

cargo build --release -q -p gwe-hub --bin gwe-hub
cargo build --release -q -p gwe-ota --example ota_bench
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
cleanup() {
    [ -n "${hub_pid:-}" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The app: install.sh + a random payload.
mkdir -p "$work/app"
printf '#!/bin/sh\necho installed $APP_NAME $APP_VERSION\n' >"$work/app/install.sh"
chmod +x "$work/app/install.sh"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/app/payload.bin"
tar czf "$work/big.v1.tar.gz" -C "$work/app" install.sh payload.bin
tarball_bytes=$(stat -c %s "$work/big.v1.tar.gz")

"$target/gwe-hub" serve --data-dir "$work/hub" --listen 127.0.0.1:0 >"$work/hub.log" 2>&1 &
hub_pid=$!
for _ in $(seq 1 200); do
    grep -q "listening on" "$work/hub.log" && break
    sleep 0.05
done
addr=$(sed -n 's#.*listening on http://##p' "$work/hub.log")
[ -n "$addr" ] || { cat "$work/hub.log"; exit 1; }
hub=(--url "http://$addr" --data-dir "$work/hub")
"$target/gwe-hub" device add "${hub[@]}" bench-gw >/dev/null
"$target/gwe-hub" content upload "${hub[@]}" "$work/big.v1.tar.gz" >/dev/null
cik=$("$target/examples/ota_bench" activate "http://$addr" bench-gw)
sync

fresh() { rm -rf "$work/curl" "$work/gw"; mkdir -p "$work/curl"; sync; }
curl_tar() {
    curl -sf -H "X-Exosite-CIK: $cik" "http://$addr/provision/download?id=big.v1.tar.gz" | tar xz -C "$work/curl"
}
want_sha=$(sha256sum "$work/big.v1.tar.gz" | cut -d' ' -f1)
ms() { echo $((($2 - $1) / 1000000)); }
results=()
for run in $(seq 1 "$runs"); do
    # curl | tar, same content, same hub.
    fresh
    t0=$(date +%s%N); curl_tar; t1=$(date +%s%N)
    curl_ms=$(ms "$t0" "$t1")
    cmp -s "$work/curl/payload.bin" "$work/app/payload.bin" || { echo "curl|tar produced different bytes"; exit 1; }

    # The same, made durable (syncfs of the target filesystem).
    fresh
    t0=$(date +%s%N); curl_tar; sync -f "$work/curl"; t1=$(date +%s%N)
    curl_sync_ms=$(ms "$t0" "$t1")

    # The OTA pipeline, into a fresh root.
    fresh
    ota=$("$target/examples/ota_bench" install "http://$addr" "$cik" "$work/gw" big.v1.tar.gz)
    cmp -s "$work/gw/apps/big/current/payload.bin" "$work/app/payload.bin" || { echo "OTA produced different bytes"; exit 1; }
    echo "$ota" | grep -q "$want_sha" || { echo "OTA digest differs from sha256sum"; exit 1; }
    ota_ms=$(echo "$ota" | sed -n 's/.*"total_ms": \([0-9]*\).*/\1/p')
    rss=$(echo "$ota" | sed -n 's/.*"peak_rss_kib": \([0-9]*\).*/\1/p')
    echo "run $run: curl|tar ${curl_ms} ms, curl|tar+sync ${curl_sync_ms} ms, OTA ${ota_ms} ms, OTA peak RSS ${rss} KiB  $ota"
    results+=("$curl_ms $curl_sync_ms $ota_ms $rss")
done

echo "tarball: $tarball_bytes bytes (${size_mb} MiB payload, incompressible), $runs runs"
printf '%s\n' "${results[@]}" | python3 -c '
import sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
c, cs, o, r = (list(x) for x in zip(*rows))
rng = lambda v: "%d-%d" % (min(v), max(v))
print("curl -s URL | tar xz:           %s ms (streamed; no digest, no checks, no fsync)" % rng(c))
print("curl | tar xz; sync -f:         %s ms (durable)" % rng(cs))
print("OTA (gwe-ota fetch_and_install): %s ms (download = SHA-256 + extract, install.sh, fsync, switch, registry)" % rng(o))
ratios = [a / max(b, 1) for a, b in zip(c, o)]
ratios_s = [a / max(b, 1) for a, b in zip(cs, o)]
print("ratio curl|tar / OTA per run:   %.2f-%.2f; (curl|tar + sync) / OTA: %.2f-%.2f (>1: OTA faster)" % (min(ratios), max(ratios), min(ratios_s), max(ratios_s)))
print("OTA peak RSS:                   %.1f-%.1f MiB" % (min(r) / 1024, max(r) / 1024))
'
