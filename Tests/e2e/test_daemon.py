"""agentlive-daemon end to end: the real binary against the running stack, through nginx.

Every wait is bounded; every daemon started here is killed (by pid) when its test ends,
together with the agent process groups it left behind.
"""
import json
import os
import pathlib
import re
import signal
import subprocess
import time
import uuid

import pytest

from agentlive_fixtures import BASE_URL, ROOT, STACK_DIR, Client, lit, sql, stack, stored_seqs, wait_until

BIN = pathlib.Path(os.environ.get("BIN") or ROOT / ".build" / "debug")
DAEMON = BIN / "agentlive-daemon"
SESSIONS = ROOT / "Tests" / "Fixtures" / "sessions"
EXPECTED = SESSIONS / "expected"
FIELDS = ("type", "tool", "call_id", "input", "output", "is_error", "content")


# ---------------------------------------------------------------- redaction
# A port of Sources/AgentLiveOutput/SecretPatterns.swift and Redactor.swift (ICU) to
# Python `re`. The patterns use nothing whose meaning differs between the two dialects
# for the fixtures' text (\b, \s, bounded and possessive repetition, (?i), (?m),
# lookahead), so the comparison below is exact.

REDACTED = "[redacted]"
TOKEN_PATTERNS = [re.compile(p) for p in (
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\\-]{0,65536}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=\s:,.\\-]{0,65536})",
    r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,255}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,255}",
    r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,255}",
    r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,255}",
    r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}",
    r"(?<![A-Za-z0-9_-])xox[abposre]-[A-Za-z0-9-]{10,255}",
    r"(?<![A-Za-z0-9_-])xapp-[A-Za-z0-9-]{10,255}",
    r"\bnpm_[A-Za-z0-9]{36,255}",
    r"\bhf_[A-Za-z0-9]{30,255}",
    r"(?<![A-Za-z0-9_-])pypi-AgE[A-Za-z0-9_-]{50,1024}",
    r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}",
    r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,255}",
    r"\bwhsec_[A-Za-z0-9+/=]{24,255}",
    r"(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    r"\bdop_v1_[a-f0-9]{64}",
    r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
    r"\bal[uds]_[0-9a-f]{32}_[0-9a-f]{48}",
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,1024}+\.eyJ[A-Za-z0-9_-]{8,16384}+\.[A-Za-z0-9_-]{8,2048}+",
)]
_NAMES = r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key)"
_VALUE = r"""(?:"[^"\n]{0,4096}"|'[^'\n]{0,4096}'|[^\s"',;]{1,4096})"""
# SecretPatterns.contexts: the first `kept` groups stay, the secret after them goes.
CONTEXTS = [(re.compile(p), kept) for p, kept in (
    (r"""(?i)\b((?:proxy-)?authorization["']?[ \t]{0,10}[:=][ \t]{0,10}["']?)([^\s"'][^\n\r"']{0,4095})""", 1),
    (r"""(?i)\b((?:set-)?cookie["']?[ \t]{0,10}:[ \t]{0,10}["']?)([^\s"'][^\n\r"']{0,4095})""", 1),
    (r"(?i)\b(bearer[ \t]{1,10})(?=[A-Za-z._~+/=-]{0,4096}[0-9])([A-Za-z0-9._~+/=-]{8,4096})", 1),
    (r"(?i)(" + _NAMES + r"""[A-Za-z0-9_.-]{0,40}+)(["']?[ \t]{0,10}=[ \t]{0,10}|["']?[ \t]{0,10}:[ \t]{0,10}(?=["']))""" + _VALUE, 2),
    (r"""(?im)^([ \t]{0,40}[A-Za-z0-9_.-]{0,40}(?:password|passwd|passphrase|secret)[A-Za-z0-9_.-]{0,40}[ \t]{0,10}:[ \t]{1,10})([^\s#"'][^\n]{0,4095})""", 1),
    (r"""(?im)((?:^|[^A-Za-z0-9_-])--?(?:[A-Za-z0-9]{1,20}+-){0,3}(?:password|passwd|passphrase|token|secret|api-?key|access-?key|private-?key|credentials?|cookie)[A-Za-z0-9-]{0,30}+)(=|[ \t]{1,10})(?:"[^"\n]{0,4096}"|'[^'\n]{0,4096}'|[^\s"'-][^\s"']{0,4095})""", 2),
    (r"""([ \t](?:-u|--user)(?:[ \t]{1,10}|=)["']?[^\s:"']{1,200}+:)([^\s"']{1,4096})""", 1),
    (r"""\b((?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlsh|mariadb|mariadb-dump)\b[^\n|;&]{0,200}?[ \t]-p)([^\s"']{1,4096}|"[^"\n]{0,4096}"|'[^'\n]{0,4096}')""", 1),
    (r"\b(sshpass[ \t]{1,10}-p[ \t]{0,10})([^\s]{1,4096})", 1),
    (r"(?i)([a-z][a-z0-9+.-]{0,15}+://)([^/\s:@]{1,100}+:)([^@\s/]{1,200}+)(?=@)", 2),
)]
SECRET_KEY_NAMES = {"pwd", "pass", "passwd", "auth", "pin"}
SECRET_KEY_PARTS = ("password", "passphrase", "secret", "apikey", "accesskey", "privatekey", "authorization",
                    "cookie", "credential", "sessionid")

