"""Message batches are idempotent by (task_id, seq)."""
from concurrent.futures import ThreadPoolExecutor

from agentlive_fixtures import Client, assert_same_messages, batch, stored_seqs


def test_retried_batch_stores_nothing_twice(world):
    t = world.running_task()
    body = batch(1, 5)
    assert world.post_messages(t.task_id, body) == {"accepted": 5, "duplicates": 0, "last_seq": 5}
    assert world.post_messages(t.task_id, body) == {"accepted": 0, "duplicates": 5, "last_seq": 5}
    assert world.post_messages(t.task_id, body) == {"accepted": 0, "duplicates": 5, "last_seq": 5}
    assert stored_seqs(t.task_id) == [1, 2, 3, 4, 5]
    assert_same_messages(world.all_messages(t.task_id), body["messages"], t.task_id, t.issue_id)


def test_retry_with_changed_content_keeps_the_first(world):
    t = world.running_task()
    world.post_messages(t.task_id, batch(1, 2, type="text", content="first"))
    assert world.post_messages(t.task_id, batch(1, 2, type="text", content="second")) == \
        {"accepted": 0, "duplicates": 2, "last_seq": 2}
    assert [m["content"] for m in world.all_messages(t.task_id)] == ["first", "first"]


def test_overlapping_batches_store_the_union(world):
    t = world.running_task()
    assert world.post_messages(t.task_id, batch(1, 5)) == {"accepted": 5, "duplicates": 0, "last_seq": 5}
    assert world.post_messages(t.task_id, batch(3, 8)) == {"accepted": 3, "duplicates": 3, "last_seq": 8}
    assert world.post_messages(t.task_id, batch(2, 9)) == {"accepted": 1, "duplicates": 7, "last_seq": 9}
    assert stored_seqs(t.task_id) == list(range(1, 10))
    assert_same_messages(world.all_messages(t.task_id), batch(1, 9)["messages"], t.task_id, t.issue_id)


def test_out_of_order_batches_come_back_in_seq_order(world):
    t = world.running_task()
    assert world.post_messages(t.task_id, batch(6, 10)) == {"accepted": 5, "duplicates": 0, "last_seq": 10}
    assert world.task(t.task_id)["last_seq"] == 10
    assert world.post_messages(t.task_id, batch(1, 5)) == {"accepted": 5, "duplicates": 0, "last_seq": 10}
    assert world.task(t.task_id)["last_seq"] == 10
    shuffled = {"messages": [m for m in reversed(batch(11, 14)["messages"])]}
    assert world.post_messages(t.task_id, shuffled) == {"accepted": 4, "duplicates": 0, "last_seq": 14}
    assert stored_seqs(t.task_id) == list(range(1, 15))
    assert_same_messages(world.all_messages(t.task_id), batch(1, 14)["messages"], t.task_id, t.issue_id)


def test_concurrent_retries_of_one_batch_store_it_once(world):
    t = world.running_task()
    body = batch(1, 50)
    clients = [Client(world.daemon_token) for _ in range(4)]

    def post(client):
        return client.post(f"/api/daemon/tasks/{t.task_id}/messages", json=body, expect=200).json()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(post, clients * 2))
    assert sum(r["accepted"] for r in results) == 50, results
    assert all(r["accepted"] + r["duplicates"] == 50 and r["last_seq"] == 50 for r in results), results
    assert stored_seqs(t.task_id) == list(range(1, 51))


def test_paged_catch_up_has_no_gaps_or_duplicates(world):
    t = world.running_task()
    for first in range(1, 1201, 400):
        world.post_messages(t.task_id, batch(first, first + 399))
    got = world.all_messages(t.task_id, limit=333)
    assert [m["seq"] for m in got] == list(range(1, 1201))
    full = world.messages_page(t.task_id, limit=1000)
    assert len(full["messages"]) == 1000 and full["has_more"] is True and full["last_seq"] == 1000
    default = world.messages_page(t.task_id)
    assert len(default["messages"]) == 500 and default["has_more"] is True, "default limit is 500"
