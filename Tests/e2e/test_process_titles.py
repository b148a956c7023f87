"""An operator finds the API's processes by name: ps shows what each one is,
pgrep agentlive-api finds them all."""
import pathlib
import subprocess

from agentlive_fixtures import supervisor_pid, worker_pids


def command_line(pid) -> str:
    raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def process_name(pid) -> str:
    return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()


def test_supervisor_and_workers_have_titles():
    supervisor, workers = supervisor_pid(), worker_pids()
    assert workers, "the supervisor has no worker children"
    assert command_line(supervisor) == "agentlive-api: supervisor"
    for pid in workers:
        assert command_line(pid) == "agentlive-api: worker", pid
    for pid in {supervisor, *workers}:
        assert process_name(pid) == "agentlive-api", pid
    found = subprocess.run(["pgrep", "-x", "agentlive-api"], capture_output=True, text=True, timeout=10)
    assert {supervisor, *workers} <= {int(p) for p in found.stdout.split()}
