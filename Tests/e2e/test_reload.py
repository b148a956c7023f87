"""A reload of the API (SIGHUP to its supervisor, as `systemctl reload` sends) or a
SIGHUP to every process of the pool (as `systemctl kill -s HUP` sends) replaces
the workers without failing a single request under load."""
import os
import signal
import threading
import uuid

import requests

from conftest import (Client, batch, describe, stack_settings, supervisor_pid, wait_until,
                      worker_pids)

CLIENTS = 8
RELOADS = 10
POOL_ROUNDS = 2
MAX_REQUESTS = 20_000  # per client: the loops end on their own even if the test's thread dies
WAIT = 60  # seconds, every wait for the pool


def test_reload_under_load_fails_no_request(world):
    supervisor, first = supervisor_pid(), worker_pids()
    size = int(stack_settings().get("WORKERS", len(first)))
    assert len(first) == size, f"expected {size} workers, found {first}"
    tasks = [world.running_task() for _ in range(CLIENTS)]
    stop = threading.Event()
    done = [0] * CLIENTS
    failures = []

    def client_loop(index):
        user, daemon = Client(world.user_token), Client(world.daemon_token)
        # Thousands of answers of four kinds: not worth recording for test_openapi.
        user.s.hooks["response"].clear()
        daemon.s.hooks["response"].clear()
        task, seq = tasks[index].task_id, 0
        for n in range(MAX_REQUESTS):
            if stop.is_set():
                return
            kind = (index + n) % 4
            try:
                if kind == 0:
                    r, want = user.get("/api/me"), 200
                elif kind == 1:
                    r, want = user.get("/api/issues"), 200
                elif kind == 2:
                    r, want = user.post("/api/issues", json={"title": f"reload {uuid.uuid4().hex[:8]}",
                                                             "description": "under reload"}), 201
                else:
                    seq += 1
                    r, want = daemon.post(f"/api/daemon/tasks/{task}/messages", json=batch(seq, seq)), 200
                if r.status_code != want:
                    failures.append(f"client {index}, expected {want}: {describe(r)}")
                elif kind == 3 and r.json() != {"accepted": 1, "duplicates": 0, "last_seq": seq}:
                    failures.append(f"client {index}: {describe(r)}")
            except requests.RequestException as e:
                failures.append(f"client {index}: {e!r}")
            done[index] += 1

    def served_since(mark):
        return lambda: sum(done) >= mark + 4 * CLIENTS

    def replaced(old):
        def check():
            pids = worker_pids()
            return pids if len(pids) == size and not pids & old else None
        return check

    def signal_and_wait(pids, what):
        old, mark = worker_pids(), sum(done)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGHUP)
            except ProcessLookupError:
                pass  # a worker that was on its way out already
        wait_until(replaced(old), WAIT, f"{size} new workers after {what}")
        wait_until(served_since(mark), WAIT, f"requests served after {what}")

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(CLIENTS)]
    for th in threads:
        th.start()
    try:
        wait_until(served_since(0), WAIT, "the clients to get going")
        for n in range(RELOADS):
            signal_and_wait([supervisor], f"SIGHUP {n + 1} to the supervisor")
        for n in range(POOL_ROUNDS):
            signal_and_wait([supervisor, *worker_pids()], f"SIGHUP {n + 1} to every process of the pool")
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "client loops did not end"
    assert not failures, f"{len(failures)} of {sum(done)} requests failed:\n" + "\n".join(failures[:20])
    assert sum(done) >= 4 * CLIENTS * (RELOADS + POOL_ROUNDS)
    assert supervisor_pid() == supervisor
    assert not worker_pids() & first, "every worker was replaced"
