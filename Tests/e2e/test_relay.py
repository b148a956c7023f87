"""The WebSocket relay, through nginx (ws://127.0.0.1:$PORT/ws): events of a task driven
over the REST API, authentication, isolation, big messages, operator cancels, database
restarts, slow clients, several relays, SIGTERM and abuse.

Every wait is bounded; nothing here measures speed. Relays are found from the stack's
settings (RELAY_PORT, RELAYS) and pid files (run/relay.pid, run/relay-2.pid …).
`stack test` runs two relays, so the tests that need two run in CI.
"""
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from multiprocessing.pool import ThreadPool

import pytest
import websockets

from agentlive_fixtures import (BASE_URL, STACK_DIR, MiB, Client, Relay, assert_same_messages, batch, describe, event_types,
                      lit, msg, post_with_retry, relay_env, relays, relays_healthy, sql, stack,
                      stack_settings, stored_seqs, wait_until)

KiB = 1024


def seqs_of(frames):
    return [f["payload"]["seq"] for f in frames if f["type"] == "task:message"]


def bogus_token(prefix="alu"):
    """Well formed (prefix, 32 hex id, 48 hex secret), but no such token."""
    return f"{prefix}_{uuid.uuid4().hex}_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"


async def http(fn, *args, **kw):
    """A blocking HTTP/SQL helper, off the event loop (clients keep reading meanwhile)."""
    return await asyncio.to_thread(fn, *args, **kw)


async def comment(world, issue_id, content):
    r = await http(world.user.post, f"/api/issues/{issue_id}/comments", json={"content": content},
                   expect=201)
    return r.json()


# ------------------------------------------------------------------- events of a task

def test_subscriber_gets_every_event_of_a_task_in_order(world, live):
    issue = world.create_issue()["id"]
    other_issue = world.create_issue()["id"]
    sent = [msg(s) for s in range(1, 301)]
    batches = [(0, 7), (7, 57), (57, 157), (157, 300)]  # uneven batch sizes

    async def main():
        watcher = await live.connect(token=world.user_token, label="watcher")
        await watcher.subscribe(issue)
        bystander = await live.connect(token=world.user_token, label="bystander")
        await bystander.subscribe(other_issue)

        task = (await http(world.assign, issue))["id"]
        await http(world.claim)
        await http(world.start, task)
        await http(world.daemon.post, f"/api/daemon/tasks/{task}/progress",
                   json={"summary": "reading the code", "step": 1, "total": 3}, expect=200)
        for lo, hi in batches:
            assert (await http(world.post_messages, task, {"messages": sent[lo:hi]}))["accepted"] == hi - lo
        await http(world.complete, task, output="all done ✓", pr_url="https://example.test/pr/1")

        frames = await watcher.until(lambda f: f["type"] == "task:completed", 60, "task:completed")
        assert event_types(frames) == (["task:queued", "task:dispatched", "task:started", "task:progress"]
                                       + ["task:message"] * 300 + ["task:completed"]), event_types(frames)
        for f in frames:
            assert f["payload"]["task_id"] == task and f["payload"]["issue_id"] == issue, f
        assert frames[0]["payload"]["status"] in {"queued", "dispatched", "running", "completed"}
        assert frames[3]["payload"] == {"task_id": task, "issue_id": issue, "summary": "reading the code",
                                        "step": 1, "total": 3}
        done = frames[-1]["payload"]
        assert done["status"] == "completed" and done["output"] == "all done ✓" and \
            done["pr_url"] == "https://example.test/pr/1" and done["last_seq"] == 300, done
        received = [f["payload"] for f in frames if f["type"] == "task:message"]
        assert [m["seq"] for m in received] == list(range(1, 301))
        assert_same_messages(received, sent, task, issue)
        # Exactly what the catch-up endpoint returns.
        assert received == await http(world.all_messages, task)

        assert await watcher.barrier() == [], "nothing after task:completed"
        # Events are fanned out in order: a misrouted one would precede the pong.
        assert await bystander.barrier() == [], "a client of another issue got events"

    live.run(main)


