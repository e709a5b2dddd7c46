#!/usr/bin/env bash
# Log capture strategies against `| cat > file`, interleaved, on the anchor's workload (1 GiB of
# 100-byte lines from `yes | head -c`): which way of draining a child's pipe into a rotating log
# can keep up with cat on this machine, and what rotation costs. The C program is
# bench/capture_strategies.c (gcc). Prints MB/s per run and the medians.
# Usage: bench/capture_strategies.sh [RUNS] [VARIANT ...]   VARIANT = MODE:ROTATION[:SCHED]
#   (MODE, ROTATION and SCHED as the C program's usage says, e.g. napd1024:thread, nap:thread:idle)
#   default variants: rw:none poll:none batch:none big:none poll:inline poll:thread poll:keep
#                     splice:none splice2:none naprw:thread nap:none nap:thread nap:keep
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-5}; shift || true
variants=${*:-rw:none poll:none batch:none big:none poll:inline poll:thread poll:keep splice:none splice2:none naprw:thread nap:none nap:thread nap:keep}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/cap" capture_strategies.c
gen="yes $(printf 'x%.0s' $(seq 1 99)) | head -c 1073741824"
mbs() { python3 -c "import sys; print('%.0f' % (1073741824 / (float(sys.argv[2]) - float(sys.argv[1])) / 1e6))" "$1" "$2"; }
one() {  # one timed run of a pipeline into $work/d
    mkdir -p "$work/d"; sync
    local s=$EPOCHREALTIME; bash -c "$1"; local e=$EPOCHREALTIME
    rm -rf "$work/d"; sync; mbs "$s" "$e"
}
results=()
for r in $(seq 1 "$runs"); do
    line="run $r: cat $(one "$gen | cat > $work/d/out")"
    for v in $variants; do
        IFS=: read -r mode rot sched <<< "$v"
        line="$line  $v $(one "$gen | $work/cap $mode $rot $work/d ${sched:-normal}")"
    done
    echo "$line"
    results+=("$line")
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics as st, collections
d = collections.OrderedDict()
for line in sys.stdin:
    parts = line.split(":", 1)[1].split()
    for k, v in zip(parts[::2], parts[1::2]):
        d.setdefault(k, []).append(int(v))
cat = st.median(d["cat"])
for k, v in d.items():
    print("%-14s median %5.0f MB/s  [%d-%d]  %.2fx of cat" % (k, st.median(v), min(v), max(v), st.median(v) / cat))
'
