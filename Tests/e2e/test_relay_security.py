"""The relay's side of browser-session security, through nginx: a cookie upgrade
from a foreign Origin is refused; revoking a token, signing out, a session's expiry
and a removed membership reach open WebSockets; a subscribe flood is rate-limited.

Every wait is bounded and generous: it fails only when the thing never happens.
"""
import asyncio
import time
import uuid

import pytest
import websockets

from agentlive_fixtures import BASE_URL, Client, lit, new_world, sql

# Every server-side close in this file is 1008 (policy violation).
POLICY = 1008


async def http(fn, *args, **kw):
    return await asyncio.to_thread(fn, *args, **kw)


def sign_in(world):
    """A browser's session: (client that sends the page's Origin, cookie value)."""
    browser = Client(origin=BASE_URL)
    browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    cookie = browser.s.cookies.get("agentlive_session")
    assert cookie and cookie.startswith("als_")
    return browser, cookie


def token_id(token):
    """The id part of a token (`alu_<32 hex>_<secret>`), as a UUID."""
    return str(uuid.UUID(token.split("_")[1]))


async def comment(world, issue_id, content, client=None):
    r = await http((client or world.user).post, f"/api/issues/{issue_id}/comments",
                   json={"content": content}, expect=201)
    return r.json()


async def refused_at_upgrade(live, **kw):
    """(HTTP status, None) when the upgrade is refused, else (None, close code) of a
    connection that is closed before it can subscribe; fails if it stays usable."""
    try:
        c = await live.connect(**kw)
    except websockets.InvalidStatus as e:
        return e.response.status_code, None
    try:
        await c.send("ping")
    except websockets.ConnectionClosed:
        pass
    code, frames = await c.closed(10)
    assert all(f.get("type") in ("error", "pong") for f in frames), frames
    return None, code


# ------------------------------------------------------------------- Origin

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "OTHER_PORT", "https-instead"])
def test_a_cookie_upgrade_from_a_foreign_origin_is_refused(world, live, origin):
    _, cookie = sign_in(world)
    host = BASE_URL.split("://", 1)[1]
    origin = {"OTHER_PORT": f"http://{host.rsplit(':', 1)[0]}:1",
              "https-instead": f"https://{host}"}.get(origin, origin)

    async def main():
        status, code = await refused_at_upgrade(live, cookie=cookie, headers={"Origin": origin}, label=origin)
        assert status == 403 or code == POLICY, (status, code)

    live.run(main)


def test_the_pages_own_origin_and_non_browser_clients_are_served(world, live):
    _, cookie = sign_in(world)
    issue = world.create_issue()["id"]

    async def main():
        page = await live.connect(cookie=cookie, headers={"Origin": BASE_URL}, label="page")
        # The Origin check is for the cookie only: a token cannot be sent by another page.
        bearer = await live.connect(token=world.user_token, headers={"Origin": "http://evil.example"}, label="bearer")
        frame = await live.connect(headers={"Origin": "http://evil.example"}, first_frame=world.user_token,
                                   label="first frame")
        for c in (page, bearer, frame):
            await c.subscribe(issue)
        made = await comment(world, issue, "to all three")
        for c in (page, bearer, frame):
            assert (await c.expect("comment:created"))["payload"]["id"] == made["id"]

    live.run(main)


# ------------------------------------------------------------------- revocation

def test_sign_out_closes_the_sessions_sockets_and_no_other(world, live):
    browser, cookie = sign_in(world)
    issue = world.create_issue()["id"]

    async def main():
        page = await live.connect(cookie=cookie, headers={"Origin": BASE_URL}, label="page")
        other = await live.connect(token=world.user_token, label="the user's API token")
        for c in (page, other):
            await c.subscribe(issue)
        await http(browser.delete, "/api/session", expect=204)
        code, frames = await page.closed(10)
        assert code == POLICY, (code, frames)
        assert [f["type"] for f in frames if f["type"] != "error"] == [], frames
        # Another token of the same user is not affected.
        await comment(world, issue, "after sign-out")
        await other.expect("comment:created")

    live.run(main)


