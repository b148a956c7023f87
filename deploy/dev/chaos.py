#!/usr/bin/env python3
"""deploy/dev/chaos.py — the fault scenario of the proof issue, as one command.

It brings up a stack of its own (STACK_DIR <repo>/.stack-chaos, nginx on :18600,
relays on :18601-18602, 4 API workers, debug build unless CONFIG is set, fsync
off). Real daemons (`agentlive-daemon --runtime replay`, a generated Claude Code
session made only of tool calls and results, one message per line) stream about
500 messages/s in all (TASKS x RATE) to 50 WebSocket watchers through nginx for
DURATION seconds. Meanwhile it SIGKILLs a relay 5 times and an API worker 20
times, restarts PostgreSQL twice and stops nginx for 5 s; nothing is restarted
by hand: the relays' supervisor and the API's supervisor bring them back.

At the end it checks that every task's stored sequence is exactly 1..N and that
each message is the one the agent produced (SQL), that every task completed,
that no watcher saw a repeat or a lower seq on a live stream, that no watcher
missed a message it was never told about (a close or a `resync` makes it catch
up over HTTP; anything else it lacks was lost silently), that every watcher
holds exactly the stored sequence after a final catch-up, and that every
process is still the one it started with or was brought back by its supervisor.
It prints a table and exits 0 when all of it holds, 1 when anything was lost,
duplicated, reordered or needed a hand, 2 when the run itself could not be made.
The stack is stopped at the end (KEEP_STACK=1 leaves it up); its logs and the
run's files (session, daemon logs, fault log, result table) stay in
$STACK_DIR/log and $STACK_DIR/chaos.

Environment [defaults]: DURATION [60] s of load; TASKS [10] issues, one task
each; RATE [50] messages/s per task; DAEMONS [5] daemon processes; WATCHERS [50]
(spread evenly over the issues); RELAY_KILLS [5]; WORKER_KILLS [20];
PG_RESTARTS [2]; NGINX_STOPS [1]; NGINX_DOWN [5] s; SEED [random]; DRAIN [45] s
for the daemons to finish after the load; KEEP_STACK [0]; and the stack's
STACK_DIR, PORT [18600], RELAY_PORT [18601], RELAYS [2], WORKERS [4],
CONFIG [debug], STACK_FAST [1].

A short run (about two minutes with a built tree, for checking the script itself):
DURATION=10 TASKS=2 RATE=20 DAEMONS=2 WATCHERS=6 RELAY_KILLS=1 WORKER_KILLS=2
PG_RESTARTS=1 NGINX_STOPS=1 NGINX_DOWN=2 DRAIN=30 deploy/dev/chaos.py

It drives the stack with the e2e suite's helpers, Tests/e2e/agentlive_fixtures.py
(stack verbs, SQL, processes, HTTP and WebSocket clients, workspaces), which it
imports from there after pointing them at its own stack.
"""
import asyncio
import concurrent.futures
import json
import math
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

REPO = pathlib.Path(__file__).resolve().parents[2]
STACK = str(REPO / "deploy" / "dev" / "stack")