# The fake secrets of claude-long (a `git log -p` output): none may reach the server.
SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_czMLEtvgmC60n348qZJOkCh0OKXI7xfROKFD",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmVMyk6NB56",  # first line of the OpenSSH private key block
    "hunter2",
]


def redact(text):
    """Redactor.redact: every rule on the text as it is; what any finds goes, overlapping
    or touching findings as one replacement."""
    if text is None:
        return None
    secrets = []
    for pattern in TOKEN_PATTERNS:
        secrets += [(m.start(), m.end()) for m in pattern.finditer(text)]
    for pattern, kept in CONTEXTS:
        secrets += [(m.end(kept), m.end()) for m in pattern.finditer(text) if m.end() > m.end(kept)]
    out, position, replaced = [], 0, False
    for start, end in sorted(secrets, key=lambda s: s[0]):
        if end <= position:
            continue
        if start > position or not replaced:
            out += [text[position:start], REDACTED]
            replaced = True
        position = end
    return "".join(out) + text[position:]


def names_secret(key):
    """Redactor.namesSecret: a JSON key whose whole value is a secret."""
    name = "".join(c for c in key.lower() if c.isalnum())
    if name in SECRET_KEY_NAMES or any(part in name for part in SECRET_KEY_PARTS):
        return True
    return "token" in name and not name.endswith("tokens") and "tokenizer" not in name and "tokencount" not in name


def redact_value(value, entirely=False):
    """Like MessageSanitizer.clean(JSONValue): every string, object keys too; the whole
    value of a key that names a secret; keys that redact alike numbered ` (2)`, ` (3)`."""
    if isinstance(value, str) or (entirely and isinstance(value, (int, float)) and not isinstance(value, bool)):
        return REDACTED if entirely else redact(value)
    if isinstance(value, list):
        return [redact_value(v, entirely) for v in value]
    if isinstance(value, dict):
        out = {}
        for k in sorted(value):  # Swift sorts by unicode scalars; Python by code points: the same
            key, n = redact(k), 2
            while key in out:
                key, n = f"{redact(k)} ({n})", n + 1
            out[key] = redact_value(value[k], entirely or names_secret(k))
        return out
    return value


# ---------------------------------------------------------------- helpers

def merged(messages):
    """Only FIELDS, with consecutive text (or thinking) messages joined (the daemon's throttle does that)."""
    out = []
    for m in messages:
        m = {k: m[k] for k in FIELDS if k in m}
        if out and m["type"] in ("text", "thinking") and out[-1]["type"] == m["type"]:
            out[-1]["content"] = out[-1].get("content", "") + m.get("content", "")
        else:
            out.append(m)
    return out


def expected_messages(name):
    """expected/<name>.messages.json, merged, then redacted as the daemon does."""
    raw = json.loads((EXPECTED / f"{name}.messages.json").read_text())
    return [{k: redact_value(v) for k, v in m.items()} for m in merged(raw)]


def expected_outcome(name):
    return json.loads((EXPECTED / f"{name}.outcome.json").read_text())


def fetch_messages(world, task_id, limit=25):
    """Every stored message by catch-up paging (limit per page), checking the pages."""
    out, after = [], 0
    for _ in range(10_000):
        page = world.messages_page(task_id, after=after, limit=limit)
        assert len(page["messages"]) <= limit
        out += page["messages"]
        if page["messages"]:
            assert page["last_seq"] == page["messages"][-1]["seq"], page["last_seq"]
        if not page["has_more"]:
            return out
        assert len(page["messages"]) == limit, "has_more on a short page"
        after = page["last_seq"]
    raise AssertionError("catch-up never ended")