@pytest.mark.parametrize("how", ["revoke_token", "delete"])
def test_a_revoked_or_deleted_token_closes_every_socket_that_holds_it(world, live, how):
    token = sql(f"select agentlive.create_user_token({lit(world.email)}, 'to revoke')")
    issue = world.create_issue()["id"]

    async def main():
        header = await live.connect(token=token, label="bearer")
        frame = await live.connect(first_frame=token, label="first frame")
        bystander = await live.connect(token=world.user_token, label="bystander")
        for c in (header, frame, bystander):
            await c.subscribe(issue)
        if how == "revoke_token":
            await http(sql, f"select agentlive.revoke_token({lit(token_id(token))})")
        else:
            await http(sql, f"delete from agentlive.token where id = {lit(token_id(token))}")
        await comment(world, issue, "after the revocation")
        for c in (header, frame):
            code, frames = await c.closed(10)
            assert code == POLICY, (c.label, code, frames)
            assert "comment:created" not in [f["type"] for f in frames], (c.label, frames)
        await bystander.expect("comment:created")

    live.run(main)


def test_a_session_that_expires_is_closed_at_its_expiry(world, live):
    _, cookie = sign_in(world)
    issue = world.create_issue()["id"]
    # Nothing announces an expiry: the relay must act on expires_at itself.
    sql(f"update agentlive.token set expires_at = now() + interval '4 seconds' where id = {lit(token_id(cookie))}")

    async def main():
        page = await live.connect(cookie=cookie, headers={"Origin": BASE_URL}, label="page")
        await page.subscribe(issue)
        await comment(world, issue, "before expiry")
        await page.expect("comment:created")
        code, frames = await page.closed(20)
        assert code == POLICY, (code, frames)
        assert [f["payload"]["code"] for f in frames if f["type"] == "error"] == ["unauthorized"], frames

    live.run(main)


def test_a_removed_member_stops_getting_that_workspaces_events(world, live):
    lost = world.create_issue()["id"]  # before the user has two workspaces (then it must name one)
    other_workspace = new_world()
    sql(f"select agentlive.add_member({lit(other_workspace.slug)}, {lit(world.email)}, 'member')")
    colleague_email = f"c{uuid.uuid4().hex[:10]}@example.test"
    sql(f"select agentlive.create_user({lit(colleague_email)}, 'Colleague', 'pw-colleague')",
        f"select agentlive.add_member({lit(world.slug)}, {lit(colleague_email)}, 'member')")
    colleague = Client(sql(f"select agentlive.create_user_token({lit(colleague_email)}, 'colleague')"))
    kept = other_workspace.create_issue()["id"]

    async def main():
        removed = await live.connect(token=world.user_token, label="removed member")
        stays = await live.connect(token=colleague.s.headers["Authorization"].split()[1], label="colleague")
        await removed.subscribe(lost)
        await removed.subscribe(kept)
        await stays.subscribe(lost)
        await http(sql, f"delete from agentlive.member where workspace_id = {lit(world.workspace_id)} "
                        f"and user_id = {lit(world.user_id)}")
        err = await removed.expect_error("forbidden")
        assert err["issue_id"] == lost, err
        await comment(world, lost, "members only", client=colleague)
        await stays.expect("comment:created")
        assert await removed.barrier() == [], "events of a workspace the user left"
        await removed.send("subscribe", {"issue_id": lost})
        assert (await removed.expect_error("forbidden"))["issue_id"] == lost
        # The other workspace's subscription goes on.
        await comment(other_workspace, kept, "still a member here")
        assert (await removed.expect("comment:created"))["payload"]["issue_id"] == kept

    live.run(main)


# ------------------------------------------------------------------- subscribe flood

def test_a_subscribe_flood_is_rate_limited_then_closed(world, live):
    n = 1000

    async def main():
        flood = await live.connect(token=world.user_token, label="flood")
        started = time.monotonic()
        try:
            for _ in range(n):
                await flood.send("subscribe", {"issue_id": str(uuid.uuid4())})
        except websockets.ConnectionClosed:
            pass
        code, frames = await flood.closed(60)
        elapsed = time.monotonic() - started
        codes = [f["payload"]["code"] for f in frames if f["type"] == "error"]
        answered = codes.count("forbidden")  # each one a database query
        print(f"\nflood: {answered} subscribes answered, {codes.count('rate_limited')} rate_limited, "
              f"close {code} after {elapsed:.1f} s")
        assert code == POLICY, (code, frames[-3:])
        assert "rate_limited" in codes
        # The burst (200), the refill (10/s) over the time it took, and some slack.
        assert answered <= 200 + 10 * elapsed + 20, (answered, elapsed)
        # The limit is per connection: a new one subscribes at once.
        fresh = await live.connect(token=world.user_token, label="fresh")
        await fresh.subscribe((await http(world.create_issue))["id"])

    live.run(main)