def test_comments_and_unsubscribe(world, live):
    issue = world.create_issue()["id"]

    async def main():
        c = await live.connect(token=world.user_token)
        await c.subscribe(issue)
        made = await comment(world, issue, "looks good 👍")
        frame = await c.expect("comment:created")
        assert frame["payload"] == made, frame
        await c.send("unsubscribe", {"issue_id": issue})
        assert (await c.expect("unsubscribed"))["payload"] == {"issue_id": issue}
        await comment(world, issue, "nobody listens")
        assert await c.barrier() == [], "events after unsubscribe"

    live.run(main)


# ------------------------------------------------------------------- authentication

def test_session_cookie_works_at_the_upgrade(world, live):
    browser = Client(origin=BASE_URL)
    browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    cookie = browser.s.cookies.get("agentlive_session")
    assert cookie and cookie.startswith("als_")
    issue = world.create_issue()["id"]

    async def main():
        c = await live.connect(cookie=cookie, label="cookie")
        await c.subscribe(issue)
        made = await comment(world, issue, "via cookie")
        assert (await c.expect("comment:created"))["payload"]["id"] == made["id"]

    live.run(main)
    # A signed-out session no longer opens the socket.
    browser.delete("/api/session", expect=204)

    async def after_sign_out():
        c = await live.connect(cookie=cookie, label="old cookie")
        code, frames = await c.closed(5)
        assert code == 1008, (code, frames)

    live.run(after_sign_out)


def test_bearer_header_works_at_the_upgrade(world, live):
    issue = world.create_issue()["id"]

    async def main():
        c = await live.connect(token=world.user_token, label="bearer")
        await c.subscribe(issue)
        await comment(world, issue, "via bearer")
        await c.expect("comment:created")

    live.run(main)


def test_first_frame_auth(world, live):
    issue = world.create_issue()["id"]

    async def main():
        c = await live.connect(label="first frame")
        await c.send("subscribe", {"issue_id": issue})
        await c.expect_error("unauthorized")  # not yet authenticated: refused, still open
        await c.auth(world.user_token)
        await c.subscribe(issue)
        await comment(world, issue, "via first frame")
        await c.expect("comment:created")

    live.run(main)


@pytest.mark.parametrize("how", ["bearer-unknown", "bearer-malformed", "bearer-daemon", "cookie-unknown",
                                 "frame-unknown", "frame-malformed", "frame-daemon"])
def test_bad_credentials_get_unauthorized_and_1008(world, live, how):
    """Every refusal is an `unauthorized` error frame, then close 1008, at once."""
    token = {"bearer-unknown": bogus_token(), "bearer-malformed": "alu_not-a-token",
             "bearer-daemon": world.daemon_token, "cookie-unknown": bogus_token("als"),
             "frame-unknown": bogus_token(), "frame-malformed": "alu_not-a-token",
             "frame-daemon": world.daemon_token}[how]

    async def main():
        if how.startswith("bearer"):
            c = await live.connect(token=token, label=how)
        elif how.startswith("cookie"):
            c = await live.connect(cookie=token, label=how)
        else:
            c = await live.connect(label=how)
            await c.send("auth", {"token": token})
        # Well inside the 10 s authentication deadline: the refusal must be immediate.
        code, frames = await c.closed(5)
        assert [f.get("type") for f in frames] == ["error"] and \
            frames[0]["payload"]["code"] == "unauthorized", f"{how}: frames before the close: {frames}"
        assert code == 1008, f"{how}: close code {code}"

    live.run(main)


def test_connection_that_never_authenticates_is_closed_with_1008(live):
    async def main():
        c = await live.connect(label="silent")
        t0 = time.monotonic()
        code, frames = await c.closed(12.5)
        assert code == 1008, (code, frames)
        assert time.monotonic() - t0 >= 5, "closed long before the 10 s authentication deadline"

    live.run(main)