def short(m):
    return json.dumps(m, ensure_ascii=False)[:400]


def assert_messages_match(stored, want, log=""):
    """Stored messages are seq 1..N; merged, they equal `want` field by field."""
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1)), \
        f"seqs not 1..N: {[m['seq'] for m in stored]}\n{log}"
    got = merged(stored)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"merged message #{i + 1} differs:\n got  {short(g)}\n want {short(w)}\n{log}"
    assert len(got) == len(want), (
        f"{len(got)} merged messages, expected {len(want)}; types got {[m['type'] for m in got]} "
        f"want {[m['type'] for m in want]}\n{log}")


def assert_outcome(world, task, name, log=""):
    want = expected_outcome(name)
    for key in ("output", "error"):  # the expected outcomes carry no secret: redaction keeps them
        assert redact(want[key]) == want[key], f"{name}: expected {key} contains a secret"
    assert task["status"] == want["status"], f"task {task}\n{log}"
    assert task["output"] == want["output"], f"output {task['output']!r}\n{log}"
    assert task["error"] == want["error"], f"error {task['error']!r}\n{log}"
    if want["progress"]:
        last = want["progress"][-1]
        assert (task["summary"], task["step"], task["total"]) == \
            (redact(last["summary"]), last.get("step"), last.get("total")), f"progress of {task}\n{log}"
    else:
        assert (task["summary"], task["step"], task["total"]) == (None, None, None), task


def group_members(pgid):
    """Live processes of a process group. Zombies are left out: they are dead (orphans
    reparented to this container's PID 1 may wait a while to be reaped)."""
    p = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True, timeout=10)
    alive = []
    for pid in p.stdout.split():
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            alive.append(int(pid))
    return alive


def children(pid):
    p = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, timeout=10)
    return [int(x) for x in p.stdout.split()]


class DaemonProc:
    """One agentlive-daemon process; output (stdout and stderr) goes to a log file."""

    def __init__(self, tmp, token, agent, args, label):
        tmp.mkdir(parents=True, exist_ok=True)
        self.token_file = tmp / "token"
        self.token_file.write_text(token + "\n")
        self.token_file.chmod(0o600)
        self.state_dir = tmp / "state"
        self.log_path = tmp / f"{label}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLIVE_")}
        env["AGENTLIVE_DAEMON_CONFIG"] = str(tmp / "no-config.json")  # no ~/.config leaks in
        self.cmd = [str(DAEMON), "--server", BASE_URL, "--token-file", str(self.token_file),
                    "--agent", agent, "--state-dir", str(self.state_dir),
                    "--work-dir", str(tmp / "work"), "--poll-interval", "0.2", *args]
        with open(self.log_path, "wb") as log:
            self.p = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.pid = self.p.pid
        self.groups = set()  # agent process groups seen, killed at teardown

    def log(self):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- daemon log ({' '.join(self.cmd)}):\n{text[-4000:]}"

    def id_file(self):
        """The daemon's id file: one per server and token (daemon-id-<hash>)."""
        return next(self.state_dir.glob("daemon-id-*"), None)

    def daemon_id(self):
        return self.id_file().read_text().strip()

    def wait(self, timeout, what="the daemon to exit"):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.log()}") from None

    def agent_group(self, timeout=10):
        """The agent's process group: the daemon's child leads it."""
        kids = wait_until(lambda: children(self.pid), timeout, "the agent process")
        assert len(kids) == 1, f"daemon children {kids}"
        pgid = os.getpgid(kids[0])
        assert pgid == kids[0], f"the agent {kids[0]} is not in its own group (pgid {pgid})"
        self.groups.add(pgid)
        return pgid

    def kill(self):
        for pid in children(self.pid):
            self.groups.add(pid)
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def daemons(tmp_path):
    """start(world_or_(token, agent), *args) -> DaemonProc; all are killed at the end."""
    started = []

    def start(world, *args, token=None, agent=None, label=None):
        label = label or f"daemon-{len(started) + 1}"
        d = DaemonProc(tmp_path / label, token or world.daemon_token, agent or world.agent_id,
                       [str(a) for a in args], label)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


def replay_args(name, speed):
    return ("--runtime", "replay", "--session", SESSIONS / f"{name}.jsonl", "--speed", speed)


