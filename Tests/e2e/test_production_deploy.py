"""The production deploy, as README's "Deploying behind your nginx" says it, run for real.

`deploy/install.sh` installs into a scratch root (binaries, sql/, the page, the units,
the nginx snippets, /etc/agentlive/env, the system user). Then what systemd would do
is done from the installed unit files themselves: `agentlive-migrate.service` runs as
its User= with its EnvironmentFile=; the socket of `agentlive-api.socket` is made with
its owner, group and mode and handed to `agentlive-api.service` on fd 0
(StandardInput=socket), which runs as its unprivileged User=; the relay runs from
its template unit; ExecReload= is what reloads. An nginx of its own (master root,
workers www-data, as Debian's) includes the installed snippets as README says.

Then, as a user would: sign in, stream a replayed task to the end, and reload the
workers 10 times under load with zero failed requests.
"""
import os
import pathlib
import pwd
import grp
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test's own self-signed certificate

from agentlive_fixtures import ROOT, STACK_DIR, stack_settings, wait_until, worker_pids

TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_unit(path: pathlib.Path, instance: str = "") -> dict:
    """A unit file's keys (a key given twice keeps both), with %i replaced."""
    keys: dict = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        keys.setdefault(key.strip(), []).append(value.strip().replace("%i", instance))
    return {k: v[-1] if len(v) == 1 else v for k, v in keys.items()}


def read_environment_file(spec: str) -> dict:
    """systemd's EnvironmentFile=: KEY=VALUE lines, # comments, quotes removed; -path is optional."""
    optional = spec.startswith("-")
    path = pathlib.Path(spec.lstrip("-"))
    if not path.exists():
        assert optional, f"EnvironmentFile {path} is missing"
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Unit:
    """Runs a service unit's ExecStart= the way systemd would: its user, group and environment."""

    def __init__(self, path: pathlib.Path, instance: str = ""):
        self.path = path
        self.keys = read_unit(path, instance)

    def environment(self) -> dict:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        spec = self.keys.get("EnvironmentFile")
        for item in ([spec] if isinstance(spec, str) else spec or []):
            env.update(read_environment_file(item))
        return env

    def credentials(self) -> dict:
        user = self.keys.get("User")
        assert user and user != "root", f"{self.path.name} must run as an unprivileged User="
        assert self.keys.get("DynamicUser", "no") == "no", "DynamicUser makes peer auth and migrate fail (see README)"
        group = self.keys.get("Group", grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name)
        return {"user": user, "group": group, "extra_groups": []}

    def command(self) -> list:
        return shlex.split(self.keys["ExecStart"])

    def run(self, **kw):
        return subprocess.run(self.command(), env=self.environment(), cwd="/", capture_output=True, text=True,
                              timeout=120, **self.credentials(), **kw)

    def start(self, log: pathlib.Path, stdin=subprocess.DEVNULL):
        out = open(log, "ab")
        return subprocess.Popen(self.command(), env=self.environment(), cwd="/", stdin=stdin, stdout=out,
                                stderr=out, start_new_session=True, **self.credentials())


def listen_like_systemd(socket_unit: Unit) -> socket.socket:
    """ListenStream= with SocketUser/SocketGroup/SocketMode/DirectoryMode/Backlog."""
    k = socket_unit.keys
    path = pathlib.Path(k["ListenStream"])
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, int(k.get("DirectoryMode", "0755"), 8))
    if path.exists():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chown(path, pwd.getpwnam(k.get("SocketUser", "root")).pw_uid, grp.getgrnam(k.get("SocketGroup", "root")).gr_gid)
    os.chmod(path, int(k.get("SocketMode", "0666"), 8))
    sock.listen(int(k.get("Backlog", "128")))
    return sock


def stop(proc, sig=signal.SIGTERM, timeout=30):
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Deployment:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.prefix = root / "usr/local"
        self.etc = root / "etc"
        self.units = root / "systemd"
        self.logs = root / "log"
        self.port = free_port()
        self.tls_port = free_port()
        self.relay_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = []
        self.nginx_pid_file = root / "nginx/nginx.pid"

    def unit(self, name, instance=""):
        return Unit(self.units / name, instance)


