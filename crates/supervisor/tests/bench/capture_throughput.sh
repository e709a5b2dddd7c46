#!/bin/sh
# Log capture throughput: a child writing N MiB to stdout under
# `gwe supervisord` versus the same bytes through `| cat > file`.
# Not part of the test suite (no timing assertions there).
#
# usage: capture_throughput.sh GWE_BINARY [MIB=1024] [SUPERVISORD_BINARY]
# (with a third argument, python supervisord is measured the same way)
set -eu
GWE=$1
MIB=${2:-1024}
SUPD=${3:-}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
BYTES=$((MIB * 1024 * 1024))

now() { date +%s.%N; }

t0=$(now)
head -c "$BYTES" /dev/zero | cat > "$DIR/cat.out"
t1=$(now)
echo "cat:        $(echo "$t1 - $t0" | bc) s for $MIB MiB"
rm -f "$DIR/cat.out"

run() {
    name=$1; shift
    cat > "$DIR/s.conf" <<CONF
[unix_http_server]
file = $DIR/s.sock
[supervisord]
logfile = $DIR/s.log
pidfile = $DIR/s.pid
childlogdir = $DIR
nodaemon = true
silent = true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:flood]
command = head -c $BYTES /dev/zero
startsecs = 0
autorestart = false
stdout_logfile = $DIR/flood.log
stdout_logfile_maxbytes = 0
CONF
    t0=$(now)
    "$@" -c "$DIR/s.conf" &
    pid=$!
    while [ "$(stat -c %s "$DIR/flood.log" 2>/dev/null || echo 0)" -lt "$BYTES" ]; do sleep 0.01; done
    t1=$(now)
    echo "$name $(echo "$t1 - $t0" | bc) s for $MIB MiB (includes start-up)"
    kill "$pid"; wait "$pid" || true
    rm -f "$DIR/flood.log" "$DIR/s.sock"
}

run "gwe:       " "$GWE" supervisord -n
if [ -n "$SUPD" ]; then run "supervisord:" "$SUPD" -n; fi
