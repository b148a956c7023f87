"""agentlive-daemon's agent runtimes end to end: each runtime's recorded session replayed
through the real stack reports the agent's session id and usage with the task's end; a
task on an issue the agent worked on before resumes that session (a fake agent CLI records
its arguments); a missing agent CLI stops the daemon before it registers; a silent agent
is stopped by the watchdog."""
import json
import os
import stat

import pytest

from agentlive_fixtures import lit, sql
from test_daemon import (DAEMON, SESSIONS, assert_messages_match, assert_outcome, daemons,  # noqa: F401 (fixture)
                         expected_messages, expected_outcome, fetch_messages, replay_args, wait_for_status)

RUNTIME_REPLAYS = ["claude-short", "claude-error", "codex-short", "codex-failed",
                   "gemini-long", "gemini-failed", "opencode-long", "opencode-failed"]


def assert_usage(got, want, log=""):
    if want is None:
        assert got is None, f"usage {got}\n{log}"
        return
    assert got is not None, f"no usage on the task\n{log}"
    for key in ("model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert got.get(key) == want.get(key), f"usage.{key}: {got.get(key)!r}, expected {want.get(key)!r}\n{log}"
    if want.get("cost_usd") is None:
        assert got.get("cost_usd") is None, got
    else:
        # The server keeps cost_usd as numeric(14, 6): micro-dollars.
        assert got["cost_usd"] == pytest.approx(round(want["cost_usd"], 6), rel=0, abs=1e-12), got


@pytest.mark.parametrize("name", RUNTIME_REPLAYS)
def test_replay_reports_the_session_and_usage_of_each_runtime(name, world, daemons):
    t = world.queued_task()
    d = daemons(world, *replay_args(name, 20), "--once", label=f"usage-{name}")
    assert d.wait(60, f"the {name} replay to end") == 0, d.log()
    log = d.log()
    task = world.task(t.task_id)
    assert_messages_match(fetch_messages(world, t.task_id), expected_messages(name), log)
    assert_outcome(world, task, name, log)
    want = expected_outcome(name)
    assert task["session_id"] == want["session_id"], f"{task}\n{log}"
    assert_usage(task["usage"], want["usage"], log)


def fake_cli(folder, session):
    """A fake agent CLI: records its arguments (one JSON list per call) and prints a recorded session."""
    folder.mkdir(parents=True, exist_ok=True)
    program, calls = folder / "agent", folder / "calls.jsonl"
    program.write_text(f"""#!/usr/bin/env python3
import json, sys
with open({str(calls)!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stdout.write(open({str(SESSIONS / (session + '.jsonl'))!r}).read())
""")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program, calls


@pytest.mark.parametrize("runtime,session,resumed", [
    ("claude", "claude-short", lambda argv, sid: argv[argv.index("--resume") + 1] == sid),
    ("codex", "codex-short", lambda argv, sid: argv[:3] == ["exec", "resume", sid]),
    ("gemini", "gemini-long", lambda argv, sid: argv[argv.index("--resume") + 1] == sid),
    ("opencode", "opencode-long", lambda argv, sid: argv[argv.index("--session") + 1] == sid),
])
def test_a_second_task_on_the_issue_resumes_the_agents_session(runtime, session, resumed, world, daemons, tmp_path):
    program, calls = fake_cli(tmp_path / "cli", session)
    first = world.queued_task()
    d = daemons(world, "--runtime", runtime, "--command", program, "--once", label=f"{runtime}-first")
    assert d.wait(60, "the first run") == 0, d.log()
    done = world.task(first.task_id)
    want = expected_outcome(session)
    assert done["session_id"] == want["session_id"], f"{done}\n{d.log()}"

    second = world.assign(first.issue_id)
    d = daemons(world, "--runtime", runtime, "--command", program, "--once", label=f"{runtime}-second")
    assert d.wait(60, "the resumed run") == 0, d.log()
    # The daemon may ask the CLI what it supports (claude --help): not a run.
    argvs = [a for a in map(json.loads, calls.read_text().splitlines()) if a not in (["--help"], ["--version"])]
    assert len(argvs) == 2, argvs
    assert not any(flag in argvs[0] for flag in ("--resume", "--session", "resume")), argvs[0]
    assert resumed(argvs[1], want["session_id"]), argvs[1]
    assert world.task(second["id"])["status"] == want["status"]


def test_a_missing_agent_cli_stops_the_daemon_before_it_registers(world, daemons, tmp_path):
    d = daemons(world, "--runtime", "gemini", "--command", tmp_path / "no-such-gemini", label="missing-cli")
    code = d.wait(20, "the daemon to refuse a missing agent CLI")
    log = d.log()
    assert code != 0, log
    assert "npm install -g @google/gemini-cli" in log and "--runtime" in log, log
    # It never registered: no daemon id was even chosen, or none reached the server.
    if (d.state_dir / "daemon-id").exists():
        assert sql(f"select count(*) from agentlive.daemons where id = {lit(d.daemon_id())}") == "0", log


def test_doctor_lists_every_runtime():
    import subprocess
    out = subprocess.run([str(DAEMON), "doctor"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = {line.split(":", 1)[0]: line for line in out.stdout.splitlines()}
    assert set(lines) == {"claude", "codex", "gemini", "opencode", "command", "replay"}, out.stdout
    assert "not found" in lines["gemini"] and "npm install -g @google/gemini-cli" in lines["gemini"], out.stdout


def test_the_watchdog_fails_a_task_whose_agent_goes_silent(world, daemons):
    t = world.queued_task()
    d = daemons(world, "--runtime", "command", "--command", "echo started; exec sleep 300", "--once",
                "--idle-timeout", "1s", label="watchdog")
    assert d.wait(30, "the watchdog to stop the silent agent") == 0, d.log()
    task = world.task(t.task_id)
    assert task["status"] == "failed", f"{task}\n{d.log()}"
    assert task["error"] == "no output for 1s (--idle-timeout)", task["error"]


def test_one_daemon_serves_the_agents_its_config_lists(world, tmp_path):
    import subprocess
    from agentlive_fixtures import BASE_URL
    second = sql(f"select agentlive.create_agent({lit(world.slug)}, 'second-agent', 'gemini')")
    token_file = tmp_path / "token"
    token_file.write_text(world.daemon_token + "\n")
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps({
        "server": BASE_URL, "token_file": str(token_file), "state_dir": str(tmp_path / "state"),
        "work_dir": str(tmp_path / "work"),
        "agents": [
            {"agent": world.agent_id, "runtime": "replay", "session": str(SESSIONS / "claude-short.jsonl"), "speed": 20},
            {"agent": second, "runtime": "replay", "session": str(SESSIONS / "gemini-long.jsonl"), "speed": 20},
        ]}))
    first_task = world.queued_task()
    issue = world.create_issue()
    second_task = world.assign(issue["id"], agent_id=second)
    log_path = tmp_path / "multi.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLIVE_")}
    with open(log_path, "wb") as log:
        p = subprocess.Popen([str(DAEMON), "--config", str(config), "--once", "--poll-interval", "0.2"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError(f"the daemon did not finish both tasks\n{log_path.read_text()[-4000:]}") from None
    log = log_path.read_text(errors="replace")[-4000:]
    assert code == 0, log
    for task_id, name in ((first_task.task_id, "claude-short"), (second_task["id"], "gemini-long")):
        task = world.task(task_id)
        assert task["status"] == expected_outcome(name)["status"], f"{task}\n{log}"
        assert task["session_id"] == expected_outcome(name)["session_id"], f"{task}\n{log}"
