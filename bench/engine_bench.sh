#!/usr/bin/env bash
# Engine benchmark on loopback (release build, a real gwe-hub on 127.0.0.1:0):
#  (a) bytes on the wire per idle check-in and per month at the default settings (update interval
#      14400 s, long poll on engine_fetch renewed every 300 s), from the device client's audit log
#      (exact bytes of every request incl. HTTP headers) over a run with a short interval; and the
#      original style (read engine_fetch every 60 s) for comparison;
#  (b) the engine's RSS when idle (with the default interval, and after many short check-ins),
#      and, for comparison, the same engine run inside the all-in-one `gwe`
#      (GWE_ENGINE_IN_PROCESS=1, what runs when no gwe-engine is installed);
#  (c) gwe supervisord running the engine and APPS sleep apps vs Python supervisord (PyPI
#      `supervisor`, in a venv in the scratch dir) running the same apps;
#  (d) the engine's RSS when idle over https: a second gwe-hub serving TLS with the hub's test
#      certificate (crates/hub/tests/data), trusted through Engine.config's tls_roots, as a
#      gateway talking to Murano or to a private hub over https runs the rustls/ring code;
#  (e) bytes per call over https: a gateway on that hub checking in every HTTPS_IDLE_S seconds,
#      holding its long poll on engine_fetch in between as at the default interval, so that one
#      long poll that ends without news is measured too.
# Bounded: every wait has a deadline and a watchdog ends the whole run after MAX_SECS; every
# process started here is stopped on exit.
#
# Usage: bench/engine_bench.sh [SCRATCH_DIR]
# Environment: CHECKIN_S (short interval, 3), CHECKINS (check-ins measured, 10), SETTLE_S (idle
#   time before sampling RSS, 15), APPS (sleep apps, 3), HTTPS_IDLE_S (65), MAX_SECS (watchdog, 600), BIN_DIR
#   (take gwe, gwe-engine, gwe-supervisord, gwe-hub and gdc from there instead of building them),
#   SMALL_RUSTFLAGS / SMALL_TARGET (how the small daemons are built; default crt-static, host).
# Built as the release ships them: `gwe` (profile release) and beside it the static daemons
# `gwe-engine` and `gwe-supervisord` (profile release-small). `gwe` execs them, so the processes
# measured are the ones a gateway runs.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(realpath -m "${1:-${TMPDIR:-/tmp}/gwe-enginebench}")
CHECKIN_S=${CHECKIN_S:-3} CHECKINS=${CHECKINS:-10} SETTLE_S=${SETTLE_S:-15} APPS=${APPS:-3}
MAX_SECS=${MAX_SECS:-600} HTTPS_IDLE_S=${HTTPS_IDLE_S:-65}
HELPER="python3 $REPO/bench/engine_bench.py"
RUN=$SCRATCH/run
rm -rf "$RUN"
mkdir -p "$RUN"

