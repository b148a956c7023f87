"""Operator functions and views in psql take effect live."""
import hashlib
import uuid

import pytest

from agentlive_fixtures import assert_error, batch, lit, sql, sql_int, stored_seqs

FINISHED = "('completed', 'failed', 'cancelled')"


def in_view(view, value) -> int:
    """Rows of an agentlive view that mention value in any column."""
    return sql_int(f"select count(*) from agentlive.{view} v where row_to_json(v)::text like "
                   f"{lit('%' + value + '%')}")


def test_cancel_task_reaches_the_daemon(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 3))
    assert sql(f"select agentlive.cancel_task({lit(t.task_id)})") == "t"
    assert world.task(t.task_id)["status"] == "cancelled"
    assert world.heartbeat([t.task_id]) == [t.task_id]
    assert t.task_id in world.heartbeat(1)
    assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages", json=batch(4, 6)),
                 409, "task_not_active")
    assert stored_seqs(t.task_id) == [1, 2, 3]
    assert world.active_task(t.issue_id) is None
    assert [e["kind"] for e in world.timeline(t.issue_id)] == ["task_queued", "task_cancelled"]
    assert sql(f"select agentlive.cancel_task({lit(t.task_id)})") == "f", "already finished"
    assert sql(f"select agentlive.cancel_task({lit(str(uuid.uuid4()))})") == "f"


def test_cancel_task_of_a_queued_task(world):
    t = world.queued_task()
    assert sql(f"select agentlive.cancel_task({lit(t.task_id)})") == "t"
    world.claim(expect=204)
    assert world.issue(t.issue_id)["status"] == "open"


def test_purge_messages_only_of_finished_tasks(world):
    done, active = world.running_task(), world.running_task()
    world.post_messages(done.task_id, batch(1, 6))
    world.post_messages(active.task_id, batch(1, 4))
    world.complete(done.task_id, output="ok")

    sql("select agentlive.purge_messages('1 day')")
    assert stored_seqs(done.task_id) == list(range(1, 7)), "younger than the interval: kept"

    expected, purged = sql(
        "begin",
        "select count(*) from agentlive.task_message m join agentlive.task t on t.id = m.task_id "
        f"where t.status in {FINISHED}",
        "select agentlive.purge_messages('0 seconds')",
        "commit").splitlines()
    assert int(purged) == int(expected) and int(purged) >= 6
    assert stored_seqs(done.task_id) == []
    assert stored_seqs(active.task_id) == [1, 2, 3, 4], "messages of an active task are kept"
    assert [m["seq"] for m in world.all_messages(active.task_id)] == [1, 2, 3, 4]
    assert world.post_messages(active.task_id, batch(5, 5))["last_seq"] == 5
    assert sql("select agentlive.purge_messages('0 seconds')") == "0"


def test_reap_lost_daemons(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 2))
    sql(f"update agentlive.daemon set last_heartbeat_at = now() - interval '1 hour' "
        f"where id = {lit(world.daemon_id)}")

    sql("select agentlive.reap_lost_daemons('2 hours')")
    assert world.task(t.task_id)["status"] == "running", "heartbeat within the timeout: kept"

    expected, reaped = sql(
        "begin",
        "select count(*) from agentlive.task t "
        "join agentlive.daemon d on d.workspace_id = t.workspace_id and d.id = t.daemon_id "
        "where t.status in ('dispatched', 'running') and d.last_heartbeat_at < now() - interval '1 second'",
        "select agentlive.reap_lost_daemons('1 second')",
        "commit").splitlines()
    assert int(reaped) == int(expected) and int(reaped) >= 1

    task = world.task(t.task_id)
    assert (task["status"], task["error"]) == ("failed", "daemon lost")
    assert task["finished_at"] is not None
    assert world.heartbeat([t.task_id]) == [t.task_id]
    assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages", json=batch(3, 3)),
                 409, "task_not_active")
    entries = world.timeline(t.issue_id)
    assert entries[-1]["kind"] == "task_failed" and entries[-1]["task"]["error"] == "daemon lost"
    assert world.issue(t.issue_id)["status"] == "open"


