"""Workspaces do not see each other; revoked tokens and ended sessions stop at once."""
import time
import uuid

import pytest

from agentlive_fixtures import BASE_URL, Client, assert_error, batch, describe, lit, sql, stored_seqs


@pytest.fixture
def two(world_factory):
    a, b = world_factory(), world_factory()
    t = a.running_task()
    a.post_messages(t.task_id, batch(1, 4))
    a.user.post(f"/api/issues/{t.issue_id}/comments", json={"content": "A only"}, expect=201)
    free = a.create_issue()
    b.register()
    return a, b, t, free["id"]


def snapshot(world, task_id, issue_ids):
    return (world.counts(), world.task(task_id), [world.issue(i) for i in issue_ids],
            [world.timeline(i) for i in issue_ids], stored_seqs(task_id))


def test_user_of_another_workspace_gets_404_everywhere(two):
    a, b, t, free = two
    before = snapshot(a, t.task_id, [t.issue_id, free])
    for issue in (t.issue_id, free):
        for method, path, body in (
                ("GET", f"/api/issues/{issue}", None),
                ("GET", f"/api/issues/{issue}/active-task", None),
                ("GET", f"/api/issues/{issue}/timeline", None),
                ("POST", f"/api/issues/{issue}/comments", {"content": "from B"}),
                ("POST", f"/api/issues/{issue}/assign", {"agent_id": b.agent_id}),
                ("POST", f"/api/issues/{issue}/assign", {"agent_id": a.agent_id})):
            kw = {} if body is None else {"json": body}
            assert_error(b.user.request(method, path, **kw), 404, "issue_not_found")
    for method, path in (("GET", f"/api/tasks/{t.task_id}"),
                         ("GET", f"/api/tasks/{t.task_id}/messages"),
                         ("POST", f"/api/tasks/{t.task_id}/cancel")):
        assert_error(b.user.request(method, path), 404, "task_not_found")
    assert_error(b.user.get(f"/api/tasks/{t.task_id}/messages", params={"after": 0, "limit": 10}),
                 404, "task_not_found")

    assert [i["id"] for i in b.user.get("/api/issues", expect=200).json()["issues"]] == []
    assert [x["id"] for x in b.user.get("/api/agents", expect=200).json()["agents"]] == [b.agent_id]
    assert [w["id"] for w in b.user.get("/api/me", expect=200).json()["workspaces"]] == [b.workspace_id]
    assert b.user.get("/api/issues", params={"workspace_id": a.workspace_id}, expect=200).json() == \
        {"issues": []}
    assert_error(b.user.post("/api/issues", json={"title": "into A", "workspace_id": a.workspace_id}),
                 404, "workspace_not_found")
    assert snapshot(a, t.task_id, [t.issue_id, free]) == before


def test_user_cannot_assign_an_agent_of_another_workspace(two):
    a, b, t, free = two
    assert_error(a.user.post(f"/api/issues/{free}/assign", json={"agent_id": b.agent_id}),
                 404, "agent_not_found")
    assert a.issue(free)["status"] == "open"
    b.claim(expect=204)