def wait_for_status(world, task_id, statuses, timeout, log=""):
    def finished():
        task = world.task(task_id)
        return task if task["status"] in statuses else None
    try:
        return wait_until(finished, timeout, f"task {task_id} {statuses}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{log}") from None


# ---------------------------------------------------------------- 1. replays

REPLAYS = ["claude-short", "codex-short", "claude-long", "codex-long", "claude-error", "codex-failed"]
_replayed = {}  # name -> (world, task, stored messages, log): claude-long is checked twice


def run_replay(name, world, daemons):
    t = world.queued_task()
    d = daemons(world, *replay_args(name, 20), "--once", label=f"replay-{name}")
    code = d.wait(60, f"the {name} replay to end")
    assert code == 0, f"exit status {code}\n{d.log()}"
    task = world.task(t.task_id)
    return task, fetch_messages(world, t.task_id), d.log()


@pytest.mark.parametrize("name", REPLAYS)
def test_replay_matches_expected(name, world, daemons):
    task, stored, log = run_replay(name, world, daemons)
    _replayed[name] = (world, task, stored, log)
    assert task["status"] in ("completed", "failed"), task
    assert task["last_seq"] == len(stored), task
    assert world.active_task(task["issue_id"]) is None
    assert_messages_match(stored, expected_messages(name), log)
    issue = world.issue(task["issue_id"])
    assert issue["status"] == ("done" if task["status"] == "completed" else "open"), issue
    assert_outcome(world, task, name, log)  # the final progress last


def test_replay_leaks_no_secret(world, daemons):
    """claude-long's tool output holds fake secrets: none reaches the server."""
    if "claude-long" in _replayed:
        world, task, stored, log = _replayed["claude-long"]
    else:
        task, stored, log = run_replay("claude-long", world, daemons)
    text = json.dumps(stored, ensure_ascii=False)
    assert REDACTED in text
    leaked = [s for s in SECRETS if s in text]
    where = {s: [m["seq"] for m in stored if s in json.dumps(m, ensure_ascii=False)] for s in leaked}
    context = {s: text[max(0, text.find(s) - 60): text.find(s) + len(s) + 20] for s in leaked}
    assert not leaked, f"secrets stored in seqs {where}; context {context}"


# ---------------------------------------------------------------- 2. outage

def test_nginx_outage_loses_and_duplicates_nothing(world, daemons):
    t = world.queued_task()
    d = daemons(world, *replay_args("claude-long", 4), "--once", label="outage")
    wait_for_status(world, t.task_id, ("running",), 15, d.log())
    time.sleep(2)
    before = world.task(t.task_id)
    stack("stop", "nginx")
    try:
        time.sleep(10)
        assert d.p.poll() is None, f"the daemon gave up during the outage\n{d.log()}"
    finally:
        stack("start", "nginx")
    code = d.wait(60, "the daemon to finish after the outage")
    assert code == 0, f"exit status {code}\n{d.log()}"
    log = d.log()
    stored = fetch_messages(world, t.task_id)
    # The outage hit the run. (AsyncHTTPClient keeps retrying the connection until the
    # request's 30 s deadline, so a 10 s outage stalls requests rather than failing them:
    # the daemon's own "retrying a batch" may not show up in its log.)
    assert before["status"] == "running" and before["last_seq"] < len(stored), before
    assert stored_seqs(t.task_id) == list(range(1, len(stored) + 1))
    assert_messages_match(stored, expected_messages("claude-long"), log)
    task = world.task(t.task_id)
    assert task["last_seq"] == len(stored)
    assert_outcome(world, task, "claude-long", log)  # includes the final progress


# ---------------------------------------------------------------- 3. cancel

TICKER = 'sh -c "sleep 300 & sleep 300 & while true; do echo tick; sleep 0.2; done"'
# The same, deaf to SIGTERM (an ignored signal stays ignored in the children): only the
# SIGKILL the daemon sends 1 s after its SIGTERM stops it.
STUBBORN = 'sh -c "trap \'\' TERM; sleep 300 & sleep 300 & while true; do echo tick; sleep 0.2; done"'
AGENTS = {"ticker": TICKER, "ignores-sigterm": STUBBORN}


