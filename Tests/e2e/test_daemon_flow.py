"""The daemon's whole task flow, and what people see of it."""
import json
import uuid
from datetime import datetime

from agentlive_fixtures import assert_error, assert_same_messages, batch, msg, stored_seqs


def kinds(entries):
    return [e["kind"] for e in entries]


def assert_oldest_first(entries):
    stamps = [datetime.fromisoformat(e["created_at"]) for e in entries]
    assert stamps == sorted(stamps), stamps


def test_full_flow(world):
    issue = world.create_issue(title="Make it fast", description="Profile ✓ and fix")
    assert issue["status"] == "open" and issue["agent_id"] is None
    assert issue["created_by"] == world.user_id and issue["workspace_id"] == world.workspace_id

    task = world.assign(issue["id"])
    assert task["status"] == "queued" and task["issue_id"] == issue["id"]
    assert task["agent_id"] == world.agent_id and task["daemon_id"] is None
    assert (task["title"], task["description"]) == ("Make it fast", "Profile ✓ and fix")
    assert task["last_seq"] == 0
    assert world.issue(issue["id"])["status"] == "in_progress"
    assert world.issue(issue["id"])["agent_id"] == world.agent_id
    assert world.active_task(issue["id"]) is None, "a queued task is not active"

    reg = world.register()
    assert reg["daemon_id"] == world.daemon_id and reg["workspace_id"] == world.workspace_id
    assert world.agent_id in [a["id"] for a in reg["agents"]]
    assert world.heartbeat([]) == []

    dispatch = world.claim()
    assert dispatch == {"task_id": task["id"], "issue_id": issue["id"], "title": "Make it fast",
                        "description": "Profile ✓ and fix"}
    nothing = world.claim(expect=204)
    assert nothing.content == b""

    active = world.active_task(issue["id"])
    assert active["id"] == task["id"] and active["status"] == "dispatched"
    assert active["daemon_id"] == world.daemon_id and active["dispatched_at"] is not None

    started = world.start(task["id"])
    assert started["status"] == "running" and started["started_at"] is not None
    assert world.start(task["id"])["status"] == "running", "start is idempotent"

    prog = world.daemon.post(f"/api/daemon/tasks/{task['id']}/progress",
                             json={"task_id": task["id"], "summary": "Reading code", "step": 1, "total": 3},
                             expect=200).json()
    assert (prog["summary"], prog["step"], prog["total"]) == ("Reading code", 1, 3)
    assert world.heartbeat([task["id"]]) == []

    sent = batch(1, 12)["messages"]
    sent[0]["content"] = "Ĥéllo — 你好 — 👋🏽 — \u00e9 \t tab \u2028 sep"
    sent[1]["input"] = {"file_path": "/src/ä.swift", "edits": [{"old": "a", "new": "b"}], "n": 3,
                        "ok": False, "none": None, "quoted": 'say "x" \\ {a,b}'}
    # What the array literals of the ingest call must carry through (sql/010).
    sent[2]["content"] = 'say "hi" \\ back\\slash {a,b} NULL, "" \n\r\u0001 end'
    sent[3]["content"] = ""
    assert any(m.get("is_error") is True for m in sent) and any(m.get("is_error") is False for m in sent)
    assert {m["type"] for m in sent} == {"text", "tool_use", "tool_result", "error"}
    assert world.post_messages(task["id"], {"messages": sent}) == \
        {"accepted": 12, "duplicates": 0, "last_seq": 12}
    assert world.task(task["id"])["last_seq"] == 12

    # catch-up: everything at once, with the user token and with the daemon token
    page = world.messages_page(task["id"])
    assert page["has_more"] is False and page["last_seq"] == 12
    assert_same_messages(page["messages"], sent, task["id"], issue["id"])
    dpage = world.messages_page(task["id"], client=world.daemon, prefix="/api/daemon/tasks")
    assert dpage == page

    # paging with after/limit
    seen, after, pages = [], 0, 0
    while True:
        p = world.messages_page(task["id"], after=after, limit=5)
        pages += 1
        got = [m["seq"] for m in p["messages"]]
        assert got == list(range(after + 1, min(after + 5, 12) + 1))
        assert p["last_seq"] == got[-1]
        seen += got
        after = p["last_seq"]
        if not p["has_more"]:
            break
        assert pages < 10
    assert seen == list(range(1, 13)) and pages == 3
    assert world.messages_page(task["id"], after=4, limit=2)["messages"][0]["seq"] == 5
    tail = world.messages_page(task["id"], after=12)
    assert tail == {"messages": [], "last_seq": 12, "has_more": False}
    beyond = world.messages_page(task["id"], after=40)
    assert beyond == {"messages": [], "last_seq": 40, "has_more": False}

    done = world.complete(task["id"], output="All done ✓\nPR opened", pr_url="https://example.test/pr/1")
    assert done["status"] == "completed" and done["finished_at"] is not None
    assert (done["output"], done["pr_url"]) == ("All done ✓\nPR opened", "https://example.test/pr/1")
    assert world.complete(task["id"], output="All done ✓\nPR opened")["status"] == "completed"

    assert world.active_task(issue["id"]) is None
    assert world.user.get(f"/api/issues/{issue['id']}/active-task", expect=200).json() == {"task": None}
    assert world.issue(issue["id"])["status"] == "done"
    entries = world.timeline(issue["id"])
    assert kinds(entries) == ["task_queued", "task_completed"]
    assert_oldest_first(entries)
    assert entries[1]["task"]["id"] == task["id"]
    assert entries[1]["task"]["output"] == "All done ✓\nPR opened"

    assert world.heartbeat([task["id"]]) == [task["id"]], "a finished task is to be stopped"
    assert_error(world.daemon.post(f"/api/daemon/tasks/{task['id']}/messages", json=batch(13, 13)),
                 409, "task_not_active")
    assert stored_seqs(task["id"]) == list(range(1, 13))


