"""Schemathesis over deploy/openapi.yaml against the running stack.

Two runs of the schemathesis CLI (a subprocess, pinned in deploy/dev/stack's
ensure_python_test_deps), each authenticated as a fresh `world`: the people
endpoints with the user token, /api/daemon/* with the daemon token. Checks:
no 5xx (not_a_server_error), only documented statuses (status_code_conformance),
the documented Content-Type (content_type_conformance) and body schema
(response_schema_conformance). Then every response schemathesis received is held
to the stricter checker of test_openapi.py (no undocumented property, error codes
that go with their status).

schemathesis_hooks.py swaps generated UUIDs for the ids of the world's issue, task,
agent and daemon in two cases out of three, so requests get past the 404s.

Bounded: AGENTLIVE_ST_MAX_EXAMPLES per operation and phase (default 40), about
30 s in all. AGENTLIVE_ST_SEED replays a run (each run prints its seed).
"""
import base64
import json
import os
import pathlib
import subprocess
import sys

import yaml

from agentlive_fixtures import BASE_URL, ROOT, Recorded, sql
from test_openapi import check_response

SPEC = ROOT / "deploy" / "openapi.yaml"
HOOKS = pathlib.Path(__file__).with_name("schemathesis_hooks.py")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = int(os.environ.get("AGENTLIVE_ST_MAX_EXAMPLES", "40"))
SEED = os.environ.get("AGENTLIVE_ST_SEED")
RUN_TIMEOUT = 300  # seconds, each run: a hang fails the test instead of CI
# nginx refuses TRACE itself, with its own HTML 405 and no Allow header, before it
# chooses a location, so no `location /api/` error_page can turn it into JSON.
# Known; the fix belongs in the server block (see deploy/nginx). Not held to the spec here.
NGINX_REFUSES = {"TRACE"}


def setup_ids(world):
    """Real things of the world for the hooks: an issue with a running task of a
    registered daemon, and a queued task so that a claim can succeed."""
    running = world.running_task()
    world.queued_task()
    return {"issue_id": running.issue_id, "task_id": running.task_id, "agent_id": world.agent_id,
            "daemon_id": world.daemon_id, "workspace_id": world.workspace_id,
            "email": world.email, "password": world.password}


def run_schemathesis(name, token, ids, tmp_path, filters):
    cassette = tmp_path / f"{name}.yaml"
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", str(SPEC), "--url", BASE_URL,
           "--header", f"Authorization: Bearer {token}", *filters,
           "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
           "--max-examples", str(MAX_EXAMPLES), "--request-timeout", "10",
           "--report", "vcr", "--report-vcr-path", str(cassette), "--report-dir", str(tmp_path)]
    if SEED:
        cmd += ["--seed", SEED]
    env = dict(os.environ, SCHEMATHESIS_HOOKS=str(HOOKS), AGENTLIVE_ST_IDS=json.dumps(ids),
               NO_COLOR="1", COLUMNS="160")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, cwd=tmp_path)
    finally:
        # Its random sign-ins all come from this machine's address, which they
        # would leave over the per-address limit for the tests after it.
        sql("delete from agentlive.login_failure where address = '127.0.0.1'")
    output = p.stdout + p.stderr
    assert p.returncode == 0, f"schemathesis ({name}) found problems:\n{output[-20000:]}"
    return output, cassette


def recorded(cassette):
    """The cassette's responses, as agentlive_fixtures.Client records them."""
    out = []
    for item in yaml.safe_load(cassette.read_text())["http_interactions"]:
        request, response = item["request"], item["response"]
        body = response.get("body") or {}
        raw = (base64.b64decode(body["base64_string"]) if "base64_string" in body
               else body.get("string", "").encode())
        headers = {k.lower(): v[0] for k, v in (response.get("headers") or {}).items()}
        path = "/" + request["uri"].split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        out.append(Recorded(request["method"], path, int(response["status"]["code"]),
                            headers.get("content-type", ""), raw,
                            {"Allow": headers["allow"]} if "allow" in headers else {}))
    return out


def check_cassette(name, cassette):
    responses = [r for r in recorded(cassette) if r.method not in NGINX_REFUSES]
    assert responses, f"schemathesis ({name}) sent nothing"
    problems = sorted({p for rec in responses for p in check_response(rec)})
    assert not problems, f"schemathesis ({name}): {len(problems)} responses differ from " \
        "deploy/openapi.yaml:\n" + "\n".join(problems[:60])
    return responses


def test_people_endpoints(world, tmp_path):
    ids = setup_ids(world)
    _, cassette = run_schemathesis("people", world.user_token, ids, tmp_path,
                                   ["--exclude-path-regex", "^/api/daemon/"])
    responses = check_cassette("people", cassette)
    assert any(r.status == 201 for r in responses), "no request got past validation"


def test_daemon_endpoints(world, tmp_path):
    ids = setup_ids(world)
    _, cassette = run_schemathesis("daemon", world.daemon_token, ids, tmp_path,
                                   ["--include-path-regex", "^/api/daemon/"])
    responses = check_cassette("daemon", cassette)
    assert any(r.status == 200 and r.method == "POST" for r in responses), \
        "no daemon request got past validation"