def test_daemon_of_another_workspace_gets_404_everywhere(two):
    a, b, t, free = two
    before = snapshot(a, t.task_id, [t.issue_id, free])
    for method, path, body in (
            ("POST", f"/api/daemon/tasks/{t.task_id}/start", {}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/progress", {"summary": "from B"}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/messages", batch(5, 6)),
            ("POST", f"/api/daemon/tasks/{t.task_id}/messages", batch(1, 2)),
            ("POST", f"/api/daemon/tasks/{t.task_id}/complete", {"output": "from B"}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/fail", {"error": "from B"}),
            ("GET", f"/api/daemon/tasks/{t.task_id}/messages", None),
            ("GET", f"/api/tasks/{t.task_id}/messages", None)):
        kw = {} if body is None else {"json": body}
        assert_error(b.daemon.request(method, path, **kw), 404, "task_not_found")

    reg = {"daemon_id": str(uuid.uuid4()), "agent_id": a.agent_id,
           "runtimes": [{"type": "claude", "version": "1", "status": "ready"}]}
    assert_error(b.daemon.post("/api/daemon/register", json=reg), 404, "agent_not_found")
    assert_error(b.daemon.post("/api/daemon/heartbeat", json={
        "daemon_id": a.daemon_id, "agent_id": a.agent_id, "current_tasks": [t.task_id]}),
        404, "daemon_not_found")
    # Daemon ids are per workspace: B may use the same id for its own daemon, and
    # A's daemon stays A's.
    r = b.daemon.post("/api/daemon/register", json=dict(reg, daemon_id=a.daemon_id, agent_id=b.agent_id))
    assert r.status_code == 200, describe(r)
    assert a.daemon.post("/api/daemon/heartbeat", json={
        "daemon_id": a.daemon_id, "agent_id": a.agent_id, "current_tasks": [t.task_id]}).status_code == 200
    assert snapshot(a, t.task_id, [t.issue_id, free]) == before


def test_daemon_claims_only_in_its_workspace(two):
    a, b, t, free = two
    queued = a.assign(free)
    for daemon_id, agent_id in ((b.daemon_id, a.agent_id), (a.daemon_id, a.agent_id),
                                (a.daemon_id, b.agent_id)):
        r = b.daemon.post("/api/daemon/tasks/claim", json={"daemon_id": daemon_id, "agent_id": agent_id})
        assert r.status_code in (204, 404), f"{daemon_id} {agent_id}: {r.status_code} {r.text}"
    b.claim(expect=204)
    assert a.task(queued["id"])["status"] == "queued"
    assert a.claim()["task_id"] == queued["id"], "A's queued task is still there for A's daemon"


def test_revoked_token_is_refused_on_the_next_request(world):
    world.user.get("/api/me", expect=200)
    world.register()
    rows = sql(f"select id || '|' || kind from agentlive.tokens where label in "
               f"({lit(world.user_label)}, {lit(world.daemon_label)}) order by label desc").splitlines()
    assert len(rows) == 2, rows
    (user_id, user_kind), (daemon_id, daemon_kind) = (r.split("|") for r in rows)
    assert (user_kind, daemon_kind) == ("user", "daemon")

    sql(f"select agentlive.revoke_token({lit(user_id)})")
    assert_error(world.user.get("/api/me"), 401, "unauthorized")
    assert_error(world.user.get("/api/issues"), 401, "unauthorized")
    assert world.heartbeat([]) == [], "the daemon token still works"

    sql(f"select agentlive.revoke_token({lit(daemon_id)})")
    assert_error(world.daemon.post("/api/daemon/heartbeat", json={
        "daemon_id": world.daemon_id, "agent_id": world.agent_id, "current_tasks": []}), 401, "unauthorized")
    assert sql(f"select count(*) from agentlive.tokens where id in ({lit(user_id)}, {lit(daemon_id)}) "
               f"and revoked_at is not null") == "2"


def test_the_ingest_call_checks_the_daemon_token_itself(world):
    """Ingest checks the token inside its one database call (sql/010): the same answers
    as every other endpoint, nothing stored on a refusal, last_used_at kept fresh."""
    t = world.running_task()
    path = f"/api/daemon/tasks/{t.task_id}/messages"
    prefix, token_hex, secret = world.daemon_token.split("_")
    wrong = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    assert_error(Client(f"{prefix}_{token_hex}_{wrong}").post(path, json=batch(1, 1)), 401, "unauthorized")
    assert_error(Client(f"{prefix}_{uuid.uuid4().hex}_{secret}").post(path, json=batch(1, 1)), 401, "unauthorized")
    assert_error(world.user.post(path, json=batch(1, 1)), 403, "forbidden")
    assert stored_seqs(t.task_id) == []

    token_id = sql(f"select id from agentlive.tokens where label = {lit(world.daemon_label)}")
    sql(f"update agentlive.token set last_used_at = now() - interval '1 hour' where id = {lit(token_id)}")
    world.daemon.post(path, json=batch(1, 2), expect=200)
    assert sql(f"select last_used_at > now() - interval '1 minute' from agentlive.token where id = {lit(token_id)}") == "t"

    sql(f"select agentlive.revoke_token({lit(token_id)})")
    assert_error(world.daemon.post(path, json=batch(3, 3)), 401, "unauthorized")
    assert stored_seqs(t.task_id) == [1, 2]


def test_expired_token_is_refused(world):
    world.user.get("/api/me", expect=200)
    token_id = sql(f"select id from agentlive.tokens where label = {lit(world.user_label)}")
    sql(f"update agentlive.token set expires_at = now() - interval '1 second' where id = {lit(token_id)}")
    assert_error(world.user.get("/api/me"), 401, "unauthorized")


def test_session_cookie(world, anon):
    assert_error(anon.post("/api/session", json={"email": world.email, "password": "nope"}),
                 401, "invalid_credentials")
    browser = Client(origin=BASE_URL)
    r = browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    assert r.json()["user"]["id"] == world.user_id
    set_cookie = r.headers.get("Set-Cookie", "")
    attrs = {p.strip().split("=")[0].lower() for p in set_cookie.split(";")}
    assert set_cookie.startswith("agentlive_session=als_"), set_cookie
    assert {"httponly", "path", "max-age", "samesite"} <= attrs, set_cookie
    assert "samesite=lax" in set_cookie.lower().replace(" ", "") and "path=/" in set_cookie.lower()
    cookie = browser.s.cookies.get("agentlive_session")
    assert cookie

    me = browser.get("/api/me", expect=200).json()
    assert me["user"]["email"] == world.email
    issue = browser.post("/api/issues", json={"title": "from the browser"}, expect=201).json()
    assert issue["created_by"] == world.user_id
    t = world.assign(issue["id"])
    assert browser.get(f"/api/tasks/{t['id']}/messages", expect=200).json()["messages"] == []

    out = browser.delete("/api/session", expect=204)
    cleared = out.headers.get("Set-Cookie", "")
    assert cleared.startswith("agentlive_session=") and (
        "max-age=0" in cleared.lower().replace(" ", "") or "expires=thu, 01 jan 1970" in cleared.lower()), cleared
    # the old cookie value, sent again on purpose, no longer works
    assert_error(anon.get("/api/me", cookies={"agentlive_session": cookie}), 401, "unauthorized")
    assert world.user.get("/api/me", expect=200), "the user token is not affected"
    assert anon.delete("/api/session", expect=204).headers.get("Set-Cookie", "").startswith(
        "agentlive_session=;"), "signing out without a session just clears the cookie"


def test_member_of_two_workspaces(world_factory):
    a, b = world_factory(), world_factory()
    sql(f"select agentlive.add_member({lit(b.slug)}, {lit(a.email)}, 'admin')")
    me = a.user.get("/api/me", expect=200).json()
    assert {(w["id"], w["role"]) for w in me["workspaces"]} == {(a.workspace_id, "member"), (b.workspace_id, "admin")}
    assert_error(a.user.post("/api/issues", json={"title": "where?"}), 422, "workspace_required")
    in_b = a.user.post("/api/issues", json={"title": "in B", "workspace_id": b.workspace_id}, expect=201).json()
    assert in_b["workspace_id"] == b.workspace_id
    assert [i["id"] for i in b.user.get("/api/issues", expect=200).json()["issues"]] == [in_b["id"]]
    only_a = a.user.get("/api/issues", params={"workspace_id": a.workspace_id}, expect=200).json()["issues"]
    assert only_a == []
    assert {x["id"] for x in a.user.get("/api/agents", expect=200).json()["agents"]} == {a.agent_id, b.agent_id}


def test_failed_sign_ins_are_rate_limited(world, anon):
    time.sleep(5)  # nginx's sign-in bucket (2/s, burst 10) refills after the tests before
    for _ in range(10):
        assert_error(anon.post("/api/session", json={"email": world.email, "password": "wrong"}),
                     401, "invalid_credentials")
        time.sleep(0.5)  # within nginx's rate: the API's own limit is what this checks
    assert_error(anon.post("/api/session", json={"email": world.email, "password": world.password}),
                 429, "rate_limited")
    world.user.get("/api/me", expect=200)
    sql(f"delete from agentlive.login_failure where email = {lit(world.email.lower())}")
