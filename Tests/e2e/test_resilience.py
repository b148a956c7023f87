"""A killed worker loses nothing; a database outage is a 503, and the workers survive it."""
import os
import signal
import threading

from agentlive_fixtures import (Client, assert_error, batch, describe, post_with_retry, stack, stored_seqs,
                      supervisor_pid, wait_until, worker_pids)

BATCHES, SIZE, TASKS = 200, 20, 4


def test_killed_worker_loses_no_message(world):
    supervisor, before = supervisor_pid(), worker_pids()
    assert before, "the supervisor has no worker children"
    tasks = [world.running_task() for _ in range(TASKS)]
    done, errors = [0], []
    lock = threading.Lock()

    def poster(task):
        client = Client(world.daemon_token)
        try:
            for first in range(1, BATCHES // TASKS * SIZE + 1, SIZE):
                r = post_with_retry(client, f"/api/daemon/tasks/{task.task_id}/messages",
                                    batch(first, first + SIZE - 1), attempts=150, pause=0.2)
                assert r.status_code == 200, describe(r)
                body = r.json()
                assert body["accepted"] + body["duplicates"] == SIZE, body
                with lock:
                    done[0] += 1
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=poster, args=(t,), daemon=True) for t in tasks]
    for th in threads:
        th.start()
    victims = []
    for threshold in (BATCHES // 4, BATCHES // 2):
        wait_until(lambda: done[0] >= threshold or not any(th.is_alive() for th in threads), 120,
                   f"{threshold} batches posted")
        alive = sorted(worker_pids() - set(victims))
        assert alive, "no worker left to kill"
        victims.append(alive[0])
        os.kill(alive[0], signal.SIGKILL)
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "posters did not finish"
    assert not errors, errors
    assert done[0] == BATCHES

    expected = list(range(1, BATCHES // TASKS * SIZE + 1))
    for t in tasks:
        assert stored_seqs(t.task_id) == expected
        assert world.task(t.task_id)["last_seq"] == expected[-1]
    assert [m["seq"] for m in world.all_messages(tasks[0].task_id)] == expected

    def replaced():
        pids = worker_pids()
        return pids if len(pids) == len(before) and not pids & set(victims) else None

    after = wait_until(replaced, 15, f"{len(before)} workers again, without {victims}")
    assert after != before
    assert supervisor_pid() == supervisor


def test_database_outage_is_503_and_workers_survive(world):
    t = world.running_task()
    world.user.get("/api/me", expect=200)
    pids = worker_pids()
    health = Client()
    try:
        stack("stop", "postgres")
        last = []

        def unavailable():
            last[:] = [health.get("/api/health")]
            return last[0].status_code == 503

        wait_until(unavailable, 30, "/api/health to answer 503")
        assert_error(last[0], 503, "database_unavailable")
        assert_error(world.user.get("/api/me"), 503, "database_unavailable")
        assert_error(world.daemon.post(f"/api/daemon/tasks/{t.task_id}/messages", json=batch(1, 3)),
                     503, "database_unavailable")
    finally:
        stack("start", "postgres")

    ok = [0]

    def healthy_in_a_row():
        ok[0] = ok[0] + 1 if health.get("/api/health").status_code == 200 else 0
        return ok[0] >= 5

    wait_until(healthy_in_a_row, 30, "/api/health to answer 200 five times in a row")
    for _ in range(5):
        assert world.user.get("/api/me", expect=200).json()["user"]["id"] == world.user_id
    assert world.post_messages(t.task_id, batch(1, 3)) == {"accepted": 3, "duplicates": 0, "last_seq": 3}
    assert world.create_issue()["status"] == "open"
    assert worker_pids() == pids, "workers must ride out an outage, not be restarted"