# ------------------------------------------------------------------- isolation

def test_other_workspace_is_forbidden_and_gets_nothing(world_factory, live):
    a, b = world_factory(), world_factory()
    t = a.running_task()
    own = b.create_issue()["id"]

    async def main():
        spy = await live.connect(token=b.user_token, label="other workspace")
        for issue in (t.issue_id, str(uuid.uuid4())):  # someone else's, and no such issue
            await spy.send("subscribe", {"issue_id": issue})
            err = await spy.expect_error("forbidden")
            assert err["issue_id"] == issue, err
        await spy.send("subscribe", {"issue_id": "not-a-uuid"})
        await spy.expect_error("invalid_message")
        await spy.subscribe(own)

        owner = await live.connect(token=a.user_token, label="owner")
        await owner.subscribe(t.issue_id)
        await http(a.post_messages, t.task_id, batch(1, 5))
        await comment(a, t.issue_id, "secret")
        await http(a.complete, t.task_id)
        frames = await owner.until(lambda f: f["type"] == "task:completed", 20, "task:completed")
        assert seqs_of(frames) == [1, 2, 3, 4, 5]
        assert await spy.barrier() == [], "events leaked to another workspace"
        # The spy's own subscription still works.
        await comment(b, own, "mine")
        assert (await spy.expect("comment:created"))["payload"]["issue_id"] == own

    live.run(main)


# ------------------------------------------------------------------- big messages

def test_big_messages_arrive_whole(world, live):
    t = world.running_task()
    big_output = ("résultat ✓ " * 20_000)[:200 * KiB]
    huge = "".join(chr(ord("a") + i % 26) for i in range(MiB))  # 1 MiB content, the limit
    sent = [msg(1, type="tool_result", tool="Bash", call_id="c1", output=big_output),
            msg(2, type="text", content=huge),
            msg(3)]

    async def main():
        c = await live.connect(token=world.user_token)
        await c.subscribe(t.issue_id)
        await http(world.post_messages, t.task_id, {"messages": sent[:1]})
        await http(world.post_messages, t.task_id, {"messages": sent[1:]})
        frames = [await c.expect("task:message", 30) for _ in sent]
        got = [f["payload"] for f in frames]
        assert [m["seq"] for m in got] == [1, 2, 3]
        assert len(got[0]["output"]) == len(big_output) and len(got[1]["content"]) == MiB
        assert_same_messages(got, sent, t.task_id, t.issue_id)

    live.run(main)


def test_small_statements_carry_their_messages_in_the_notification(world):
    """The relay needs no query for a small statement: its NOTIFY holds the header, then
    one document per line. A statement too big for NOTIFY's 8000 bytes sends the header
    alone, and the relay reads the rows (test_big_messages_arrive_whole)."""
    t = world.running_task()
    task = lit(t.task_id)
    out = sql("listen agentlive_events",
              f"insert into agentlive.task_message (task_id, seq, type, content) values "
              f"({task}, 1, 'text', 'one \"1\"'), ({task}, 2, 'text', E'two\\nlines')",
              f"insert into agentlive.task_message (task_id, seq, type, content) values "
              f"({task}, 3, 'text', repeat('x', 9000))")
    payloads = re.findall(r'with payload "(.*?)" received from server', out, re.S)
    assert len(payloads) == 2, out
    small, big = ([json.loads(line) for line in p.split("\n")] for p in payloads)
    assert small[0]["type"] == "task:message" and (small[0]["from_seq"], small[0]["to_seq"]) == (1, 2)
    assert [(m["seq"], m["content"], m["task_id"], m["issue_id"]) for m in small[1:]] == [
        (1, 'one "1"', t.task_id, t.issue_id), (2, "two\nlines", t.task_id, t.issue_id)]
    assert len(big) == 1 and (big[0]["from_seq"], big[0]["to_seq"]) == (3, 3)


