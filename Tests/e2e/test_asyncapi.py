"""The relay against its AsyncAPI document, deploy/asyncapi.yaml.

A real session through nginx (first-frame auth, bearer header and cookie, subscribe,
refused frames, three tasks driven over the REST API to completed, cancelled and
failed, a comment, unsubscribe, a resync after the relays lose their LISTEN
connections, refused credentials) records every frame the relay sends. Each must
be a text frame whose `type` names a message the document says the relay sends,
and must match that message's JSON schema; the frames the test sends must match
the client messages. Close codes must be among those the document lists.
"""
import asyncio
import json
import uuid

import pytest
import websockets
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from agentlive_fixtures import ROOT, Client, msg, relays_healthy, sql, wait_until

DOCUMENT_URI = "urn:agentlive:asyncapi"
DOCUMENT = yaml.safe_load((ROOT / "deploy" / "asyncapi.yaml").read_text())
REGISTRY = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT7))


def pointer(ref: str) -> list:
    assert ref.startswith("#/"), f"only local references: {ref}"
    return ref[2:].split("/")


def follow(ref: str):
    node = DOCUMENT
    for part in pointer(ref):
        node = node[part]
    return node


def validators(action: str) -> dict:
    """Frame type -> validator of the messages of the operations with this action
    (`send`: what the relay sends; `receive`: what clients send)."""
    out = {}
    for operation in DOCUMENT["operations"].values():
        if operation["action"] != action:
            continue
        for message_ref in operation["messages"]:
            channel_message = follow(message_ref["$ref"])
            message_path = pointer(channel_message["$ref"])
            name = follow(channel_message["$ref"])["name"]
            schema = {"$ref": f"{DOCUMENT_URI}#/{'/'.join(message_path)}/payload"}
            out[name] = Draft7Validator(schema, registry=REGISTRY)
    return out


RELAY_SENDS = validators("send")
CLIENT_SENDS = validators("receive")
CLOSE_CODES = set(DOCUMENT["info"]["x-close-codes"])


def check(frame, known=None, who="the relay"):
    """The frame is one the document describes, and matches its schema."""
    known = RELAY_SENDS if known is None else known
    kind = frame.get("type") if isinstance(frame, dict) else None
    assert kind in known, f"{who} sent a frame of type {kind!r}, which deploy/asyncapi.yaml does not describe: {frame}"
    errors = sorted(known[kind].iter_errors(frame), key=lambda e: list(e.absolute_path))
    assert not errors, (f"{kind} frame does not match deploy/asyncapi.yaml: {errors[0].message} "
                        f"at {'/'.join(map(str, errors[0].absolute_path))}: {json.dumps(frame)[:800]}")


class Recorder:
    """Keeps every frame a client receives, the frames it sends with `send`, and the
    close codes the relay sent."""

    def __init__(self):
        self.received, self.sent, self.close_codes = [], [], []

    def attach(self, client):
        recv, send = client.conn.recv, client.send

        async def recording_recv(*args, **kw):
            try:
                raw = await recv(*args, **kw)
            except websockets.ConnectionClosed as e:
                self.close_codes.append(e.rcvd.code if e.rcvd else None)
                raise
            self.received.append(raw)
            return raw

        async def recording_send(type, payload=None):
            self.sent.append({"type": type} if payload is None else {"type": type, "payload": payload})
            await send(type, payload)

        client.conn.recv = recording_recv
        client.send = recording_send
        return client


async def http(fn, *args, **kw):
    return await asyncio.to_thread(fn, *args, **kw)


def of_type(kind):
    return lambda frame: frame.get("type") == kind


def test_document_is_self_consistent():
    messages = DOCUMENT["channels"]["ws"]["messages"]
    names = [follow(m["$ref"])["name"] for m in messages.values()]
    assert len(names) == len(set(names)), names
    for m in messages.values():
        message = follow(m["$ref"])
        schema = follow(message["payload"]["$ref"])
        assert schema["properties"]["type"]["const"] == message["name"], message["name"]
        Draft7Validator.check_schema(schema)
    in_operations = {ref["$ref"] for op in DOCUMENT["operations"].values() for ref in op["messages"]}
    assert in_operations == {f"#/channels/ws/messages/{key}" for key in messages}, "every message in one operation"
    assert set(RELAY_SENDS).isdisjoint(CLIENT_SENDS)


def test_the_checker_refuses_undocumented_and_malformed_frames():
    check({"type": "subscribed", "payload": {"issue_id": str(uuid.uuid4())}})
    with pytest.raises(AssertionError, match="does not describe"):
        check({"type": "task:exploded", "payload": {}})
    with pytest.raises(AssertionError, match="does not match"):
        check({"type": "subscribed", "payload": {}})
    with pytest.raises(AssertionError, match="does not match"):
        check({"type": "error", "payload": {"code": "teapot", "message": "short and stout"}})
    with pytest.raises(AssertionError, match="does not describe"):
        check({"type": "subscribe", "payload": {"issue_id": str(uuid.uuid4())}})  # a client frame


