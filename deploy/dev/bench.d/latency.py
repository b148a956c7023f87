#!/usr/bin/env python3
"""The latency figure of deploy/dev/bench, in four modes (one process each):

  watch    WebSocket watchers through nginx: each connection subscribes to one
           issue and records when each task:message arrives; also samples its own
           event loop's lag (how late a 5 ms timer fires: the client's own delay).
  post     daemons: one keep-alive HTTP connection per task, POSTing batches at a
           fixed rate; records when each POST was answered.
  rtt      the bare NOTIFY -> LISTEN round trip on the same PostgreSQL, meanwhile.
  analyze  joins the records: latency = watcher received - POST answered.

Times are time.monotonic() (CLOCK_MONOTONIC), one clock for every process on
the machine, so records from different processes can be subtracted. Each mode
runs until SIGTERM and then writes its records (JSON) to --out.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import sys
import threading
import time

now = time.monotonic


def stop_event():
    ev = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ev.set)
    return ev


def read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


# ------------------------------------------------------------------ watchers

async def watch(args):
    from websockets.asyncio.client import connect

    issues = read_lines(args.issues)
    tasks = {t: i for i, t in enumerate(read_lines(args.tasks))}
    stop = stop_event()
    records = []  # [task index, seq, received]
    lags = []
    errors = []
    ready = 0

    async def one(n):
        nonlocal ready
        issue = issues[n % len(issues)]
        async with connect(args.url, additional_headers={"Authorization": f"Bearer {args.token}"},
                           max_size=None, ping_interval=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "subscribe", "payload": {"issue_id": issue}}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "subscribed":
                    break
                if frame["type"] == "error":
                    raise RuntimeError(f"subscribe: {frame}")
            ready += 1
            async for text in ws:
                t = now()
                frame = json.loads(text)
                if frame["type"] == "task:message":
                    p = frame["payload"]
                    records.append((tasks.get(p["task_id"], -1), p["seq"], t))
                elif frame["type"] in ("resync", "error"):
                    errors.append(frame)

    async def sample_lag():
        while True:
            t = now()
            await asyncio.sleep(0.005)
            lags.append(now() - t - 0.005)

    jobs = []
    for n in range(args.first, args.first + args.count):
        jobs.append(asyncio.create_task(one(n)))
        await asyncio.sleep(0.002)  # do not stampede the relay's auth queries
    while ready < args.count:
        failed = [j for j in jobs if j.done()]
        if failed:
            raise RuntimeError(f"a watcher ended early: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    with open(args.ready, "w") as f:
        f.write("ready\n")
    lagger = asyncio.create_task(sample_lag())
    await stop.wait()
    lagger.cancel()
    closed = sum(1 for j in jobs if j.done())
    for j in jobs:
        j.cancel()
    with open(args.out, "w") as f:
        json.dump({"records": records, "lags": lags, "errors": errors[:20], "closed_early": closed}, f)


# ------------------------------------------------------------------ posters

class HTTP:
    """A minimal keep-alive HTTP/1.1 client for one connection to nginx."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, head, body):
        for attempt in range(3):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(head + body)
                await self.writer.drain()
                status = int((await self.reader.readline()).split()[1])
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode().partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length)
                if close:
                    self.writer.close()
                    self.writer = None
                return status, data
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                # nginx closed a keep-alive connection (keepalive_requests): again.
                self.writer = None
        raise ConnectionError("the connection keeps failing")


async def post(args):
    tasks = read_lines(args.tasks)
    stop = stop_event()
    content = ("the agent reads the file and writes a test before it changes the code " * 40)[:args.content_bytes]
    interval = args.batch / args.rate_per_task
    records = []  # [task index, seq, answered]
    post_times = []
    failures = []
    start = now() + 0.2

    async def one(i, task):
        http = HTTP("127.0.0.1", args.port)
        seq = 0
        due = start + interval * i / len(tasks)  # spread the tasks over the interval
        while not stop.is_set():
            delay = due - now()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except asyncio.TimeoutError:
                    pass
            due += interval
            first = seq + 1
            msgs = [{"seq": seq + j + 1, "type": "text", "content": content} for j in range(args.batch)]
            seq += args.batch
            body = json.dumps({"messages": msgs}).encode()
            head = (f"POST /api/daemon/tasks/{task}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {args.token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            sent = now()
            status, data = await http.request(head, body)
            answered = now()
            if status != 200:
                failures.append((status, data[:200].decode(errors="replace")))
                continue
            post_times.append(answered - sent)
            for s in range(first, seq + 1):
                records.append((i, s, answered))

    jobs = [asyncio.create_task(one(i, t)) for i, t in enumerate(tasks)]
    await stop.wait()
    await asyncio.wait(jobs, timeout=5)
    with open(args.out, "w") as f:
        json.dump({"records": records, "post_times": post_times, "failures": failures[:20],
                   "failure_count": len(failures), "start": start}, f)


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
    w = sub.add_parser("watch")
    w.add_argument("--url", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--issues", required=True)
    w.add_argument("--tasks", required=True)
    w.add_argument("--first", type=int, required=True)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--ready", required=True)
    w.add_argument("--out", required=True)
    p = sub.add_parser("post")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--tasks", required=True)
    p.add_argument("--rate-per-task", type=float, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--content-bytes", type=int, default=1024)
    p.add_argument("--out", required=True)
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
    if args.mode == "watch":
        asyncio.run(watch(args))
    elif args.mode == "post":
        asyncio.run(post(args))
    elif args.mode == "rtt":
        rtt(args)
    else:
        analyze(args)


if __name__ == "__main__":
    main()
