"""Bad requests get the contract's error (status, JSON, code) and change nothing."""
import json
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

import pytest

from agentlive_fixtures import MiB, Client, assert_error, batch, msg, stored_seqs

NOBODY = object()


@dataclass
class Case:
    id: str
    method: str
    path: str          # may use {task} {issue} {agent} {daemon} {uuid}
    status: int
    code: str
    body: object = NOBODY   # dict/list/str -> JSON text; bytes -> as is; callable(ctx) -> either
    auth: str = "daemon"    # daemon | user | none | a raw Authorization header value
    content_type: Optional[str] = "application/json"
    params: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    allow: Optional[set] = None


MSGS = "/api/daemon/tasks/{task}/messages"
PROGRESS = "/api/daemon/tasks/{task}/progress"


def messages(*ms):
    return {"messages": list(ms)}


def register_body(c, **over):
    body = {"daemon_id": c.uuid, "agent_id": c.agent,
            "runtimes": [{"type": "claude", "version": "1", "status": "ready"}]}
    body.update(over)
    return body


def heartbeat_body(c, **over):
    return {"daemon_id": c.daemon, "agent_id": c.agent, "current_tasks": [c.task], **over}


def big_batch(c):
    """~4.5 MiB of JSON made of messages that are each within the per-message limit."""
    return messages(*[msg(s, type="text", content="x" * (460 * 1024)) for s in range(1, 11)])


