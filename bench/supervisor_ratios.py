#!/usr/bin/env python3
"""Reads two result files of supervisord_bench.sh (anchor first, ours second) and prints the
issue's six targets side by side with their ratios, as a Markdown table."""
import re
import statistics
import sys


def parse(path):
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    kv = lambda line: dict(re.findall(r"(\w[\w+]*)=([^\s]+)", line))
    out = {"rss50": [], "anon50": [], "file50": [], "run200": [], "run50": [], "logtp": [], "cat": [], "ctl": None,
           "kill9": None, "cpu50": None}
    for line in lines:
        d = kv(line)
        if line.startswith("startup ") and d.get("startsecs") == "0":
            if d.get("N") == "50" and "VmRSS" in d:
                out["rss50"].append(float(d["VmRSS"]))
                out["anon50"].append(float(d.get("RssAnon", "nan")))
                out["file50"].append(float(d.get("RssFile", "nan")))
            key = {"50": "run50", "200": "run200"}.get(d.get("N"))
            if key and d.get("t_all_running_log_ms", "NA") != "NA":
                # from the command's launch to the last "entered RUNNING" line in the log
                out[key].append(float(d["t_all_running_log_ms"]))
        elif line.startswith("kill9 kill_to_new_child_start_ms"):
            out["kill9"] = float(d["median"])
        elif line.startswith("logtp supervisord gen=yes"):
            out["logtp"].append(float(d["MB_s"]))
        elif line.startswith("logtp baseline gen=yes") and d.get("sink") == "pipe_cat_file":
            out["cat"].append(float(d["MB_s"]))
        elif line.startswith("cpu N=50"):
            out["cpu50"] = (float(d["per_s"]), float(d["cpu_ms"]))
        elif line.startswith("ctl N=") and "supervisorctl_status_ms" in line:
            out["ctl"] = float(d["median"])
    return out


def med(v):
    return statistics.median(v) if v else float("nan")


def main():
    a, g = parse(sys.argv[1]), parse(sys.argv[2])
    rows = [
        ("RSS, 50 `sleep` programs (kB)", med(a["rss50"]), med(g["rss50"]), "<= 1/8 of supervisord"),
        ("  of which RssAnon (kB)", med(a["anon50"]), med(g["anon50"]), ""),
        ("  of which RssFile (kB)", med(a["file50"]), med(g["file50"]), ""),
        ("kill -9 -> replacement start, median (ms)", a["kill9"], g["kill9"], "<= 5 ms"),
        ("200 programs, launch -> all RUNNING, startsecs=0 (ms)", med(a["run200"]), med(g["run200"]), "<= 200 ms"),
        ("1 GiB stdout captured, 100 B lines (MB/s)", med(a["logtp"]), med(g["logtp"]), ">= `| cat > file`"),
        ("`| cat > file` on the same disk, same run (MB/s)", med(a["cat"]), med(g["cat"]), "(reference)"),
        ("`status` with 200 programs, median (ms)", a["ctl"], g["ctl"], "<= 10 ms"),
        ("idle, 50 programs: wake-ups per second", (a["cpu50"] or (float("nan"),))[0],
         (g["cpu50"] or (float("nan"),))[0], "no periodic wake-ups"),
        ("idle, 50 programs: CPU ms in the window", (a["cpu50"] or (0, float("nan")))[1],
         (g["cpu50"] or (0, float("nan")))[1], ""),
    ]
    print("| measure | supervisord 4.3.0 | gwe supervisord | gwe / supervisord | target |")
    print("|---|---|---|---|---|")
    for name, x, y, target in rows:
        try:
            ratio = "%.3f" % (y / x)
        except (TypeError, ZeroDivisionError):
            ratio = "n/a"
        fmt = lambda v: "n/a" if v is None or v != v else ("%.1f" % v)
        print(f"| {name} | {fmt(x)} | {fmt(y)} | {ratio} | {target} |")


if __name__ == "__main__":
    main()
