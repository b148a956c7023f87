"""Helpers shared by the end-to-end tests (Tests/e2e: conftest.py and the
test files) and by the fault scenario deploy/dev/chaos.py: one module, so that both
drive a stack the same way.

Why here: the e2e suite is its main user and pytest puts this folder on sys.path
(the folder of conftest.py); deploy/dev/chaos.py adds it to sys.path itself, so
nothing needs installing. It does not import pytest; failures of stack commands,
psql and `expect=` checks raise AssertionError (StackError for the commands) so
that pytest reports them as test failures and chaos.py as "cannot run".

What: reading the stack (AGENTLIVE_URL, STACK_DIR, AGENTLIVE_STACK, its settings
file, pid files), `stack` verbs and SQL through `stack psql`, processes (the API
supervisor and workers, relays), HTTP clients with a token (Client: every response
is recorded for test_openapi.py unless record=False), a fresh workspace with
tokens (new_world / World), the messages a daemon posts, waiting for a condition,
and WebSocket clients (ws_open, LiveClient, Live).

Environment, read once at import (chaos.py sets it before importing):
  AGENTLIVE_URL    base URL of nginx, e.g. http://127.0.0.1:18080
  STACK_DIR        the stack's folder (run/api.pid, settings, log/)
  AGENTLIVE_STACK  path to deploy/dev/stack [the one of this checkout]
"""
import asyncio
import json
import os
import pathlib
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import requests
import websockets
from websockets.asyncio.client import connect as ws_connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("AGENTLIVE_URL", "").rstrip("/")
STACK = os.environ.get("AGENTLIVE_STACK", "") or str(ROOT / "deploy" / "dev" / "stack")
STACK_DIR = os.environ.get("STACK_DIR", "")
TIMEOUT = 10  # seconds, every HTTP request
MiB = 1024 * 1024

_UNSET = object()


# ---------------------------------------------------------------- HTTP recording

@dataclass
class Recorded:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes
    headers: dict


RECORDED: list = []  # list.append is atomic: threads may record too


def _record(resp, *args, **kwargs):
    RECORDED.append(Recorded(resp.request.method, urlsplit(resp.url).path, resp.status_code,
                             resp.headers.get("Content-Type", ""), resp.content,
                             dict(resp.headers)))


def describe(r):
    body = r.content[:600].decode("utf-8", "replace")
    return f"{r.request.method} {urlsplit(r.url).path} -> {r.status_code} {body}"


class Client:
    """A requests session on BASE_URL with a timeout on every request; records responses.
    `origin` is sent as the Origin header, as a browser's page would (the session
    cookie counts for state changes only from the page's own origin). record=False:
    responses are not kept (a long load, e.g. chaos.py's catch-ups)."""

    def __init__(self, token: Optional[str] = None, origin: Optional[str] = None, record: bool = True):
        self.s = requests.Session()
        if record:
            self.s.hooks["response"].append(_record)
        if token is not None:
            self.s.headers["Authorization"] = f"Bearer {token}"
        if origin is not None:
            self.s.headers["Origin"] = origin

    def request(self, method, path, *, json=_UNSET, data=None, headers=None, params=None,
                cookies=None, expect=None, timeout=TIMEOUT):
        kw = {} if json is _UNSET else {"json": json}
        r = self.s.request(method, BASE_URL + path, data=data, headers=headers, params=params,
                           cookies=cookies, timeout=timeout, allow_redirects=False, **kw)
        if expect is not None:
            assert r.status_code == expect, describe(r)
            if expect != 204:
                assert_json(r)
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=_UNSET, **kw):
        return self.request("POST", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def assert_json(r):
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", f"Content-Type {ctype!r}: {describe(r)}"
    return r.json()


def assert_error(r, status, code):
    """The response is the contract's error object with this status and code."""
    assert r.status_code == status, describe(r)
    body = assert_json(r)
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), describe(r)
    assert body["error"].get("code") == code, describe(r)
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], describe(r)
    return body


# ---------------------------------------------------------------- processes, SQL

def lit(value) -> str:
    """A SQL literal."""
    return "'" + str(value).replace("'", "''") + "'"


class StackError(AssertionError):
    """A `stack` verb or psql failed (an AssertionError: a test failure under pytest)."""


