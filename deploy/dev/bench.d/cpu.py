#!/usr/bin/env python3
"""Where the CPU went during a figure of deploy/dev/bench.

  cpu.py snapshot STACK_DIR      prints a JSON snapshot (CPU ticks per component)
  cpu.py diff BEFORE AFTER [N]   prints the split in cores used, and per unit of
                                 work in ms when N (requests, events…) is given

Components: postgres (the stack's postmaster and every backend it started,
including those that ended: the postmaster's reaped-children time), api (the
supervisor and its workers), nginx, relay (every relay of the stack: run/relay.pid,
run/relay-2.pid …), and everything else on the machine
(the benchmark's clients, other stacks)."""
import glob
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def pid_in(path):
    try:
        return int(open(path).readline().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


def snapshot(stack):
    pm = pid_in(f"{stack}/pg/postmaster.pid")
    api = pid_in(f"{stack}/run/api.pid")
    relays = {pid_in(path) for path in [f"{stack}/run/relay.pid", *glob.glob(f"{stack}/run/relay-[0-9]*.pid")]}
    ngx = pid_in(f"{stack}/nginx/nginx.pid")
    g = {"postgres": 0, "api": 0, "nginx": 0, "relay": 0, "other": 0}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        pid, ppid, own, children = int(p), int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])
        if pid == pm:
            g["postgres"] += own + children
        elif ppid == pm:
            g["postgres"] += own
        elif pid == api:
            g["api"] += own + children
        elif ppid == api:
            g["api"] += own
        elif pid == ngx or ppid == ngx:
            g["nginx"] += own
        elif pid in relays:
            g["relay"] += own
        else:
            g["other"] += own
    g["time"] = time.monotonic()
    return g


def diff(a, b, n=None):
    wall = b["time"] - a["time"]
    parts = []
    for k in ("postgres", "api", "nginx", "relay", "other"):
        cpu = (b[k] - a[k]) / TICK
        text = f"{k} {cpu / wall:.2f}"
        if n:
            text += f" ({cpu / n * 1000:.3f} ms each)"
        parts.append(text)
    return "cores used: " + ", ".join(parts)


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(sys.argv[2])))
    else:
        a, b = json.loads(open(sys.argv[2]).read()), json.loads(open(sys.argv[3]).read())
        print(diff(a, b, float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None))
