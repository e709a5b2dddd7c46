#!/usr/bin/env bash
# Side-by-side benchmark: Python supervisord 4.3.0 (the anchor) and `gwe supervisord`, measured by
# the same script (shared/bench/supervisord_bench.sh, which takes SUPD/CTL) in one run, then the
# ratios of the issue's targets.
#
# Usage: bench/supervisor_bench.sh [SCRATCH_DIR] [TEST ...]
#   TEST: startup crash backoff kill9 logtp cpu ctl (default: startup kill9 logtp cpu ctl)
# Environment: ANCHOR_BENCH (path of supervisord_bench.sh; default ../shared/bench/ beside the repo),
#   plus every knob of that script (STARTUP_REPS, KILL_SAMPLES, LOG_REPS, CPU_SECS, ...), which this
#   script sets to shorter defaults unless given.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(realpath -m "${1:-${TMPDIR:-/tmp}/gwe-supbench}"); shift || true
TESTS=${*:-startup kill9 logtp cpu ctl}
ANCHOR_BENCH=${ANCHOR_BENCH:-$REPO/../shared/bench/supervisord_bench.sh}
[ -f "$ANCHOR_BENCH" ] || { echo "anchor bench script not found: $ANCHOR_BENCH" >&2; exit 2; }
mkdir -p "$SCRATCH"

export STARTUP_NS=${STARTUP_NS:-"50 200"} STARTUP_SECS=${STARTUP_SECS:-"0"} STARTUP_REPS=${STARTUP_REPS:-3}
export STARTUP_MODES=${STARTUP_MODES:-"quiet"} KILL_SAMPLES=${KILL_SAMPLES:-20} LOG_REPS=${LOG_REPS:-2}
export CPU_NS=${CPU_NS:-"50"} CPU_SECS=${CPU_SECS:-30} CTL_N=${CTL_N:-200} CTL_RUNS=${CTL_RUNS:-10}
export QUIET_WAIT_S=${QUIET_WAIT_S:-120}

# The anchor: supervisord from PyPI in its own venv.
export SUPVENV=$SCRATCH/venv
if [ ! -x "$SUPVENV/bin/supervisord" ]; then
    python3 -m venv "$SUPVENV"
    "$SUPVENV/bin/pip" install --quiet 'supervisor==4.3.0'
fi

# Ours, built as it ships: `gwe` (release profile, static) and, beside it, the static daemon binary
# `gwe-supervisord` (profile release-small, crt-static; docs/benchmarks.md). `gwe supervisord ARGS`
# execs that sibling, so the measured daemon is the process the release runs.
DAEMON_RUSTFLAGS=${DAEMON_RUSTFLAGS:-"-C target-feature=+crt-static"}
DAEMON_TARGET=${DAEMON_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
# an explicit --target keeps RUSTFLAGS away from build scripts and proc-macros; gwe itself is
# static too (release profile: it parses and prints, so it is built for speed), which saves the
# dynamic loader's work on every `gwe ctl` and runs on any gateway's libc
RUSTFLAGS="$DAEMON_RUSTFLAGS" cargo build --release --quiet --manifest-path "$REPO/Cargo.toml" \
    --target "$DAEMON_TARGET" -p gwe
RUSTFLAGS="$DAEMON_RUSTFLAGS" cargo build --quiet --manifest-path "$REPO/Cargo.toml" \
    --profile release-small --target "$DAEMON_TARGET" -p gwe-supervisor --bin gwe-supervisord
mkdir -p "$SCRATCH/bin" "$SCRATCH/wrap"
cp "$REPO/target/$DAEMON_TARGET/release/gwe" "$SCRATCH/bin/gwe"
cp "$REPO/target/$DAEMON_TARGET/release-small/gwe-supervisord" "$SCRATCH/bin/gwe-supervisord"
GWE=$SCRATCH/bin/gwe
# supervisord's names for gwe, as a migrating user installs them: `gwe` called as `supervisord`
# or `supervisorctl` acts as `gwe supervisord` / `gwe ctl` (no wrapper script in between)
rm -f "$SCRATCH/wrap/supervisord" "$SCRATCH/wrap/supervisorctl"
ln -s "$GWE" "$SCRATCH/wrap/supervisord"
ln -s "$GWE" "$SCRATCH/wrap/supervisorctl"
echo "# gwe-supervisord: $(stat -c %s "$SCRATCH/bin/gwe-supervisord") bytes, RUSTFLAGS=$DAEMON_RUSTFLAGS, --target $DAEMON_TARGET --profile release-small" >&2

echo "# anchor: supervisord 4.3.0" >&2
bash "$ANCHOR_BENCH" "$SCRATCH/supervisord" $TESTS | tee "$SCRATCH/results-supervisord.txt" >&2
echo "# ours: gwe supervisord" >&2
SUPD=$SCRATCH/wrap/supervisord CTL=$SCRATCH/wrap/supervisorctl \
    bash "$ANCHOR_BENCH" "$SCRATCH/gwe" $TESTS | tee "$SCRATCH/results-gwe.txt" >&2

python3 "$REPO/bench/supervisor_ratios.py" "$SCRATCH/results-supervisord.txt" "$SCRATCH/results-gwe.txt"

# `status` latency without the anchor's shell harness (its `$(ctl status | wc -l)` costs a
# subshell and two process starts of its own): fork to exit, plus the /bin/true floor.
case " $TESTS " in *" ctl "*)
    python3 "$REPO/bench/ctl_latency.py" "$SCRATCH" "$SUPVENV/bin/supervisord" \
        "$SUPVENV/bin/supervisorctl" "$GWE" "${CTL_N:-200}" 30 ;;
esac