def env_int(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        sys.exit(f"chaos: {name} must be a whole number (got {value!r})")


# The stack this command runs; exported so every `stack` verb it calls uses it.
STACK_ENV = {"STACK_DIR": os.environ.get("STACK_DIR") or str(REPO / ".stack-chaos"),
             "PORT": os.environ.get("PORT") or "18600",
             "RELAY_PORT": os.environ.get("RELAY_PORT") or "18601",
             "RELAYS": os.environ.get("RELAYS") or "2",
             "WORKERS": os.environ.get("WORKERS") or "4",
             "CONFIG": os.environ.get("CONFIG") or "debug",
             "STACK_FAST": os.environ.get("STACK_FAST") or "1"}
os.environ.update(STACK_ENV)
BASE = f"http://127.0.0.1:{STACK_ENV['PORT']}"
# The shared helpers read their stack from the environment when imported.
os.environ.update(AGENTLIVE_URL=BASE, AGENTLIVE_STACK=STACK)
sys.path.insert(0, str(REPO / "Tests" / "e2e"))
try:
    import requests
    import websockets
    from agentlive_fixtures import (Client, StackError, frame_json, lit, new_world, relays, sql, stack,
                                    stack_settings, supervisor_pid, worker_pids, ws_open)
except ImportError as e:  # the stack's own test tools (stack test installs them)
    sys.exit(f"chaos: needs the Python packages requests and websockets ({e}); "
             "python3 -m pip install requests websockets")

DURATION = env_int("DURATION", 60)
TASKS = env_int("TASKS", 10)
RATE = env_int("RATE", 50)
DAEMONS = env_int("DAEMONS", 5)
WATCHERS = env_int("WATCHERS", 50)
RELAY_KILLS = env_int("RELAY_KILLS", 5)
WORKER_KILLS = env_int("WORKER_KILLS", 20)
PG_RESTARTS = env_int("PG_RESTARTS", 2)
NGINX_STOPS = env_int("NGINX_STOPS", 1)
NGINX_DOWN = env_int("NGINX_DOWN", 5)
DRAIN = env_int("DRAIN", 45)
SEED = env_int("SEED", random.SystemRandom().randrange(1, 1_000_000))
KEEP_STACK = os.environ.get("KEEP_STACK") == "1"

SETTLE = 15            # s: bound for the watchers to hold everything before the final catch-up
CATCH_UP_BOUND = 30    # s: one catch-up, retrying 502/503/504 and refused connections
BUILD_WAIT = 600       # s: bound for another swift build to end before `stack up`

PAIRS = max(1, DURATION * RATE // 2)   # tool_use + tool_result per task
MESSAGES = 2 * PAIRS                   # per task: seq 1..MESSAGES


class Abort(Exception):
    """The run could not be made (exit 2); so is a StackError or a failed `expect=`
    (an AssertionError) of the shared helpers."""


def log(text):
    print(f"chaos: {text}", flush=True)


# ------------------------------------------------------------------ the stack

S = pathlib.Path(STACK_ENV["STACK_DIR"])
WORK = S / "chaos"


def file_size(path):
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def wait_for_other_builds():
    """`stack up` builds; never two swift builds at once on this machine."""
    deadline = time.monotonic() + BUILD_WAIT
    said = False
    while subprocess.run(["pgrep", "-f", "swift-build"], capture_output=True).returncode == 0:
        if not said:
            log("another swift build is running: waiting for it to end")
            said = True
        if time.monotonic() > deadline:
            raise Abort(f"another swift build still runs after {BUILD_WAIT} s")
        time.sleep(2)


# ------------------------------------------------------------------ the session

def call_id(k):
    return f"toolu_chaos_{k:06d}"


def expected(seq):
    """(type, call_id) of message seq in the generated session."""
    k = (seq + 1) // 2
    return ("tool_use" if seq % 2 else "tool_result"), call_id(k)


def generate_session(path):
    """A Claude Code stream-json session of PAIRS tool calls, each a tool_use line
    and a tool_result line (one message each: text would be coalesced by the
    daemon's 500 ms throttle), paced by <name>.timing at RATE lines/s in 100 ms
    ticks (fewer, longer sleeps keep the pace exact)."""
    sid = str(uuid.uuid4())
    compact = dict(separators=(",", ":"), ensure_ascii=False)
    lines = [json.dumps({"type": "system", "subtype": "init", "cwd": "/work/chaos", "session_id": sid,
                         "tools": ["Bash"], "mcp_servers": [], "model": "claude-sonnet-4-5-20250929",
                         "permissionMode": "acceptEdits", "apiKeySource": "none",
                         "claude_code_version": "2.0.37", "output_style": "default"}, **compact)]
    delays = [0]
    for k in range(1, PAIRS + 1):
        cid = call_id(k)
        lines.append(json.dumps({
            "type": "assistant",
            "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_chaos_{k:06d}", "type": "message",
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": cid, "name": "Bash",
                                     "input": {"command": f"make check STEP={k}", "description": f"step {k}"}}],
                        "stop_reason": None, "stop_sequence": None,
                        "usage": {"input_tokens": 3, "output_tokens": 12}},
            "parent_tool_use_id": None, "session_id": sid, "uuid": str(uuid.uuid4())}, **compact))
        output = "".join(f"step {k}: check {j} ok ✓\n" for j in range(1, 6))
        lines.append(json.dumps({
            "type": "user",
            "message": {"role": "user", "content": [{"tool_use_id": cid, "type": "tool_result",
                                                     "content": output, "is_error": False}]},
            "parent_tool_use_id": None, "session_id": sid, "uuid": str(uuid.uuid4())}, **compact))
    tick = 0
    for j in range(MESSAGES):  # message j + 1 is due at j / RATE s, rounded down to a 100 ms tick
        due = (j * 1000 // RATE) // 100 * 100
        delays.append(due - tick)
        tick = due
    lines.append(json.dumps({"type": "result", "subtype": "success", "is_error": False,
                             "duration_ms": DURATION * 1000, "duration_api_ms": DURATION * 900,
                             "num_turns": PAIRS, "result": "chaos session done", "session_id": sid,
                             "total_cost_usd": 0.0, "usage": {"input_tokens": 1, "output_tokens": 1}},
                            **compact))
    delays.append(100)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_suffix(".timing").write_text("\n".join(map(str, delays)) + "\n")


# ------------------------------------------------------------------ the world

class World:
    """The shared helpers' workspace (user and daemon tokens, an agent for the replay
    runtime), this run's TASKS issues and, once assigned, their tasks."""

    def __init__(self):
        self.w = new_world(prefix="chaos", runtime="replay")
        self.workspace_id, self.agent_id = self.w.workspace_id, self.w.agent_id
        self.user_token = self.w.user_token
        self.token_file = WORK / "daemon-token"
        old = os.umask(0o077)
        try:
            self.token_file.write_text(self.w.daemon_token + "\n")
        finally:
            os.umask(old)
        self.issues = [self.w.create_issue(f"chaos issue {i + 1}", "Streamed while things break.")["id"]
                       for i in range(TASKS)]
        self.task_of = {}  # issue id -> task id

    def assign_all(self):
        for issue in self.issues:
            self.task_of[issue] = self.w.assign(issue)["id"]

    def task_rows(self):
        """{task id: status} of this run's tasks."""
        out = sql(f"select id, status from agentlive.task where workspace_id = {lit(self.workspace_id)}")
        return dict(line.split("|") for line in out.splitlines() if line)

    def stored_count(self):
        return int(sql("select count(*) from agentlive.task_message m join agentlive.task t on t.id = m.task_id "
                       f"where t.workspace_id = {lit(self.workspace_id)}"))


# ------------------------------------------------------------------ daemons

class Daemons:
    def __init__(self, world):
        self.procs = []
        self.world = world
        per = max(1, math.ceil(TASKS / DAEMONS))
        binary = pathlib.Path(stack_settings()["BIN"]) / "agentlive-daemon"
        self.cmd = lambda i: [str(binary), "--server", BASE, "--token-file", str(world.token_file),
                              "--agent", world.agent_id, "--runtime", "replay",
                              "--session", str(WORK / "session.jsonl"), "--speed", "1",
                              "--max-tasks", str(per), "--poll-interval", "0.2", "--heartbeat-interval", "2",
                              "--state-dir", str(WORK / f"daemon-{i}"), "--work-dir", str(WORK / f"daemon-{i}" / "work")]

    def start(self):
        for i in range(1, DAEMONS + 1):
            out = open(WORK / f"daemon-{i}.log", "ab")
            self.procs.append(subprocess.Popen(self.cmd(i), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                               start_new_session=True))
            out.close()

    def stop(self, bound=10):
        """SIGTERM; SIGKILL what is left after `bound` s. Returns {pid: exit status}."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + bound
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        return {p.pid: p.returncode for p in self.procs}

    def logs(self):
        return [read_from(WORK / f"daemon-{i}.log", 0) for i in range(1, len(self.procs) + 1)]


# ------------------------------------------------------------------ watchers

class Watcher:
    """One WebSocket client through nginx, subscribed to one issue. Holds the seqs of
    the issue's task it received, live or by catch-up. Reconnects (with backoff)
    when closed; after every subscribe and on `resync` it catches up over HTTP
    from its highest contiguous seq. On each connection it records live repeats
    and live seqs lower than one already received there."""

    def __init__(self, index, issue, world, pool, stop):
        self.index, self.issue, self.world, self.pool, self.stop = index, issue, world, pool, stop
        self.http = Client(world.user_token, record=False)
        self.held = set()
        self.contig = 0
        self.conn = None
        self.subscribed = False
        self.connections = 0
        self.connect_failures = 0
        self.close_codes = Counter()
        self.resyncs = 0
        self.live_frames = 0
        self.live_new = 0          # live messages not held before
        self.live_repeats = 0      # same seq twice on one connection
        self.live_lower = 0        # seq lower than one received before on the connection
        self.mismatched = Counter()  # payloads that are not message seq of this issue's task: live, caught-up
        self.errors = Counter()    # error frames by code
        self.events = Counter()    # other event types
        self.completed_seen = False
        self.catch_ups = 0
        self.fetched = 0
        self.catch_up_failures = 0
        self.http_repeats = 0      # a seq twice in one catch-up
        self.http_lower = 0        # catch-up pages not ascending
        self.wanted = asyncio.Event()
        self.catching_up = False
        self.examples = []
        self.live_gaps = 0         # a live seq more than one above the connection's highest
        self.subscribe_sent = None  # monotonic time of the subscribe not answered yet
        self.trace = []            # (wall clock, what happened): written out for a watcher that lost messages

    @property
    def task(self):
        return self.world.task_of.get(self.issue)

    def log(self, text):
        self.trace.append((time.time(), text))

    def note(self, text):
        if len(self.examples) < 5:
            self.examples.append(text)

    def check(self, m, how):
        seq = m.get("seq")
        kind, cid = expected(seq if isinstance(seq, int) else 0)
        ok = (m.get("task_id") == self.task and m.get("issue_id") == self.issue and m.get("type") == kind
              and m.get("call_id") == cid and isinstance(seq, int) and 1 <= seq <= MESSAGES)
        if not ok:
            self.mismatched[how] += 1
            self.note(f"{how} message does not match its seq: {json.dumps(m)[:200]}")
        return ok

    def hold(self, seq):
        new = seq not in self.held
        self.held.add(seq)
        while self.contig + 1 in self.held:
            self.contig += 1
        return new

    # -------- HTTP catch-up (blocking; in the pool)

    def fetch(self, task, after):
        """Every message after `after`, all pages; (messages, refused answers).
        Retries 502/503/504 and refused connections for CATCH_UP_BOUND s."""
        out, refused = [], 0
        deadline = time.monotonic() + CATCH_UP_BOUND
        while True:
            try:
                r = self.http.get(f"/api/tasks/{task}/messages", params={"after": after, "limit": 1000})
            except requests.RequestException:
                r = None
            if r is None or r.status_code in (502, 503, 504):
                refused += 1
                if time.monotonic() > deadline:
                    raise RuntimeError(f"catch-up refused for {CATCH_UP_BOUND} s")
                time.sleep(0.2)
                continue
            if r.status_code != 200:
                raise RuntimeError(f"catch-up answered {r.status_code}: {r.text[:200]}")
            page = r.json()
            out += page["messages"]
            if not page["has_more"]:
                return out, refused
            after = page["last_seq"]

    async def catch_up(self):
        task = self.task
        if task is None:
            return
        self.catch_ups += 1
        after = self.contig
        self.log(f"catch-up after={after} (holding {len(self.held)})")
        try:
            messages, refused = await asyncio.get_running_loop().run_in_executor(self.pool, self.fetch, task, after)
        except Exception as e:  # noqa: BLE001 — counted and reported
            self.catch_up_failures += 1
            self.note(f"catch-up failed: {e}")
            self.log(f"catch-up failed: {e}")
            return
        self.log(f"catch-up got {len(messages)}"
                 + (f" ({messages[0]['seq']}..{messages[-1]['seq']})" if messages else "")
                 + (f" after {refused} refusals" if refused else ""))
        seen, last = set(), 0
        for m in messages:
            seq = m.get("seq", 0)
            if seq in seen:
                self.http_repeats += 1
            elif seq < last:
                self.http_lower += 1
            seen.add(seq)
            last = max(last, seq)
            if self.check(m, "caught-up"):
                self.hold(seq)
        self.fetched += len(messages)

    def want_catch_up(self):
        self.wanted.set()

    async def catch_up_loop(self):
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            self.catching_up = True
            try:
                await self.catch_up()
            finally:
                self.catching_up = False

    # -------- WebSocket

    async def subscribe(self, conn):
        self.subscribe_sent = self.subscribe_sent or time.monotonic()
        await conn.send(frame_json("subscribe", {"issue_id": self.issue}))

    async def run(self):
        catcher = asyncio.create_task(self.catch_up_loop())
        backoff = 0.2
        try:
            while not self.stop.is_set():
                try:
                    conn = await ws_open(token=self.world.user_token, open_timeout=5, close_timeout=1,
                                         ping_interval=None)
                except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
                    self.connect_failures += 1
                    await self.pause(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                self.conn = conn
                self.connections += 1
                self.log(f"connection {self.connections} open")
                opened = time.monotonic()
                code = await self.session(conn)
                self.conn, self.subscribed, self.subscribe_sent = None, False, None
                self.close_codes[code] += 1
                self.log(f"connection {self.connections} closed {code}")
                if self.stop.is_set():
                    break
                if time.monotonic() - opened > 5:
                    backoff = 0.2
                await self.pause(backoff)
                backoff = min(backoff * 2, 2.0)
        finally:
            catcher.cancel()

    async def pause(self, seconds):
        try:
            await asyncio.wait_for(self.stop.wait(), seconds * random.uniform(0.5, 1.0))
        except asyncio.TimeoutError:
            pass

    async def session(self, conn):
        """Reads one connection until it closes; returns the close code (1006: no close frame)."""
        seen, top = set(), 0  # this connection's live seqs
        try:
            await self.subscribe(conn)
            async for raw in conn:
                frame = json.loads(raw)
                kind, payload = frame.get("type"), frame.get("payload") or {}
                if kind == "task:message":
                    self.live_frames += 1
                    seq = payload.get("seq", 0)
                    if seq in seen:
                        self.live_repeats += 1
                        self.note(f"live repeat of seq {seq} on connection {self.connections}")
                    elif seq < top:
                        self.live_lower += 1
                        self.note(f"live seq {seq} after {top} on connection {self.connections}")
                    elif top and seq > top + 1:
                        self.live_gaps += 1
                        self.log(f"live gap on connection {self.connections}: {top} then {seq}")
                    if not seen:
                        self.log(f"first live seq {seq} on connection {self.connections}")
                    seen.add(seq)
                    top = max(top, seq)
                    if self.check(payload, "live") and self.hold(seq):
                        self.live_new += 1
                elif kind == "subscribed":
                    self.subscribed, self.subscribe_sent = True, None
                    self.log(f"subscribed (live top {top})")
                    self.want_catch_up()
                elif kind == "resync":
                    self.resyncs += 1
                    self.log(f"resync (live top {top})")
                    self.want_catch_up()
                elif kind == "error":
                    code = payload.get("code")
                    self.errors[code] += 1
                    self.log(f"error frame {code}")
                    if code == "unavailable" and payload.get("issue_id") == self.issue:
                        asyncio.get_running_loop().call_later(0.5, self.resubscribe, conn)
                else:
                    self.events[kind] += 1
                    if kind == "task:completed" and payload.get("task_id") == self.task:
                        self.completed_seen = True
        except websockets.ConnectionClosed:
            pass
        except (OSError, asyncio.TimeoutError):
            return 1006
        return conn.close_code if conn.close_code is not None else 1006

    def resubscribe(self, conn):
        if conn is self.conn and not self.stop.is_set():
            asyncio.ensure_future(self.safe_send(conn))

    async def safe_send(self, conn):
        try:
            await self.subscribe(conn)
        except websockets.ConnectionClosed:
            pass

    async def close(self):
        conn = self.conn
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except BaseException:  # noqa: BLE001 — bounded either way
                conn.transport.abort()

    def settled(self, stored):
        return self.subscribed and not self.catching_up and not self.wanted.is_set() and stored <= self.held


# ------------------------------------------------------------------ faults

class Faults:
    def __init__(self, rng):
        self.rng = rng
        self.done = Counter()
        self.failed = []
        self.log = open(WORK / "faults.log", "w")
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.nginx_away = []  # s from `stack stop nginx` to `stack start nginx` returning

    def schedule(self):
        """Two lanes of (seconds after the load started, kind), each run in order by
        its own thread, so that the long faults (a PostgreSQL restart, nginx away for
        NGINX_DOWN s plus its graceful stop) do not hold back the kills. Long faults
        alternate over the run; kills are spread evenly, with jitter."""
        lo, hi = 3.0, max(4.0, DURATION - 4.0)
        span = hi - lo
        long_kinds = []
        for i in range(max(PG_RESTARTS, NGINX_STOPS)):
            long_kinds += ["postgres"] * (i < PG_RESTARTS) + ["nginx"] * (i < NGINX_STOPS)
        # A postgres restart takes about a second, an nginx stop NGINX_DOWN s plus up
        # to 5 s of graceful stop: equal pauses between them, all inside the load.
        took = {"postgres": 1.0, "nginx": NGINX_DOWN + 5.0}
        gap = max(0.0, span - sum(took[k] for k in long_kinds)) / (len(long_kinds) + 1)
        long_lane, at = [], lo
        for kind in long_kinds:
            at += gap
            long_lane.append((at, kind))
            at += took[kind]
        kills = ["relay"] * RELAY_KILLS + ["worker"] * WORKER_KILLS
        self.rng.shuffle(kills)
        kill_lane = [(lo + span * (i + 0.5 + self.rng.uniform(-0.3, 0.3)) / len(kills), kind)
                     for i, kind in enumerate(kills)]
        return [sorted(long_lane), sorted(kill_lane)]

    def record(self, text):
        with self.lock:
            self.log.write(f"{time.monotonic() - self.t0:7.2f}s {text}\n")
            self.log.flush()

    def kill_relay(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            live = [(r.name, pid) for r in relays() if (pid := r.live_pid())]
            if live:
                name, pid = self.rng.choice(live)
                os.kill(pid, signal.SIGKILL)
                return f"SIGKILL {name} (pid {pid})"
            time.sleep(0.2)
        raise RuntimeError("no relay process to kill for 5 s")

    def kill_worker(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            workers = sorted(worker_pids())
            if workers:
                pid = self.rng.choice(workers)
                os.kill(pid, signal.SIGKILL)
                return f"SIGKILL api worker pid {pid}"
            time.sleep(0.2)
        raise RuntimeError("no api worker to kill for 5 s")

    def restart_postgres(self):
        stack("restart", "postgres", timeout=90)
        return "stack restart postgres"

    def stop_nginx(self):
        t = time.monotonic()
        stack("stop", "nginx", timeout=30)  # graceful: up to 5 s for open WebSockets
        stopping = time.monotonic() - t
        time.sleep(NGINX_DOWN)
        stack("start", "nginx", timeout=30)
        self.nginx_away.append(time.monotonic() - t)
        return f"stack stop nginx ({stopping:.1f} s); {NGINX_DOWN} s; stack start nginx"

    def inject(self, kind):
        action = {"relay": self.kill_relay, "worker": self.kill_worker,
                  "postgres": self.restart_postgres, "nginx": self.stop_nginx}[kind]
        started = time.monotonic()
        try:
            what = action()
            self.done[kind] += 1
            self.record(f"{what} ({time.monotonic() - started:.1f} s)")
        except Exception as e:  # noqa: BLE001 — reported as a failed injection
            self.failed.append(f"{kind}: {e}")
            self.record(f"FAILED {kind}: {e}")

    def run(self, plan, stop):
        """Blocking: each fault of one lane at its time (late ones at once), in order."""
        for at, kind in plan:
            wait = at - (time.monotonic() - self.t0)
            if wait > 0 and stop.wait(wait):
                return
            self.inject(kind)

    @property
    def total(self):
        return sum(self.done.values())


# ------------------------------------------------------------------ the run

class Run:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.failures = []     # lines that make the exit status 1
        self.notes = []

    def fail(self, text):
        self.failures.append(text)

    async def load(self, world, daemons):
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="http")
        loop = asyncio.get_running_loop()
        loop.set_default_executor(pool)
        stop = asyncio.Event()
        watchers = [Watcher(i, world.issues[i % TASKS], world, pool, stop) for i in range(WATCHERS)]
        runners = [asyncio.create_task(w.run()) for w in watchers]
        self.watchers = watchers
        try:
            await self.until(lambda: all(w.subscribed for w in watchers), 30, "every watcher subscribed")
            await asyncio.to_thread(world.assign_all)
            log(f"{TASKS} issues assigned; starting {DAEMONS} daemons "
                f"({TASKS} tasks x {MESSAGES} messages at {RATE}/s for {DURATION} s)")
            daemons.start()
            self.t_load = time.monotonic()
            faults = Faults(self.rng)
            faults.t0 = self.t_load
            self.faults = faults
            lanes = faults.schedule()
            fault_stop = threading.Event()
            injector = asyncio.gather(*(asyncio.to_thread(faults.run, lane, fault_stop) for lane in lanes))
            try:
                await self.report_progress(world, watchers, faults, sum(map(len, lanes)), injector)
            finally:
                fault_stop.set()
                await asyncio.wait_for(injector, 120)
            self.load_seconds = time.monotonic() - self.t_load

            # The daemons finish what they buffered during the faults.
            await self.until(lambda: self.all_ended(world), DRAIN, "every task to end", poll=1, blocking=True,
                             must=False)
            self.drain_seconds = time.monotonic() - self.t_load - self.load_seconds
            self.stored = self.stored_sequences(world)
            # Before the final catch-up: what each watcher holds after the live stream
            # and the catch-ups its closes and resyncs asked for.
            await self.until(lambda: all(w.settled(self.stored.get(w.task, set())) for w in watchers),
                             SETTLE, "every watcher to hold every stored message", must=False)
            self.before = {w.index: self.stored.get(w.task, set()) - w.held for w in watchers}
            now = time.monotonic()
            self.unanswered = [(w.index, now - w.subscribe_sent) for w in watchers
                               if w.conn is not None and w.subscribe_sent and now - w.subscribe_sent > 5]
            # The final catch-up.
            await asyncio.gather(*(w.catch_up() for w in watchers))
        finally:
            stop.set()
            await asyncio.gather(*(w.close() for w in watchers), return_exceptions=True)
            for r in runners:
                r.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
            pool.shutdown(wait=False, cancel_futures=True)

    def all_ended(self, world):
        try:
            rows = world.task_rows()
        except (StackError, subprocess.TimeoutExpired):
            return False
        return len(rows) == TASKS and all(s in ("completed", "failed", "cancelled") for s in rows.values())

    async def until(self, predicate, bound, what, poll=0.2, must=True, blocking=False):
        deadline = time.monotonic() + bound
        while True:
            ok = await asyncio.to_thread(predicate) if blocking else predicate()
            if ok:
                return True
            if time.monotonic() > deadline:
                if must:
                    raise Abort(f"timed out after {bound} s waiting for {what}")
                self.notes.append(f"still not settled after {bound} s: {what}")
                return False
            await asyncio.sleep(poll)

    async def report_progress(self, world, watchers, faults, planned, injector):
        end = self.t_load + DURATION
        last = 0
        while time.monotonic() < end:
            await asyncio.sleep(min(5, max(0.1, end - time.monotonic())))
            try:
                stored = await asyncio.to_thread(world.stored_count)
            except (StackError, subprocess.TimeoutExpired):
                stored = None
            t = time.monotonic() - self.t_load
            rate = "" if stored is None else f" ({(stored - last) / 5:.0f}/s)"
            log(f"t={t:3.0f}s stored {stored if stored is not None else '?'}{rate}, "
                f"live frames {sum(w.live_frames for w in watchers)}, "
                f"reconnects {sum(max(0, w.connections - 1) for w in watchers)}, "
                f"resyncs {sum(w.resyncs for w in watchers)}, faults {faults.total}/{planned}")
            last = stored if stored is not None else last
        if not injector.done():
            log("load time is over; waiting for the fault injector to finish")

    def stored_sequences(self, world):
        out = sql("select t.id, coalesce(array_agg(m.seq order by m.seq) filter (where m.seq is not null), '{}') "
                  "from agentlive.task t left join agentlive.task_message m on m.task_id = t.id "
                  f"where t.workspace_id = {lit(world.workspace_id)} group by t.id")
        stored = {}
        for line in out.splitlines():
            task, arr = line.split("|", 1)
            inner = arr.strip("{}")
            stored[task] = {int(x) for x in inner.split(",")} if inner else set()
        return stored

    def sql_checks(self, world):
        """Per task: rows, distinct seqs, seqs beyond MESSAGES, rows whose payload is
        not the session's message for that seq, seqs stored before a lower seq."""
        w = lit(world.workspace_id)
        out = sql(f"""
            with m as (
                select m.*, lag(m.created_at) over (partition by m.task_id order by m.seq) as prev_at
                from agentlive.task_message m join agentlive.task t on t.id = m.task_id
                where t.workspace_id = {w})
            select t.id, t.status, coalesce(t.error, ''), count(m.seq), count(distinct m.seq),
                   count(m.seq) filter (where m.seq > {MESSAGES}),
                   count(m.seq) filter (where m.type is distinct from case when m.seq % 2 = 1 then 'tool_use' else 'tool_result' end
                                        or m.call_id is distinct from 'toolu_chaos_' || lpad(((m.seq + 1) / 2)::text, 6, '0')),
                   count(m.seq) filter (where m.created_at < m.prev_at)
            from agentlive.task t left join m on m.task_id = t.id
            where t.workspace_id = {w}
            group by t.id, t.status, t.error""")
        rows = []
        for line in out.splitlines():
            task, status, error, n, distinct, beyond, wrong, inverted = line.split("|")
            rows.append(dict(task=task, status=status, error=error, rows=int(n), distinct=int(distinct),
                             beyond=int(beyond), wrong=int(wrong), inverted=int(inverted)))
        return rows

    def stack_state(self):
        """{relay name: (pid, /health status)}, api supervisor, workers."""
        state = {}
        for relay in relays():
            try:
                code = relay.health()[0]
            except (requests.RequestException, ValueError):
                code = None
            state[relay.name] = (relay.live_pid(), code, relay.restarts())
        return state, supervisor_pid(), worker_pids()


def ranges(seqs):
    out, seqs = [], sorted(seqs)
    for s in seqs:
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def clock(t):
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}"