def psql_prod(database, *args):
    settings = stack_settings()
    url = f"host={pathlib.Path(STACK_DIR).resolve()}/pgsock port={settings['PGPORT']} dbname={database} user=agentlive"
    p = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def nginx_conf(d: Deployment) -> str:
    """An operator's nginx.conf: Debian's layout, with README's two includes."""
    n = d.root / "nginx"
    return f"""user www-data;
worker_processes 2;
pid {d.nginx_pid_file};
error_log {d.logs}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {d.etc}/nginx/mime.types;
    default_type application/octet-stream;
    access_log {d.logs}/nginx-access.log;
    client_body_temp_path {n}/client_body;
    proxy_temp_path {n}/proxy;
    fastcgi_temp_path {n}/fastcgi;
    uwsgi_temp_path {n}/uwsgi;
    scgi_temp_path {n}/scgi;
    include {d.etc}/nginx/agentlive-upstreams.conf;
    server {{
        listen 127.0.0.1:{d.port};
        listen 127.0.0.1:{d.tls_port} ssl;
        ssl_certificate {d.etc}/nginx/test.crt;
        ssl_certificate_key {d.etc}/nginx/test.key;
        server_name localhost;
        include {d.etc}/nginx/agentlive-locations.conf;
    }}
}}
"""


