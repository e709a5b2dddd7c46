#!/usr/bin/env python3
"""`status` latency with N programs, measured without a shell in between: for each daemon/client
pair (supervisord + supervisorctl, gwe supervisord + gwe ctl), start the daemon on N `sleep`
programs, wait until all are RUNNING, then time `CTL -c CONF status` from fork to exit (Python's
subprocess, output discarded) RUNS times; `/bin/true` timed the same way gives the process-start
floor of the machine. Prints one line per pair and the ratio.

Usage: bench/ctl_latency.py SCRATCH SUPERVISORD SUPERVISORCTL GWE [N] [RUNS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import time


def timed(cmd, runs):
    v = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        v.append((time.perf_counter() - t) * 1000)
    return statistics.median(v), min(v)


def conf(d, n):
    os.makedirs(d + "/childlogs", exist_ok=True)
    with open(d + "/supervisord.conf", "w") as f:
        f.write(f"[unix_http_server]\nfile={d}/s.sock\n\n[supervisord]\nlogfile={d}/supervisord.log\n"
                f"pidfile={d}/supervisord.pid\nchildlogdir={d}/childlogs\n\n"
                "[rpcinterface:supervisor]\n"
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
                f"[supervisorctl]\nserverurl=unix://{d}/s.sock\n\n")
        for i in range(1, n + 1):
            f.write(f"[program:p{i:03d}]\ncommand=sleep 100000\nstartsecs=0\n\n")
    return d + "/supervisord.conf"


def measure(name, supd, ctl, scratch, n, runs):
    d = os.path.join(scratch, "ctl_" + name)
    shutil.rmtree(d, ignore_errors=True)
    c = conf(d, n)
    subprocess.run(supd + ["-c", c], check=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        out = subprocess.run(ctl + ["-c", c, "status"], capture_output=True, text=True).stdout
        if out.count(" RUNNING ") >= n:
            break
        time.sleep(0.2)
    time.sleep(2)
    med, low = timed(ctl + ["-c", c, "status"], runs)
    subprocess.run(ctl + ["-c", c, "shutdown"], capture_output=True)
    deadline = time.time() + 60
    while os.path.exists(d + "/supervisord.pid") and time.time() < deadline:
        time.sleep(0.1)
    return med, low


def main():
    scratch, supd, supctl, gwe = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    runs = int(sys.argv[6]) if len(sys.argv) > 6 else 30
    floor, floor_min = timed(["/bin/true"], runs)
    a = measure("supervisord", [supd], [supctl], scratch, n, runs)
    g = measure("gwe", [gwe, "supervisord"], [gwe, "ctl"], scratch, n, runs)
    print(f"ctl_direct floor_bin_true_ms median={floor:.2f} min={floor_min:.2f}")
    print(f"ctl_direct supervisorctl N={n} median={a[0]:.2f} min={a[1]:.2f}")
    print(f"ctl_direct gwe_ctl N={n} median={g[0]:.2f} min={g[1]:.2f}")
    print(f"ctl_direct ratio gwe/supervisorctl={g[0] / a[0]:.3f}")


if __name__ == "__main__":
    main()
