#!/usr/bin/env python3
"""What NOTIFY costs the writer as relays are added: commit latency of single-message
inserts into task_message (each fires the trigger that NOTIFYs agentlive_events)
with 0, the stack's own, 5 and 20 relays listening. Runs against a running stack
(STACK_DIR, from `deploy/dev/stack up`); extra relays are started from its binary and
stopped afterwards. Prints one line per relay count: transactions/s, latency p50 and
p99 in ms (pgbench, CLIENTS connections, SECONDS_PER each; RATE=N offers N
transactions/s instead of as many as the clients manage).

    STACK_DIR=.stack deploy/dev/bench.d/notify_cost.py
"""
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

PGBIN = pathlib.Path("/usr/lib/postgresql/15/bin")
ROOT = pathlib.Path(__file__).resolve().parents[3]
STACK = ROOT / "deploy/dev/stack"
SECONDS = int(os.environ.get("SECONDS_PER", "10"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
COUNTS = [int(x) for x in os.environ.get("RELAY_COUNTS", "0 2 5 20").split()]
# Transactions/s offered (pgbench -R); 0: as fast as the clients go.
RATE = int(os.environ.get("RATE", "0"))


def settings(stack_dir):
    env = {}
    for line in (stack_dir / "env").read_text().splitlines():
        if line.startswith("export "):
            key, value = line[7:].split("=", 1)
            env[key] = shlex.split(value)[0] if value else ""
    return env


def main():
    stack_dir = pathlib.Path(os.environ["STACK_DIR"]).resolve()
    env = settings(stack_dir)
    url = env["AGENTLIVE_DATABASE_URL"]

    def psql(sql):
        return subprocess.run([str(PGBIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    def listeners():
        return int(psql("select count(*) from pg_stat_activity where query ilike 'listen %'"))

    slug = f"ncost{os.getpid()}"
    psql(f"select agentlive.create_workspace('{slug}', 'notify cost')")
    agent = psql(f"select agentlive.create_agent('{slug}', 'bench', 'claude')")
    task = psql(f"""
        with w as (select id from agentlive.workspace where slug = '{slug}'),
             i as (insert into agentlive.issue (workspace_id, title) select id, 'notify cost' from w returning id, workspace_id)
        insert into agentlive.task (issue_id, workspace_id, agent_id, status, title, description)
        select i.id, i.workspace_id, '{agent}', 'running', 'notify cost', '' from i returning id""")
    psql("create sequence if not exists public.notify_cost_seq")
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write(f"insert into agentlive.task_message (task_id, seq, type, content) "
                 f"values ('{task}', nextval('public.notify_cost_seq'), 'text', repeat('x', 200));\n")
    script.close()
    stack_env = dict(os.environ, STACK_DIR=str(stack_dir))
    extra = []
    base_port = int(env["RELAY_PORT"]) + 100
    rows = []
    try:
        for count in COUNTS:
            own = int(env.get("RELAYS", "1"))
            if count == 0:
                subprocess.run([str(STACK), "stop", "relay"], env=stack_env, check=True, capture_output=True)
            else:
                subprocess.run([str(STACK), "start", "relay"], env=stack_env, check=True, capture_output=True)
                while len(extra) < count - own:
                    port = base_port + len(extra)
                    log = open(stack_dir / "log" / f"notify-cost-relay-{port}.log", "ab")
                    extra.append(subprocess.Popen([env["BIN"] + "/agentlive-relay", "--host", "127.0.0.1", "--port", str(port)],
                                                  env=dict(os.environ, AGENTLIVE_DATABASE_URL=url), stdout=log, stderr=log))
            wanted = count if count == 0 else max(count, own)
            deadline = time.monotonic() + 60
            while listeners() != wanted:
                if time.monotonic() > deadline:
                    sys.exit(f"expected {wanted} listening relays, see {listeners()}")
                time.sleep(0.2)
            with tempfile.TemporaryDirectory() as logs:
                subprocess.run([str(PGBIN / "pgbench"), "-n", "-c", str(CLIENTS), "-j", str(CLIENTS), "-T", str(SECONDS),
                                *(["-R", str(RATE)] if RATE else []),
                                "-f", script.name, "--log", "--log-prefix", f"{logs}/tx", url],
                               check=True, capture_output=True, text=True)
                latencies = []
                for path in pathlib.Path(logs).iterdir():
                    for line in path.read_text().splitlines():
                        latencies.append(int(line.split()[2]) / 1000.0)
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            rows.append((wanted, len(latencies) / SECONDS, statistics.median(latencies), p99))
            print(f"relays listening {wanted:>3}: {len(latencies) / SECONDS:8.0f} tx/s  "
                  f"p50 {statistics.median(latencies):6.2f} ms  p99 {p99:6.2f} ms", flush=True)
    finally:
        for proc in extra:
            proc.terminate()
        for proc in extra:
            proc.wait(10)
        subprocess.run([str(STACK), "start", "relay"], env=stack_env, capture_output=True)
        psql(f"delete from agentlive.workspace where slug = '{slug}'")
        psql("drop sequence if exists public.notify_cost_seq")
        os.unlink(script.name)


if __name__ == "__main__":
    main()