def assert_group_gone_within(pgid, seconds, d):
    start = time.monotonic()
    deadline = start + seconds
    while group_members(pgid):
        if time.monotonic() > deadline:
            ps = subprocess.run(["ps", "-eo", "pid,pgid,stat,args"], capture_output=True, text=True).stdout
            ps = "\n".join(line for line in ps.splitlines() if line.split()[1] in ("PGID", str(pgid)))
            raise AssertionError(f"agent group {pgid} still alive {seconds} s after cancel:\n{ps}\n{d.log()}")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.parametrize("agent,mode", [("ticker", "once"), ("ignores-sigterm", "once"),
                                        ("ignores-sigterm", "serving")])
def test_cancel_in_psql_stops_the_agent_and_its_children(agent, mode, world, daemons):
    t = world.queued_task()
    once = ("--once",) if mode == "once" else ()
    d = daemons(world, "--runtime", "command", "--command", AGENTS[agent], *once,
                label=f"cancel-{agent}-{mode}")
    wait_until(lambda: world.messages_page(t.task_id, limit=5)["messages"], 20, "the first tick")
    pgid = d.agent_group()
    wait_until(lambda: len(group_members(pgid)) >= 3, 5, "sh and its two sleeps")
    assert sql(f"select agentlive.cancel_task({lit(t.task_id)})") == "t"
    assert_group_gone_within(pgid, 2, d)
    assert world.task(t.task_id)["status"] == "cancelled"
    if mode == "once":
        assert d.wait(10, "the --once daemon to exit after the cancel") == 0, d.log()
    else:
        assert d.p.poll() is None, f"the daemon stopped serving\n{d.log()}"
        d.p.send_signal(signal.SIGTERM)
        assert d.wait(5) == 0, d.log()
    assert world.task(t.task_id)["status"] == "cancelled", "the daemon must not report a cancelled task"
    stored = fetch_messages(world, t.task_id)
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    assert "".join(m.get("content", "") for m in stored if m["type"] == "text").startswith("tick\n")


def test_cancel_reaches_a_silent_agent_by_heartbeat(world, daemons):
    t = world.queued_task()
    d = daemons(world, "--runtime", "command", "--command", "sleep 300", "--once",
                "--heartbeat-interval", "0.5", label="cancel-silent")
    wait_for_status(world, t.task_id, ("running",), 15, d.log())
    pgid = d.agent_group()
    assert group_members(pgid)
    assert sql(f"select agentlive.cancel_task({lit(t.task_id)})") == "t"
    assert_group_gone_within(pgid, 2, d)
    assert d.wait(10, "the --once daemon to exit after the cancel") == 0, d.log()
    task = world.task(t.task_id)
    assert task["status"] == "cancelled" and task["last_seq"] == 0, task


# ---------------------------------------------------------------- 4. command runtime

def run_command(world, daemons, command, label):
    t = world.queued_task()
    d = daemons(world, "--runtime", "command", "--command", command, "--once", label=label)
    assert d.wait(30) == 0, d.log()
    return world.task(t.task_id), fetch_messages(world, t.task_id), d.log()


def test_command_failure(world, daemons):
    task, stored, log = run_command(world, daemons, r"printf 'a\nb\n'; echo oops >&2; exit 3", "exit3")
    assert task["status"] == "failed", f"{task}\n{log}"
    assert "exit status 3" in task["error"], task["error"]
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    # stdout and stderr are read concurrently: the error may land between the texts.
    assert "".join(m["content"] for m in stored if m["type"] == "text") == "a\nb\n", stored
    assert [m["content"] for m in stored if m["type"] == "error"] == ["oops"], stored
    assert {m["type"] for m in stored} == {"text", "error"}, stored


def test_command_success(world, daemons):
    task, stored, log = run_command(world, daemons, r"printf 'a\nb\n'", "exit0")
    assert task["status"] == "completed" and task["error"] is None, f"{task}\n{log}"
    assert merged(stored) == [{"type": "text", "content": "a\nb\n"}], stored


# ---------------------------------------------------------------- 5. SIGTERM

@pytest.mark.parametrize("runtime", ["replay", "ticker", "ignores-sigterm"])
def test_sigterm_fails_the_task_and_stops_the_agent(runtime, world, daemons):
    t = world.queued_task()
    args = replay_args("claude-long", 1) if runtime == "replay" \
        else ("--runtime", "command", "--command", AGENTS[runtime])
    d = daemons(world, *args, label=f"sigterm-{runtime}")
    wait_until(lambda: world.messages_page(t.task_id, limit=5)["messages"], 20, "the first message")
    pgid = None if runtime == "replay" else d.agent_group()
    d.p.send_signal(signal.SIGTERM)
    code = d.wait(5, "the daemon to exit after SIGTERM")
    assert code == 0, f"exit status {code}\n{d.log()}"
    task = world.task(t.task_id)
    assert task["status"] == "failed", f"{task}\n{d.log()}"
    assert "daemon stopped" in task["error"], task["error"]
    assert world.active_task(t.issue_id) is None
    if pgid is not None:
        assert group_members(pgid) == [], f"agent group {pgid} outlived the daemon"


