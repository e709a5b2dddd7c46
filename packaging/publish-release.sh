#!/bin/sh
# Publishes an engine release package to a release area of a gwe-hub content area, so gateways
# get it with `gwe --download-latest AREA`: uploads the package as <AREA>/<FILE NAME>, then
# (only when that worked) replaces <AREA>/latest.lnk with the file name.
#
# Usage: packaging/publish-release.sh AREA GatewayEngine.v<VERSION>.tar.gz
# The hub is reached with the gwe-hub CLI: set GWE_HUB_URL / GWE_HUB_TOKEN (or --url/--token
# through GWE_HUB_ARGS), GWE_HUB_BIN (default: gwe-hub on PATH).
set -eu
[ $# = 2 ] || { echo "usage: $0 AREA PACKAGE" >&2; exit 2; }
area=$1
package=$2
name=$(basename "$package")
case "$area" in ''|.*|*[!A-Za-z0-9._-]*) echo "bad release area '$area'" >&2; exit 2 ;; esac
case "$name" in *.v*.tar.gz) ;; *) echo "'$name' is not <NAME>.v<VERSION>.tar.gz" >&2; exit 2 ;; esac
hub=${GWE_HUB_BIN:-gwe-hub}
# shellcheck disable=SC2086
"$hub" ${GWE_HUB_ARGS:-} content upload "$package" --id "$area/$name" --type application/gzip
link=$(mktemp)
trap 'rm -f "$link"' EXIT
echo "$name" > "$link"
# shellcheck disable=SC2086
"$hub" ${GWE_HUB_ARGS:-} content upload "$link" --id "$area/latest.lnk" --type text/plain
echo "published $name as the latest of release area $area"
