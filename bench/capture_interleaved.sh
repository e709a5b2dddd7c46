#!/usr/bin/env bash
# Log capture throughput of `gwe supervisord` against `| cat > file`, interleaved run by run (the
# anchor script measures all its baselines first and the daemon after them; on a VM whose memory
# and page cache state drift, interleaving compares like with like). Workload as the anchor's
# logtp test: 1 GiB of 100-byte lines from `yes | head -c`, stdout_logfile with maxbytes=50MB and
# 2 backups; MB/s from the child's own start and end timestamps.
# While the child writes, the script waits for its end as the anchor does (a `$(date +%s)` and a
# `sleep 0.05` per turn: some 40 process starts a second, which cost the child about a tenth of its
# throughput on a 2-vCPU VM); with QUIET=1 it first sleeps 2.5 s, so nothing else runs meanwhile
# (cat's own pass never has that polling).
# WARM says which passes start right after 1.2 GiB of memory was touched and freed: `cat`, `gwe`
# or both (WARM=1). A VM that hands memory freed a few seconds earlier back to its host (balloon
# free-page reporting) charges a host fault per page to whichever pass needs fresh memory, and
# `cat > file` needs 1 GiB of it where the daemon's rotation needs 150 MB. The anchor's own run
# favours cat: its cat pass follows the `rm` of a 1 GiB file, its daemon pass a quiet wait of 2 s
# or more (SETTLE=S sleeps that long before each daemon pass, to reproduce it).
# GEN=tr writes the anchor's second workload (`head -c 1G /dev/zero | tr '\0' x`), GEN=zero one
# writer alone (`head -c 1G /dev/zero`). WRITERS=N runs N such programs at once (N pipelines into
# cat, N programs started by one `ctl start`); MB/s is then N GiB over first start to last end.
# Usage: [QUIET=1] [WARM=cat|gwe|1] [SETTLE=S] [GEN=yes|tr|zero] [WRITERS=N]
#        bench/capture_interleaved.sh RUNS BIN_DIR...
#   each BIN_DIR holds `gwe` and `gwe-supervisord` as shipped (bench/supervisor_bench.sh builds
#   them into SCRATCH/bin); several compare builds, each started afresh in every run.
set -euo pipefail
runs=$1; shift
bins=(); for b in "$@"; do bins+=("$(realpath "$b")"); done
work=$(mktemp -d)
cleanup() {
    for b in "${bins[@]}"; do "$b/gwe" ctl -c "$work/s.conf" shutdown >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/childlogs"
case ${GEN:-yes} in
    yes) gen="yes $(printf 'x%.0s' $(seq 1 99)) | head -c 1073741824" ;;
    tr) gen="head -c 1073741824 /dev/zero | tr '\\0' x" ;;
    zero) gen="head -c 1073741824 /dev/zero" ;;
    *) echo "GEN: yes, tr or zero" >&2; exit 2 ;;
esac
[ "${WARM:-}" = 1 ] && WARM="cat gwe"
writers=${WRITERS:-1}
case $writers in ''|*[!0-9]*|0) echo "WRITERS: a number from 1" >&2; exit 2 ;; esac
names=$(seq -f 'bigout%g' 1 "$writers")
cat > "$work/s.conf" <<EOC
[unix_http_server]
file=$work/s.sock
[supervisord]
logfile=$work/supervisord.log
pidfile=$work/s.pid
childlogdir=$work/childlogs
[supervisorctl]
serverurl=unix://$work/s.sock
EOC
for p in $names; do
    { echo "date +%s%N > $work/$p.t_start"; echo "$gen"; echo "date +%s%N > $work/$p.t_end"; } > "$work/$p.sh"
    printf '%s\n' "[program:$p]" "command=/bin/sh $work/$p.sh" autostart=false startsecs=0 \
        autorestart=false "stdout_logfile=$work/$p.log" stdout_logfile_maxbytes=50MB \
        stdout_logfile_backups=2 >> "$work/s.conf"
done
warm() {   # warm PASS: touch and free 1.2 GiB if WARM names PASS
    case " ${WARM:-} " in *" $1 "*) ;; *) return 0 ;; esac
    local f=/dev/shm/gwe-capture-warm.$$; [ -d /dev/shm ] || f=$work/warm
    head -c 1200M /dev/zero > "$f"; rm -f "$f"
}
mb() { python3 -c "import sys; print('%.0f' % ($writers * 1073741824 / (int(sys.argv[2]) - int(sys.argv[1])) * 1e9 / 1e6))" "$1" "$2"; }
all_ended() { for p in $names; do [ -s "$work/$p.t_end" ] || return 1; done; }
rows=()
for r in $(seq 1 "$runs"); do
    warm cat
    s=$(date +%s%N)
    for p in $names; do bash -c "$gen | cat > $work/$p.out" & done
    wait; e=$(date +%s%N)
    rm -f "$work"/*.out; sync
    row=$(mb "$s" "$e"); line="run $r: | cat > file $row MB/s"
    for b in "${bins[@]}"; do
        "$b/gwe" supervisord -c "$work/s.conf"
        for _ in $(seq 1 100); do [ -S "$work/s.sock" ] && break; sleep 0.05; done
        rm -f "$work"/*.t_end
        sleep "${SETTLE:-0}"
        warm gwe
        # shellcheck disable=SC2086
        "$b/gwe" ctl -c "$work/s.conf" start $names >/dev/null
        [ -n "${QUIET:-}" ] && sleep 2.5
        end=$(( $(date +%s) + 900 ))
        while ! all_ended && [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done
        g=$(mb "$(cat "$work"/*.t_start | sort -n | head -1)" "$(cat "$work"/*.t_end | sort -n | tail -1)")
        sleep 0.3
        "$b/gwe" ctl -c "$work/s.conf" shutdown >/dev/null
        for _ in $(seq 1 100); do [ -S "$work/s.sock" ] || break; sleep 0.05; done
        rm -f "$work"/bigout*.log*; sync
        row="$row $g"; line="$line, $b $g MB/s"
    done
    echo "$line"
    rows+=("$row")
done
printf '%s\n' "${rows[@]}" | python3 -c '
import random, sys, statistics as st
names = sys.argv[1:]
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
cat = [r[0] for r in rows]
print("| cat > file      median %5d MB/s [%d-%d]" % (st.median(cat), min(cat), max(cat)))
for i, n in enumerate(names, 1):
    v = [r[i] for r in rows]; q = [r[i] / r[0] for r in rows]
    # 95% interval of the median ratio: percentile bootstrap, fixed seed
    rng = random.Random(1)
    boot = sorted(st.median(rng.choices(q, k=len(q))) for _ in range(2000))
    print("%-40s median %5d MB/s [%d-%d]; per run / cat: median %.2f [%.2f-%.2f], 95%% CI of the median %.2f-%.2f" % (n, st.median(v), min(v), max(v), st.median(q), min(q), max(q), boot[50], boot[1949]))
' "${bins[@]}"