CASES = [
    # 400 invalid_json
    Case("truncated json", "POST", MSGS, 400, "invalid_json", b'{"messages": ['),
    Case("json array", "POST", MSGS, 400, "invalid_json", b"[1, 2]"),
    Case("json string", "POST", MSGS, 400, "invalid_json", b'"messages"'),
    Case("json null", "POST", MSGS, 400, "invalid_json", b"null"),
    Case("empty body", "POST", MSGS, 400, "invalid_json", b""),
    Case("trailing garbage", "POST", MSGS, 400, "invalid_json", b'{"messages": []} x'),
    Case("invalid utf8", "POST", MSGS, 400, "invalid_json",
         b'{"messages": [{"seq": 1, "type": "text", "content": "a\xff\xfeb"}]}'),
    Case("issue not an object", "POST", "/api/issues", 400, "invalid_json", b"[]", auth="user"),
    Case("heartbeat truncated", "POST", "/api/daemon/heartbeat", 400, "invalid_json", b"{"),
    # 400 invalid_field
    Case("messages missing", "POST", MSGS, 400, "invalid_field", {}),
    Case("messages not array", "POST", MSGS, 400, "invalid_field", {"messages": "x"}),
    Case("messages object", "POST", MSGS, 400, "invalid_field", {"messages": {"seq": 1, "type": "text"}}),
    Case("message not object", "POST", MSGS, 400, "invalid_field", messages(5)),
    Case("seq missing", "POST", MSGS, 400, "invalid_field", messages({"type": "text", "content": "x"})),
    Case("type missing", "POST", MSGS, 400, "invalid_field", messages({"seq": 1, "content": "x"})),
    Case("seq string", "POST", MSGS, 400, "invalid_field", messages({"seq": "1", "type": "text"})),
    Case("seq null", "POST", MSGS, 400, "invalid_field", messages({"seq": None, "type": "text"})),
    Case("type number", "POST", MSGS, 400, "invalid_field", messages({"seq": 1, "type": 7})),
    Case("content number", "POST", MSGS, 400, "invalid_field",
         messages({"seq": 1, "type": "text", "content": 5})),
    Case("is_error string", "POST", MSGS, 400, "invalid_field",
         messages({"seq": 1, "type": "tool_result", "output": "x", "is_error": "yes"})),
    Case("tool array", "POST", MSGS, 400, "invalid_field",
         messages({"seq": 1, "type": "tool_use", "tool": ["Bash"], "input": {}})),
    Case("call_id number", "POST", MSGS, 400, "invalid_field",
         messages({"seq": 1, "type": "tool_use", "tool": "Bash", "call_id": 3})),
    Case("second message bad", "POST", MSGS, 400, "invalid_field", messages(msg(1), {"seq": 2})),
    Case("progress summary missing", "POST", PROGRESS, 400, "invalid_field", {"step": 1}),
    Case("progress step string", "POST", PROGRESS, 400, "invalid_field", {"summary": "s", "step": "1"}),
    Case("fail error missing", "POST", "/api/daemon/tasks/{task}/fail", 400, "invalid_field", {}),
    Case("fail error number", "POST", "/api/daemon/tasks/{task}/fail", 400, "invalid_field", {"error": 5}),
    Case("issue title missing", "POST", "/api/issues", 400, "invalid_field", {"description": "d"}, auth="user"),
    Case("issue title number", "POST", "/api/issues", 400, "invalid_field", {"title": 5}, auth="user"),
    Case("issue description number", "POST", "/api/issues", 400, "invalid_field",
         {"title": "t", "description": 5}, auth="user"),
    Case("comment content missing", "POST", "/api/issues/{issue}/comments", 400, "invalid_field", {},
         auth="user"),
    Case("assign agent missing", "POST", "/api/issues/{issue}/assign", 400, "invalid_field", {}, auth="user"),
    Case("register runtimes missing", "POST", "/api/daemon/register", 400, "invalid_field",
         lambda c: {"daemon_id": c.uuid, "agent_id": c.agent}),
    Case("register runtimes string", "POST", "/api/daemon/register", 400, "invalid_field",
         lambda c: register_body(c, runtimes="claude")),
    Case("heartbeat current_tasks missing", "POST", "/api/daemon/heartbeat", 400, "invalid_field",
         lambda c: {"daemon_id": c.daemon, "agent_id": c.agent}),
    Case("heartbeat current_tasks string", "POST", "/api/daemon/heartbeat", 400, "invalid_field",
         lambda c: heartbeat_body(c, current_tasks="x")),
    Case("claim daemon missing", "POST", "/api/daemon/tasks/claim", 400, "invalid_field",
         lambda c: {"agent_id": c.agent}),
    Case("session email number", "POST", "/api/session", 400, "invalid_field",
         {"email": 5, "password": "x"}, auth="none"),
    # 400 invalid_query
    *[Case(f"query {k}={v} {p.split('/')[2]}", "GET", p, 400, "invalid_query", params={k: v},
           auth="user" if p.startswith("/api/tasks") else "daemon")
      for p in ("/api/tasks/{task}/messages", "/api/daemon/tasks/{task}/messages")
      for k, v in (("after", "-1"), ("after", "abc"), ("after", "1.5"), ("limit", "0"),
                   ("limit", "1001"), ("limit", "abc"), ("limit", "-5"))],
    # 422 invalid_value
    Case("unknown type", "POST", MSGS, 422, "invalid_value", messages(msg(1, type="thought"))),
    Case("seq 0", "POST", MSGS, 422, "invalid_value", messages(msg(0, type="text"))),
    Case("seq -1", "POST", MSGS, 422, "invalid_value", messages(msg(-1, type="text"))),
    Case("duplicate seq in batch", "POST", MSGS, 422, "invalid_value", messages(msg(1), msg(2), msg(1))),
    Case("valid then invalid", "POST", MSGS, 422, "invalid_value", messages(msg(1), msg(2, type="bogus"))),
    Case("message task_id differs", "POST", MSGS, 422, "invalid_value",
         lambda c: messages(msg(1, task_id=str(uuid.uuid4())))),
    Case("progress step > total", "POST", PROGRESS, 422, "invalid_value", {"summary": "s", "step": 4, "total": 3}),
    Case("progress negative step", "POST", PROGRESS, 422, "invalid_value", {"summary": "s", "step": -1}),
    Case("progress negative total", "POST", PROGRESS, 422, "invalid_value", {"summary": "s", "total": -2}),
    Case("progress task_id differs", "POST", PROGRESS, 422, "invalid_value",
         lambda c: {"summary": "s", "task_id": str(uuid.uuid4())}),
    Case("issue empty title", "POST", "/api/issues", 422, "invalid_value", {"title": ""}, auth="user"),
    Case("register daemon_id not uuid", "POST", "/api/daemon/register", 422, "invalid_value",
         lambda c: register_body(c, daemon_id="daemon-1")),
    # 413
    Case("body over 4 MiB", "POST", MSGS, 413, "body_too_large", big_batch),
    Case("body over nginx's 5 MiB", "POST", MSGS, 413, "body_too_large",
         lambda c: messages(*[msg(s, type="text", content="x" * (600 * 1024)) for s in range(1, 11)])),
    Case("content over 1 MiB", "POST", MSGS, 413, "message_too_large",
         messages(msg(1), msg(2, type="text", content="x" * (MiB + 1)))),
    Case("content over 1 MiB in bytes", "POST", MSGS, 413, "message_too_large",
         messages(msg(1, type="text", content="é" * (MiB // 2 + 1)))),
    Case("output over 1 MiB", "POST", MSGS, 413, "message_too_large",
         messages(msg(1, type="tool_result", call_id="c", output="y" * (MiB + 1)))),
    Case("input over 256 KiB", "POST", MSGS, 413, "message_too_large",
         messages(msg(1, type="tool_use", tool="Write", call_id="c", input={"blob": "z" * (256 * 1024)}))),
    Case("batch of 501", "POST", MSGS, 413, "batch_too_large",
         messages(*[msg(s, type="text", content="m") for s in range(1, 502)])),
    # 415
    Case("text/plain", "POST", MSGS, 415, "unsupported_media_type", messages(msg(1)), content_type="text/plain"),
    Case("no content type", "POST", MSGS, 415, "unsupported_media_type", messages(msg(1)), content_type=None),
    Case("form", "POST", "/api/issues", 415, "unsupported_media_type", b"title=x",
         content_type="application/x-www-form-urlencoded", auth="user"),
    Case("application/jsonx", "POST", "/api/issues/{issue}/comments", 415, "unsupported_media_type",
         {"content": "hi"}, content_type="application/jsonx", auth="user"),
    # 404 unknown or malformed ids
    *[Case(f"unknown task {m} {p}", m, p, 404, "task_not_found", b, auth=a)
      for tid in ("{uuid}", "not-a-uuid", "{task}x", "12345")
      for m, p, b, a in (
          ("POST", f"/api/daemon/tasks/{tid}/messages", messages(msg(1)), "daemon"),
          ("GET", f"/api/daemon/tasks/{tid}/messages", NOBODY, "daemon"),
          ("POST", f"/api/daemon/tasks/{tid}/start", {}, "daemon"),
          ("POST", f"/api/daemon/tasks/{tid}/progress", {"summary": "s"}, "daemon"),
          ("POST", f"/api/daemon/tasks/{tid}/complete", {"output": "o"}, "daemon"),
          ("POST", f"/api/daemon/tasks/{tid}/fail", {"error": "e"}, "daemon"),
          ("GET", f"/api/tasks/{tid}", NOBODY, "user"),
          ("GET", f"/api/tasks/{tid}/messages", NOBODY, "user"),
          ("POST", f"/api/tasks/{tid}/cancel", NOBODY, "user"))],
    *[Case(f"unknown issue {m} {p}", m, p, 404, "issue_not_found", b, auth="user")
      for iid in ("{uuid}", "not-a-uuid", "{issue}x")
      for m, p, b in (
          ("GET", f"/api/issues/{iid}", NOBODY),
          ("GET", f"/api/issues/{iid}/active-task", NOBODY),
          ("GET", f"/api/issues/{iid}/timeline", NOBODY),
          ("POST", f"/api/issues/{iid}/comments", {"content": "hi"}),
          ("POST", f"/api/issues/{iid}/assign", lambda c: {"agent_id": c.agent}))],
    Case("assign unknown agent", "POST", "/api/issues/{issue}/assign", 404, "agent_not_found",
         lambda c: {"agent_id": c.uuid}, auth="user"),
    Case("register unknown agent", "POST", "/api/daemon/register", 404, "agent_not_found",
         lambda c: register_body(c, agent_id=str(uuid.uuid4()))),
    Case("heartbeat unknown daemon", "POST", "/api/daemon/heartbeat", 404, "daemon_not_found",
         lambda c: heartbeat_body(c, daemon_id=c.uuid)),
    Case("claim unknown daemon", "POST", "/api/daemon/tasks/claim", 404, "daemon_not_found",
         lambda c: {"daemon_id": c.uuid, "agent_id": c.agent}),
    # 404 unknown routes
    *[Case(f"unknown route {m} {p}", m, p, 404, "not_found", auth="user")
      for m, p in (("GET", "/api/nope"), ("POST", "/api/nope"), ("GET", "/api/"),
                   ("GET", "/api/issues/{issue}/nope"), ("GET", "/api/tasks"),
                   ("GET", "/api/daemon/tasks/{task}/explode"), ("POST", "/api/daemon/nope"),
                   ("GET", "/api/issues/{issue}/assign/extra"))],
    # 405 with Allow
    *[Case(f"method {m} {p}", m, p, 405, "method_not_allowed", auth="user", allow=allow)
      for m, p, allow in (
          ("DELETE", "/api/issues", {"GET", "POST"}),
          ("PUT", "/api/issues/{issue}", {"GET"}),
          ("GET", "/api/issues/{issue}/comments", {"POST"}),
          ("GET", "/api/issues/{issue}/assign", {"POST"}),
          ("GET", "/api/daemon/tasks/claim", {"POST"}),
          ("DELETE", "/api/daemon/tasks/{task}/messages", {"GET", "POST"}),
          ("GET", "/api/session", {"POST", "DELETE"}),
          ("POST", "/api/health", {"GET"}),
          ("PATCH", "/api/tasks/{task}", {"GET"}),
          ("GET", "/api/tasks/{task}/cancel", {"POST"}),
          ("GET", "/api/daemon/tasks/{task}/complete", {"POST"}))],
    # 401
    *[Case(f"no auth {m} {p}", m, p, 401, "unauthorized", b, auth="none")
      for m, p, b in (("GET", "/api/me", NOBODY), ("GET", "/api/agents", NOBODY),
                      ("GET", "/api/issues", NOBODY), ("POST", "/api/issues", {"title": "t"}),
                      ("GET", "/api/issues/{issue}", NOBODY), ("GET", "/api/tasks/{task}/messages", NOBODY),
                      ("POST", "/api/tasks/{task}/cancel", NOBODY), ("POST", MSGS, messages(msg(1))),
                      ("POST", "/api/daemon/register", register_body),
                      ("POST", "/api/daemon/tasks/{task}/complete", {"output": "o"}))],
    *[Case(f"bad credentials {h!r} {p}", "GET" if b is NOBODY else "POST", p, 401, "unauthorized", b, auth=h)
      for h in ("Bearer alu_0000000000000000000000000000", "Bearer ald_0000000000000000000000000000",
                "Bearer ", "Bearer", "Basic dXNlcjpwYXNz", "alu_0000000000000000000000000000",
                "Bearer als_0000000000000000000000000000")
      for p, b in (("/api/me", NOBODY), (MSGS, messages(msg(1))))],
    Case("bad session cookie", "GET", "/api/me", 401, "unauthorized", auth="none",
         cookies={"agentlive_session": "als_0000000000000000000000000000"}),
    Case("session wrong password", "POST", "/api/session", 401, "invalid_credentials",
         lambda c: {"email": c.world.email, "password": "wrong"}, auth="none"),
    Case("session unknown email", "POST", "/api/session", 401, "invalid_credentials",
         {"email": "nobody@example.test", "password": "x"}, auth="none"),
    # 403: the wrong kind of token
    *[Case(f"user token on {p}", "POST", p, 403, "forbidden", b, auth="user")
      for p, b in (("/api/daemon/register", register_body),
                   ("/api/daemon/heartbeat", heartbeat_body),
                   ("/api/daemon/tasks/claim", lambda c: {"daemon_id": c.daemon, "agent_id": c.agent}),
                   ("/api/daemon/tasks/{task}/start", {}),
                   (PROGRESS, {"summary": "s"}),
                   (MSGS, messages(msg(1))),
                   ("/api/daemon/tasks/{task}/complete", {"output": "o"}),
                   ("/api/daemon/tasks/{task}/fail", {"error": "e"}))],
    *[Case(f"daemon token on {m} {p}", m, p, 403, "forbidden", b, auth="daemon")
      for m, p, b in (("GET", "/api/me", NOBODY), ("GET", "/api/agents", NOBODY),
                      ("GET", "/api/issues", NOBODY), ("POST", "/api/issues", {"title": "t"}),
                      ("GET", "/api/issues/{issue}", NOBODY),
                      ("GET", "/api/issues/{issue}/timeline", NOBODY),
                      ("POST", "/api/issues/{issue}/assign", lambda c: {"agent_id": c.agent}),
                      ("POST", "/api/issues/{issue}/comments", {"content": "c"}),
                      ("POST", "/api/tasks/{task}/cancel", NOBODY))],
]


@pytest.fixture
def ctx(world):
    # the world's only agent is busy with a running task; a second issue is free to assign
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 3))
    free = world.create_issue()
    return SimpleNamespace(world=world, task=t.task_id, issue=free["id"], agent=world.agent_id,
                           daemon=world.daemon_id, uuid=str(uuid.uuid4()))


def send(c, case):
    world = c.world
    client = {"daemon": world.daemon, "user": world.user}.get(case.auth) or Client()
    headers = {}
    if case.auth not in ("daemon", "user", "none"):
        headers["Authorization"] = case.auth
    body = case.body(c) if callable(case.body) else case.body
    data = None
    if body is not NOBODY:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if case.content_type is not None:
            headers["Content-Type"] = case.content_type
    path = case.path.format(task=c.task, issue=c.issue, agent=c.agent, daemon=c.daemon, uuid=c.uuid)
    return client.request(case.method, path, data=data, headers=headers, params=case.params,
                          cookies=case.cookies)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request(ctx, case):
    world = ctx.world
    counts = world.counts()
    task = world.task(ctx.task)
    issue = world.issue(ctx.issue)

    r = send(ctx, case)
    assert_error(r, case.status, case.code)
    if case.allow is not None:
        allowed = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed - {"HEAD", "OPTIONS"} == case.allow, f"Allow: {r.headers.get('Allow')!r}"
    if case.status == 401:
        assert "agentlive_session=" not in r.headers.get("Set-Cookie", "")

    assert world.counts() == counts, "nothing may be stored by a rejected request"
    assert world.task(ctx.task) == task
    assert world.issue(ctx.issue) == issue
    assert stored_seqs(ctx.task) == [1, 2, 3]


def test_limits_are_inclusive(world):
    """Exactly 500 messages, 1 MiB of content and 256 KiB of input are accepted."""
    t = world.running_task()
    assert world.post_messages(t.task_id, messages(*[msg(s, type="text", content="m")
                                                     for s in range(1, 501)]))["accepted"] == 500
    big = msg(501, type="text", content="x" * MiB)
    assert world.post_messages(t.task_id, messages(big))["accepted"] == 1
    page = world.messages_page(t.task_id, after=500)
    assert page["messages"][0]["content"] == big["content"]
    assert stored_seqs(t.task_id) == list(range(1, 502))