# ------------------------------------------------------------------- operator SQL

def test_cancel_in_psql_reaches_subscribers(world, live):
    t = world.running_task()

    async def main():
        clients = [await live.connect(token=world.user_token, label=f"watcher {i}") for i in range(2)]
        for c in clients:
            await c.subscribe(t.issue_id)
        assert await http(sql, f"select agentlive.cancel_task({lit(t.task_id)})") == "t"
        for c in clients:
            frame = await c.expect("task:cancelled", 15)
            assert frame["payload"]["task_id"] == t.task_id and frame["payload"]["status"] == "cancelled"

    live.run(main)
    assert world.post_messages(t.task_id, batch(1, 1), expect=409)["error"]["code"] == "task_not_active"


# ------------------------------------------------------------------- database restart

def test_postgres_restart_resync_and_http_catch_up(world, live):
    """Messages keep coming while PostgreSQL restarts. The relay reconnects by itself,
    says `resync`; the client catches up over HTTP and merges by seq: in the end it
    holds every stored message exactly once, in order."""
    t = world.running_task()
    size = 10
    posted = [0]  # highest seq stored
    restarted = threading.Event()
    finished = threading.Event()
    errors, refused = [], []

    def poster():
        """Batches of 10 until 20 batches after the restart; retries 502/503/504."""
        client = Client(world.daemon_token)
        after_restart = 0
        try:
            while after_restart < 20:
                first = posted[0] + 1
                r = post_with_retry(client, f"/api/daemon/tasks/{t.task_id}/messages",
                                    batch(first, first + size - 1), attempts=300, pause=0.1)
                assert r.status_code == 200, describe(r)
                posted[0] = first + size - 1
                if restarted.is_set():
                    after_restart += 1
                time.sleep(0.02)
        except BaseException as e:
            errors.append(e)
        finally:
            finished.set()

    held, pending, live_seqs, resyncs = [], {}, [], []

    def last():
        return held[-1]["seq"] if held else 0

    def take(m):
        """Merge one message: append the next seq, drop what is held, park the rest."""
        if m["seq"] == last() + 1:
            held.append(m)
            while last() + 1 in pending:
                held.append(pending.pop(last() + 1))
        elif m["seq"] > last() + 1:
            pending[m["seq"]] = m

    def catch_up():
        """GET /api/tasks/{id}/messages?after=<last held>, every page (503: retried)."""
        page_client, after, out = Client(world.user_token), last(), []
        for _ in range(600):
            r = page_client.get(f"/api/tasks/{t.task_id}/messages", params={"after": after, "limit": 1000})
            if r.status_code in (502, 503, 504):
                refused.append(r.status_code)
                time.sleep(0.1)
                continue
            assert r.status_code == 200, describe(r)
            page = r.json()
            out += page["messages"]
            after = page["last_seq"]
            if not page["has_more"]:
                return out
        raise AssertionError("catch-up did not end")

    async def main():
        c = await live.connect(token=world.user_token, label="watcher")
        await c.subscribe(t.issue_id)
        thread = threading.Thread(target=poster, daemon=True)
        thread.start()

        async def restart():
            await http(wait_until, lambda: posted[0] >= 200 or errors, 60, "200 messages posted")
            await http(stack, "restart", "postgres")
            restarted.set()

        restarter = asyncio.create_task(restart())
        deadline = time.monotonic() + 150
        while not (finished.is_set() and last() >= posted[0]):
            assert not errors, errors
            assert time.monotonic() < deadline, (
                f"holds up to seq {last()} of {posted[0]}; resyncs {len(resyncs)}; "
                f"parked {sorted(pending)[:10]}…")
            try:
                frame = await c.recv(timeout=1)
            except AssertionError:  # no frame this second
                continue
            if frame["type"] == "task:message":
                live_seqs.append(frame["payload"]["seq"])
                take(frame["payload"])
            elif frame["type"] == "resync":
                resyncs.append(frame)
                for m in await http(catch_up):
                    take(m)
            else:
                raise AssertionError(f"unexpected frame {frame}")
        await restarter
        thread.join(timeout=60)
        assert not errors, errors

    live.run(main, timeout=200)
    total = posted[0]
    assert resyncs, "the relay lost its database connection but never said resync"
    assert [m["seq"] for m in held] == list(range(1, total + 1)) and not pending
    assert stored_seqs(t.task_id) == list(range(1, total + 1))
    assert held == world.all_messages(t.task_id), "what the client holds differs from what is stored"
    assert live_seqs == sorted(set(live_seqs)), "live task:message events out of order or repeated"
    assert live_seqs[-1] == total, "the live stream did not resume after the restart"
    wait_until(relays_healthy, 30, "every relay's /health to answer 200 again")