def test_every_frame_of_a_session_matches_the_document(world, world_factory, live):
    other = world_factory()
    issue = world.create_issue()["id"]
    foreign_issue = other.create_issue()["id"]
    browser = Client()
    browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    cookie = browser.s.cookies.get("agentlive_session")
    big = "x" * 20_000  # beyond NOTIFY's 8000 bytes: the relay reads it from the database
    rec = Recorder()

    async def main():
        a = rec.attach(await live.connect(label="first frame"))
        await a.send("subscribe", {"issue_id": issue})
        await a.expect_error("unauthorized")
        await a.auth(world.user_token)
        await a.send("auth", {"token": world.user_token})
        await a.expect("authenticated")
        await a.subscribe(issue)
        await a.send("subscribe", {"issue_id": "not-a-uuid"})
        await a.expect_error("invalid_message")
        await a.send("subscribe", {"issue_id": foreign_issue})
        assert (await a.expect_error("forbidden"))["issue_id"] == foreign_issue
        await a.conn.send("not json")
        await a.expect_error("invalid_message")
        await a.conn.send(json.dumps({"type": "frobnicate", "payload": {}}))  # not a documented frame
        await a.expect_error("invalid_message")
        await a.conn.send(b"\x00binary")
        await a.expect_error("invalid_message")
        assert await a.barrier() == []  # ping -> pong

        b = rec.attach(await live.connect(token=world.user_token, label="bearer"))
        await b.subscribe(issue)
        c = rec.attach(await live.connect(cookie=cookie, label="cookie"))
        await c.subscribe(issue)

        # A task that completes, with progress, every message type and a comment.
        task = (await http(world.assign, issue))["id"]
        await http(world.claim)
        await http(world.start, task)
        await http(world.daemon.post, f"/api/daemon/tasks/{task}/progress",
                   json={"summary": "reading", "step": 1, "total": 3}, expect=200)
        await http(world.daemon.post, f"/api/daemon/tasks/{task}/progress",
                   json={"summary": "writing"}, expect=200)
        batch = [msg(1, "text"), msg(2, "tool_use"), msg(3, "tool_result"), msg(4, "error"),
                 msg(5, "text", content=big)]
        await http(world.post_messages, task, {"messages": batch[:4]})
        await http(world.post_messages, task, {"messages": batch[4:]})
        await http(world.user.post, f"/api/issues/{issue}/comments", json={"content": "👀"}, expect=201)
        await http(world.complete, task, output="done", pr_url="https://example.test/pr/7")
        for client in (a, b, c):
            await client.until(of_type("task:completed"), 30, "task:completed")

        # A task that is cancelled, one that fails.
        cancelled = (await http(world.assign, issue))["id"]
        await http(world.claim)
        await http(world.user.post, f"/api/tasks/{cancelled}/cancel", json={}, expect=200)
        await a.until(of_type("task:cancelled"), 30, "task:cancelled")
        failed = (await http(world.assign, issue))["id"]
        await http(world.claim)
        await http(world.start, failed)
        await http(world.fail, failed, "the agent crashed")
        await a.until(of_type("task:failed"), 30, "task:failed")

        await a.send("unsubscribe", {"issue_id": issue})
        await a.until(of_type("unsubscribed"), 10, "unsubscribed")

        # The relays lose their LISTEN connections: each reconnects and says resync.
        await http(sql, "select pg_terminate_backend(pid) from pg_stat_activity "
                        "where backend_type = 'client backend' and query ilike 'listen %'")
        await a.until(of_type("resync"), 30, "resync")

        bad = rec.attach(await live.connect(token=f"alu_{uuid.uuid4().hex}_{'0' * 48}", label="bad token"))
        code, _ = await bad.closed(10)
        assert code == 1008, code
        for client in (a, b, c):
            await client.barrier()

    live.run(main)
    wait_until(relays_healthy, 30, "the relays listening again")

    frames = []
    for raw in rec.received:
        assert isinstance(raw, str), f"the relay sent a binary frame: {raw[:80]!r}"
        frames.append(json.loads(raw))
    for frame in frames:
        check(frame)
    for frame in rec.sent:
        check(frame, CLIENT_SENDS, who="the test")
    seen = {frame["type"] for frame in frames}
    assert seen == set(RELAY_SENDS), f"documented but not seen: {set(RELAY_SENDS) - seen}"
    assert rec.close_codes and set(rec.close_codes) <= CLOSE_CODES, rec.close_codes