# ---------------------------------------------------------------- 6. registration

def test_registers_online_with_its_runtimes(world, daemons):
    d = daemons(world, "--runtime", "command", "--command", "true", "--heartbeat-interval", "1",
                label="register")

    def row():
        if d.id_file() is None:
            return None
        out = sql("select workspace_slug || '|' || online || '|' || runtimes::text "
                  f"from agentlive.daemons where id = {lit(d.daemon_id())}")
        return out or None
    slug, online, runtimes = wait_until(row, 15, "the daemon in agentlive.daemons").split("|", 2)
    assert (slug, online) == (world.slug, "true"), d.log()
    runtimes = {r["type"]: r for r in json.loads(runtimes)}
    assert {"replay", "command"} <= set(runtimes), runtimes
    assert runtimes["replay"]["status"] == runtimes["command"]["status"] == "ready", runtimes
    agents = {a["id"]: a for a in world.user.get("/api/agents", expect=200).json()["agents"]}
    assert agents[world.agent_id]["online"] is True
    d.p.send_signal(signal.SIGTERM)
    assert d.wait(5) == 0, d.log()


@pytest.mark.parametrize("case", ["wrong-token", "unknown-agent"])
def test_rejected_registration_exits_with_a_message(case, world, daemons):
    token = f"ald_{uuid.uuid4().hex}_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}" \
        if case == "wrong-token" else world.daemon_token
    agent = str(uuid.uuid4()) if case == "unknown-agent" else world.agent_id
    d = daemons(world, "--runtime", "command", "--command", "true", token=token, agent=agent,
                label=case)
    try:
        code = d.p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"BUG: the daemon keeps running after a rejected registration "
                             f"(expected: exit non-zero with a clear message)\n{d.log()}") from None
    log = d.log()
    assert code != 0, log
    want = ("401", "unauthorized") if case == "wrong-token" else ("404", "agent_not_found")
    assert all(w in log for w in want), log
    assert token not in log, "the token must not be logged"


# ---------------------------------------------------------------- 7. the demo daemon

def test_demo_daemon_replays_for_a_demo_issue():
    agent_file = pathlib.Path(STACK_DIR, "demo-agent-id")
    if not agent_file.exists():
        pytest.skip("the stack was started without --demo")
    agent_id = agent_file.read_text().strip()
    token = sql(f"select agentlive.create_user_token('demo@agentlive.local', "
                f"{lit('e2e-demo-' + uuid.uuid4().hex[:8])})")
    demo = Client(token)
    issue = demo.post("/api/issues", json={"title": "Demo: fix slugify", "description": "e2e"},
                      expect=201).json()
    task = demo.post(f"/api/issues/{issue['id']}/assign", json={"agent_id": agent_id}, expect=201).json()
    daemon_log = pathlib.Path(STACK_DIR, "log", "daemon.log")

    def finished():
        t = demo.get(f"/api/tasks/{task['id']}", expect=200).json()
        return t if t["status"] not in ("queued", "dispatched", "running") else None
    try:
        done = wait_until(finished, 90, "the demo task to end", interval=0.5)  # claude-long at speed 1: ~38 s
    except AssertionError as e:
        tail = daemon_log.read_text(errors="replace")[-3000:] if daemon_log.exists() else "(no log)"
        raise AssertionError(f"{e}\n--- demo daemon log:\n{tail}") from None
    want = expected_outcome("claude-long")
    assert done["status"] == "completed" and done["output"] == want["output"], done
    last = want["progress"][-1]
    assert (done["summary"], done["step"], done["total"]) == (last["summary"], last["step"], last["total"]), done
    stored, after = [], 0
    while True:
        page = demo.get(f"/api/tasks/{task['id']}/messages", params={"after": after, "limit": 500},
                        expect=200).json()
        stored += page["messages"]
        after = page["last_seq"]
        if not page["has_more"]:
            break
    assert_messages_match(stored, expected_messages("claude-long"))
