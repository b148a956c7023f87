"""Security findings on the API, each tried as an attacker or a careless agent would:
cross-site requests with the session cookie, sign-in guessing, a second daemon token
of the same workspace, hostile values from an agent, and what the web root serves."""
import concurrent.futures
import os
import pathlib
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import requests

from agentlive_fixtures import (BASE_URL, STACK_DIR, Client, assert_error, batch, describe, lit, sql, stack_settings,
                      stored_seqs)

OTHER_PORT = f"http://{urlsplit(BASE_URL).hostname}:{(urlsplit(BASE_URL).port or 80) + 1000}"


def signed_in(world) -> Client:
    """A browser's requests: the session cookie, no Origin unless a test sends one."""
    browser = Client()
    browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    return browser


# ------------------------------------------------------------------ CSRF

def test_cookie_state_changes_from_another_origin_are_refused_whatever_the_body(world):
    browser = signed_in(world)
    t = world.queued_task()
    cancel = f"/api/tasks/{t.task_id}/cancel"
    attacks = [
        # fetch(url, {method: "POST", mode: "no-cors", credentials: "include"}) from another port.
        dict(headers={"Origin": OTHER_PORT}),
        # A field-less <form method=post> on a page of another site.
        dict(headers={"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
             data=""),
        dict(headers={"Origin": "null", "Content-Type": "text/plain"}, data="{}"),
        # No Origin, a Referer from elsewhere; then neither.
        dict(headers={"Referer": OTHER_PORT + "/attack.html"}),
        dict(headers={}),
    ]
    for attack in attacks:
        r = browser.request("POST", cancel, **attack)
        assert_error(r, 403, "cross_origin")
    assert world.task(t.task_id)["status"] == "queued", "nothing was cancelled"
    assert_error(browser.request("DELETE", "/api/session", headers={"Origin": OTHER_PORT}), 403, "cross_origin")
    browser.get("/api/me", expect=200)  # still signed in

    # The page itself, and bearer clients (not browsers), go through.
    assert browser.request("POST", cancel, headers={"Origin": BASE_URL}).status_code == 200
    t2 = world.queued_task()
    assert world.user.post(f"/api/tasks/{t2.task_id}/cancel", headers={"Origin": "http://evil.example"}).status_code == 200


# ------------------------------------------------------------------ sign-in

def api_login_in_sql(email, password, address):
    """One sign-in through the SQL function the workers call, in its own session."""
    p = subprocess.run([*stack_psql(), "-c",
                        f"select agentlive.api_login({lit(email)}, {lit(password)}, 60, {lit(address)})"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode == 0:
        return "token" if '"token"' in p.stdout else "invalid_credentials"
    return "rate_limited" if "rate_limited" in p.stderr else p.stderr


def stack_psql():
    return [os.environ["AGENTLIVE_STACK"], "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]


def test_concurrent_wrong_passwords_are_counted_exactly(world):
    address = "192.0.2.41"
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda _: api_login_in_sql(world.email, "wrong", address), range(24)))
    assert results.count("invalid_credentials") == 10, results
    assert results.count("rate_limited") == 14, results


def test_a_stranger_elsewhere_cannot_lock_a_user_out(world):
    for _ in range(12):
        api_login_in_sql(world.email, "wrong", "198.51.100.7")
    assert api_login_in_sql(world.email, world.password, "198.51.100.7") == "rate_limited"
    assert api_login_in_sql(world.email, world.password, "203.0.113.9") == "token", \
        "the user, from their own address, still signs in"
    # Guessing across many emails from one address is limited too.
    for i in range(30):
        api_login_in_sql(f"nobody-{i}@{world.slug}.test", "x", "198.51.100.8")
    assert api_login_in_sql(world.email, world.password, "198.51.100.8") == "rate_limited"


def test_sign_in_bursts_are_limited_by_nginx_with_a_json_429(world):
    statuses = []
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for r in pool.map(lambda _: requests.post(BASE_URL + "/api/session", timeout=30,
                                                      json={"email": f"x-{uuid.uuid4().hex}@x.test", "password": "x"}),
                              range(30)):
                statuses.append(r.status_code)
                if r.status_code == 429:
                    assert r.headers["Content-Type"].startswith("application/json"), describe(r)
                    assert r.json()["error"]["code"] == "rate_limited"
        assert 429 in statuses and 401 in statuses, statuses
    finally:
        sql("delete from agentlive.login_failure where address = '127.0.0.1'")
        time.sleep(6)  # the bucket refills (2/s, burst 10) for the tests after this one


# ------------------------------------------------------------------ daemon identity

def test_a_task_belongs_to_the_daemon_token_that_claimed_it(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 2))
    second = Client(sql(f"select agentlive.create_daemon_token({lit(world.slug)}, 'never registered')"))
    for method, path, body in (
            ("POST", f"/api/daemon/tasks/{t.task_id}/start", {}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/progress", {"summary": "hijacked"}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/messages", batch(3, 4)),
            ("POST", f"/api/daemon/tasks/{t.task_id}/complete", {"pr_url": "javascript:alert(1)"}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/complete", {"output": "done by someone else"}),
            ("POST", f"/api/daemon/tasks/{t.task_id}/fail", {"error": "x"})):
        r = second.request(method, path, json=body)
        assert r.status_code in (404, 422), describe(r)
        if r.status_code == 404:
            assert_error(r, 404, "task_not_found")
    reg = {"daemon_id": world.daemon_id, "agent_id": world.agent_id,
           "runtimes": [{"type": "claude", "version": "1", "status": "ready"}]}
    assert_error(second.post("/api/daemon/register", json=reg), 409, "daemon_id_taken")
    assert_error(second.post("/api/daemon/heartbeat", json={
        "daemon_id": world.daemon_id, "agent_id": world.agent_id, "current_tasks": [t.task_id]}),
        404, "daemon_not_found")
    task = world.task(t.task_id)
    assert (task["status"], task["summary"], task["output"]) == ("running", None, None)
    assert stored_seqs(t.task_id) == [1, 2]
    # Once the first token is revoked, the id may be registered by another.
    sql(f"select agentlive.revoke_token(id) from agentlive.tokens where label = {lit(world.daemon_label)}")
    assert second.post("/api/daemon/register", json=reg).status_code == 200


def test_pr_url_is_only_http_or_https(world):
    t = world.running_task()
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
                "https://", "https://x.example/a b", "//evil.example/x"):
        assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/complete", json={"pr_url": bad}),
                     422, "invalid_value")
    assert world.task(t.task_id)["status"] == "running"
    done = world.complete(t.task_id, pr_url="https://git.example/pr/1")
    assert done["pr_url"] == "https://git.example/pr/1"