@pytest.fixture(scope="module")
def deployment():
    if os.geteuid() != 0:
        pytest.fail("the production deploy test runs as root (CI does): it creates a system user and runs nginx")
    # Under /var/tmp: the service user and nginx's workers must reach the files.
    root = pathlib.Path(tempfile.mkdtemp(prefix="agentlive-prod-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    d = Deployment(root)
    database = f"prod_{uuid.uuid4().hex[:8]}"
    d.logs.mkdir()
    try:
        # 1. Install (README step 1), with the binaries the test stack built.
        p = subprocess.run([str(ROOT / "deploy/install.sh"), "--prefix", str(d.prefix), "--sysconfdir", str(d.etc),
                            "--rundir", str(root / "run"), "--systemd-dir", str(d.units),
                            "--bin-dir", stack_settings()["BIN"]], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        web = sorted(str(f.relative_to(d.prefix / "share/agentlive/web"))
                     for f in (d.prefix / "share/agentlive/web").rglob("*") if f.is_file())
        assert "index.html" in web and not [f for f in web if f.endswith((".md", ".json", ".png", ".mjs"))], web

        # 2. Database: README's role and database, then the URL in /etc/agentlive/env.
        subprocess.run([*shlex.split(f"/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1"),
                        f"host={pathlib.Path(STACK_DIR).resolve()}/pgsock port={stack_settings()['PGPORT']} "
                        "dbname=postgres user=postgres", "-c", f"create database {database} owner agentlive"],
                       check=True, capture_output=True, timeout=60)
        env_file = d.etc / "agentlive/env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
        url = (f"host={pathlib.Path(STACK_DIR).resolve()}/pgsock port={stack_settings()['PGPORT']} "
               f"dbname={database} user=agentlive")
        text = env_file.read_text()
        assert "\nAGENTLIVE_DATABASE_URL=" in text
        env_file.write_text("\n".join(f'AGENTLIVE_DATABASE_URL="{url}"' if line.startswith("AGENTLIVE_DATABASE_URL=")
                                      else line for line in text.splitlines()) + "\n")

        # 3. systemctl start agentlive-migrate.
        p = d.unit("agentlive-migrate.service").run()
        assert p.returncode == 0, p.stdout + p.stderr
        assert "applied migrations/001" in p.stdout

        # 4. The API: systemd's socket on fd 0, workers as the service user.
        sock = listen_like_systemd(d.unit("agentlive-api.socket"))
        api_unit = d.unit("agentlive-api.service")
        assert api_unit.keys.get("StandardInput") == "socket"
        d.api = api_unit.start(d.logs / "api.log", stdin=sock.fileno())
        sock.close()  # the service holds it now, as systemd's socket would
        d.processes.append(d.api)

        # 5. The relay, from its template unit, on the port nginx's upstream names.
        relay_unit = d.unit("agentlive-relay@.service", str(d.relay_port))
        d.processes.append(relay_unit.start(d.logs / "relay.log"))
        upstreams = d.etc / "nginx/agentlive-upstreams.conf"
        upstreams.write_text(upstreams.read_text().replace("127.0.0.1:8081", f"127.0.0.1:{d.relay_port}"))

        # 6. nginx with the snippets; Debian's fastcgi_params and mime.types beside them.
        for f in ("fastcgi_params", "mime.types"):
            shutil.copy(f"/etc/nginx/{f}", d.etc / "nginx" / f)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", str(d.etc / "nginx/test.key"), "-out",
                        str(d.etc / "nginx/test.crt")], check=True, capture_output=True, timeout=60)
        (d.root / "nginx").mkdir()
        conf = d.etc / "nginx/nginx.conf"
        conf.write_text(nginx_conf(d))
        subprocess.run(["nginx", "-p", str(d.root / "nginx"), "-c", str(conf)], check=True, timeout=30,
                       capture_output=True)
        wait_until(lambda: requests.get(d.url + "/api/health", timeout=TIMEOUT).status_code == 200, 30,
                   "the production API's health through nginx")
        d.database = database
        yield d
    finally:
        if d.nginx_pid_file.exists():
            subprocess.run(["nginx", "-p", str(d.root / "nginx"), "-c", str(d.etc / "nginx/nginx.conf"), "-s", "stop"],
                           timeout=30, capture_output=True)
        for proc in d.processes:
            stop(proc)
        subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q",
                        f"host={pathlib.Path(STACK_DIR).resolve()}/pgsock port={stack_settings()['PGPORT']} "
                        "dbname=postgres user=postgres", "-c", f"drop database if exists {database} with (force)"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_workers_run_unprivileged_and_only_nginx_may_open_the_socket(deployment):
    d = deployment
    user = d.unit("agentlive-api.service").keys["User"]
    for pid in {d.api.pid} | worker_pids(d.api.pid):
        assert pwd.getpwuid(pathlib.Path(f"/proc/{pid}").stat().st_uid).pw_name == user
    sock = pathlib.Path(d.unit("agentlive-api.socket").keys["ListenStream"])
    mode = stat.S_IMODE(sock.stat().st_mode)
    assert mode & 0o007 == 0, f"the API socket is open to every local user ({oct(mode)})"
    assert grp.getgrgid(sock.stat().st_gid).gr_name == "www-data"


def test_over_tls_responses_carry_hsts_and_the_cookie_is_secure(deployment):
    d = deployment
    tls = f"https://127.0.0.1:{d.tls_port}"
    page = requests.get(tls + "/", timeout=TIMEOUT, verify=False)
    assert page.status_code == 200 and page.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    api = requests.get(tls + "/api/health", timeout=TIMEOUT, verify=False)
    assert api.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert "Strict-Transport-Security" not in requests.get(d.url + "/", timeout=TIMEOUT).headers
    psql_prod(d.database, "-c", "select agentlive.create_workspace('tls', 'TLS')",
              "-c", "select agentlive.create_user('tls@acme.dev', 'T', 'pw over tls')",
              "-c", "select agentlive.add_member('tls', 'tls@acme.dev', 'member')")
    r = requests.post(tls + "/api/session", json={"email": "tls@acme.dev", "password": "pw over tls"},
                      timeout=TIMEOUT, verify=False)
    assert r.status_code == 200 and "; Secure" in r.headers["Set-Cookie"], r.headers


def test_sign_in_stream_a_replayed_task_and_reload_ten_times_under_load(deployment):
    d = deployment
    # Ops SQL as README says (psql as the schema's owner).
    token = psql_prod(d.database, "-c", "select agentlive.create_workspace('acme', 'Acme')",
                      "-c", "select agentlive.create_user('ada@acme.dev', 'Ada', 'correct horse')",
                      "-c", "select agentlive.add_member('acme', 'ada@acme.dev', 'owner')",
                      "-c", "select agentlive.create_daemon_token('acme', 'laptop')").splitlines()[-1]
    agent = psql_prod(d.database, "-c", "select agentlive.create_agent('acme', 'Claude', 'claude')")

    browser = requests.Session()
    r = browser.post(d.url + "/api/session", json={"email": "ada@acme.dev", "password": "correct horse"},
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert browser.get(d.url + "/api/me", timeout=TIMEOUT).status_code == 200
    origin = {"Origin": d.url}
    r = browser.post(d.url + "/api/issues", json={"title": "Add a docstring"}, headers=origin, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    issue = r.json()
    r = browser.post(d.url + f"/api/issues/{issue['id']}/assign", json={"agent_id": agent}, headers=origin,
                     timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    task = r.json()

    # The installed daemon replays a recorded session against the production nginx.
    token_file = d.root / "daemon-token"
    token_file.write_text(token)
    daemon = subprocess.run(
        [str(d.prefix / "bin/agentlive-daemon"), "--server", d.url, "--token-file", str(token_file),
         "--agent", agent, "--runtime", "replay", "--session",
         str(ROOT / "Tests/Fixtures/sessions/claude-short.jsonl"), "--speed", "20",
         "--state-dir", str(d.root / "daemon"), "--work-dir", str(d.root / "work"), "--once"],
        capture_output=True, text=True, timeout=120)
    assert daemon.returncode == 0, daemon.stdout + daemon.stderr
    done = browser.get(d.url + f"/api/tasks/{task['id']}", timeout=TIMEOUT).json()
    assert done["status"] == "completed", done
    messages = browser.get(d.url + f"/api/tasks/{task['id']}/messages", timeout=TIMEOUT).json()["messages"]
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1)) and len(messages) >= 5

    # Reload (the unit's ExecReload=) 10 times while 8 clients keep asking, then
    # signal every process of the unit as `systemctl kill -s HUP` does.
    reload_command = d.unit("agentlive-api.service").keys["ExecReload"].replace("$MAINPID", str(d.api.pid))
    failures, counts, stop_flag = [], [0] * 8, threading.Event()

    def client(i):
        session = requests.Session()
        session.cookies.update(browser.cookies)
        while not stop_flag.is_set():
            try:
                if i % 2:
                    r = session.get(d.url + f"/api/issues/{issue['id']}/timeline", timeout=TIMEOUT)
                    ok = r.status_code == 200
                else:
                    r = session.post(d.url + f"/api/issues/{issue['id']}/comments", json={"content": f"c{i}"},
                                     headers=origin, timeout=TIMEOUT)
                    ok = r.status_code == 201
                if not ok:
                    failures.append(f"{r.request.method} {r.status_code} {r.text[:200]}")
            except requests.RequestException as e:
                failures.append(repr(e))
            counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    before = worker_pids(d.api.pid)
    try:
        for _ in range(10):
            time.sleep(0.5)
            subprocess.run(shlex.split(reload_command), check=True, timeout=10)
        # `systemctl kill -s HUP agentlive-api` signals every process of the unit.
        for _ in range(3):
            time.sleep(0.5)
            for pid in {d.api.pid} | worker_pids(d.api.pid):
                try:
                    os.kill(pid, signal.SIGHUP)
                except ProcessLookupError:
                    pass  # a worker retired by the previous round exited meanwhile
        time.sleep(1.0)
    finally:
        stop_flag.set()
        for t in threads:
            t.join(30)
    after = worker_pids(d.api.pid)
    assert not failures, f"{len(failures)} of {sum(counts)} requests failed during reloads: {failures[:5]}"
    assert sum(counts) > 100, counts
    assert before and after and not (before & after), f"workers were not replaced: {before} → {after}"
