"""Calm-down notifications (and auto-resolve) to the channels that heard of a situation, and
per-channel digests of info/warning alerts, on a simulated clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.dispatcher import Dispatcher
from core.domain import AlertState
from core.store.port import AlertFilter
from tests.alerts.conftest import COPY_EN, MINA_EN, NOW, drain, mention, receiver_channels, seed, thread

THREAD_RULE = {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 60,
               "critical_above": 90, "channels": ["support-slack", "inbox"]}


@pytest.fixture
def env(alert_env, http_receiver):  # noqa: ANN001, ANN201
    def build(*rules: dict, channels: dict | None = None, **extra):
        return alert_env(*rules, channels=channels or receiver_channels(http_receiver), **extra)

    return build


def _post(native_id: str, thread_id: str, risk: float = 75, published=NOW, handle: str = "stranger"):
    return mention(native_id, COPY_EN + f" {native_id}", handle=handle, thread_id=thread_id, published=published, risk=risk)


def test_a_quiet_situation_sends_one_calmed_down_to_the_channels_that_got_it_and_flares_again(env, clock) -> None:
    settings, store, worker = env(THREAD_RULE)
    seed(store, [_post("a1", "th-1")], threads=[thread("th-1", [], risk=75)])
    drain(worker)
    [alert] = store.list_alerts(AlertFilter())[0]
    clock.advance(timedelta(minutes=119))
    worker.tick(force=True)
    assert store.get_alert(alert.id).calmed_at is None  # not quiet long enough yet
    clock.advance(timedelta(minutes=2))
    worker.tick(force=True)
    worker.tick(force=True)
    calm = store.get_alert(alert.id)
    assert calm.calmed_at == clock.now() and calm.state == AlertState.open
    calmed = [d for d in store.list_deliveries(alert_id=alert.id) if d.kind == "calmed"]
    assert sorted(d.channel for d in calmed) == ["inbox", "support-slack"]  # once each
    assert calmed[0].payload["headline"] == "Calmed down"
    # It starts again: everyone hears that it flared up.
    clock.advance(timedelta(minutes=30))
    seed(store, [_post("a2", "th-1", published=clock.now())], threads=[thread("th-1", [], risk=75)])
    drain(worker)
    flared = [d for d in store.list_deliveries(alert_id=alert.id) if d.payload.get("change") == "flared"]
    assert sorted(d.channel for d in flared) == ["inbox", "support-slack"]
    assert store.get_alert(alert.id).calmed_at is None


def test_auto_resolve_resolves_a_calm_situation_and_new_evidence_reopens_it(env, clock) -> None:
    settings, store, worker = env(THREAD_RULE, auto_resolve=True, calm_after_minutes=60)
    seed(store, [_post("b1", "th-2")], threads=[thread("th-2", [], risk=75)])
    drain(worker)
    [alert] = store.list_alerts(AlertFilter())[0]
    clock.advance(timedelta(minutes=61))
    worker.tick(force=True)
    resolved = store.get_alert(alert.id)
    assert resolved.state == AlertState.resolved
    assert [e.kind for e in resolved.timeline][-3:] == ["calmed", "resolve", "notified"]
    clock.advance(timedelta(hours=3))
    seed(store, [_post("b2", "th-2", published=clock.now())], threads=[thread("th-2", [], risk=75)])
    drain(worker)
    reopened = store.get_alert(alert.id)
    assert reopened.state == AlertState.open and reopened.calmed_at is None
    kinds = sorted((d.kind, d.payload["change"]) for d in store.list_deliveries(alert_id=alert.id) if d.channel == "inbox")
    assert kinds == [("calmed", "calmed"), ("notify", "created"), ("notify", "reopened")]


def test_a_digest_channel_gets_warnings_as_one_summary_and_criticals_at_once(env, clock, http_receiver) -> None:
    channels = {"support-slack": {"type": "slack", "url": http_receiver.url + "/slack", "digest_minutes": 60},
                "inbox": {"type": "log", "options": {"path": "alerts.jsonl"}}}
    settings, store, worker = env(THREAD_RULE, channels=channels)
    worker.tick(force=True)  # the digest period starts
    for i in range(3):
        clock.advance(timedelta(minutes=10))
        seed(store, [_post(f"w{i}", f"th-w{i}", published=clock.now(), handle=f"user{i}")],
             threads=[thread(f"th-w{i}", [], risk=70)])
        drain(worker)
    clock.advance(timedelta(minutes=5))
    seed(store, [mention("crit", MINA_EN, handle="loud", thread_id="th-c", published=clock.now())],
         threads=[thread("th-c", [], risk=95)])
    drain(worker)
    pending = store.list_deliveries(status="pending")
    assert sorted((d.channel, d.payload["severity"]) for d in pending) == [
        ("inbox", "critical"), ("inbox", "warning"), ("inbox", "warning"), ("inbox", "warning"),
        ("support-slack", "critical")]  # Slack's three warnings wait for the digest
    clock.advance(timedelta(minutes=26))
    worker.tick(force=True)
    worker.tick(force=True)
    [digest] = [d for d in store.list_deliveries(status="pending") if d.kind == "digest"]
    assert digest.channel == "support-slack" and len(digest.payload["alerts"]) == 3
    assert digest.payload["headline"] == "Digest of the last 61 min"
    dispatcher = Dispatcher(settings, store, clock, "d1")
    while dispatcher.run_once():
        pass
    dispatcher.close()
    texts = [r["json"]["text"] for r in http_receiver.requests]
    assert len(texts) == 2 and sum("Digest of the last 61 min" in t for t in texts) == 1
