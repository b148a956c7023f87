"""Every relay's Prometheus metrics: one loopback endpoint per relay
(AGENTLIVE_RELAY_METRICS_URLS in $STACK_DIR/env), each counting its own clients,
never through nginx."""
import asyncio
import os
import pathlib
import shlex
import subprocess
from urllib.parse import urlsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

from agentlive_fixtures import BASE_URL, STACK_DIR, msg, relays

NAMES = ("agentlive_relay_connections", "agentlive_relay_subscriptions", "agentlive_relay_events_sent_total",
         "agentlive_relay_slow_clients_closed_total", "agentlive_relay_frames_dropped_total",
         "agentlive_relay_resyncs_total", "agentlive_relay_listen_reconnects_total",
         "agentlive_relay_notify_to_send_seconds_count")
LAG_COUNT = "agentlive_relay_notify_to_send_seconds_count"
EVENTS = "agentlive_relay_events_sent_total"


def metrics_urls() -> list:
    for line in pathlib.Path(STACK_DIR, "env").read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and words[1].startswith("AGENTLIVE_RELAY_METRICS_URLS="):
            return words[1].split("=", 1)[1].split()
    raise AssertionError(f"no AGENTLIVE_RELAY_METRICS_URLS in {STACK_DIR}/env")


def scrape(url) -> dict:
    """The unlabelled samples of one relay's scrape: name -> value."""
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return {s.name: s.value for family in text_string_to_metric_families(r.text)
            for s in family.samples if not s.labels}


def scrape_all() -> list:
    """One scrape per relay, in the order of relays()."""
    return [scrape(url) for url in metrics_urls()]


def rise(before, after, name) -> float:
    return sum(a[name] for a in after) - sum(b[name] for b in before)


def test_every_relay_has_its_own_loopback_endpoint():
    urls = metrics_urls()
    assert len(urls) == len(relays()) and len(set(urls)) == len(urls), urls
    for url in urls:
        assert urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).path == "/metrics", url
        samples = scrape(url)
        for name in NAMES:
            assert name in samples, (url, name)


def test_metrics_follow_clients_subscriptions_and_events(world, live):
    watched, other = world.create_issue()["id"], world.create_issue()["id"]
    messages = 20

    async def main():
        before = scrape_all()
        # On every relay, straight to its port (so each is sure to have clients):
        # one watcher of the task's issue and one client that watches both issues.
        watchers, both = [], []
        for relay in relays():
            url = f"ws://127.0.0.1:{relay.port}/ws"
            watcher = await live.connect(token=world.user_token, url=url, label=f"watcher on {relay.name}")
            await watcher.subscribe(watched)
            two = await live.connect(token=world.user_token, url=url, label=f"both on {relay.name}")
            await two.subscribe(watched)
            await two.subscribe(other)
            watchers.append(watcher)
            both.append(two)
        opened = scrape_all()
        assert rise(before, opened, "agentlive_relay_connections") == 2 * len(relays())
        assert rise(before, opened, "agentlive_relay_subscriptions") == 3 * len(relays())

        task = (await asyncio.to_thread(world.assign, watched))["id"]
        await asyncio.to_thread(world.claim)
        await asyncio.to_thread(world.start, task)
        accepted = await asyncio.to_thread(world.post_messages, task, {"messages": [msg(s) for s in range(1, messages + 1)]})
        assert accepted["accepted"] == messages
        received = []  # per relay: events its two clients got
        for watcher, two in zip(watchers, both):
            count = 0
            for client in (watcher, two):
                frames = await client.until(lambda f: f["type"] == "task:message" and f["payload"]["seq"] == messages,
                                            30, f"message {messages}")
                count += sum(1 for f in frames if f["type"].startswith(("task:", "comment:")))
            received.append(count)
        after = scrape_all()

        for i, relay in enumerate(relays()):
            assert after[i][EVENTS] - before[i][EVENTS] >= received[i] >= 2 * messages, relay.name
            assert after[i][LAG_COUNT] > before[i][LAG_COUNT], f"{relay.name}: no NOTIFY-to-send lag observed"
        # Counters never go back.
        for b, a in zip(before, after):
            for name in NAMES:
                if name.endswith(("_total", "_count")):
                    assert a[name] >= b[name], name

    live.run(main)


def test_metrics_are_not_served_through_nginx_or_the_websocket_port():
    for path in ("/metrics", "/ws/metrics", "/api/metrics"):
        r = requests.get(BASE_URL + path, timeout=10)
        assert "agentlive_relay_" not in r.text, f"{path} through nginx answers the relay's metrics"
    for relay in relays():
        r = requests.get(f"http://127.0.0.1:{relay.port}/metrics", timeout=10)
        assert r.status_code == 404 and "agentlive_relay_" not in r.text, relay.name


def test_a_non_loopback_metrics_host_is_refused():
    binary = pathlib.Path(os.environ["BIN"], "agentlive-relay")
    p = subprocess.run([str(binary), "--port", "1", "--metrics-port", "2", "--metrics-host", "0.0.0.0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "0.0.0.0 is not a loopback address" in p.stderr, p.stderr
