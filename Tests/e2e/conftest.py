"""pytest's hooks and fixtures for the end-to-end tests against a running AgentLive
stack, through nginx. The helpers themselves (HTTP and WebSocket clients, SQL, stack
verbs, workspaces, processes) are in agentlive_fixtures.py, which deploy/dev/chaos.py
uses too; test files import them from there.

Environment:
  AGENTLIVE_URL    base URL of nginx, e.g. http://127.0.0.1:18080
  STACK_DIR        the stack's folder (run/api.pid, env)
  AGENTLIVE_STACK  path to deploy/dev/stack (`stack psql …`, `stack stop|start …`)

Every HTTP response the suite receives is recorded; test_openapi.py validates them
against deploy/openapi.yaml at the end of the run.

WebSocket tests (test_relay.py) use the `live` fixture: `live.run(main)` runs the
coroutine `main` in a fresh event loop, bounded in time; clients opened with
`await live.connect(...)` are closed when it ends. Every wait on a frame is bounded.
"""
import os

import pytest

from agentlive_fixtures import BASE_URL, STACK_DIR, Client, Live, describe, new_world


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other test of the session")
    missing = [n for n, v in (("AGENTLIVE_URL", BASE_URL), ("AGENTLIVE_STACK", os.environ.get("AGENTLIVE_STACK")),
                              ("STACK_DIR", STACK_DIR)) if not v]
    if missing:
        pytest.exit(f"e2e tests need {', '.join(missing)} in the environment", returncode=4)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture
def live():
    return Live()


@pytest.fixture
def world():
    return new_world()


@pytest.fixture
def world_factory():
    return new_world


@pytest.fixture
def anon():
    return Client()


@pytest.fixture(autouse=True)
def worker_still_serves():
    """After every test: the API still answers /api/health with 200."""
    yield
    r = Client().get("/api/health")
    assert r.status_code == 200, f"health after test: {describe(r)}"
