#!/usr/bin/env bash
# OTA benchmark on loopback: a 100 MB app (incompressible payload) served by gwe-hub, installed
# end to end by the OTA pipeline (download to the cache with the device client, SHA-256 and
# safe extraction in one pass, install.sh, registry) versus `curl -s URL | tar xz` of the same
# content in the same run. Prints both times, the ratio, and the installer's peak RSS.
# Usage: bench/ota_bench.sh [SIZE_MB]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-100}

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

# curl | tar, same content, same hub.
mkdir -p "$work/curl"
t0=$(date +%s%N)
curl -sf -H "X-Exosite-CIK: $cik" "http://$addr/provision/download?id=big.v1.tar.gz" | tar xz -C "$work/curl"
t1=$(date +%s%N)
curl_ms=$(((t1 - t0) / 1000000))
cmp -s "$work/curl/payload.bin" "$work/app/payload.bin" || { echo "curl|tar produced different bytes"; exit 1; }

# The same, made durable like the OTA install is (syncfs of the target filesystem).
rm -rf "$work/curl"; mkdir -p "$work/curl"
t0=$(date +%s%N)
curl -sf -H "X-Exosite-CIK: $cik" "http://$addr/provision/download?id=big.v1.tar.gz" | tar xz -C "$work/curl"
sync -f "$work/curl"
t1=$(date +%s%N)
curl_sync_ms=$(((t1 - t0) / 1000000))
rm -rf "$work/curl"
sync

# The OTA pipeline.
ota=$("$target/examples/ota_bench" install "http://$addr" "$cik" "$work/gw" big.v1.tar.gz)
cmp -s "$work/gw/apps/big/current/payload.bin" "$work/app/payload.bin" || { echo "OTA produced different bytes"; exit 1; }
want_sha=$(sha256sum "$work/big.v1.tar.gz" | cut -d' ' -f1)
echo "$ota" | grep -q "$want_sha" || { echo "OTA digest differs from sha256sum"; exit 1; }

ota_ms=$(echo "$ota" | sed -n 's/.*"total_ms": \([0-9]*\).*/\1/p')
rss=$(echo "$ota" | sed -n 's/.*"peak_rss_kib": \([0-9]*\).*/\1/p')
echo "tarball: $tarball_bytes bytes (${size_mb} MiB payload, incompressible)"
echo "curl | tar xz:        ${curl_ms} ms (streamed, no digest, no checks, no fsync)"
echo "OTA (gwe-ota):        ${ota_ms} ms (download, SHA-256 + extract, install.sh, syncfs, registry)  $ota"
echo "curl | tar xz; sync -f: ${curl_sync_ms} ms (durable, like the OTA install)"
python3 -c "print('ratio curl|tar / OTA = %.2f, (curl|tar + sync) / OTA = %.2f (>1: OTA faster)' % (${curl_ms} / max(${ota_ms}, 1), ${curl_sync_ms} / max(${ota_ms}, 1)))"
echo "installer peak RSS:   $((rss / 1024)) MiB (${rss} KiB)"
