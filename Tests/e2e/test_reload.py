"""A reload of the API (SIGHUP to its supervisor, as `systemctl reload` sends) or a
SIGHUP to every process of the pool (as `systemctl kill -s HUP` sends) replaces
the workers without failing a single request: under load, and for a request a
worker has accepted but not yet read when the signal comes."""
import os
import pathlib
import signal
import socket
import struct
import subprocess
import threading
import uuid

import pytest
import requests

from agentlive_fixtures import (STACK_DIR, TIMEOUT, Client, batch, describe, stack_settings, supervisor_pid,
                      wait_until, worker_pids)

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


# ---------------------------------------------------------------- one request, by hand

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def record(kind, content=b""):
    return struct.pack(">BBHHBx", 1, kind, 1, len(content), 0) + content


def name_value_pairs(pairs) -> bytes:
    out = b""
    for name, value in pairs.items():
        name, value = name.encode(), value.encode()
        for length in (len(name), len(value)):
            out += bytes([length]) if length < 128 else struct.pack(">I", length | 0x80000000)
        out += name + value
    return out


def read_response(sock) -> bytes:
    """The FCGI_STDOUT content, up to FCGI_END_REQUEST (or the end of the connection)."""
    out, buffer = b"", b""
    while True:
        while len(buffer) >= 8:
            _, kind, _, length, padding = struct.unpack(">BBHHB", buffer[:7])
            if len(buffer) < 8 + length + padding:
                break
            content, buffer = buffer[8:8 + length], buffer[8 + length + padding:]
            if kind == FCGI_STDOUT:
                out += content
            elif kind == FCGI_END_REQUEST:
                return out
        chunk = sock.recv(65536)
        if not chunk:
            return out
        buffer += chunk


def accept_queue(path) -> int:
    """Connections waiting in the listening socket's backlog (ss: Recv-Q)."""
    out = subprocess.run(["ss", "-xlnH"], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == path:
            return int(fields[2])
    raise AssertionError(f"{path} is not listening")


def told_to_stop_or_gone(pid) -> bool:
    """The process has SIGTERM or SIGHUP pending (blocked while it serves), or has ended."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields["State"].strip().startswith("Z"):
        return True
    pending = int(fields["ShdPnd"], 16) | int(fields["SigPnd"], 16)
    return bool(pending & (1 << (signal.SIGTERM - 1) | 1 << (signal.SIGHUP - 1)))


@pytest.mark.parametrize("target", ["supervisor", "every process"])
def test_accepted_request_is_answered_after_the_signal(target):
    path = str(pathlib.Path(STACK_DIR, "run", "api.sock").resolve())
    supervisor, old = supervisor_pid(), worker_pids()
    size = len(old)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        # The beginning of a request: the worker that accepts it waits for the rest.
        sock.sendall(record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
        wait_until(lambda: accept_queue(path) == 0, 10, "a worker to accept the connection")
        for pid in [supervisor] if target == "supervisor" else [supervisor, *old]:
            os.kill(pid, signal.SIGHUP)
        wait_until(lambda: all(told_to_stop_or_gone(pid) for pid in old), 10,
                   "every old worker to be told to stop")
        params = name_value_pairs({"REQUEST_METHOD": "GET", "REQUEST_URI": "/api/health",
                                   "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost"})
        try:
            sock.sendall(record(FCGI_PARAMS, params) + record(FCGI_PARAMS) + record(FCGI_STDIN))
            response = read_response(sock)
        except OSError as e:
            raise AssertionError(f"the worker dropped the accepted connection: {e!r}") from None
    assert response.startswith(b"Status: 200 OK\r\n"), response[:300]

    def replaced():
        pids = worker_pids()
        return pids if len(pids) == size and not pids & old else None

    wait_until(replaced, WAIT, f"{size} new workers")
    assert supervisor_pid() == supervisor