# ------------------------------------------------------------------- slow clients

def test_slow_client_is_closed_with_1013_and_others_get_everything(world, live):
    """A client that stops reading is closed with 1013 once its queue in the relay
    exceeds AGENTLIVE_WS_QUEUE_BYTES/FRAMES (the relay's own settings, read from its
    environment; defaults 16 MiB / 4096 frames). Socket buffers on the way (relay ->
    nginx -> client) hold ~10 MB more, so the test posts the queue limit + 40 MiB in
    batches of 500 messages of 4 KiB. The slow client's socket receive buffer is kept
    at 4 KiB so that the kernel does not absorb the backlog on its side."""
    t = world.running_task()
    limits = [relay_env(r) for r in relays()]
    queue_bytes = max(int(e.get("AGENTLIVE_WS_QUEUE_BYTES", 16 * MiB)) for e in limits)
    queue_frames = max(int(e.get("AGENTLIVE_WS_QUEUE_FRAMES", 4096)) for e in limits)
    size, per_batch = 4 * KiB, 500
    total = min(queue_bytes // size, queue_frames) + (40 * MiB) // size
    total += -total % per_batch

    def message(seq):
        return {"seq": seq, "type": "text", "content": (f"{seq:08d}" * (size // 8 + 1))[:size]}

    async def main():
        fast = await live.connect(token=world.user_token, label="fast")
        await fast.subscribe(t.issue_id)
        slow = await live.connect(token=world.user_token, label="slow", small_rcvbuf=True, max_queue=1)
        await slow.subscribe(t.issue_id)  # and from now on, it does not read

        got = []

        async def read_fast():
            while len(got) < total:
                frame = await fast.expect("task:message", 60)
                got.append(frame["payload"])

        reader = asyncio.create_task(read_fast())
        for first in range(1, total + 1, per_batch):
            body = {"messages": [message(s) for s in range(first, first + per_batch)]}
            assert (await http(world.post_messages, t.task_id, body))["accepted"] == per_batch
            assert not reader.done() or reader.exception() is None, reader.exception()
        # The slow client now reads: what the relay had sent before giving up, then 1013.
        code, frames = await slow.closed(60)
        await asyncio.wait_for(reader, 120)

        assert [m["seq"] for m in got] == list(range(1, total + 1)), "the fast client missed messages"
        assert all(m["content"] == message(m["seq"])["content"] for m in got)
        assert code == 1013, f"slow client: close code {code} after {len(frames)} frames"
        slow_seqs = seqs_of(frames)
        assert slow_seqs == list(range(1, len(slow_seqs) + 1)), "the slow client's frames are not a prefix"
        assert len(slow_seqs) < total, "the slow client got everything: the test did not overflow it"
        assert await fast.barrier() == []

    live.run(main, timeout=300)
    assert any("cannot keep up" in r.log() for r in relays())


# ------------------------------------------------------------------- several relays

async def spread_clients(live, token, issue, want, most=24):
    """Opens clients through nginx (each subscribed) until every relay in `want` has at
    least one more connection than before. Returns the clients and the counts before."""
    before = {r.name: r.connections() for r in relays()}
    clients = []
    while True:
        c = await live.connect(token=token, label=f"client {len(clients) + 1}")
        await c.subscribe(issue)
        clients.append(c)
        now = {r.name: r.connections() for r in want}
        if all(now[r.name] > before[r.name] for r in want):
            return clients, before
        assert len(clients) < most, f"{most} clients through nginx, relay connections {now} (before {before})"


def test_clients_on_every_relay_get_every_event(world, live):
    if len(relays()) < 2:
        pytest.skip("the stack runs one relay (start it with RELAYS=2; `stack test` does)")
    t = world.running_task()

    async def main():
        clients, _ = await spread_clients(live, world.user_token, t.issue_id, relays())
        await http(world.post_messages, t.task_id, batch(1, 40))
        await http(world.complete, t.task_id)
        for c in clients:
            frames = await c.until(lambda f: f["type"] == "task:completed", 30, "task:completed")
            assert seqs_of(frames) == list(range(1, 41)), c.label

    live.run(main)


def test_sigterm_closes_clients_with_1001_and_start_brings_the_relay_back(world, live):
    issue = world.create_issue()["id"]
    victim = relays()[-1]
    old_pid = victim.pid()

    async def main():
        clients, before = await spread_clients(live, world.user_token, issue, [victim])
        on_victim = victim.connections() - before[victim.name]
        os.kill(old_pid, signal.SIGTERM)

        async def outcome(c):
            try:
                return (await c.closed(8))[0]
            except AssertionError:  # still open: on another relay
                return "open"

        results = await asyncio.gather(*(outcome(c) for c in clients))
        closed = [r for r in results if r != "open"]
        assert closed and all(code == 1001 for code in closed), results
        assert len(closed) == on_victim, f"{on_victim} clients were on {victim.name}: {results}"
        await http(wait_until, lambda: not os.path.exists(f"/proc/{old_pid}"), 15, f"{victim.name} to exit")
        survivors = [c for c, r in zip(clients, results) if r == "open"]
        for c in survivors:
            await c.alive()

        await http(stack, "start", "relay")
        assert victim.pid() != old_pid
        await http(wait_until, lambda: victim.health()[0] == 200, 30, f"{victim.name} /health 200")
        back, _ = await spread_clients(live, world.user_token, issue, [victim])
        made = await comment(world, issue, "after the restart")
        for c in survivors + back:
            assert (await c.expect("comment:created", 15))["payload"]["id"] == made["id"], c.label

    live.run(main, timeout=180)


def test_sigterm_ends_the_relay_cleanly(world, live):
    """A relay of our own (not behind nginx) on a free port: SIGTERM closes its client
    with 1001 and the process exits with status 0 (systemd and the stack treat any
    other status as a crash)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = os.path.join(os.environ.get("BIN") or stack_settings()["BIN"], "agentlive-relay")
    log = open(os.path.join(STACK_DIR, "log", "relay-sigterm-test.log"), "w")
    proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: Relay("own", port).health()[0] == 200, 30, "our relay's /health 200")

        async def main():
            c = await live.connect(token=world.user_token, url=f"ws://127.0.0.1:{port}/ws")
            await c.alive()
            proc.send_signal(signal.SIGTERM)
            code, _ = await c.closed(10)
            assert code == 1001

        live.run(main)
        status = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    tail = open(log.name).read()[-1500:]
    assert status == 0, f"the relay exited with {status} after SIGTERM:\n{tail}"


# ------------------------------------------------------------------- abuse

def test_garbage_frames_get_invalid_message_and_the_connection_stays(world, live):
    issue = world.create_issue()["id"]
    garbage = ["not json", "{", "", "[]", "42", "null", '"subscribe"', '{"payload": {}}',
               '{"type": "dance"}', '{"type": 7}', '{"type": "subscribe"}',
               '{"type": "subscribe", "payload": {"issue_id": "nope"}}',
               '{"type": "unsubscribe", "payload": {}}', "\u00ff" * 1000]

    async def main():
        c = await live.connect(token=world.user_token)
        for text in garbage:
            await c.conn.send(text)
            err = await c.expect_error("invalid_message")
            assert err, text
        await c.conn.send(b"\x00\x01binary")
        await c.expect_error("invalid_message")
        await c.alive()
        await c.subscribe(issue)
        await comment(world, issue, "still here")
        await c.expect("comment:created")

    live.run(main)


def test_oversized_inbound_frame_closes_only_that_connection(world, live):
    issue = world.create_issue()["id"]

    async def main():
        bystander = await live.connect(token=world.user_token, label="bystander")
        await bystander.subscribe(issue)
        rogue = await live.connect(token=world.user_token, label="rogue")
        await rogue.conn.send("x" * MiB)
        code, frames = await rogue.closed(10)
        assert code == 1009, f"1 MiB inbound frame: close code {code} (frames {frames})"
        assert relays_healthy()
        await comment(world, issue, "others are served")
        await bystander.expect("comment:created")

    live.run(main)


def test_subscribe_flood_stops_at_100(world, live):
    with ThreadPool(8) as pool:
        issues = pool.map(lambda _: world.create_issue()["id"], range(150))

    async def main():
        c = await live.connect(token=world.user_token)
        for issue in issues:
            await c.send("subscribe", {"issue_id": issue})
        replies = [await c.recv(20) for _ in issues]
        assert [r["type"] for r in replies[:100]] == ["subscribed"] * 100, replies[:100]
        for issue, r in zip(issues[100:], replies[100:]):
            assert r["type"] == "error" and r["payload"]["code"] == "too_many_subscriptions", r
            assert r["payload"]["issue_id"] == issue
        await c.alive()
        await comment(world, issues[99], "on the 100th")
        assert (await c.expect("comment:created"))["payload"]["issue_id"] == issues[99]
        await comment(world, issues[100], "on the 101st")
        assert await c.barrier() == [], "subscribed beyond the limit"

    live.run(main)


def test_a_thousand_idle_connections(world, live):
    """1000 connections that never authenticate: the relays stay up, an authenticated
    client still gets its events, and the server closes each idle one (1008) within
    ~15 s of its opening."""
    t = world.running_task()
    n = 1000
    closes = []

    async def main():
        gate = asyncio.Semaphore(100)

        async def idle(i):
            async with gate:
                c = await live.connect(label=f"idle {i}", ping_interval=None, open_timeout=30)
            opened = time.monotonic()
            try:
                await asyncio.wait_for(c.conn.recv(), 30)
                closes.append(("frame", None))
            except websockets.ConnectionClosed as e:
                closes.append((e.rcvd.code if e.rcvd else None, time.monotonic() - opened))
            except asyncio.TimeoutError:
                closes.append(("open after 30 s", None))

        idlers = [asyncio.create_task(idle(i)) for i in range(n)]
        watcher = await live.connect(token=world.user_token, label="watcher")
        await watcher.subscribe(t.issue_id)
        await http(world.post_messages, t.task_id, batch(1, 20))
        frames = await watcher.until(lambda f: f.get("payload", {}).get("seq") == 20, 30, "seq 20")
        assert seqs_of(frames) == list(range(1, 21))
        assert await http(relays_healthy)
        await asyncio.gather(*idlers)
        await watcher.alive()

    live.run(main, timeout=180)
    assert len(closes) == n
    codes = {}
    for code, _ in closes:
        codes[code] = codes.get(code, 0) + 1
    assert codes == {1008: n}, codes
    slowest = max(after for _, after in closes)
    assert slowest <= 15, f"an idle connection stayed open {slowest:.1f} s"
    wait_until(lambda: sum(r.connections() for r in relays()) == 0, 15, "the relays to drop them all")

