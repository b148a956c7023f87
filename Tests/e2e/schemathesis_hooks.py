"""Schemathesis hooks for test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Random UUIDs name nothing, so on their own the generated requests would mostly get
404s and never reach the deeper validators and SQL functions. Before each call,
a UUID that schemathesis generated (a path id, the id fields of a JSON body, the
workspace_id query) is replaced, in about two cases out of three, by the id of a
real thing of the test's workspace (AGENTLIVE_ST_IDS, a JSON object). Which ones
is decided by the generated value itself, so a seed still reproduces a run.
Values that are not UUIDs (the negative cases) are left alone.
"""
import json
import os
import uuid

import schemathesis

IDS = json.loads(os.environ.get("AGENTLIVE_ST_IDS", "{}"))

# JSON body fields holding ids -> key in IDS
BODY_IDS = {"agent_id": "agent_id", "daemon_id": "daemon_id", "workspace_id": "workspace_id",
            "issue_id": "issue_id"}


def _real(value, replacement):
    """replacement for a generated UUID string (2 times in 3), else the value itself."""
    if replacement is None or not isinstance(value, str):
        return value
    try:
        number = uuid.UUID(value).int
    except ValueError:
        return value
    return replacement if number % 3 else value


@schemathesis.hook
def before_call(context, case, **kwargs):
    path = case.operation.path
    path_id = None
    if isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        key = "issue_id" if path.startswith("/api/issues/") else "task_id"
        case.path_parameters["id"] = path_id = _real(case.path_parameters["id"], IDS.get(key))
    if isinstance(case.query, dict) and "workspace_id" in case.query:
        case.query["workspace_id"] = _real(case.query["workspace_id"], IDS.get("workspace_id"))
    body = case.body
    if not isinstance(body, dict):
        return
    for field, key in BODY_IDS.items():
        if field in body:
            body[field] = _real(body[field], IDS.get(key))
    if "task_id" in body:
        # On a task's path, a task id in the body must repeat the path's (else 422).
        body["task_id"] = _real(body["task_id"], path_id or IDS.get("task_id"))
    if isinstance(body.get("current_tasks"), list):
        body["current_tasks"] = [_real(t, IDS.get("task_id")) for t in body["current_tasks"]]
    if path == "/api/session" and isinstance(body.get("email"), str) and "email" in IDS:
        pick = uuid.uuid5(uuid.NAMESPACE_URL, body["email"]).int
        if pick % 3:
            body["email"] = IDS["email"]
            if pick % 2 and isinstance(body.get("password"), str):
                body["password"] = IDS["password"]
