#!/usr/bin/env python3
"""The latency figure of deploy/dev/bench.sh: the limit and the analysis, in two
modes (one process each). The watchers and the daemons are a C program on epoll,
latency.c (`latency watch` and `latency post`), so that the clients' own delay
stays out of what they measure.

  rtt      the bare NOTIFY -> LISTEN round trip on the same PostgreSQL, meanwhile;
           runs until SIGTERM and then writes its records (JSON) to --out.
  analyze  joins the records of latency.c's watchers and daemons and of rtt:
           latency = watcher received - POST answered.

Times are time.monotonic() (CLOCK_MONOTONIC), one clock for every process on
the machine, so records from different processes can be subtracted.
"""
import argparse
import json
import signal
import sys
import threading
import time

now = time.monotonic


# ------------------------------------------------------------------ NOTIFY round trip

def rtt(args):
    import psycopg

    received = {}
    listener = psycopg.connect(args.dsn, autocommit=True)
    listener.execute("listen bench_rtt")
    sender = psycopg.connect(args.dsn, autocommit=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def listen():
        while not done.is_set():
            for n in listener.notifies(timeout=0.2):
                received[int(n.payload)] = now()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    sent = {}
    k = 0
    interval = 1 / args.rate
    due = now()
    while not done.is_set():
        due += interval
        k += 1
        t0 = now()
        sender.execute("select pg_notify('bench_rtt', %s)", (str(k),))
        sent[k] = (t0, now())
        pause = due - now()
        if pause > 0:
            done.wait(pause)
    time.sleep(0.3)
    rows = [(t0, t1, received.get(k)) for k, (t0, t1) in sent.items()]
    with open(args.out, "w") as f:
        json.dump({"rows": rows}, f)


# ------------------------------------------------------------------ analysis

def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def analyze(args):
    posts = json.load(open(args.posts))
    answered = {(t, s): a for t, s, a in posts["records"]}
    warm = posts["start"] + args.warmup
    lat = []
    received = 0
    lags = []
    closed = 0
    errors = []
    for path in args.watchers:
        w = json.load(open(path))
        lags += w["lags"]
        closed += w["closed_early"]
        errors += w["errors"]
        for t, s, r in w["records"]:
            a = answered.get((t, s))
            if a is not None and a >= warm:
                lat.append(r - a)
                received += 1
    # Expected deliveries: messages answered after the warm-up and at least 1 s
    # before the posters stopped, times the watchers of their issue.
    last = max((a for a in answered.values()), default=0)
    expected_keys = {k for k, a in answered.items() if warm <= a <= last - 1.0}
    got_keys = {}
    for path in args.watchers:
        for t, s, r in json.load(open(path))["records"]:
            if (t, s) in expected_keys:
                got_keys[(t, s)] = got_keys.get((t, s), 0) + 1
    missing = sum(max(0, args.watchers_per_issue - got_keys.get(k, 0)) for k in expected_keys)
    rows = json.load(open(args.rtt))["rows"]
    rtt_full = [r - t0 for t0, t1, r in rows if r is not None]
    rtt_answered = [r - t1 for t0, t1, r in rows if r is not None]
    ms = 1000
    result = {
        "messages_posted": len(answered),
        "posted_per_second": len([a for a in answered.values() if a >= warm]) / max(1e-9, last - warm),
        "deliveries": received,
        "deliveries_expected": len(expected_keys) * args.watchers_per_issue,
        "missing": missing,
        "p50_ms": pct(lat, 50) * ms, "p99_ms": pct(lat, 99) * ms, "max_ms": max(lat, default=float("nan")) * ms,
        "negative_share": sum(1 for x in lat if x < 0) / max(1, len(lat)),
        "post_p50_ms": pct(posts["post_times"], 50) * ms, "post_p99_ms": pct(posts["post_times"], 99) * ms,
        "post_failures": posts["failure_count"],
        "rtt_count": len(rtt_full), "rtt_lost": sum(1 for r in rows if r[2] is None),
        "rtt_p50_ms": pct(rtt_full, 50) * ms, "rtt_p99_ms": pct(rtt_full, 99) * ms,
        "rtt_answered_p50_ms": pct(rtt_answered, 50) * ms, "rtt_answered_p99_ms": pct(rtt_answered, 99) * ms,
        "lag_p50_ms": pct(lags, 50) * ms, "lag_p99_ms": pct(lags, 99) * ms,
        "watchers_closed_early": closed, "relay_errors": errors[:3],
    }
    json.dump(result, sys.stdout)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("rtt")
    r.add_argument("--dsn", required=True)
    r.add_argument("--rate", type=float, default=50)
    r.add_argument("--out", required=True)
    a = sub.add_parser("analyze")
    a.add_argument("--posts", required=True)
    a.add_argument("--rtt", required=True)
    a.add_argument("--watchers-per-issue", type=int, required=True)
    a.add_argument("--warmup", type=float, default=1.0)
    a.add_argument("watchers", nargs="+")
    args = ap.parse_args()
    if args.mode == "rtt":
        rtt(args)
    else:
        analyze(args)


if __name__ == "__main__":
    main()