def test_fail_path(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 3))
    failed = world.fail(t.task_id, "agent crashed: exit 1 ✗")
    assert failed["status"] == "failed" and failed["error"] == "agent crashed: exit 1 ✗"
    assert failed["finished_at"] is not None
    assert world.fail(t.task_id, "agent crashed: exit 1 ✗")["status"] == "failed", "fail is idempotent"

    assert world.active_task(t.issue_id) is None
    assert world.issue(t.issue_id)["status"] == "open"
    entries = world.timeline(t.issue_id)
    assert kinds(entries) == ["task_queued", "task_failed"]
    assert entries[1]["task"]["error"] == "agent crashed: exit 1 ✗"
    assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/complete", json={"output": "x"}),
                 409, "task_not_active")
    assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/progress", json={"summary": "x"}),
                 409, "task_not_active")
    # the catch-up of a finished task still works
    assert [m["seq"] for m in world.all_messages(t.task_id)] == [1, 2, 3]

    # the issue can be assigned again after a failure
    again = world.assign(t.issue_id)
    assert again["status"] == "queued" and again["id"] != t.task_id


def test_claim_with_nothing_queued_is_204(world):
    world.register()
    r = world.claim(expect=204)
    assert r.content == b""


def test_claim_order_and_one_active_task_per_issue(world):
    first, second = world.queued_task(), world.queued_task()
    assert_error(world.user.post(f"/api/issues/{first.issue_id}/assign", json={"agent_id": world.agent_id}),
                 409, "task_already_active")
    assert world.claim()["task_id"] == first.task_id, "oldest queued task first"
    assert world.claim()["task_id"] == second.task_id
    world.claim(expect=204)


def test_cancel_from_the_page(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 2))
    cancelled = world.user.post(f"/api/tasks/{t.task_id}/cancel", expect=200).json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    assert world.heartbeat([t.task_id]) == [t.task_id]
    assert t.task_id in world.heartbeat(1), "count form: this daemon's tasks cancelled in the last hour"
    assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages", json=batch(3, 3)),
                 409, "task_not_active")
    assert_error(world.user.post(f"/api/tasks/{t.task_id}/cancel"), 409, "task_not_active")
    assert stored_seqs(t.task_id) == [1, 2]
    assert kinds(world.timeline(t.issue_id)) == ["task_queued", "task_cancelled"]
    assert world.issue(t.issue_id)["status"] == "open"
    assert world.active_task(t.issue_id) is None


def test_cancel_queued_task(world):
    t = world.queued_task()
    assert world.user.post(f"/api/tasks/{t.task_id}/cancel", expect=200).json()["status"] == "cancelled"
    world.claim(expect=204)


def test_comments_in_timeline(world):
    issue = world.create_issue()
    c = world.user.post(f"/api/issues/{issue['id']}/comments", json={"content": "Looks good 👍"},
                        expect=201).json()
    assert c["issue_id"] == issue["id"] and c["content"] == "Looks good 👍"
    assert c["author"]["id"] == world.user_id
    world.assign(issue["id"])
    world.user.post(f"/api/issues/{issue['id']}/comments", json={"content": "second"}, expect=201)
    entries = world.timeline(issue["id"])
    assert kinds(entries) == ["comment", "task_queued", "comment"]
    assert_oldest_first(entries)
    assert entries[0]["comment"] == c
    assert entries[2]["comment"]["content"] == "second"


def test_people_views(world):
    me = world.user.get("/api/me", expect=200).json()
    assert me["user"] == {"id": world.user_id, "email": world.email, "name": f"Tester {world.slug}"}
    assert [(w["id"], w["slug"], w["role"]) for w in me["workspaces"]] == \
        [(world.workspace_id, world.slug, "member")]

    agents = world.user.get("/api/agents", expect=200).json()["agents"]
    assert [(a["id"], a["workspace_id"], a["runtime"]) for a in agents] == \
        [(world.agent_id, world.workspace_id, "claude")]
    assert agents[0]["online"] is False, "no daemon has heartbeated yet"
    world.register()
    world.heartbeat([])
    assert world.user.get("/api/agents", expect=200).json()["agents"][0]["online"] is True

    a, b = world.create_issue(title="first"), world.create_issue(title="second")
    listed = world.user.get("/api/issues", expect=200).json()["issues"]
    assert [i["id"] for i in listed] == [b["id"], a["id"]], "newest first"
    only = world.user.get("/api/issues", params={"workspace_id": world.workspace_id}, expect=200).json()
    assert [i["id"] for i in only["issues"]] == [b["id"], a["id"]]
    assert world.issue(a["id"]) == a

    t = world.assign(a["id"])
    assert world.task(t["id"]) == t


def test_reregister_updates_the_daemon(world):
    daemon_id = str(uuid.uuid4())
    world.register(daemon_id)
    again = world.register(daemon_id)
    assert again["daemon_id"] == daemon_id
    t = world.running_task()
    assert world.active_task(t.issue_id)["daemon_id"] == daemon_id


def test_progress_without_step(world):
    t = world.running_task()
    r = world.daemon.post(f"/api/daemon/tasks/{t.task_id}/progress", json={"summary": "thinking"},
                          expect=200).json()
    assert r["summary"] == "thinking" and r["status"] == "running"


def test_messages_with_charset_content_type(world):
    t = world.running_task()
    r = world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages",
                          data=json.dumps({"messages": [msg(1)]}).encode(),
                          headers={"Content-Type": "application/json; charset=utf-8"}, expect=200)
    assert r.json()["accepted"] == 1
    assert stored_seqs(t.task_id) == [1]