def test_requeue_task(world):
    """The issue gets a queued task again, which a daemon claims; the old one stops being active."""
    t = world.dispatched_task()
    sql(f"select agentlive.requeue_task({lit(t.task_id)})")
    assert world.active_task(t.issue_id) is None, "queued again: not active"
    assert world.issue(t.issue_id)["status"] == "in_progress"
    again = world.claim()
    assert again["issue_id"] == t.issue_id
    if again["task_id"] != t.task_id:
        assert world.task(t.task_id)["status"] in ("failed", "cancelled")
        assert world.heartbeat([t.task_id]) == [t.task_id], "the daemon is told to stop the old task"
    assert world.start(again["task_id"])["status"] == "running"
    world.claim(expect=204)


def test_requeue_task_returns_the_new_task_and_rejects_unknown_ids(world):
    """agentlive.requeue_task(uuid) -> uuid of the queued task; an unknown id is an error."""
    t = world.dispatched_task()
    new_id = sql(f"select agentlive.requeue_task({lit(t.task_id)})")
    assert uuid.UUID(new_id) and new_id != t.task_id
    assert sql(f"select status from agentlive.task where id = {lit(new_id)}") == "queued"
    # A task that is already queued is its own requeue.
    assert sql(f"select agentlive.requeue_task({lit(new_id)})") == new_id
    with pytest.raises(Exception):
        sql(f"select agentlive.requeue_task({lit(str(uuid.uuid4()))})")


def test_active_tasks_and_daemons_views(world):
    world.register()
    assert in_view("daemons", world.daemon_id) == 1
    t = world.running_task()
    assert in_view("active_tasks", t.task_id) == 1
    world.complete(t.task_id, output="ok")
    assert in_view("active_tasks", t.task_id) == 0


def test_tokens_view_never_shows_the_secret(world):
    world.user.get("/api/me", expect=200)
    cols = sql("select column_name from information_schema.columns "
               "where table_schema = 'agentlive' and table_name = 'tokens'").splitlines()
    assert {"id", "kind", "label", "workspace_slug", "email", "created_at", "last_used_at",
            "revoked_at"} <= set(cols), cols
    assert not [c for c in cols if any(w in c for w in ("hash", "secret", "token", "digest"))], cols

    rows = sql(f"select row_to_json(v)::text from agentlive.tokens v where label in "
               f"({lit(world.user_label)}, {lit(world.daemon_label)})").splitlines()
    assert len(rows) == 2
    assert world.slug in rows[0] + rows[1] and world.email in rows[0] + rows[1]
    everything = sql("select coalesce(string_agg(row_to_json(v)::text, ' '), '') from agentlive.tokens v")

    secrets = set()
    for token in (world.user_token, world.daemon_token):
        secrets |= {token, token.split("_", 1)[-1], hashlib.sha256(token.encode()).hexdigest()}
    # whatever hashes the tables store for these tokens must not show either
    hash_cols = sql("select table_name || '.' || column_name from information_schema.columns "
                    "where table_schema = 'agentlive' and column_name ~ '(hash|secret|digest)' "
                    "and table_name <> 'tokens'").splitlines()
    for col in hash_cols:
        table, column = col.split(".")
        has_label = sql_int("select count(*) from information_schema.columns where table_schema = 'agentlive' "
                            f"and table_name = {lit(table)} and column_name = 'label'")
        if has_label:
            for value in sql(f"select {column}::text from agentlive.{table} where label in "
                             f"({lit(world.user_label)}, {lit(world.daemon_label)})").splitlines():
                secrets.add(value.removeprefix("\\x"))
    for secret in secrets:
        assert secret and secret not in everything, "a token secret or hash shows in agentlive.tokens"