def test_tool_input_must_be_a_json_object(world):
    t = world.running_task()
    for bad in ('"rm -rf /"', "[1, 2]", "42", "true"):
        r = world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages",
                              data='{"messages":[{"seq":1,"type":"tool_use","tool":"Bash","input":' + bad + "}]}",
                              headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, describe(r)
    assert stored_seqs(t.task_id) == []
    world.post_messages(t.task_id, {"messages": [{"seq": 1, "type": "tool_use", "tool": "Bash",
                                                  "input": {"command": "ls"}}]})


# ------------------------------------------------------------------ the web root

def test_the_web_root_serves_only_the_page():
    index = requests.get(BASE_URL + "/", timeout=10)
    assert index.status_code == 200 and "text/html" in index.headers["Content-Type"]
    web = pathlib.Path(__file__).resolve().parents[2] / "deploy/web"
    for path in ("/README.md", "/tests/merge.test.mjs", "/js/package.json", "/screenshots/card-working.png"):
        assert (web / path.lstrip("/")).exists(), f"{path} is in deploy/web"
        r = requests.get(BASE_URL + path, timeout=10)
        # Unknown paths get the page itself (the router of the single page) or a 404, never the file.
        assert r.content == index.content or r.status_code == 404, \
            f"{path} served: {r.status_code} {r.headers.get('Content-Type')}"
        assert (web / path.lstrip("/")).read_bytes()[:200] not in r.content
    served = pathlib.Path(STACK_DIR, "web")
    assert not [p for p in served.rglob("*") if p.suffix in (".md", ".json", ".png", ".mjs")]
    assert stack_settings()  # the stack the page was copied into is this one
