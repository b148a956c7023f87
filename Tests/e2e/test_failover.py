"""PostgreSQL failover mid-stream, on a stack of its own with a synchronous standby
(`STANDBY=1 deploy/dev/stack up`, then `deploy/dev/stack failover`).

Daemons stream batches and watchers watch while the primary is stopped at once and
the standby promoted. Afterwards: every batch acknowledged to a daemon is on the new
primary, each task's messages are 1..N, every watcher ends exact after catch-up, the
API answered only 502/503 (never another error) meanwhile and served again within
10 s, and no process was restarted by hand (same pids)."""
import asyncio
import json
import os
import pathlib
import shutil
import subprocess
import threading
import time
import uuid

import pytest
import requests
from websockets.asyncio.client import connect as ws_connect

from agentlive_fixtures import ROOT, STACK, stack_settings

DAEMONS, WATCHERS, BATCH = 3, 6, 5
BEFORE_S, AFTER_S = 3.0, 6.0


class FailoverStack:
    def __init__(self):
        base = int(stack_settings()["PORT"]) + 820
        self.dir = ROOT / ".stack-failover"
        self.env = dict(os.environ, STACK_DIR=str(self.dir), PORT=str(base), RELAY_PORT=str(base + 1), RELAYS="2",
                        WORKERS="2", STANDBY="1", STACK_FAST="1", CONFIG="debug")
        self.url = f"http://127.0.0.1:{base}"

    def run(self, *args, timeout=300):
        p = subprocess.run([STACK, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, f"stack {args}: {p.stdout}\n{p.stderr}"
        return p.stdout

    def sql(self, query):
        return self.run("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", query).strip()

    def pids(self):
        names = {"api": "api.pid", "relay": "relay.pid", "relay-2": "relay-2.pid"}
        return {k: (self.dir / "run" / v).read_text().strip() for k, v in names.items()}


@pytest.fixture(scope="module")
def failover_stack():
    stack = FailoverStack()
    subprocess.run([STACK, "down"], env=stack.env, capture_output=True, timeout=120)
    shutil.rmtree(stack.dir, ignore_errors=True)
    try:
        stack.run("up")
        yield stack
    finally:
        subprocess.run([STACK, "down"], env=stack.env, capture_output=True, timeout=120)
        shutil.rmtree(stack.dir, ignore_errors=True)


class Daemon(threading.Thread):
    """Posts batches to its task as fast as the API takes them; retries a batch on
    502/503 or a broken connection, as agentlive-daemon does; records what was acknowledged."""

    def __init__(self, stack, token, agent, user, stop):
        super().__init__(daemon=True)
        self.stack, self.stop, self.acked, self.errors, self.retries = stack, stop, 0, [], 0
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"
        u = requests.Session()
        u.headers["Authorization"] = f"Bearer {user}"
        daemon_id = str(uuid.uuid4())
        self.post("/api/daemon/register", {"daemon_id": daemon_id, "agent_id": agent, "runtimes": []})
        issue = u.post(stack.url + "/api/issues", json={"title": f"failover {daemon_id[:8]}"}, timeout=10).json()
        self.issue = issue["id"]
        self.task = u.post(stack.url + f"/api/issues/{self.issue}/assign", json={"agent_id": agent}, timeout=10).json()["id"]
        claimed = self.post("/api/daemon/tasks/claim", {"daemon_id": daemon_id, "agent_id": agent})
        assert claimed["task_id"] == self.task
        self.post(f"/api/daemon/tasks/{self.task}/start", {})

    def post(self, path, body):
        r = self.s.post(self.stack.url + path, json=body, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def run(self):
        seq = 0
        while not self.stop.is_set():
            batch = [{"seq": s, "type": "text", "content": f"m{s}"} for s in range(seq + 1, seq + BATCH + 1)]
            try:
                r = self.s.post(self.stack.url + f"/api/daemon/tasks/{self.task}/messages",
                                json={"messages": batch}, timeout=10)
            except requests.RequestException:
                self.retries += 1
                time.sleep(0.1)
                continue
            if r.status_code in (502, 503):
                self.retries += 1
                time.sleep(0.1)
                continue
            if r.status_code != 200:
                self.errors.append(f"{r.status_code} {r.text[:200]}")
                return
            seq += BATCH
            self.acked = seq
            time.sleep(0.02)


async def watch(stack, token, issues, stop, seen):
    """Subscribes to the issues; reconnects after a close and catches up over HTTP."""
    headers = {"Authorization": f"Bearer {token}"}
    ws_url = stack.url.replace("http://", "ws://") + "/ws"
    last = {}
    while not stop.is_set():
        try:
            async with ws_connect(ws_url, additional_headers=headers, open_timeout=5) as ws:
                for issue in issues:
                    await ws.send(json.dumps({"type": "subscribe", "payload": {"issue_id": issue}}))
                await catch_up(stack, headers, last, seen)
                while not stop.is_set():
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except asyncio.TimeoutError:
                        continue
                    if frame["type"] == "resync":
                        await catch_up(stack, headers, last, seen)
                    elif frame["type"] == "task:message":
                        m = frame["payload"]
                        if m["seq"] > last.get(m["task_id"], 0):
                            seen.setdefault(m["task_id"], []).append(m["seq"])
                            last[m["task_id"]] = m["seq"]
        except Exception:  # closed, refused, timed out: reconnect
            if stop.is_set():
                break
            await asyncio.sleep(0.2)
    await catch_up(stack, headers, last, seen, final=True)


async def catch_up(stack, headers, last, seen, final=False):
    loop = asyncio.get_running_loop()
    for task in list(last) if not final else list(set(last) | set(seen)):
        after = last.get(task, 0)
        for _ in range(200):
            try:
                r = await loop.run_in_executor(None, lambda: requests.get(
                    stack.url + f"/api/tasks/{task}/messages", params={"after": after}, headers=headers, timeout=10))
            except requests.RequestException:
                await asyncio.sleep(0.2)
                continue
            if r.status_code in (502, 503):
                await asyncio.sleep(0.2)
                continue
            page = r.json()
            for m in page["messages"]:
                seen.setdefault(task, []).append(m["seq"])
            after = page["last_seq"]
            last[task] = after
            if not page["has_more"]:
                break


def test_a_failover_mid_stream_loses_nothing_acknowledged(failover_stack):
    stack = failover_stack
    slug = f"fo{uuid.uuid4().hex[:8]}"
    stack.sql(f"select agentlive.create_workspace('{slug}', 'Failover')")
    stack.sql(f"select agentlive.create_user('{slug}@x.test', 'W', null)")
    stack.sql(f"select agentlive.add_member('{slug}', '{slug}@x.test', 'member')")
    user = stack.sql(f"select agentlive.create_user_token('{slug}@x.test', 'w')")
    before_pids = stack.pids()
    stop = threading.Event()
    daemons = []
    for i in range(DAEMONS):
        agent = stack.sql(f"select agentlive.create_agent('{slug}', 'a{i}', 'claude')")
        token = stack.sql(f"select agentlive.create_daemon_token('{slug}', 'd{i}')")
        daemons.append(Daemon(stack, token, agent, user, stop))
    issues = [d.issue for d in daemons]
    seen = [dict() for _ in range(WATCHERS)]

    async def main():
        watch_stop = asyncio.Event()
        watchers = [asyncio.create_task(watch(stack, user, issues, watch_stop, seen[i])) for i in range(WATCHERS)]
        await asyncio.sleep(0.5)
        for d in daemons:
            d.start()
        await asyncio.sleep(BEFORE_S)
        acked_before = {d.task: d.acked for d in daemons}
        loop = asyncio.get_running_loop()
        failed_over_at = time.monotonic()
        await loop.run_in_executor(None, stack.run, "failover")
        statuses = []
        recovered = None
        while time.monotonic() - failed_over_at < 30:
            try:
                code = (await loop.run_in_executor(None, lambda: requests.get(stack.url + "/api/health", timeout=5))).status_code
            except requests.RequestException:
                code = 0
            statuses.append(code)
            if code == 200:
                recovered = time.monotonic() - failed_over_at
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(AFTER_S)
        stop.set()
        for d in daemons:
            await loop.run_in_executor(None, d.join, 15)
        await asyncio.sleep(1.0)  # the last events reach the watchers
        watch_stop.set()
        await asyncio.wait_for(asyncio.gather(*watchers), 60)
        return acked_before, recovered, statuses

    acked_before, recovered, statuses = asyncio.run(main())
    print(f"\nfailover: API healthy again after {recovered} s (health answers {sorted(set(statuses))}); "
          f"acknowledged before {acked_before}, after {[d.acked for d in daemons]}; "
          f"batch retries {[d.retries for d in daemons]}")
    assert recovered is not None and recovered <= 10, f"the API did not serve again within 10 s: {statuses}"
    assert set(statuses) <= {0, 200, 502, 503}, statuses
    for d in daemons:
        assert not d.errors, d.errors
        stored = stack.sql(f"select coalesce(array_agg(seq order by seq), '{{}}') from agentlive.task_message "
                           f"where task_id = '{d.task}'").strip("{}")
        seqs = [int(x) for x in stored.split(",")] if stored else []
        assert seqs == list(range(1, len(seqs) + 1)), f"task {d.task}: holes or repeats"
        assert len(seqs) >= d.acked >= acked_before[d.task] > 0, \
            f"task {d.task}: {len(seqs)} stored, {d.acked} acknowledged"
        for i, watcher in enumerate(seen):
            got = watcher.get(d.task, [])
            assert sorted(set(got)) == seqs, f"watcher {i}, task {d.task}: {len(set(got))} of {len(seqs)}"
            assert got == sorted(got) and len(got) == len(set(got)), f"watcher {i}: repeats or out of order"
    assert stack.pids() == before_pids, "a process was restarted"
    assert "postgres-standby  running" in stack.run("status")
