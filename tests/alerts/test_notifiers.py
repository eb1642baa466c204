"""Each notifier against a real local receiver: what the message says, signatures, RTL email,
and which failures are retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.message import build_message
from alerts.notifiers import DeliveryError, NotifierConfigError, build_notifier
from alerts.outbox import deliveries_for
from alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER
from core.domain import Alert, Severity
from tests.alerts.conftest import BRAND, MINA_EN, MINA_FA, NOW, WEBHOOK_SECRETS, make_settings, mention, mina

ENV = {"HOOK_SECRET": ",".join(WEBHOOK_SECRETS), "TG_TOKEN": "123456:ABC-test-token", "SMTP_PASS": "s3cret"}


def _alert() -> Alert:
    return Alert(id="al-demo-1", fingerprint="key|Sepehr Mobile|customer:C-1042", rule="key-customer", brand=BRAND,
                 severity=Severity.critical, subject_kind="customer", subject_id="C-1042",
                 title="Sepehr Mobile: key customer Mina Rahimi is complaining",
                 reasons=["angry 0.93 · 'همه بازنشر کنید'", "shares +420/h", "ticket T-881 reopened, open 9 days"],
                 mention_ids=["forum-1", "mastodon-2"], customer_id="C-1042", created_at=NOW, updated_at=NOW, version=3)


def _delivery(settings, channel: str, text: str = MINA_EN, lang: str = "en", platform: str = "mastodon"):
    post = mention("109", text, platform=platform, handle="mina_r", lang=lang, followers=1240)
    payload = build_message(_alert(), "notify", "created", settings, post, mina())
    [delivery] = deliveries_for("al-demo-1", 3, "notify", [channel], payload, NOW)
    return delivery


def test_slack_block_kit_says_who_why_and_where(tmp_path: Path, http_receiver) -> None:
    settings = make_settings(tmp_path, channels={"support-slack": {"type": "slack", "url": http_receiver.url + "/services/T0/B0/X"}})
    notifier = build_notifier("support-slack", settings, ENV)
    notifier.send(_delivery(settings, "support-slack"))
    [request] = http_receiver.requests
    assert request["path"] == "/services/T0/B0/X"
    body = request["json"]
    blocks = json.dumps(body["blocks"], ensure_ascii=False)
    assert body["blocks"][0]["type"] == "header" and "Mina Rahimi" in body["blocks"][0]["text"]["text"]
    assert "*Brand*\\nSepehr Mobile" in blocks and ":rotating_light: critical" in blocks
    assert "همه بازنشر کنید" in blocks and "shares +420/h" in blocks  # WHY
    assert "@mina_r" in blocks and "1,240 followers" in blocks and "never buy from Sepehr Mobile" in blocks
    assert "https://mastodon.example/mina_r/109" in blocks
    assert "C-1042" in blocks and "tier gold" in blocks and "T-881" in blocks
    assert body["blocks"][-1]["elements"][0]["url"] == "http://127.0.0.1:8080/alerts/al-demo-1"
    assert "Mina Rahimi" in body["text"]  # fallback text for notifications


def test_webhook_is_signed_with_both_secrets_and_carries_the_delivery_id(tmp_path: Path, webhook_receiver) -> None:
    settings = make_settings(tmp_path, channels={"crm-hook": {"type": "webhook", "url": webhook_receiver.url + "/hook",
                                                              "secret_env": "HOOK_SECRET"}})
    delivery = _delivery(settings, "crm-hook")
    build_notifier("crm-hook", settings, ENV).send(delivery)
    [request] = webhook_receiver.requests  # the receiver verified the signature itself
    assert request["headers"][DELIVERY_HEADER] == delivery.id
    assert request["headers"][SIGNATURE_HEADER].count("v1=") == 2
    assert request["json"]["delivery_id"] == delivery.id and request["json"]["customer"]["open_ticket"]["id"] == "T-881"
    # A receiver holding only a different secret rejects it: the signature really is checked.
    webhook_receiver.secrets = ["whsec_someone_else"]
    with pytest.raises(DeliveryError) as err:
        build_notifier("crm-hook", settings, ENV).send(delivery)
    assert not err.value.retryable and "401" in str(err.value)


def test_webhook_without_its_secret_is_a_config_error(tmp_path: Path, webhook_receiver) -> None:
    settings = make_settings(tmp_path, channels={"crm-hook": {"type": "webhook", "url": webhook_receiver.url,
                                                              "secret_env": "MISSING_SECRET"}})
    with pytest.raises(NotifierConfigError, match="MISSING_SECRET"):
        build_notifier("crm-hook", settings, ENV).send(_delivery(settings, "crm-hook"))


def test_telegram_send_message_via_configurable_base_url(tmp_path: Path, telegram_receiver) -> None:
    settings = make_settings(tmp_path, channels={"tg": {"type": "telegram", "url": telegram_receiver.url,
                                                        "bot_token_env": "TG_TOKEN", "chat_id": "-100777"}})
    build_notifier("tg", settings, ENV).send(_delivery(settings, "tg", MINA_FA, "fa", "forum"))
    [request] = telegram_receiver.requests
    assert request["path"] == "/bot123456:ABC-test-token/sendMessage"
    body = request["json"]
    assert body["chat_id"] == "-100777" and body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>[CRITICAL] New alert: Sepehr Mobile: key customer Mina Rahimi")
    assert "همه بازنشر کنید" in body["text"] and "T-881" in body["text"]
    assert '<a href="http://127.0.0.1:8080/alerts/al-demo-1">' in body["text"]


def test_telegram_429_is_retryable_and_the_token_never_leaks(tmp_path: Path, telegram_receiver) -> None:
    settings = make_settings(tmp_path, channels={"tg": {"type": "telegram", "url": telegram_receiver.url,
                                                        "bot_token_env": "TG_TOKEN", "chat_id": "1"}})
    telegram_receiver.fail_next(1, status=429, retry_after="7")
    with pytest.raises(DeliveryError) as err:
        build_notifier("tg", settings, ENV).send(_delivery(settings, "tg"))
    assert err.value.retryable and err.value.retry_after == 7.0
    assert "ABC-test-token" not in str(err.value)


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (429, True), (400, False), (404, False)])
def test_http_failures_map_to_retry_or_give_up(tmp_path: Path, http_receiver, status: int, retryable: bool) -> None:
    settings = make_settings(tmp_path, channels={"s": {"type": "slack", "url": http_receiver.url}})
    http_receiver.fail_next(1, status=status)
    with pytest.raises(DeliveryError) as err:
        build_notifier("s", settings, ENV).send(_delivery(settings, "s"))
    assert err.value.retryable is retryable and str(status) in str(err.value)


def test_unreachable_receiver_is_retryable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, channels={"s": {"type": "slack", "url": "http://127.0.0.1:9/hook", "timeout_seconds": 2}})
    with pytest.raises(DeliveryError) as err:
        build_notifier("s", settings, ENV).send(_delivery(settings, "s"))
    assert err.value.retryable and "connection failed" in str(err.value)


def test_email_persian_alert_is_right_to_left_with_text_and_html(tmp_path: Path, smtp_receiver) -> None:
    settings = make_settings(tmp_path, channels={"mail": {
        "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_receiver.port,
        "mail_from": "alerts@sepehr.example", "mail_to": ["support@sepehr.example", "pr@sepehr.example"]}})
    delivery = _delivery(settings, "mail", MINA_FA, "fa", "forum")
    build_notifier("mail", settings, ENV).send(delivery)
    [msg] = smtp_receiver.messages
    assert msg["Subject"] == "[CRITICAL] Sepehr Mobile: key customer Mina Rahimi is complaining"
    assert msg["X-BrandGuard-Delivery"] == delivery.id and delivery.id in msg["Message-ID"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "همه بازنشر کنید" in text and "Customer: Mina Rahimi (C-1042), tier gold, open ticket T-881" in text
    assert '<html dir="rtl">' in html and '<blockquote dir="auto" lang="fa">' in html
    assert "همه بازنشر کنید" in html and "http://127.0.0.1:8080/alerts/al-demo-1" in html


def test_email_english_alert_is_left_to_right(tmp_path: Path, smtp_receiver) -> None:
    settings = make_settings(tmp_path, channels={"mail": {"type": "email", "smtp_host": "127.0.0.1",
                                                          "smtp_port": smtp_receiver.port,
                                                          "mail_from": "a@x.example", "mail_to": ["b@x.example"]}})
    build_notifier("mail", settings, ENV).send(_delivery(settings, "mail"))
    html = smtp_receiver.messages[0].get_body(("html",)).get_content()
    assert '<html dir="ltr">' in html and 'dir="auto"' in html


def test_email_smtp_4xx_is_retried_5xx_is_not(tmp_path: Path, smtp_receiver) -> None:
    settings = make_settings(tmp_path, channels={"mail": {"type": "email", "smtp_host": "127.0.0.1",
                                                          "smtp_port": smtp_receiver.port,
                                                          "mail_from": "a@x.example", "mail_to": ["b@x.example"]}})
    smtp_receiver.failures.extend([451, 554])
    notifier = build_notifier("mail", settings, ENV)
    with pytest.raises(DeliveryError) as first:
        notifier.send(_delivery(settings, "mail"))
    with pytest.raises(DeliveryError) as second:
        notifier.send(_delivery(settings, "mail"))
    assert first.value.retryable and not second.value.retryable


def test_log_channel_appends_json_lines(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    notifier = build_notifier("inbox", settings, ENV)
    delivery = _delivery(settings, "inbox", MINA_FA, "fa", "forum")
    notifier.send(delivery)
    notifier.send(delivery)
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["delivery_id"] for line in lines] == [delivery.id, delivery.id]
    assert lines[0]["mention"]["rtl"] is True and "Why: angry 0.93" in lines[0]["text"]
