"""deploy/openapi.yaml is valid, lists exactly the server's routes, and describes what it answers."""
import json
import os
import pathlib
import re
import shlex
import subprocess

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec

from agentlive_fixtures import BASE_URL, RECORDED, ROOT, STACK_DIR, Client, Recorded, batch

SPEC = yaml.safe_load((ROOT / "deploy" / "openapi.yaml").read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OPERATIONS = {(m.upper(), path): op for path, item in SPEC["paths"].items()
              for m, op in item.items() if m in HTTP_METHODS}

# status -> the error codes the spec allows with it
CODES = {
    400: {"invalid_json", "invalid_field", "invalid_query"},
    401: {"unauthorized", "invalid_credentials"},
    403: {"forbidden", "cross_origin"},
    404: {"not_found", "issue_not_found", "task_not_found", "agent_not_found", "daemon_not_found",
          "workspace_not_found"},
    405: {"method_not_allowed"},
    409: {"task_not_active", "task_already_active", "task_not_ended", "daemon_id_taken", "conflict"},
    413: {"body_too_large", "batch_too_large", "message_too_large"},
    415: {"unsupported_media_type"},
    422: {"invalid_value", "workspace_required"},
    429: {"rate_limited"},
    503: {"database_unavailable", "service_unavailable"},
}


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _template_regex(path):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


# static paths first, so that a literal segment wins over {id}
TEMPLATES = sorted(((_template_regex(p), p) for p in SPEC["paths"]), key=lambda x: x[1].count("{"))


def template_for(path):
    return next((tpl for rx, tpl in TEMPLATES if rx.match(path)), None)


def closed(node):
    """A copy where every object schema with properties allows no undocumented property."""
    if isinstance(node, list):
        return [closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: closed(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


# Responses are held to the documented properties: a field the server sends must be in the file.
RESPONSE_COMPONENTS = closed(SPEC["components"])
_validators = {}


def validator(schema_node):
    key = json.dumps(schema_node, sort_keys=True)
    if key not in _validators:
        _validators[key] = OAS30Validator(dict(schema_node, components=RESPONSE_COMPONENTS),
                                          format_checker=oas30_format_checker)
    return _validators[key]


def json_schema_of(response):
    return resolve(response).get("content", {}).get("application/json", {}).get("schema")


ERROR_VALIDATOR = validator({"$ref": "#/components/schemas/Error"})


def check_response(rec):
    """Problems of one recorded response, as strings (empty when it matches the spec)."""
    where = f"{rec.method} {rec.path} -> {rec.status}"
    template = template_for(rec.path)
    op = OPERATIONS.get((rec.method, template))
    declared = resolve(op["responses"].get(str(rec.status))) if op else None
    if op and declared is None:
        return [f"{where}: status not documented for {rec.method} {template}"]
    schema = json_schema_of(declared) if declared else None
    if schema is None and declared is not None:
        return [] if rec.body == b"" else [f"{where}: documented without a body, got {rec.body[:200]!r}"]
    if schema is None and rec.status not in (404, 405):
        return [f"{where}: no such operation {rec.method} {template or rec.path}"]
    if rec.content_type.split(";")[0].strip() != "application/json":
        return [f"{where}: Content-Type {rec.content_type!r}"]
    try:
        body = json.loads(rec.body)
    except ValueError as e:
        return [f"{where}: not JSON ({e}): {rec.body[:200]!r}"]
    errors = [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in (validator(schema) if schema else ERROR_VALIDATOR).iter_errors(body)]
    if rec.status >= 400 and not errors:
        code = body["error"]["code"]
        if code not in CODES.get(rec.status, set()):
            errors.append(f"{where}: error code {code!r} does not go with status {rec.status}")
    if rec.status == 405 and not rec.headers.get("Allow"):
        errors.append(f"{where}: 405 without an Allow header")
    return errors[:5]


def test_spec_is_valid_openapi_3_0():
    assert SPEC["openapi"] == "3.0.3"
    validate_spec(SPEC)


def server_bin():
    if os.environ.get("BIN"):
        return os.environ["BIN"]
    for line in pathlib.Path(STACK_DIR, "env").read_text().splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line.startswith("BIN="):
            return shlex.split(line[4:])[0]
    pytest.fail(f"BIN is neither in the environment nor in {STACK_DIR}/env")


def test_spec_lists_exactly_the_server_routes():
    out = subprocess.run([os.path.join(server_bin(), "agentlive-api"), "routes"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    served = {tuple(line.split()) for line in out.splitlines() if line.strip()}
    assert served, "agentlive-api routes printed nothing"
    documented = set(OPERATIONS)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_every_operation_documents_its_errors():
    problems = []
    for (method, path), op in OPERATIONS.items():
        codes = set(op["responses"])
        security = op.get("security", SPEC["security"])
        want = {"503"} | ({"401"} if security else set())
        if any("bearerAuth" in s for s in security):
            want.add("403")  # a token of the wrong kind
        if "{id}" in path:
            want.add("404")
            params = [resolve(p) for p in SPEC["paths"][path].get("parameters", []) + op.get("parameters", [])]
            if not any(p["in"] == "path" and p["name"] == "id" and p["schema"].get("format") == "uuid"
                       for p in params):
                problems.append(f"{method} {path}: no uuid path parameter id")
        if "requestBody" in op:
            want |= {"400", "413", "415"}
        if missing := want - codes:
            problems.append(f"{method} {path}: undocumented {sorted(missing)}")
        for status, response in op["responses"].items():
            schema = json_schema_of(response)
            if status == "204":
                if schema is not None:
                    problems.append(f"{method} {path}: 204 with a body")
            elif schema is None:
                problems.append(f"{method} {path} {status}: no application/json schema")
            elif int(status) >= 400 and schema != {"$ref": "#/components/schemas/Error"}:
                problems.append(f"{method} {path} {status}: not the Error schema")
    assert not problems, "\n".join(problems)


def test_validation_catches_a_wrong_response():
    """The checker itself fails on a wrong type and on a missing required field."""
    task_id = "6f1c1f0e-8a8b-4c1e-9a55-3b7c2e1d0a11"
    good = {"messages": [], "last_seq": 0, "has_more": False}

    def rec(body, status=200):
        return Recorded("GET", f"/api/tasks/{task_id}/messages", status, "application/json",
                        json.dumps(body).encode(), {})

    assert check_response(rec(good)) == []
    assert check_response(rec(dict(good, last_seq="0")))
    assert check_response(rec({"messages": [], "has_more": False}))
    assert check_response(rec(dict(good, undocumented=1)))
    assert check_response(rec(dict(good, messages=[{"seq": 1, "type": "text"}])))
    assert check_response(rec({"error": {"code": "task_not_found", "message": "x"}}, 409))
    assert check_response(rec({"error": {"code": "task_not_found"}}, 404))
    assert check_response(rec({"error": {"code": "task_not_found", "message": "No such task."}}, 404)) == []


def exercise_every_operation(world):
    """One successful call of every documented operation (so the check below is never vacuous)."""
    health = Client()
    health.get("/api/health", expect=200)
    browser = Client(origin=BASE_URL)
    browser.post("/api/session", json={"email": world.email, "password": world.password}, expect=200)
    browser.get("/api/me", expect=200)
    browser.delete("/api/session", expect=204)
    world.user.get("/api/me", expect=200)
    world.user.get("/api/agents", expect=200)
    issue = world.create_issue()
    world.user.get("/api/issues", expect=200)
    world.issue(issue["id"])
    world.user.post(f"/api/issues/{issue['id']}/comments", json={"content": "c"}, expect=201)
    world.register()
    world.claim(expect=204)
    task = world.assign(issue["id"])
    world.heartbeat([])
    world.claim()
    world.start(task["id"])
    world.active_task(issue["id"])
    world.user.get(f"/api/issues/{issue['id']}/active-tasks", expect=200)
    world.daemon.post(f"/api/daemon/tasks/{task['id']}/progress", json={"summary": "s", "step": 1, "total": 2},
                      expect=200)
    world.post_messages(task["id"], batch(1, 8))
    world.messages_page(task["id"], limit=3)
    world.messages_page(task["id"], client=world.daemon, prefix="/api/daemon/tasks")
    world.task(task["id"])
    world.daemon.post(f"/api/daemon/tasks/{task['id']}/complete", json={
        "output": "done", "pr_url": "https://example.test/pr/2", "session_id": "s-1",
        "usage": {"model": "m", "input_tokens": 3, "output_tokens": 2, "cost_usd": 0.01}}, expect=200)
    world.timeline(issue["id"])
    for finish in ("fail", "cancel"):
        t = world.running_task()
        if finish == "fail":
            world.fail(t.task_id, "boom")
        else:
            world.user.post(f"/api/tasks/{t.task_id}/cancel", expect=200)
        world.timeline(t.issue_id)
    world.user.post(f"/api/tasks/{t.task_id}/retry", expect=201)


@pytest.mark.last
def test_recorded_responses_match_the_spec(world):
    exercise_every_operation(world)
    problems, covered = [], set()
    for rec in list(RECORDED):
        found = check_response(rec)
        problems += found
        if not found and rec.status < 300:
            covered.add((rec.method, template_for(rec.path), str(rec.status)))
    wanted = {(m, p, s) for (m, p), op in OPERATIONS.items() for s in op["responses"] if s.startswith("2")}
    assert not problems, f"{len(problems)} responses differ from deploy/openapi.yaml:\n" + \
        "\n".join(sorted(set(problems))[:60])
    assert wanted - covered == set(), "documented success responses never seen"