def write_lost_report(world, watchers, before):
    """chaos/lost.txt: per watcher that lacked messages before the final catch-up,
    the missing seqs, when they were stored, and what the watcher went through."""
    lacking = [w for w in watchers if before.get(w.index)]
    if not lacking:
        return ""
    lines = []
    for w in lacking:
        missing = sorted(before[w.index])
        stored_at = sql(f"select seq || ' ' || to_char(created_at at time zone 'UTC', 'HH24:MI:SS.MS') "
                        f"from agentlive.task_message where task_id = {lit(w.task)} "
                        f"and seq in ({','.join(map(str, missing[:50]))}) order by seq")
        lines.append(f"watcher {w.index} issue {w.issue} task {w.task}: missing {ranges(missing)}")
        lines += [f"    stored {line} UTC" for line in stored_at.splitlines()]
        lines += [f"    {clock(t)} {text}" for t, text in w.trace]
    (WORK / "lost.txt").write_text("\n".join(lines) + "\n")
    first = lacking[0]
    return (f"{len(lacking)} watchers lacked messages no close or resync had announced, e.g. watcher "
            f"{first.index}: seqs {ranges(before[first.index])} (details: {WORK / 'lost.txt'})")


def fmt_counts(counter):
    return ", ".join(f"{k} x{v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))) or "none"


def main():
    started = time.monotonic()
    run = Run()
    daemons = None
    up = False
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        wait_for_other_builds()
        log(f"stack {S} (nginx :{STACK_ENV['PORT']}, {STACK_ENV['RELAYS']} relays, "
            f"{STACK_ENV['WORKERS']} workers, {STACK_ENV['CONFIG']} build); seed {SEED}")
        stack("down", timeout=120, check=False)  # a stack left by an interrupted run
        stack("up", timeout=BUILD_WAIT + 120)
        up = True
        t_up = time.monotonic()
        if WORK.exists():
            shutil.rmtree(WORK)
        WORK.mkdir(parents=True)
        generate_session(WORK / "session.jsonl")
        world = World()
        daemons = Daemons(world)
        log_offsets = {p.name: file_size(p) for p in (S / "log").glob("*.log")}
        supervisor_before = supervisor_pid()
        workers_before = worker_pids()

        # Every wait inside is bounded; this bounds their sum.
        bound = DURATION + DRAIN + SETTLE + CATCH_UP_BOUND + 30

        async def bounded_load():
            try:
                await asyncio.wait_for(run.load(world, daemons), bound)
            except asyncio.TimeoutError:
                raise Abort(f"the load and its checks did not end within {bound} s") from None

        asyncio.run(bounded_load())

        # ---------------------------------------------------- checks
        alive = [p.poll() is None for p in daemons.procs]
        exits = {p.pid: p.returncode for p in daemons.procs if p.poll() is not None}
        relays, supervisor_after, workers_after = run.stack_state()
        sql_rows = run.sql_checks(world)
        throughput = sql("select count(*) || '|' || coalesce(extract(epoch from max(m.created_at) - min(m.created_at)), 0) "
                         "from agentlive.task_message m join agentlive.task t on t.id = m.task_id "
                         f"where t.workspace_id = {lit(world.workspace_id)}").split("|")
        stored_total, stored_span = int(throughput[0]), float(throughput[1])
        daemon_exit = daemons.stop()
        daemons_ok = sum(1 for i, p in enumerate(daemons.procs) if alive[i] or exits.get(p.pid) == 0)
        logs = {name: read_from(S / "log" / name, off) for name, off in log_offsets.items()}
        daemon_logs = daemons.logs()
        ws = run.watchers
        stored = run.stored
        faults = run.faults

        # Stored sequences.
        st_lost = sum(len(set(range(1, MESSAGES + 1)) - stored.get(r["task"], set())) for r in sql_rows)
        st_dup = sum(r["rows"] - r["distinct"] + r["beyond"] for r in sql_rows)
        st_ooo = sum(r["inverted"] for r in sql_rows)
        st_wrong = sum(r["wrong"] for r in sql_rows)
        completed = sum(r["status"] == "completed" for r in sql_rows)
        # Live streams.
        lv_lost = sum(len(v) for v in run.before.values())
        lv_dup = sum(w.live_repeats for w in ws)
        lv_ooo = sum(w.live_lower for w in ws)
        lv_wrong = sum(w.mismatched["live"] for w in ws)
        fn_wrong = sum(w.mismatched["caught-up"] for w in ws)
        # After the final catch-up.
        fn_lost = sum(len(stored.get(w.task, set()) - w.held) for w in ws)
        fn_extra = sum(len(w.held - stored.get(w.task, set())) for w in ws)
        fn_dup = sum(w.http_repeats for w in ws) + fn_extra
        fn_ooo = sum(w.http_lower for w in ws)
        catch_up_failures = sum(w.catch_up_failures for w in ws)
        lost_report = write_lost_report(world, ws, run.before)

        rows = [("stored sequences (SQL, per task 1..%d)" % MESSAGES, st_lost, st_dup, st_ooo, st_wrong),
                ("live streams (before the final catch-up)", lv_lost, lv_dup, lv_ooo, lv_wrong),
                ("watchers after the final catch-up", fn_lost, fn_dup, fn_ooo, fn_wrong)]
        for name, *counts in rows:
            if any(counts):
                run.fail(f"{name}: lost {counts[0]}, duplicated {counts[1]}, out of order {counts[2]}, "
                         f"mismatched {counts[3]}")
        if completed != TASKS:
            bad = [f"{r['task'][:8]} {r['status']} {r['error'][:80]!r}" for r in sql_rows if r["status"] != "completed"]
            run.fail(f"tasks completed {completed}/{TASKS}: {'; '.join(bad)}")
        if catch_up_failures:
            run.fail(f"{catch_up_failures} catch-ups failed")
        planned = RELAY_KILLS + WORKER_KILLS + PG_RESTARTS + NGINX_STOPS
        if faults.total != planned:
            run.fail(f"faults injected {faults.total}/{planned}: {'; '.join(faults.failed)}")

        # Nothing needed a manual restart.
        relay_kills = faults.done["relay"]
        relay_restarts = sum(r[2] for r in relays.values())
        relays_back = sum(1 for pid, code, _ in relays.values() if pid and code == 200)
        if relays_back != len(relays):
            run.fail(f"relays back by themselves {relays_back}/{len(relays)}: {relays}")
        if relay_restarts != relay_kills:
            run.fail(f"relay restarts {relay_restarts} for {relay_kills} kills: a relay ended by itself "
                     f"(see log/relay*.log)")
        api_log = logs.get("api.log", "")
        worker_exits = re.findall(r"status=(signal \d+|exit \d+) \[AgentLiveFastCGI\] worker exited", api_log)
        unexpected_exits = [s for s in worker_exits if s != "signal 9"]
        if supervisor_after != supervisor_before:
            run.fail(f"the API supervisor changed (pid {supervisor_before} -> {supervisor_after})")
        if len(workers_after) != int(STACK_ENV["WORKERS"]):
            run.fail(f"API workers {len(workers_after)}/{STACK_ENV['WORKERS']} after the run")
        if unexpected_exits:
            run.fail(f"API workers that ended by themselves: {Counter(unexpected_exits)}")
        if daemons_ok != len(daemons.procs):
            run.fail(f"daemons still running or exited 0: {daemons_ok}/{len(daemons.procs)} (exits {exits})")
        refused = sum(lg.count("the server refused a batch") for lg in daemon_logs)
        if refused:
            run.fail(f"daemons dropped {refused} batches the server refused (daemon-N.log)")
        crashes = [f"{name}: {line.strip()[:160]}" for name, text in logs.items() if name.startswith("relay")
                   for line in text.splitlines() if re.search(r"Fatal error|fatal|Crash|panic", line)]
        if crashes:
            run.fail("relay crash lines: " + " | ".join(crashes[:3]))

        # ---------------------------------------------------- the table
        live_total = sum(w.live_frames for w in ws)
        lines = []
        out = lines.append
        out("")
        out(f"AgentLive chaos — {DURATION} s load, {TASKS} tasks x {RATE} msg/s, {DAEMONS} daemons, "
            f"{WATCHERS} watchers, {STACK_ENV['RELAYS']} relays, {STACK_ENV['WORKERS']} workers, seed {SEED}")
        out(f"{'check':44} {'lost':>6} {'duplicated':>11} {'out of order':>13} {'mismatched':>11}")
        for name, *counts in rows:
            out(f"{name:44} {counts[0]:>6} {counts[1]:>11} {counts[2]:>13} {counts[3]:>11}")
        out(f"tasks completed            {completed}/{TASKS}"
            + ("" if completed == TASKS else f"  ({Counter(r['status'] for r in sql_rows)})"))
        out(f"faults injected            {faults.total}/{planned}: relay SIGKILL {faults.done['relay']}, "
            f"worker SIGKILL {faults.done['worker']}, postgres restart {faults.done['postgres']}, "
            f"nginx stop {faults.done['nginx']} (listening socket closed "
            f"{', '.join(f'{a:.1f}' for a in faults.nginx_away) or '-'} s: graceful stop + {NGINX_DOWN} s)")
        if lost_report:
            out(f"lost live                  {lost_report}")
        if run.unanswered:
            out(f"subscribe unanswered       on {len(run.unanswered)} open connections (no subscribed, no error, "
                f"no close), e.g. watcher {run.unanswered[0][0]} for {run.unanswered[0][1]:.0f} s")
            run.fail(f"the relay never answered a subscribe on {len(run.unanswered)} open connections")
        out(f"watchers                   reconnects {sum(max(0, w.connections - 1) for w in ws)} "
            f"(failed attempts {sum(w.connect_failures for w in ws)}), resyncs {sum(w.resyncs for w in ws)}, "
            f"catch-ups {sum(w.catch_ups for w in ws)} ({sum(w.fetched for w in ws)} messages fetched), "
            f"live gaps {sum(w.live_gaps for w in ws)}")
        closes = Counter()
        for w in ws:
            closes.update(w.close_codes)
        errors = Counter()
        for w in ws:
            errors.update(w.errors)
        out(f"                           close codes {fmt_counts(closes)}; error frames {fmt_counts(errors)}")
        span = stored_span if stored_span > 0 else 1
        out(f"messages stored            {stored_total} in {stored_span:.1f} s = {stored_total / span:.0f}/s "
            f"(expected {TASKS * MESSAGES}); live frames {live_total} = {live_total / max(run.load_seconds, 1):.0f}/s "
            f"during the load; drained in {run.drain_seconds:.1f} s after it")
        out(f"no manual restart          daemons {daemons_ok}/{len(daemons.procs)} same process or exit 0; "
            f"relays {relays_back}/{len(relays)} back by themselves ({relay_restarts} restarts for {relay_kills} kills); "
            f"API workers {len(workers_after)}/{STACK_ENV['WORKERS']} ({len(worker_exits)} exits, "
            f"{len(set(workers_before) - set(workers_after))} replaced, supervisor pid unchanged: "
            f"{supervisor_after == supervisor_before})")
        retries = sum(lg.count("retrying a batch") for lg in daemon_logs)
        out(f"daemons                    exit statuses after SIGTERM {sorted(daemon_exit.values())}; "
            f"batch retries {retries}")
        for note in run.notes:
            out(f"note                       {note}")
        examples = [e for w in ws for e in w.examples][:5]
        for e in examples:
            out(f"example                    {e}")
        for f in run.failures:
            out(f"FAIL                       {f}")
        out(f"RESULT: {'PASS' if not run.failures else 'FAIL'} in {time.monotonic() - started:.0f} s "
            f"({time.monotonic() - t_up:.0f} s after up); files in {WORK}")
        text = "\n".join(lines)
        print(text, flush=True)
        (WORK / "result.txt").write_text(text + "\n")
        return 0 if not run.failures else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (Abort, AssertionError) as e:  # AssertionError: StackError or a failed expect=
        log(f"cannot run: {e}")
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if daemons is not None:
            daemons.stop(bound=5)
        if up and not KEEP_STACK:
            stack("down", timeout=120, check=False)
            log("stack stopped")
        elif up:
            log(f"KEEP_STACK=1: the stack stays up (STACK_DIR={S} {STACK} down)")


if __name__ == "__main__":
    sys.exit(main())
