"""How a relay reads AGENTLIVE_DATABASE_URL: with libpq's rules, as the API does.

Each test starts one more relay of the stack's build on a free loopback port with
its own connection string (PG* variables removed), and stops it at the end.
"""
import os
import pathlib
import pwd
import shlex
import signal
import socket
import subprocess
from urllib.parse import quote

import pytest
import requests

from agentlive_fixtures import STACK_DIR, TIMEOUT, lit, sql, wait_until


def stack_env() -> dict:
    """What `stack up` wrote to $STACK_DIR/env (BIN, PGPORT…)."""
    out = {}
    for line in pathlib.Path(STACK_DIR, "env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            out[key] = shlex.split(value)[0] if value else ""
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ExtraRelay:
    def __init__(self, url, tmp_path):
        env = stack_env()
        self.port = free_port()
        self.log_path = tmp_path / "relay.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        environment["AGENTLIVE_DATABASE_URL"] = url
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(pathlib.Path(env["BIN"], "agentlive-relay")), "--host", "127.0.0.1", "--port", str(self.port)],
                env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def health(self):
        try:
            r = requests.get(f"http://127.0.0.1:{self.port}/health", timeout=TIMEOUT)
        except requests.ConnectionError:
            return None
        return r.status_code, r.json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def extra_relay(tmp_path):
    started = []

    def start(url):
        relay = ExtraRelay(url, tmp_path)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()


def pg_port() -> str:
    return stack_env()["PGPORT"]


def socket_dir() -> str:
    return str(pathlib.Path(STACK_DIR, "pgsock"))


@pytest.mark.parametrize("form", ["keywords", "uri"])
def test_multi_host_string_takes_the_first_host_that_answers(world, live, extra_relay, form):
    """The first host has no server; the relay goes on to the second, checks it is
    not in recovery (read-write) and serves clients from it."""
    port = pg_port()
    if form == "keywords":
        url = (f"host=/nonexistent-agentlive,{socket_dir()} port={port} dbname=agentlive user=agentlive "
               "target_session_attrs=read-write")
    else:
        url = (f"postgresql://agentlive@{quote('/nonexistent-agentlive', safe='')}:{port},"
               f"{quote(socket_dir(), safe='')}:{port}/agentlive?target_session_attrs=read-write")
    relay = extra_relay(url)
    wait_until(lambda: (relay.health() or (0,))[0] == 200, 30, f"the extra relay listening ({relay.log()[-600:]})")
    log = relay.log()
    assert f'socket "{socket_dir()}/.s.PGSQL.{port}"' in log, log
    issue = world.create_issue()["id"]

    async def main():
        c = await live.connect(token=world.user_token, url=f"ws://127.0.0.1:{relay.port}/ws", label="extra relay")
        await c.subscribe(issue)
        made = world.user.post(f"/api/issues/{issue}/comments", json={"content": "via the second host"},
                               expect=201).json()
        assert (await c.expect("comment:created"))["payload"]["id"] == made["id"]

    live.run(main)


def test_without_user_the_os_user_is_used_and_errors_name_the_socket(extra_relay):
    """libpq's default user is the OS user (not `postgres`); when that role does not
    exist the relay keeps trying and says which socket and port it tried."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    if sql(f"select count(*) from pg_roles where rolname = {lit(user)}") != "0":
        pytest.skip(f"a role {user} exists in the stack's cluster")
    port = pg_port()
    relay = extra_relay(f"host={socket_dir()} port={port} dbname=agentlive")
    wanted = f'socket "{socket_dir()}/.s.PGSQL.{port}"'
    log = wait_until(lambda: (lambda text: text if "cannot connect" in text else None)(relay.log()), 30,
                     "a connection error in the relay's log")
    assert wanted in log and user in log, log
    status = relay.health()
    assert status is not None and status[0] == 503 and status[1]["listening"] is False, status
