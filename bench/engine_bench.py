#!/usr/bin/env python3
"""Helper of bench/engine_bench.sh: reads the device client's audit log (SQLite, exact wire bytes
of every request incl. HTTP headers) and /proc.

  engine_bench.py checkins DB            successful check-ins (write_read) of the engine
  engine_bench.py wire DB [INTERVAL_S]   bytes per check-in / long poll / read, scaled to a month
  engine_bench.py rss PID...             VmRSS (= RssAnon + RssFile + RssShmem), VmHWM, Pss, USS
                                         (KiB) and threads of each process
  engine_bench.py tls HTTPS_DB PLAIN_DB  an https engine's calls against the plain-http engine's,
                                         and both scaled to a month
"""
import os
import sqlite3
import statistics
import sys

ENGINE = "gwe"
MONTH_S = 30 * 86400
DEFAULT_INTERVAL_S = 14400  # Engine.config update_interval default
POLL_S = 300  # Request-Timeout of the long poll (the Device API's limit)
LEGACY_READ_S = 60  # the original style: read engine_fetch every minute


def rows(db, where, args=()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT procedure, status, bytes_sent, bytes_received, agent FROM requests "
            f"WHERE {where} ORDER BY id",
            args,
        ).fetchall()
    finally:
        con.close()


def checkins(db):
    if not os.path.exists(db):
        return 0
    try:
        return len(rows(db, "agent = ? AND procedure = 'write_read' AND status IN (200, 204)", (ENGINE,)))
    except sqlite3.Error:
        return 0


def calls(db):
    """Sizes (sent + received) of the engine's successful calls: activations, check-ins
    (write_read) and long polls that ended without news (304)."""
    engine = rows(db, "agent = ? AND status IS NOT NULL AND status < 400", (ENGINE,))
    pick = lambda proc, st=None: [s + r for p, code, s, r, _ in engine if p == proc and st in (None, code)]
    return pick("activate"), pick("write_read"), pick("long_poll", 304)


def month(first, idle, poll, interval_s):
    """Bytes per idle check-in period (check-in + the long polls held in between) and per month
    (plus the three reports re-sent daily)."""
    reports = first - idle  # device_info + engine_report + usage_report, re-sent daily when idle
    polls_per_checkin = -(-interval_s // POLL_S)  # a long poll renewed every 300 s in between
    period = idle + polls_per_checkin * poll
    return polls_per_checkin, period, MONTH_S / interval_s * period + 30 * reports


def wire(db, interval_s):
    _, wr, polls = calls(db)
    reads = [s + r for p, _, s, r, a in rows(db, "agent = 'gdc' AND procedure = 'read'")]
    if len(wr) < 3 or not polls or not reads:
        sys.exit(f"not enough data in {db}: {len(wr)} check-ins, {len(polls)} polls, {len(reads)} reads")
    first, idle = wr[0], statistics.median(wr[2:])
    poll, read = statistics.median(polls), statistics.median(reads)
    checkins_m = MONTH_S / interval_s
    polls_per_checkin, period, total = month(first, idle, poll, interval_s)
    legacy = MONTH_S / LEGACY_READ_S * read
    print(f"measured: {len(wr)} check-ins, {len(polls)} long polls (304), {len(reads)} gdc reads")
    print(f"first check-in (3 reports + reads): {first} B")
    print(f"idle check-in (write_read, nothing to report): {idle:.0f} B (min {min(wr[2:])}, max {max(wr[2:])})")
    print(f"long poll renewal (304 after Request-Timeout): {poll:.0f} B")
    print(f"one read of engine_fetch (gdc read): {read:.0f} B")
    print(f"per idle check-in at update_interval {interval_s} s incl. {polls_per_checkin} long polls: "
          f"{period:.0f} B")
    print(f"per month (30 d) at defaults: {checkins_m:.0f} check-ins + {checkins_m * polls_per_checkin:.0f} "
          f"long polls + 30 daily reports = {total:.0f} B = {total / 1e6:.2f} MB")
    print(f"per month reading engine_fetch every {LEGACY_READ_S} s: {MONTH_S // LEGACY_READ_S} reads = "
          f"{legacy:.0f} B = {legacy / 1e6:.2f} MB ({legacy / total:.1f}x)")


def tls(https_db, plain_db):
    act, wr, polls = calls(https_db)
    pact, pwr, ppolls = calls(plain_db)
    if not act or len(wr) < 2 or not polls or not pact or len(pwr) < 3 or not ppolls:
        sys.exit(f"not enough data: https {len(act)}/{len(wr)}/{len(polls)}, "
                 f"plain {len(pact)}/{len(pwr)}/{len(ppolls)} activations/check-ins/polls")
    idle, poll = wr[1], statistics.median(polls)
    pidle, ppoll = statistics.median(pwr[2:]), statistics.median(ppolls)
    print(f"activation, new connection (full TLS handshake): https {act[0]} B, plain http {pact[0]} B")
    print(f"idle check-in (the long poll kept the connection open: no new handshake): "
          f"https {idle} B, plain http {pidle:.0f} B")
    print(f"long poll without news: https {poll:.0f} B, plain http {ppoll:.0f} B")
    _, _, https_m = month(wr[0], idle, poll, DEFAULT_INTERVAL_S)
    _, _, plain_m = month(pwr[0], pidle, ppoll, DEFAULT_INTERVAL_S)
    print(f"per month (30 d) at defaults: https {https_m / 1e6:.2f} MB, plain http {plain_m / 1e6:.2f} MB")


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()[0] if v.split() else ""
    rollup = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    rollup[k] = int(v.split()[0])
    except OSError:
        pass
    pss = rollup.get("Pss", "?")
    # USS: pages only this process holds (its heap, stacks, written data); the rest of RSS is
    # clean, shared pages of the executable and libc (shared with `gwe supervisord`).
    uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0) if rollup else "?"
    with open(f"/proc/{pid}/comm") as f:
        comm = f.read().strip()
    parts = {k: int(out.get(k) or 0) for k in ("RssAnon", "RssFile", "RssShmem")}
    return comm, int(out["VmRSS"]), int(out["VmHWM"]), pss, uss, int(out["Threads"]), parts


def rss(pids):
    total = tpss = tuss = 0
    for pid in pids:
        comm, vmrss, hwm, pss, uss, threads, parts = proc_status(pid)
        total += vmrss
        tpss += pss if isinstance(pss, int) else 0
        tuss += uss if isinstance(uss, int) else 0
        # RssAnon: heap, stacks, written data (the process's own); RssFile: resident pages of
        # the executable and shared libraries (clean, reclaimable, shared between processes).
        print(f"pid {pid} ({comm}): VmRSS {vmrss} KiB (RssAnon {parts['RssAnon']}, RssFile "
              f"{parts['RssFile']}, RssShmem {parts['RssShmem']}), VmHWM {hwm} KiB, Pss {pss} KiB, "
              f"USS {uss} KiB, threads {threads}")
    print(f"total VmRSS {total} KiB Pss {tpss} KiB USS {tuss} KiB")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "checkins":
        print(checkins(args[0]))
    elif cmd == "wire":
        wire(args[0], int(args[1]) if len(args) > 1 else DEFAULT_INTERVAL_S)
    elif cmd == "rss":
        rss(args)
    elif cmd == "tls" and len(args) == 2:
        tls(args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
