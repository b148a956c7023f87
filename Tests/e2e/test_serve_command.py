"""agentlive-api as an operator meets it: --help names every variable it reads,
env.example covers what the API and the relay read, and a socket that cannot be
bound says where and why."""
import os
import pathlib
import re
import subprocess

from agentlive_fixtures import ROOT

BIN = os.environ.get("BIN", "")
VARIABLE = re.compile(r"\bAGENTLIVE_[A-Z_]+\b")
INTERNAL = {"AGENTLIVE_SUPERVISOR_PID"}  # set by the supervisor for its workers
API_SOURCES = ["AgentLiveAPI", "agentlive-api", "AgentLiveFastCGI", "AgentLivePostgres"]
RELAY_SOURCES = ["AgentLiveRelay", "agentlive-relay"]


def api(*args):
    return subprocess.run([f"{BIN}/agentlive-api", *args], capture_output=True, text=True, timeout=30)


def variables_read_in(folders) -> set:
    names = set()
    for folder in folders:
        for path in (ROOT / "Sources" / folder).rglob("*.swift"):
            names |= set(VARIABLE.findall(path.read_text()))
    return names


def test_help_lists_every_variable_the_api_reads():
    names = variables_read_in(API_SOURCES)
    assert {"AGENTLIVE_DATABASE_URL", "AGENTLIVE_LOG_LEVEL", "AGENTLIVE_MAX_BODY_BYTES"} <= names
    for args in (["--help"], ["serve", "--help"]):
        out = api(*args).stdout
        for name in names:
            assert name in out, f"agentlive-api {' '.join(args)} does not mention {name}"
    assert "(default: 4194304)" in api("serve", "--help").stdout


def test_env_example_covers_the_api_and_the_relay():
    text = (ROOT / "deploy/systemd/env.example").read_text()
    lines = text.splitlines()
    for name in sorted(variables_read_in(API_SOURCES + RELAY_SOURCES) - INTERNAL):
        at = [i for i, line in enumerate(lines) if re.match(rf"#?{name}=", line)]
        assert at, f"env.example has no {name}= line"
        assert lines[at[0] - 1].startswith("# "), f"{name} in env.example has no comment above it"


def test_bind_error_names_the_path_and_the_fix(tmp_path):
    path = tmp_path / "missing" / "api.sock"
    p = api("serve", "--listen", str(path), "--workers", "2")
    assert p.returncode != 0
    assert str(path) in p.stderr and "does not exist" in p.stderr and "RuntimeDirectory=" in p.stderr, p.stderr
    assert not path.parent.exists()
