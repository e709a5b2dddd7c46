#!/bin/sh
# Builds the engine release package GatewayEngine.v<VERSION>.tar.gz (one top directory
# gateway-engine/: install.sh, bin/gwe, bin/gwe-run, optional bin/gwe-engine, bin/gwe-supervisord,
# bin/gdc and bin/gwe-hub,
# apps_to_install/, optional pre/post_install_commands.sh, VERSION) and the engine's own OTA
# package gwe.v<VERSION>.tar.gz (an app tarball whose install.sh replaces gwe, gwe-run and
# gwe-engine).
#
# Usage: packaging/build-release.sh [OUT_DIR]
# Environment:
#   GWE_BIN      the gwe binary to ship [built static with cargo: target/<host>/release/gwe]
#   GDC_BIN, GWE_HUB_BIN   optional binaries to ship too
#   SUPERVISORD_BIN   the small gwe-supervisord daemon (`gwe supervisord` execs it when it sits
#                beside gwe) [gwe-supervisord beside GWE_BIN when it exists; empty: none]
#   ENGINE_BIN   the small gwe-engine binary (`gwe` execs it for the long-running engine when it
#                sits beside gwe; it must be built from the same sources as GWE_BIN, else gwe
#                runs the engine itself) [gwe-engine beside GWE_BIN when it exists; empty: none]
#   VERSION      package version [`$GWE_BIN --version`]
#   APPS_DIR     directory whose *.tar.gz go into apps_to_install/ []
#   PRE_INSTALL, POST_INSTALL   scripts shipped as pre_/post_install_commands.sh []
#   SOURCE_DATE_EPOCH   mtime of every entry (reproducible packages) [0]
#   GZIP_LEVEL   gzip compression level [9]
#   CHECK_GWE    the gwe that checks the tarballs [$GWE_BIN]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "${GWE_BIN:-}" ]; then
    # static, like the daemons beside it (see README.md); --target keeps RUSTFLAGS off build scripts
    host=$(rustc -vV | sed -n 's/^host: //p')
    (cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target "$host" -p gwe)
    GWE_BIN=$root/target/$host/release/gwe
fi
VERSION=${VERSION:-$("$GWE_BIN" --version)}
case "$VERSION" in ''|*[!A-Za-z0-9._-]*) echo "bad VERSION '$VERSION'" >&2; exit 1 ;; esac
mtime=${SOURCE_DATE_EPOCH:-0}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/gateway-engine"
mkdir -p "$pkg/bin" "$pkg/apps_to_install"
cp "$here/release/install.sh" "$pkg/install.sh"
cp "$GWE_BIN" "$pkg/bin/gwe"
cp "$here/release/gwe-run" "$pkg/bin/gwe-run"
[ -n "${GDC_BIN:-}" ] && cp "$GDC_BIN" "$pkg/bin/gdc"
[ -n "${GWE_HUB_BIN:-}" ] && cp "$GWE_HUB_BIN" "$pkg/bin/gwe-hub"
SUPERVISORD_BIN=${SUPERVISORD_BIN-$(dirname "$GWE_BIN")/gwe-supervisord}
[ -n "$SUPERVISORD_BIN" ] && [ -x "$SUPERVISORD_BIN" ] && cp "$SUPERVISORD_BIN" "$pkg/bin/gwe-supervisord"
ENGINE_BIN=${ENGINE_BIN-$(dirname "$GWE_BIN")/gwe-engine}
[ -n "$ENGINE_BIN" ] && [ ! -x "$ENGINE_BIN" ] && ENGINE_BIN=
[ -n "$ENGINE_BIN" ] && cp "$ENGINE_BIN" "$pkg/bin/gwe-engine"
if [ -n "${APPS_DIR:-}" ]; then
    for t in "$APPS_DIR"/*.tar.gz; do
        [ -e "$t" ] || continue
        "${CHECK_GWE:-$GWE_BIN}" --check-tarball "$t" >/dev/null || { echo "$t fails gwe --check-tarball" >&2; exit 1; }
        cp "$t" "$pkg/apps_to_install/"
    done
fi
[ -n "${PRE_INSTALL:-}" ] && cp "$PRE_INSTALL" "$pkg/pre_install_commands.sh"
[ -n "${POST_INSTALL:-}" ] && cp "$POST_INSTALL" "$pkg/post_install_commands.sh"
echo "$VERSION" > "$pkg/VERSION"
chmod 755 "$pkg/install.sh" "$pkg/bin/"*

# Sorted entries, fixed owner and mtime: the same inputs give the same tarball.
pack() { # pack OUT DIR ENTRIES...
    o=$1; d=$2; shift 2
    (cd "$d" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
        -cf - "$@") | gzip -n "-${GZIP_LEVEL:-9}" > "$o.tmp"
    mv -f "$o.tmp" "$o"
}
release="$out/GatewayEngine.v$VERSION.tar.gz"
pack "$release" "$stage" gateway-engine

ota="$stage/ota"
mkdir -p "$ota"
cp "$here/ota/install.sh" "$ota/install.sh"
cp "$GWE_BIN" "$ota/gwe"
cp "$here/release/gwe-run" "$ota/gwe-run"
echo "$VERSION" > "$ota/VERSION"
chmod 755 "$ota/install.sh" "$ota/gwe" "$ota/gwe-run"
ota_files="install.sh gwe gwe-run VERSION"
if [ -n "$ENGINE_BIN" ]; then
    cp "$ENGINE_BIN" "$ota/gwe-engine"
    chmod 755 "$ota/gwe-engine"
    ota_files="$ota_files gwe-engine"
fi
engine_ota="$out/gwe.v$VERSION.tar.gz"
# shellcheck disable=SC2086 # a list of plain file names
pack "$engine_ota" "$ota" $ota_files
"${CHECK_GWE:-$GWE_BIN}" --check-tarball "$engine_ota" >/dev/null || { echo "$engine_ota fails its checks" >&2; exit 1; }
echo "$release"
echo "$engine_ota"