def stack(*args, timeout=120, check=True) -> str:
    """Run deploy/dev/stack with these arguments; its stdout. check=False: a failure is no error."""
    p = subprocess.run([STACK, *args], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise StackError(f"stack {' '.join(args)} failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p.stdout


def sql(*queries, timeout=60) -> str:
    """Run SQL statements (one psql session, in order) as the db owner; unaligned tuples."""
    cmd = [STACK, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    for q in queries:
        cmd += ["-c", q]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        shown = "; ".join(q[:300] for q in queries)[:1000]
        raise StackError(f"psql failed ({p.returncode}) on {shown}:\n{p.stderr[-4000:]}")
    return p.stdout.strip()


def sql_int(query) -> int:
    return int(sql(query))


def int_array(text) -> list:
    """A PostgreSQL integer array as psql prints it ({1,2,3}) as a list."""
    inner = text.strip().strip("{}")
    return [int(x) for x in inner.split(",")] if inner else []


def stored_seqs(task_id) -> list:
    return int_array(sql("select coalesce(array_agg(seq order by seq), '{}') "
                         f"from agentlive.task_message where task_id = {lit(task_id)}"))


def wait_until(predicate, timeout, what, interval=0.2):
    """Poll predicate() until it returns a truthy value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, OSError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def read_int(path) -> Optional[int]:
    """The whole number in a file (a pid file, a counter), or None (no file, not a number)."""
    try:
        return int(pathlib.Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def supervisor_pid() -> Optional[int]:
    """The API supervisor's pid (run/api.pid), None without one."""
    return read_int(pathlib.Path(STACK_DIR, "run", "api.pid"))


def worker_pids(supervisor=None) -> set:
    """The live children of the API supervisor (the stack's unless given): its workers."""
    supervisor = supervisor or supervisor_pid()
    if not supervisor:
        return set()
    p = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True, timeout=10)
    return {int(x) for x in p.stdout.split() if pid_alive(int(x))}


RETRY_STATUSES = {502, 503, 504}


def post_with_retry(client, path, body, attempts=100, pause=0.1):
    """POST, retrying on 502/503/504 and connection errors (bounded). Returns the response."""
    for _ in range(attempts):
        try:
            r = client.post(path, json=body)
        except requests.ConnectionError:
            time.sleep(pause)
            continue
        if r.status_code not in RETRY_STATUSES:
            return r
        time.sleep(pause)
    raise AssertionError(f"POST {path}: still failing after {attempts} attempts")


# ---------------------------------------------------------------- messages

def msg(seq, type=None, **fields):
    """A TaskMessagePayload for a batch. Without a type, cycles through the 4 types."""
    kind = type or ("text", "tool_use", "tool_result", "error")[(seq - 1) % 4]
    m = {"seq": seq, "type": kind}
    if kind == "text":
        m["content"] = f"step {seq}: ünïcödé ✓ 日本語 🚀 \"quoted\" \\ back\nnew line"
    elif kind == "tool_use":
        m.update(tool="Bash", call_id=f"call_{seq}",
                 input={"command": f"echo {seq}", "flags": [1, 2.5, True, None], "nested": {"k": "ü"}})
    elif kind == "tool_result":
        m.update(tool="Bash", call_id=f"call_{seq - 1}", output=f"{seq}\n", is_error=seq % 8 == 3)
    else:
        m["content"] = f"error ⚠ {seq}"
    m.update(fields)
    return m


def batch(first, last, **fields):
    return {"messages": [msg(s, **fields) for s in range(first, last + 1)]}


def assert_same_messages(stored, sent, task_id, issue_id):
    """Stored messages (catch-up answer) carry exactly what was sent, plus ids and created_at."""
    assert [m["seq"] for m in stored] == [m["seq"] for m in sent]
    for got, want in zip(stored, sent):
        for key, value in want.items():
            assert got.get(key) == value, f"seq {want['seq']} field {key}: {got.get(key)!r} != {value!r}"
        assert got["task_id"] == task_id and got["issue_id"] == issue_id
        assert isinstance(got.get("created_at"), str)
        assert None not in got.values(), f"absent fields must be omitted, not null: {got}"


# ---------------------------------------------------------------- the world

@dataclass
class Running:
    issue_id: str
    task_id: str


@dataclass
class World:
    """A fresh workspace with one member, one agent, a user token and a daemon token."""
    slug: str
    workspace_id: str
    user_id: str
    email: str
    password: str
    agent_id: str
    user_token: str
    daemon_token: str
    user_label: str
    daemon_label: str
    user: Client = field(init=False)
    daemon: Client = field(init=False)
    daemon_id: Optional[str] = None

    def __post_init__(self):
        self.user = Client(self.user_token)
        self.daemon = Client(self.daemon_token)

    # people
    def create_issue(self, title=None, description="Fix the thing. Ünïcode ✓"):
        return self.user.post("/api/issues", json={"title": title or f"issue {uuid.uuid4().hex[:8]}",
                                                   "description": description}, expect=201).json()

    def assign(self, issue_id, agent_id=None):
        return self.user.post(f"/api/issues/{issue_id}/assign",
                              json={"agent_id": agent_id or self.agent_id}, expect=201).json()

    def task(self, task_id):
        return self.user.get(f"/api/tasks/{task_id}", expect=200).json()

    def issue(self, issue_id):
        return self.user.get(f"/api/issues/{issue_id}", expect=200).json()

    def active_task(self, issue_id):
        return self.user.get(f"/api/issues/{issue_id}/active-task", expect=200).json()["task"]

    def timeline(self, issue_id):
        return self.user.get(f"/api/issues/{issue_id}/timeline", expect=200).json()["entries"]

    def messages_page(self, task_id, client=None, prefix="/api/tasks", **params):
        return (client or self.user).get(f"{prefix}/{task_id}/messages", params=params,
                                         expect=200).json()

    def all_messages(self, task_id, limit=1000):
        out, after = [], 0
        for _ in range(10_000):
            page = self.messages_page(task_id, after=after, limit=limit)
            out += page["messages"]
            after = page["last_seq"]
            if not page["has_more"]:
                return out
        raise AssertionError("catch-up never ended")

    # daemon
    def register(self, daemon_id=None):
        daemon_id = daemon_id or str(uuid.uuid4())
        body = {"daemon_id": daemon_id, "agent_id": self.agent_id,
                "runtimes": [{"type": "claude", "version": "1.0.0", "status": "ready"}]}
        reg = self.daemon.post("/api/daemon/register", json=body, expect=200).json()
        self.daemon_id = daemon_id
        return reg

    def ensure_registered(self):
        if self.daemon_id is None:
            self.register()

    def heartbeat(self, current_tasks):
        self.ensure_registered()
        body = {"daemon_id": self.daemon_id, "agent_id": self.agent_id, "current_tasks": current_tasks}
        return self.daemon.post("/api/daemon/heartbeat", json=body, expect=200).json()["cancel_task_ids"]

    def claim(self, expect=200):
        self.ensure_registered()
        r = self.daemon.post("/api/daemon/tasks/claim",
                             json={"daemon_id": self.daemon_id, "agent_id": self.agent_id}, expect=expect)
        return r.json() if expect == 200 else r

    def start(self, task_id):
        return self.daemon.post(f"/api/daemon/tasks/{task_id}/start", json={}, expect=200).json()

    def post_messages(self, task_id, body, expect=200):
        r = self.daemon.post(f"/api/daemon/tasks/{task_id}/messages", json=body, expect=expect)
        return r.json()

    def complete(self, task_id, **body):
        return self.daemon.post(f"/api/daemon/tasks/{task_id}/complete", json=body, expect=200).json()

    def fail(self, task_id, error):
        return self.daemon.post(f"/api/daemon/tasks/{task_id}/fail", json={"error": error},
                                expect=200).json()

    def queued_task(self):
        issue = self.create_issue()
        return Running(issue["id"], self.assign(issue["id"])["id"])

    def dispatched_task(self):
        t = self.queued_task()
        dispatch = self.claim()
        assert dispatch["task_id"] == t.task_id and dispatch["issue_id"] == t.issue_id, dispatch
        return t

    def running_task(self):
        t = self.dispatched_task()
        assert self.start(t.task_id)["status"] == "running"
        return t

    def counts(self):
        """Rows of this workspace: (issues, comments, tasks, task messages)."""
        w = lit(self.workspace_id)
        return sql(
            f"select (select count(*) from agentlive.issue where workspace_id = {w}) || ',' || "
            f"(select count(*) from agentlive.comment c join agentlive.issue i on i.id = c.issue_id "
            f" where i.workspace_id = {w}) || ',' || "
            f"(select count(*) from agentlive.task where workspace_id = {w}) || ',' || "
            f"(select count(*) from agentlive.task_message m join agentlive.task t on t.id = m.task_id "
            f" where t.workspace_id = {w})")


def new_world(prefix="t", runtime="claude") -> World:
    """A fresh workspace (slug prefix + random), made with SQL; its agent's runtime."""
    slug = f"{prefix}{uuid.uuid4().hex[:12]}"
    email, password = f"{slug}@example.test", f"pw-{uuid.uuid4().hex}"
    user_label, daemon_label = f"user-{slug}", f"daemon-{slug}"
    out = sql(
        f"select 'workspace_id=' || agentlive.create_workspace({lit(slug)}, {lit('Workspace ' + slug)})",
        f"select 'user_id=' || agentlive.create_user({lit(email)}, {lit('Tester ' + slug)}, {lit(password)})",
        f"select agentlive.add_member({lit(slug)}, {lit(email)}, 'member')",
        f"select 'agent_id=' || agentlive.create_agent({lit(slug)}, 'agent-{slug}', {lit(runtime)})",
        f"select 'user_token=' || agentlive.create_user_token({lit(email)}, {lit(user_label)})",
        f"select 'daemon_token=' || agentlive.create_daemon_token({lit(slug)}, {lit(daemon_label)})",
    )
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return World(slug=slug, email=email, password=password, user_label=user_label,
                 daemon_label=daemon_label, **values)


# ---------------------------------------------------------------- relays

def stack_settings() -> dict:
    """What `stack up` saved: RELAY_PORT, RELAYS, PORT…"""
    text = pathlib.Path(STACK_DIR, "settings").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@dataclass
class Relay:
    name: str  # relay, relay-2, …: run/<name>.pid, log/<name>.log
    port: int

    @property
    def pid_file(self):
        return pathlib.Path(STACK_DIR, "run", f"{self.name}.pid")

    def pid(self) -> int:
        return int(self.pid_file.read_text().strip())

    def live_pid(self) -> Optional[int]:
        """The relay's pid while that process runs agentlive-relay, else None (between a
        kill and its supervisor's restart)."""
        pid = read_int(self.pid_file)
        return pid if pid and pid_alive(pid) and "agentlive-relay" in cmdline(pid) else None

    def restarts(self) -> int:
        """How often its supervisor in the stack restarted it."""
        return read_int(pathlib.Path(STACK_DIR, "run", "supervisor", f"{self.name}.restarts")) or 0

    def health(self):
        """(status code, JSON body) of the relay's own /health, on its port."""
        r = requests.get(f"http://127.0.0.1:{self.port}/health", timeout=TIMEOUT)
        return r.status_code, r.json()

    def connections(self) -> int:
        return self.health()[1]["connections"]

    def log(self) -> str:
        return pathlib.Path(STACK_DIR, "log", f"{self.name}.log").read_text(errors="replace")


def relays() -> list:
    """The stack's relays (RELAYS=N: ports RELAY_PORT, RELAY_PORT+1, …)."""
    settings = stack_settings()
    first, count = int(settings.get("RELAY_PORT", 8081)), int(settings.get("RELAYS", 1))
    return [Relay("relay" if i == 1 else f"relay-{i}", first + i - 1) for i in range(1, count + 1)]


def relay_env(relay: Relay) -> dict:
    """The environment the relay process runs with (its AGENTLIVE_WS_QUEUE_* limits)."""
    raw = pathlib.Path(f"/proc/{relay.pid()}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def relays_healthy():
    return all(r.health()[0] == 200 for r in relays())


# ---------------------------------------------------------------- WebSocket clients

WS_URL = ("ws" + BASE_URL[len("http"):] + "/ws") if BASE_URL.startswith("http") else ""
WS_WAIT = 10  # seconds: the default bound of every wait for a frame


def frame_json(type, payload=None) -> str:
    return json.dumps({"type": type} if payload is None else {"type": type, "payload": payload})


async def ws_open(url=None, token=None, headers=None, **options):
    """A WebSocket connection (to WS_URL unless told otherwise), with the Bearer token if
    given: no message size limit, no compression, no proxy; options override these."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    settings = dict(additional_headers=hdrs, max_size=None, compression=None, proxy=None,
                    open_timeout=WS_WAIT, close_timeout=2)
    settings.update(options)
    return await ws_connect(url or WS_URL, **settings)


class LiveClient:
    """One WebSocket connection to /ws (through nginx unless told otherwise)."""

    def __init__(self, conn, label):
        self.conn = conn
        self.label = label

    async def send(self, type, payload=None):
        await self.conn.send(frame_json(type, payload))

    async def recv(self, timeout=WS_WAIT) -> dict:
        """The next frame, decoded. ConnectionClosed propagates; a timeout is a failure."""
        try:
            raw = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.label}: no frame within {timeout} s") from None
        assert isinstance(raw, str), f"{self.label}: the server sent a binary frame"
        return json.loads(raw)

    async def expect(self, type, timeout=WS_WAIT, skip=()) -> dict:
        """The next frame, which must have this type (frames whose type is in skip are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame.get("type") in skip:
                continue
            assert frame.get("type") == type, f"{self.label}: expected {type}, got {frame}"
            return frame

    async def expect_error(self, code, timeout=WS_WAIT) -> dict:
        frame = await self.expect("error", timeout)
        assert frame["payload"].get("code") == code, f"{self.label}: expected error {code}, got {frame}"
        assert isinstance(frame["payload"].get("message"), str) and frame["payload"]["message"]
        return frame["payload"]

    async def auth(self, token):
        await self.send("auth", {"token": token})
        await self.expect("authenticated")

    async def subscribe(self, issue_id):
        await self.send("subscribe", {"issue_id": issue_id})
        frame = await self.expect("subscribed")
        assert frame["payload"] == {"issue_id": issue_id}, frame

    async def barrier(self, timeout=WS_WAIT) -> list:
        """Ping; the frames that came before the pong. Replies go through the same
        queue as events, so every event published before the ping is among them."""
        await self.send("ping")
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame.get("type") == "pong":
                return frames
            frames.append(frame)

    async def until(self, predicate, timeout, what) -> list:
        """Frames up to and including the first for which predicate(frame) is true."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.label}: no {what} within {timeout} s; "
                                     f"got {len(frames)} frames, last {frames[-1:]}")
            frame = await self.recv(left)
            frames.append(frame)
            if predicate(frame):
                return frames

    async def closed(self, timeout=WS_WAIT):
        """Reads until the server closes; (close code it sent or None, frames read)."""
        frames = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.label}: still open after {timeout} s "
                                         f"({len(frames)} frames read, last {frames[-1:]})")
                raw = await asyncio.wait_for(self.conn.recv(), left)
                frames.append(json.loads(raw) if isinstance(raw, str) else raw)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.label}: still open after {timeout} s") from None
        except websockets.ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd else None), frames

    async def alive(self):
        """The connection still answers (ping -> pong) and nothing else was pending."""
        assert await self.barrier() == [], f"{self.label}: unexpected frames"


class Live:
    """Opens WebSocket clients and runs a test's coroutine; closes them all at the end."""

    def __init__(self):
        self.clients = []

    async def connect(self, token=None, cookie=None, headers=None, url=None, label=None,
                      first_frame=None, small_rcvbuf=False, **kw) -> LiveClient:
        """token: Bearer header; cookie: the agentlive_session value; first_frame: token
        sent as the auth frame. small_rcvbuf: a 4 KiB socket receive buffer (a reader
        that stops reading stalls the relay quickly)."""
        hdrs = dict(headers or {})
        if cookie is not None:
            hdrs["Cookie"] = f"agentlive_session={cookie}"
        url = url or WS_URL
        options = {}
        if small_rcvbuf:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            host, port = urlsplit(url).hostname, urlsplit(url).port
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), WS_WAIT)
            options["sock"] = sock
        options.update(kw)
        conn = await ws_open(url, token=token, headers=hdrs, **options)
        client = LiveClient(conn, label or f"client {len(self.clients) + 1}")
        self.clients.append(client)
        if first_frame is not None:
            await client.auth(first_frame)
        return client

    async def _close_all(self):
        async def close(c):
            try:
                await asyncio.wait_for(c.conn.close(), 3)
            except BaseException:
                c.conn.transport.abort()
        await asyncio.gather(*(close(c) for c in self.clients), return_exceptions=True)
        self.clients = []

    def run(self, main, timeout=120):
        """asyncio.run(main()), failing after timeout seconds."""
        async def wrapper():
            try:
                return await asyncio.wait_for(main(), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"the test's coroutine did not end within {timeout} s") from None
            finally:
                await self._close_all()
        return asyncio.run(wrapper())


def event_types(frames) -> list:
    return [f["type"] for f in frames]
