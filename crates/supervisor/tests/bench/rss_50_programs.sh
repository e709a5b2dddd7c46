#!/bin/sh
# Resident memory of the supervisor with 50 running programs.
# usage: rss_50_programs.sh GWE_BINARY [SUPERVISORD_BINARY]
set -eu
GWE=$1
SUPD=${2:-}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
{
    printf '[unix_http_server]\nfile = %s/s.sock\n[supervisord]\nlogfile = %s/s.log\npidfile = %s/s.pid\nchildlogdir = %s\nnodaemon = true\nsilent = true\n' "$DIR" "$DIR" "$DIR" "$DIR"
    printf '[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n'
    i=0
    while [ $i -lt 50 ]; do
        printf '[program:p%02d]\ncommand = sh -c "echo hello; exec sleep 1000"\nstartsecs = 1\n' $i
        i=$((i + 1))
    done
} > "$DIR/s.conf"

measure() {
    name=$1; shift
    "$@" -c "$DIR/s.conf" &
    pid=$!
    # wait until all 50 are RUNNING (the main log says so)
    while [ "$(cat "$DIR/s.log" 2>/dev/null | grep -c "entered RUNNING")" -lt 50 ]; do sleep 0.1; done
    # exercise the RPC path once
    supervisorctl -s "unix://$DIR/s.sock" status > /dev/null || true
    echo "$name VmRSS $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')"
    kill "$pid"; wait "$pid" || true
    rm -f "$DIR/s.log" "$DIR/s.sock"
}

measure "gwe:       " "$GWE" supervisord -n
if [ -n "$SUPD" ]; then measure "supervisord:" "$SUPD" -n; fi
