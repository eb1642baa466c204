"""The demo story end to end: Mina's posts go through the alert worker and the dispatcher to
Slack, a signed webhook, Telegram and email — each receiver failing for a while first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts.dispatcher import Dispatcher
from alerts.worker import AlertWorker
from tests.alerts.conftest import (
    COPY_EN, MINA_EN, MINA_FA, NOW, WEBHOOK_SECRETS, campaign, drain, make_settings, mention, mina, open_test_store, seed,
)

ENV = {"HOOK_SECRET": ",".join(WEBHOOK_SECRETS), "TG_TOKEN": "42:demo"}


def test_every_channel_gets_the_alert_once_after_recovering(
    tmp_path: Path, clock, http_receiver, webhook_receiver, telegram_receiver, smtp_receiver,
) -> None:
    channels = {
        "support-slack": {"type": "slack", "url": http_receiver.url + "/slack"},
        "crm-hook": {"type": "webhook", "url": webhook_receiver.url + "/hook", "secret_env": "HOOK_SECRET"},
        "support-tg": {"type": "telegram", "url": telegram_receiver.url, "bot_token_env": "TG_TOKEN", "chat_id": "-1001"},
        "pr-email": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_receiver.port,
                     "mail_from": "brandguard@sepehr.example", "mail_to": ["pr@sepehr.example"]},
    }
    rules = [
        {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "team": "support",
         "channels": ["support-slack", "crm-hook", "support-tg", "pr-email"]},
        {"type": "campaign_detected", "name": "campaign", "min_authors": 10, "channels": ["support-slack"]},
    ]
    settings = make_settings(tmp_path, rules=rules, channels=channels)
    store = open_test_store(settings)
    forum = mention("forum-881", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042",
                    published=NOW - timedelta(minutes=40))
    masto = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042", followers=1240)
    copies = [mention(f"copy{i}", COPY_EN, handle=f"acct{i}", campaign_id="camp-1") for i in range(20)]
    seed(store, [forum, masto] + copies, customers=[mina()],
         campaigns=[campaign("camp-1", [c.id for c in copies], [c.author.key for c in copies])])
    drain(AlertWorker(settings, store, clock, "alert-1"))

    http_receiver.fail_next(2, status=503)
    webhook_receiver.fail_next(1, status=500)
    telegram_receiver.fail_next(2, status=429, retry_after="3")
    smtp_receiver.failures.extend([421, 451])
    dispatcher = Dispatcher(settings, store, clock, "dispatch-1", env=ENV, backoff_base=1)
    for _ in range(30):
        dispatcher.run_once()
        clock.advance(timedelta(seconds=5))
    dispatcher.close()

    assert store.count_deliveries_by_status() == {"sent": 5}
    slack_texts = [r["json"]["text"] for r in http_receiver.requests]
    assert len(slack_texts) == 2  # the key-customer alert and the campaign alert, once each
    assert any("Mina Rahimi (C-1042), tier gold, open ticket T-881" in t for t in slack_texts)
    assert any("coordinated campaign: 20 accounts" in t for t in slack_texts)
    [hook] = webhook_receiver.requests
    assert hook["json"]["customer"]["tier"] == "gold" and hook["json"]["change"] == "created"
    alert = store.get_alert(hook["json"]["alert_id"])
    assert len(alert.mention_ids) == 2  # her second post joined the same alert without a second message
    [tg] = telegram_receiver.requests
    assert "Mina Rahimi" in tg["json"]["text"]
    [mail] = smtp_receiver.messages
    assert "Mina Rahimi" in mail["Subject"]
    store.close()
