#!/bin/sh
# install.sh of the engine's own OTA package gwe.v<VERSION>.tar.gz (run by `gwe -I` or by an
# engine_fetch command, from the extracted package directory).
#
# It keeps the running engine as gwe.prev (and gwe-engine, the long-running engine that gwe
# execs, as gwe-engine.prev) and puts the new binaries in place (each by rename, so a power cut
# leaves a whole binary), then asks the supervisor to restart program `gwe`. The wrapper gwe-run
# (installed alongside) rolls back to the .prev binaries if the new engine fails its self test or
# keeps exiting during its probation. A package without gwe-engine removes the installed one
# (gwe then runs the engine itself; it never runs a gwe-engine of another build anyway).
#
# Where the engine lives: $GWE_BINDIR, else the directory of the `gwe` on PATH, else
# /usr/local/bin. GWE_NO_RESTART=1 skips the restart (tests, manual upgrades).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${GWE_BINDIR:-}" ]; then
    bindir=$GWE_BINDIR
elif command -v gwe >/dev/null 2>&1; then
    bindir=$(dirname "$(command -v gwe)")
else
    bindir=/usr/local/bin
fi
new_version=$(cat "$here/VERSION" 2>/dev/null || echo '?')
echo "installing the engine $new_version into $bindir"
mkdir -p "$bindir"
cp "$here/gwe" "$bindir/gwe.new"
chmod 755 "$bindir/gwe.new"
cp "$here/gwe-run" "$bindir/gwe-run.new"
chmod 755 "$bindir/gwe-run.new"
if [ -f "$here/gwe-engine" ]; then
    cp "$here/gwe-engine" "$bindir/gwe-engine.new"
    chmod 755 "$bindir/gwe-engine.new"
fi
# keep NAME as NAME.prev: a hard link keeps the running binary reachable without a copy
keep_prev() {
    rm -f "$bindir/$1.prev.tmp"
    ln "$bindir/$1" "$bindir/$1.prev.tmp" 2>/dev/null || cp -p "$bindir/$1" "$bindir/$1.prev.tmp"
    mv -f "$bindir/$1.prev.tmp" "$bindir/$1.prev"
}
if [ -e "$bindir/gwe" ]; then
    old_version=$("$bindir/gwe" --version 2>/dev/null || echo '?')
    keep_prev gwe
    rm -f "$bindir/gwe-engine.prev"
    [ -e "$bindir/gwe-engine" ] && keep_prev gwe-engine
    echo "previous engine $old_version kept as $bindir/gwe.prev (restored if the new one fails)"
fi
rm -f "$bindir/gwe.failures"
mv -f "$bindir/gwe-run.new" "$bindir/gwe-run"
if [ -f "$bindir/gwe-engine.new" ]; then
    mv -f "$bindir/gwe-engine.new" "$bindir/gwe-engine"
else
    rm -f "$bindir/gwe-engine"
fi
mv -f "$bindir/gwe.new" "$bindir/gwe"
echo "engine $new_version installed"
if [ "${GWE_NO_RESTART:-0}" != 1 ] && [ -n "${GWE_SUPERVISOR_URL:-}" ]; then
    # Later, detached: this script runs inside the engine that is being replaced, and the
    # installer kills whatever the script leaves in its process group: a new session escapes.
    # It signals that it runs in its own session before this script exits (else the group kill
    # could come first).
    started="$bindir/.gwe-restart.$$"
    rm -f "$started"
    # gwe ctl gets its own config file: it would otherwise search supervisorctl's default
    # places, where a supervisord.conf without [supervisorctl] may lie.
    restart="touch '$started'; cd /; sleep 5; c=\$(mktemp) && printf '[supervisorctl]\\nserverurl = %s\\n' '$GWE_SUPERVISOR_URL' > \$c; '$bindir/gwe' ctl -c \$c restart gwe; rm -f \$c"
    if command -v setsid >/dev/null 2>&1; then
        setsid sh -c "$restart" </dev/null >>"${GWE_LOG_DIR:-/tmp}/gwe-upgrade-restart.log" 2>&1 &
        i=0
        while [ ! -e "$started" ] && [ $i -lt 50 ]; do
            sleep 0.1 2>/dev/null || sleep 1
            i=$((i + 1))
        done
        rm -f "$started"
    else
        echo "no setsid: restart program gwe yourself (gwe ctl restart gwe)"
        nohup sh -c "$restart" </dev/null >/dev/null 2>&1 &
    fi
    echo "program gwe restarts in 5 s"
fi
