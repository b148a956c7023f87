"""The API pool's Prometheus metrics: served by the supervisor on loopback
(AGENTLIVE_API_METRICS_URL in $STACK_DIR/env), summed over the workers, and
never through nginx."""
import os
import pathlib
import shlex
import subprocess
import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from agentlive_fixtures import BASE_URL, STACK_DIR, Client, batch, stack_settings, wait_until, worker_pids

HEALTH = ("/api/health", "GET")
ISSUE = ("/api/issues/{id}", "GET")
INGEST = ("/api/daemon/tasks/{id}/messages", "POST")
OTHER = ("other", "other")


def metrics_url() -> str:
    for line in pathlib.Path(STACK_DIR, "env").read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and words[1].startswith("AGENTLIVE_API_METRICS_URL="):
            return words[1].split("=", 1)[1]
    raise AssertionError(f"no AGENTLIVE_API_METRICS_URL in {STACK_DIR}/env")


def scrape() -> dict:
    """Every sample of a scrape: (sample name, sorted labels) -> value."""
    r = requests.get(metrics_url(), timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def requests_total(samples, route, status) -> float:
    key = ("agentlive_api_requests_total",
           tuple(sorted({"route": route[0], "method": route[1], "status": str(status)}.items())))
    return samples.get(key, 0)


def duration_count(samples, route) -> float:
    key = ("agentlive_api_request_duration_seconds_count",
           tuple(sorted({"route": route[0], "method": route[1]}.items())))
    return samples.get(key, 0)


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_counters_move_by_at_least_what_was_sent(world):
    task = world.running_task()
    before = scrape()

    anonymous = Client()
    for _ in range(5):
        anonymous.get("/api/health", expect=200)
    for _ in range(3):
        anonymous.get(f"/api/issues/{uuid.uuid4()}", expect=401)
    for _ in range(2):
        anonymous.get("/api/no-such-endpoint", expect=404)
    assert world.post_messages(task.task_id, batch(1, 7))["accepted"] == 7
    assert world.post_messages(task.task_id, batch(1, 7))["accepted"] == 0  # duplicates are not counted twice

    after = scrape()
    assert requests_total(after, HEALTH, 200) - requests_total(before, HEALTH, 200) >= 5
    assert requests_total(after, ISSUE, 401) - requests_total(before, ISSUE, 401) >= 3
    assert requests_total(after, OTHER, 404) - requests_total(before, OTHER, 404) >= 2
    assert requests_total(after, INGEST, 200) - requests_total(before, INGEST, 200) >= 2
    assert duration_count(after, HEALTH) - duration_count(before, HEALTH) >= 5
    ingested = value(after, "agentlive_api_messages_ingested_total") - value(before, "agentlive_api_messages_ingested_total")
    assert ingested >= 7
    # Counters never go back.
    for key, old in before.items():
        if key[0].endswith(("_total", "_count", "_bucket")):
            assert after.get(key, 0) >= old, key


def test_busy_and_idle_workers_add_up_to_the_pool():
    workers = int(stack_settings()["WORKERS"])

    def settled():
        samples = scrape()
        busy, idle, starting = (value(samples, "agentlive_api_workers", state=s) for s in ("busy", "idle", "starting"))
        return (busy, idle, starting) if starting == 0 and len(worker_pids()) == workers else None

    busy, idle, _ = wait_until(settled, 15, "every worker of the pool to be ready")
    assert busy + idle == workers
    samples = scrape()
    for name in ("agentlive_api_worker_restarts_total", "agentlive_api_messages_ingested_total"):
        assert (name, ()) in samples, name
    assert ("agentlive_api_database_errors_total", (("kind", "unavailable"),)) in samples


def test_metrics_are_not_served_through_nginx():
    for path in ("/metrics", "/api/metrics"):
        r = requests.get(BASE_URL + path, timeout=10)
        assert "agentlive_api_requests_total" not in r.text, f"{path} through nginx answers the metrics"
    assert requests.get(BASE_URL + "/api/metrics", timeout=10).status_code == 404


def test_a_non_loopback_metrics_address_is_refused(tmp_path):
    binary = pathlib.Path(os.environ["BIN"], "agentlive-api")
    socket_path = tmp_path / "api.sock"
    p = subprocess.run([str(binary), "serve", "--listen", str(socket_path), "--workers", "2",
                        "--metrics-listen", "0.0.0.0:1"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "not a loopback address" in p.stderr and "--metrics-allow-non-loopback" in p.stderr, p.stderr
    assert not socket_path.exists()