if [ -z "${BIN_DIR:-}" ]; then
    TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
    SMALL_RUSTFLAGS=${SMALL_RUSTFLAGS:-"-C target-feature=+crt-static"}
    SMALL_TARGET=${SMALL_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
    cargo build --release -q --manifest-path "$REPO/Cargo.toml" -p gwe -p gwe-hub -p gwe-device-client
    # an explicit --target keeps RUSTFLAGS away from build scripts and proc-macros
    RUSTFLAGS="$SMALL_RUSTFLAGS" cargo build -q --manifest-path "$REPO/Cargo.toml" \
        --profile release-small --target "$SMALL_TARGET" \
        -p gwe-engine --bin gwe-engine -p gwe-supervisor --bin gwe-supervisord
    mkdir -p "$SCRATCH/bin"
    for b in gwe gwe-hub gdc; do cp "$TARGET_DIR/release/$b" "$SCRATCH/bin/$b"; done
    for b in gwe-engine gwe-supervisord; do
        cp "$TARGET_DIR/$SMALL_TARGET/release-small/$b" "$SCRATCH/bin/$b"
    done
    echo "built: RUSTFLAGS=$SMALL_RUSTFLAGS --target $SMALL_TARGET --profile release-small"
fi
T=${BIN_DIR:-$SCRATCH/bin}
for b in gwe gwe-engine gwe-supervisord; do
    [ -x "$T/$b" ] && echo "$b: $(stat -c %s "$T/$b") bytes"
done
VENV=$SCRATCH/venv
if [ ! -x "$VENV/bin/supervisord" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'supervisor==4.3.0'
fi

PIDS=()
cleanup() {
    trap - EXIT INT TERM
    [ -n "${WATCHDOG:-}" ] && kill "$WATCHDOG" 2>/dev/null
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
}
stop_pid() { # TERM, up to 10 s, then KILL
    local pid=$1 n
    kill -TERM "$pid" 2>/dev/null || return 0
    for n in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
(sleep "$MAX_SECS"; echo "watchdog: $MAX_SECS s elapsed, stopping" >&2; kill -TERM $$) &
WATCHDOG=$!

wait_until() { # DESCRIPTION SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
    local what=$1 secs=$2 n
    shift 2
    for n in $(seq 1 $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "timed out after $secs s: $what" >&2
    exit 1
}
at_least_checkins() { [ "$($HELPER checkins "$1")" -ge "$2" ]; }
# The engine must be the gwe-engine that gwe exec'd (gwe runs the engine itself when gwe-engine
# is built from other sources, e.g. when files changed between the two cargo builds).
is_engine_binary() { # PID
    [ ! -x "$T/gwe-engine" ] && return 0
    [ "$(cat "/proc/$1/comm")" = gwe-engine ] && return 0
    echo "pid $1 is not gwe-engine: gwe and gwe-engine differ in build (see the engine's log); build again" >&2
    exit 1
}
CERT=$REPO/crates/hub/tests/data/localhost.crt
hubctl() { # URL DATA_DIR ARGS...
    local url=$1 data=$2
    shift 2
    "$T/gwe-hub" "$@" --url "$url" --tls-roots "$CERT" --data-dir "$data" >/dev/null
}
hub() { # NAME [serve flags]: starts a hub with its data in $RUN/NAME, prints its URL
    local name=$1
    shift
    "$T/gwe-hub" serve --data-dir "$RUN/$name" --listen 127.0.0.1:0 "$@" >"$RUN/$name.log" 2>&1 &
    PIDS+=($!)
    wait_until "the hub $name listening" 20 grep -q "listening on" "$RUN/$name.log"
    sed -n 's#.*listening on ##p' "$RUN/$name.log" | head -n1
}

# The hubs: plain http, and https with the test certificate.
hub hub >"$RUN/hub.url"
URL=$(cat "$RUN/hub.url")
hub hub-tls --tls-cert "$CERT" --tls-key "${CERT%.crt}.key" >"$RUN/hub-tls.url"
TLS_URL=$(cat "$RUN/hub-tls.url")
echo "hubs at $URL and $TLS_URL"

# A configured gateway in DIR with serial SN, checking in every INTERVAL seconds, on the plain
# hub (or on the https one, trusting its certificate, when the fifth argument is `tls`).
gateway() { # DIR SN INTERVAL SUPERVISOR_URL [tls]
    local url=$URL data=$RUN/hub roots=bundled
    if [ "${5:-}" = tls ]; then url=$TLS_URL data=$RUN/hub-tls roots=$CERT; fi
    mkdir -p "$1/etc" "$1/state"
    printf '[engine]\nserver_url = %s\nupdate_interval = %s\nactivation_retry_interval = 1\nsupervisor_url = %s\nstate_dir = %s\naudit_db = %s\ntls_roots = %s\n' \
        "$url" "$3" "$4" "$1/state" "$1/ifaces.db" "$roots" >"$1/etc/Engine.config"
    GWE_CONFIG_DIR=$1/etc "$T/gwe" --set-product-id default --set-uuid "$2" >/dev/null
    hubctl "$url" "$data" device add "$2"
}

# Apps for both supervisors.
supervisor_conf() { # DIR: the common part (socket, logs, apps)
    mkdir -p "$1/log"
    cat <<C
[unix_http_server]
file = $1/supervisor.sock
[supervisord]
logfile = $1/log/supervisord.log
pidfile = $1/supervisord.pid
childlogdir = $1/log
[supervisorctl]
serverurl = unix://$1/supervisor.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
C
    local i
    for i in $(seq 1 "$APPS"); do
        printf '[program:app%s]\ncommand = sleep 100000\nstdout_logfile = %s/log/app%s.log\nredirect_stderr = true\n' "$i" "$1" "$i"
    done
}
running_count() { # CTL... : number of RUNNING programs
    "$@" status 2>/dev/null | grep -c RUNNING || true
}
all_running() { # N CTL...
    local n=$1
    shift
    [ "$(running_count "$@")" -ge "$n" ]
}

echo
echo "== (c) gwe supervisord + engine (update_interval 14400) + $APPS sleep apps =="
G=$RUN/gwe-sup
gateway "$G/gw" BENCH-SUPERVISED 14400 "unix://$G/supervisor.sock"
{
    supervisor_conf "$G"
    printf '[program:gwe]\ncommand = %s\nenvironment = GWE_CONFIG_DIR="%s"\npriority = 1\nstdout_logfile = %s/log/gwe.log\nredirect_stderr = true\n' \
        "$T/gwe" "$G/gw/etc" "$G"
} >"$G/supervisord.conf"
"$T/gwe" supervisord -n -c "$G/supervisord.conf" >/dev/null 2>&1 &
GWE_SUP=$!
PIDS+=($GWE_SUP)
wait_until "gwe supervisord: all programs RUNNING" 30 all_running $((APPS + 1)) "$T/gwe" ctl -c "$G/supervisord.conf"
wait_until "the supervised engine's first check-in" 30 at_least_checkins "$G/gw/ifaces.db" 1
ENGINE_PID=$("$T/gwe" ctl -c "$G/supervisord.conf" pid gwe)
is_engine_binary "$ENGINE_PID"
echo "first check-in done; idle for $SETTLE_S s (long poll held on engine_fetch)"

echo
echo "== (a) wire bytes: a second gateway checking in every $CHECKIN_S s, $CHECKINS check-ins =="
A=$RUN/short
gateway "$A" BENCH-SHORT "$CHECKIN_S" "unix://$G/supervisor.sock"
GWE_CONFIG_DIR=$A/etc "$T/gwe" >"$A/gwe.log" 2>&1 &
SHORT_PID=$!
PIDS+=($SHORT_PID)
# The comparison: the same engine inside the all-in-one gwe, default interval.
I=$RUN/in-process
gateway "$I" BENCH-IN-PROCESS 14400 "unix://$G/supervisor.sock"
GWE_ENGINE_IN_PROCESS=1 GWE_CONFIG_DIR=$I/etc "$T/gwe" >"$I/gwe.log" 2>&1 &
INPROC_PID=$!
PIDS+=($INPROC_PID)
# (d) the same engine over https, default interval.
S=$RUN/https
gateway "$S" BENCH-HTTPS 14400 "unix://$G/supervisor.sock" tls
GWE_CONFIG_DIR=$S/etc "$T/gwe" >"$S/gwe.log" 2>&1 &
HTTPS_PID=$!
PIDS+=($HTTPS_PID)
# (e) over https, checking in every HTTPS_IDLE_S seconds. No supervisor (gwe supervisord stops
# before its second check-in, which would change its engine_report): its reports stay the same.
E=$RUN/https-idle
gateway "$E" BENCH-HTTPS-IDLE "$HTTPS_IDLE_S" "unix://$RUN/no-supervisor.sock" tls
GWE_CONFIG_DIR=$E/etc "$T/gwe" >"$E/gwe.log" 2>&1 &
HTTPS_IDLE_PID=$!
PIDS+=($HTTPS_IDLE_PID)
wait_until "the in-process engine's first check-in" 30 at_least_checkins "$I/ifaces.db" 1
wait_until "the https engine's first check-in" 30 at_least_checkins "$S/ifaces.db" 1
is_engine_binary "$HTTPS_PID"
wait_until "$CHECKINS check-ins" $((CHECKIN_S * CHECKINS * 2 + 30)) at_least_checkins "$A/ifaces.db" "$CHECKINS"
is_engine_binary "$SHORT_PID"
# Give the settle time its due (the supervised engine has been idle since its check-in).
sleep "$SETTLE_S"

echo
echo "== (b) engine RSS when idle =="
echo "-- update_interval 14400 (default), after its check-in, during the long poll:"
$HELPER rss "$ENGINE_PID"
echo "-- update_interval $CHECKIN_S, after $CHECKINS+ check-ins:"
$HELPER rss "$SHORT_PID"
echo "-- for comparison, the engine inside the all-in-one gwe (GWE_ENGINE_IN_PROCESS=1), update_interval 14400:"
$HELPER rss "$INPROC_PID"
echo "-- (d) over https (rustls, TLS_ROOTS = the hub's certificate), update_interval 14400:"
$HELPER rss "$HTTPS_PID"
stop_pid "$HTTPS_PID"
stop_pid "$INPROC_PID"
stop_pid "$SHORT_PID"
# One read of engine_fetch as the original engine polled it, through the same client.
GWE_CONFIG_DIR=$A/etc GWE_AUDIT_DB=$A/ifaces.db "$T/gdc" read engine_fetch >/dev/null
echo
echo "== (a) wire bytes (from $A/ifaces.db) =="
$HELPER wire "$A/ifaces.db" 14400

echo
echo "== (c) RSS: gwe supervisord + engine =="
$HELPER rss "$GWE_SUP" "$ENGINE_PID" | tee "$RUN/gwe-sup.rss"
stop_pid "$GWE_SUP"

echo
echo "== (c) RSS: Python supervisord $("$VENV/bin/supervisord" --version) with the same $APPS apps =="
P=$RUN/py-sup
mkdir -p "$P"
supervisor_conf "$P" >"$P/supervisord.conf"
"$VENV/bin/supervisord" -n -c "$P/supervisord.conf" >/dev/null 2>&1 &
PY_SUP=$!
PIDS+=($PY_SUP)
wait_until "python supervisord: all apps RUNNING" 30 all_running "$APPS" "$VENV/bin/supervisorctl" -c "$P/supervisord.conf"
sleep "$SETTLE_S"
$HELPER rss "$PY_SUP" | tee "$RUN/py-sup.rss"
stop_pid "$PY_SUP"

total() { sed -n "s/^total VmRSS \([0-9]*\) KiB Pss \([0-9]*\) KiB.*/\\$1/p" "$2"; }
echo
echo "== (c) summary (VmRSS counts shared executable pages in each process; Pss shares them) =="
python3 -c "
o, t = $(total 1 "$RUN/gwe-sup.rss"), $(total 1 "$RUN/py-sup.rss")
po, pt = $(total 2 "$RUN/gwe-sup.rss"), $(total 2 "$RUN/py-sup.rss")
print(f'VmRSS: gwe supervisord + engine {o} KiB; Python supervisord alone {t} KiB; ratio {o / t:.2f}')
print(f'Pss:   gwe supervisord + engine {po} KiB; Python supervisord alone {pt} KiB; ratio {po / pt:.2f}')"

echo
echo "== (e) bytes over https (check-ins every $HTTPS_IDLE_S s), against plain http from (a) =="
wait_until "two check-ins over https" $((HTTPS_IDLE_S * 2 + 60)) at_least_checkins "$E/ifaces.db" 2
# (the long poll that ended just before the second check-in was audited before it)
$HELPER tls "$E/ifaces.db" "$A/ifaces.db"
stop_pid "$HTTPS_IDLE_PID"
