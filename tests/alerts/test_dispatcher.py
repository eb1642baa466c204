"""The outbox dispatcher against real receivers: retries with backoff until a failing receiver
recovers, Retry-After, dead letters and redelivery, two dispatchers and a crash mid-send."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.dispatcher import Dispatcher, backoff_seconds
from alerts.message import build_message
from alerts.outbox import deliveries_for
from core.clock import SimulatedClock
from core.domain import Alert, DeliveryStatus, Severity
from tests.alerts.conftest import BRAND, MINA_EN, NOW, WEBHOOK_SECRETS, make_settings, mention, mina, open_test_store

ENV = {"HOOK_SECRET": ",".join(WEBHOOK_SECRETS)}


@pytest.fixture
def setup(tmp_path: Path, webhook_receiver):
    stores = []

    def build(**alert_extra):
        settings = make_settings(tmp_path, channels={
            "hook": {"type": "webhook", "url": webhook_receiver.url + "/hook", "secret_env": "HOOK_SECRET", "timeout_seconds": 3},
            "inbox": {"type": "log"}}, **alert_extra)
        store = open_test_store(settings)
        stores.append(store)
        return settings, store

    yield build
    for store in stores:
        store.close()


def write_alerts(store, settings, count: int, channels=("hook",)) -> list[str]:
    """``count`` alerts, each written with its deliveries as the worker would."""
    ids = []
    for i in range(count):
        alert = Alert(id=f"al-{i}", fingerprint=f"fp-{i}", rule="risky-post", brand=BRAND, severity=Severity.high,
                      subject_kind="mention", subject_id=f"m{i}", title=f"{BRAND}: risky post #{i}",
                      reasons=["angry 0.91"], created_at=NOW, updated_at=NOW)
        payload = build_message(alert, "notify", "created", settings, mention(f"n{i}", MINA_EN, handle="mina_r"), mina())
        deliveries = deliveries_for(alert.id, 1, "notify", channels, payload, NOW)
        store.create_alert(alert, deliveries)
        ids += [d.id for d in deliveries]
    return ids


def run_until_settled(dispatcher, clock, rounds: int = 50, step: timedelta = timedelta(seconds=5)) -> None:
    for _ in range(rounds):
        dispatcher.run_once()
        clock.advance(step)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    samples = [backoff_seconds(a, base=2, cap=60, rng=rng) for a in (1, 2, 3, 4, 5, 6, 10)]
    assert 1 <= samples[0] <= 2 and 1 <= samples[1] <= 4 and 1 <= samples[3] <= 16
    assert all(s <= 60 for s in samples)
    assert len({round(backoff_seconds(5, rng=rng), 3) for _ in range(20)}) > 10  # jittered


def test_receiver_failing_for_a_while_gets_every_delivery_after_it_recovers(setup, clock, webhook_receiver) -> None:
    settings, store = setup()
    expected = write_alerts(store, settings, 10)
    webhook_receiver.fail_next(7, status=503)
    webhook_receiver.fail_next(3, status=429, retry_after="2")
    run_until_settled(Dispatcher(settings, store, clock, "d1", env=ENV, backoff_base=1), clock)
    assert sorted(webhook_receiver.delivery_ids()) == sorted(expected)  # each once, none missing
    assert webhook_receiver.rejected == []  # every signature verified
    assert store.count_deliveries_by_status() == {"sent": 10}
    retried = [store.get_delivery(i) for i in expected if store.get_delivery(i).attempts > 1]
    assert retried  # the failures were retried, not dropped


def test_retry_after_is_honoured(setup, clock, webhook_receiver) -> None:
    settings, store = setup()
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(1, status=429, retry_after="120")
    Dispatcher(settings, store, clock, "d1", env=ENV, backoff_base=1).run_once()
    failed = store.get_delivery(delivery_id)
    assert failed.status == DeliveryStatus.failed and "HTTP 429" in failed.last_error
    assert failed.next_attempt_at >= NOW + timedelta(seconds=120)


def test_client_errors_are_dead_at_once_visible_and_redeliverable(setup, clock, webhook_receiver) -> None:
    settings, store = setup()
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(1, status=400)
    dispatcher = Dispatcher(settings, store, clock, "d1", env=ENV)
    dispatcher.run_once()
    [dead] = store.list_deliveries(status="dead")
    assert dead.id == delivery_id and dead.attempts == 1 and "HTTP 400" in dead.last_error and "not retryable" in dead.last_error
    assert dispatcher.run_once() == 0  # a dead delivery is not retried by itself
    store.redeliver(delivery_id, now=clock.now())
    dispatcher.run_once()
    assert store.get_delivery(delivery_id).status == DeliveryStatus.sent
    assert webhook_receiver.delivery_ids() == [delivery_id]


def test_dead_after_max_attempts(setup, clock, webhook_receiver) -> None:
    settings, store = setup(max_attempts=3)
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(10, status=502)
    run_until_settled(Dispatcher(settings, store, clock, "d1", env=ENV, backoff_base=1), clock, rounds=20)
    dead = store.get_delivery(delivery_id)
    assert dead.status == DeliveryStatus.dead and dead.attempts == 3 and "3 attempts" in dead.last_error
    assert webhook_receiver.hits == 3


def test_dead_after_max_age(setup, clock, webhook_receiver) -> None:
    settings, store = setup(max_age_hours=1)
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(10, status=503)
    clock.advance(timedelta(hours=2))  # the dispatcher was down; the first try is already too late to retry
    Dispatcher(settings, store, clock, "d1", env=ENV).run_once()
    dead = store.get_delivery(delivery_id)
    assert dead.status == DeliveryStatus.dead and "too old" in dead.last_error


def test_a_redelivered_old_delivery_gets_a_fresh_run_of_retries(setup, clock, webhook_receiver) -> None:
    settings, store = setup(max_age_hours=1)
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(1, status=400)
    dispatcher = Dispatcher(settings, store, clock, "d1", env=ENV, backoff_base=1)
    dispatcher.run_once()
    assert store.get_delivery(delivery_id).status == DeliveryStatus.dead
    clock.advance(timedelta(days=3))  # someone fixes the receiver and redelivers three days later
    store.redeliver(delivery_id, now=clock.now())
    webhook_receiver.fail_next(2, status=503)  # still flaky for a moment
    dispatcher.run_once()
    retrying = store.get_delivery(delivery_id)
    assert retrying.status == DeliveryStatus.failed, retrying.last_error  # not "too old": its run just started
    assert "HTTP 503" in retrying.last_error
    run_until_settled(dispatcher, clock, rounds=10)
    assert store.get_delivery(delivery_id).status == DeliveryStatus.sent
    assert webhook_receiver.delivery_ids() == [delivery_id]


def test_a_redelivered_delivery_still_dies_when_its_new_run_grows_too_old(setup, clock, webhook_receiver) -> None:
    settings, store = setup(max_age_hours=1, max_attempts=100)
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(1, status=400)
    dispatcher = Dispatcher(settings, store, clock, "d1", env=ENV, backoff_base=1)
    dispatcher.run_once()
    clock.advance(timedelta(days=2))
    store.redeliver(delivery_id, now=clock.now())
    webhook_receiver.fail_next(1000, status=503)
    run_until_settled(dispatcher, clock, rounds=30, step=timedelta(minutes=5))  # 2.5 hours of failures
    dead = store.get_delivery(delivery_id)
    assert dead.status == DeliveryStatus.dead and "too old" in dead.last_error
    assert 2 < dead.attempts < 30  # it was retried for about an hour, not killed at once


def test_a_receiver_down_for_ten_minutes_gets_every_delivery_once_when_it_comes_back(setup, clock, webhook_receiver) -> None:
    settings, store = setup()  # the defaults: 24 h max age, no attempt limit, 5 s base, 5 min cap
    expected = write_alerts(store, settings, 3)
    webhook_receiver.take_down()
    dispatcher = Dispatcher(settings, store, clock, "d1", env=ENV)
    run_until_settled(dispatcher, clock, rounds=60, step=timedelta(seconds=10))  # 10 simulated minutes refused
    waiting = [store.get_delivery(i) for i in expected]
    assert all(d.status == DeliveryStatus.failed for d in waiting), [d.last_error for d in waiting]
    assert all("connection failed" in d.last_error for d in waiting)
    assert all(d.next_attempt_at - clock.now() <= timedelta(minutes=5) for d in waiting)  # capped backoff
    webhook_receiver.bring_up()
    run_until_settled(dispatcher, clock, rounds=31, step=timedelta(seconds=10))  # the cap, plus a step
    assert sorted(webhook_receiver.delivery_ids()) == sorted(expected)  # each exactly once, none dead
    assert store.count_deliveries_by_status() == {"sent": 3}


def test_a_receiver_down_for_hours_is_retried_every_few_minutes_until_max_age(setup, clock, webhook_receiver) -> None:
    settings, store = setup(max_age_hours=6)
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.take_down()
    dispatcher = Dispatcher(settings, store, clock, "d1", env=ENV)
    run_until_settled(dispatcher, clock, rounds=5 * 60, step=timedelta(minutes=1))  # 5 hours down
    retrying = store.get_delivery(delivery_id)
    assert retrying.status == DeliveryStatus.failed and retrying.attempts >= 5 * 60 / 5 - 10  # about every 2.5-5 min
    webhook_receiver.bring_up()
    run_until_settled(dispatcher, clock, rounds=6, step=timedelta(minutes=1))
    assert webhook_receiver.delivery_ids() == [delivery_id]


def test_channel_options_set_the_backoff(setup, clock, webhook_receiver, tmp_path) -> None:
    settings, store = setup()
    hook = settings.alerts.channels["hook"].model_copy(update={"options": {"backoff_base_seconds": 60, "backoff_cap_seconds": 60}})
    settings = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"channels": {"hook": hook}})})
    [delivery_id] = write_alerts(store, settings, 1)
    webhook_receiver.fail_next(1, status=503)
    Dispatcher(settings, store, clock, "d1", env=ENV).run_once()
    failed = store.get_delivery(delivery_id)
    assert timedelta(seconds=30) <= failed.next_attempt_at - clock.now() <= timedelta(seconds=60)


def test_unconfigured_channel_is_dead_with_a_clear_error(setup, clock) -> None:
    settings, store = setup()
    [delivery_id] = write_alerts(store, settings, 1, channels=("pager",))
    Dispatcher(settings, store, clock, "d1", env=ENV).run_once()
    dead = store.get_delivery(delivery_id)
    assert dead.status == DeliveryStatus.dead and "'pager' is not configured" in dead.last_error


def test_two_dispatchers_side_by_side_never_double_send(setup, webhook_receiver) -> None:
    settings, store = setup()
    expected = write_alerts(store, settings, 40)
    other = open_test_store(settings)
    clock = SimulatedClock(NOW, speed=1.0)  # real time passing, in the story's calendar
    dispatchers = [Dispatcher(settings, store, clock, "d1", env=ENV, batch=4),
                   Dispatcher(settings, other, clock, "d2", env=ENV, batch=4)]

    def run(d):
        while d.run_once():
            pass

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.close()
    ids = webhook_receiver.delivery_ids()
    assert len(ids) == 40 and sorted(ids) == sorted(expected)
    senders = {store.get_delivery(i).lease_owner for i in expected}
    assert senders == {None}  # every lease released on success


def test_crash_between_send_and_record_resends_the_same_delivery_id(setup, clock, webhook_receiver) -> None:
    settings, store = setup()
    [delivery_id] = write_alerts(store, settings, 1)
    crashing = Dispatcher(settings, store, clock, "d1", env=ENV, lease_seconds=30)

    def die_after_send(*args, **kwargs):
        raise KeyboardInterrupt("killed")  # the process dies before recording the success

    crashing.store = type("Dying", (), {"claim_due_deliveries": store.claim_due_deliveries,
                                          "mark_delivery_sent": die_after_send})()
    with pytest.raises(KeyboardInterrupt):
        crashing.run_once()
    assert Dispatcher(settings, store, clock, "d2", env=ENV).run_once() == 0  # still leased to the dead one
    clock.advance(timedelta(seconds=31))
    Dispatcher(settings, store, clock, "d2", env=ENV).run_once()
    assert webhook_receiver.delivery_ids() == [delivery_id, delivery_id]  # at-least-once, same id to dedupe on
    assert store.get_delivery(delivery_id).status == DeliveryStatus.sent
