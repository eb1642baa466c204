"""Crawled text and links are hostile: each notifier escapes them for its own format
(issue 12, item 4). Each test sends the issue's injection strings through a real local
receiver and checks what the channel would render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.message import build_message
from alerts.notifiers import build_notifier
from alerts.outbox import deliveries_for
from core.domain import Alert, Customer, Severity
from tests.alerts.conftest import BRAND, NOW, WEBHOOK_SECRETS, make_settings, mention

ENV = {"HOOK_SECRET": ",".join(WEBHOOK_SECRETS), "TG_TOKEN": "123456:ABC-test-token"}
SLACK_TRICK = "https://blog.example/p|x> <!channel> <https://evil.example/login|Reset your Slack password"
HOSTILE_URLS = [SLACK_TRICK, "javascript:alert(document.domain)//", " JaVaScRiPt:alert(1)",
                "data:text/html,<script>alert(1)</script>"]
EXCERPT = ("<!channel> <!here> <@U024BE7LH> <https://evil.example/login|Reset your Slack password> & "
           "<script>alert(1)</script> همه بازنشر کنید")


def _delivery(settings, channel: str, url: str, *, title: str = "Sepehr Mobile: <!channel> is complaining"):
    alert = Alert(id="al-x", fingerprint="f", rule="risk-threshold", brand=BRAND, severity=Severity.high,
                  subject_kind="mention", subject_id="m", title=title,
                  reasons=["says <!everyone> & <https://evil.example|click>"], mention_ids=["m"],
                  customer_id="C-<!here>", created_at=NOW, updated_at=NOW, version=1)
    post = mention("666", EXCERPT, platform="forum", handle="<!channel>", url=url)
    customer = Customer(crm_id="C-<!here>", name="<@U1> Mina", tier="<gold>")
    payload = build_message(alert, "notify", "created", settings, post, customer)
    [delivery] = deliveries_for("al-x", 1, "notify", [channel], payload, NOW)
    return delivery


def _slack_mrkdwn_texts(body: dict) -> list[str]:
    """Every string Slack parses as mrkdwn: the top-level text and each mrkdwn object."""
    out = [body["text"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body["blocks"])
    return out


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_slack_shows_crawled_text_as_text_and_links_only_http(tmp_path: Path, http_receiver, url: str) -> None:
    settings = make_settings(tmp_path, channels={"s": {"type": "slack", "url": http_receiver.url + "/hook"}})
    build_notifier("s", settings, ENV).send(_delivery(settings, "s", url))
    body = http_receiver.requests[0]["json"]
    for text in _slack_mrkdwn_texts(body):
        # No live special mention, user mention or foreign link: every '<' is an entity or our own link.
        assert "<!" not in text and "<@" not in text and "<https://evil" not in text, text
        assert "<script" not in text and "javascript:" not in text.lower() and "<data:" not in text
        links = [part.split(">")[0] for part in text.split("<")[1:]]
        assert all(link.startswith("https://forum.example/") or link.startswith("http://127.0.0.1") for link in links), links
    assert "&lt;!channel&gt;" in json.dumps(body, ensure_ascii=False)  # shown, not executed
    assert "Open the post" not in json.dumps(body)  # the hostile link was dropped, not rendered


def test_slack_still_links_a_plain_https_post(tmp_path: Path, http_receiver) -> None:
    settings = make_settings(tmp_path, channels={"s": {"type": "slack", "url": http_receiver.url + "/hook"}})
    build_notifier("s", settings, ENV).send(_delivery(settings, "s", "https://forum.example/t/1?a=1&b=2"))
    blocks = json.dumps(http_receiver.requests[0]["json"]["blocks"])
    assert "<https://forum.example/t/1?a=1&amp;b=2|Open the post>" in blocks


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_telegram_html_escapes_text_and_drops_unsafe_links(tmp_path: Path, telegram_receiver, url: str) -> None:
    settings = make_settings(tmp_path, channels={"tg": {"type": "telegram", "url": telegram_receiver.url,
                                                        "bot_token_env": "TG_TOKEN", "chat_id": "1"}})
    build_notifier("tg", settings, ENV).send(_delivery(settings, "tg", url))
    text = telegram_receiver.requests[0]["json"]["text"]
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert text.count("<a ") == 1 and '<a href="http://127.0.0.1:8080/alerts/al-x">' in text  # only our own link
    assert "javascript:" not in text.lower() and "data:text" not in text


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_email_escapes_html_and_keeps_the_subject_one_line(tmp_path: Path, smtp_receiver, url: str) -> None:
    settings = make_settings(tmp_path, channels={"mail": {
        "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_receiver.port,
        "mail_from": "alerts@sepehr.example", "mail_to": ["support@sepehr.example"]}})
    delivery = _delivery(settings, "mail", url, title="Sepehr\r\nBcc: victim@example.com\r\n<b>x</b>")
    build_notifier("mail", settings, ENV).send(delivery)
    [msg] = smtp_receiver.messages
    assert msg["Bcc"] is None and "\n" not in msg["Subject"] and "Bcc: victim" in msg["Subject"]
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;!channel&gt;" in html
    assert "javascript:" not in html.lower() and "data:text" not in html and "Open the post" not in html
    assert html.count("<a ") == 1  # the dashboard link only


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_webhook_json_carries_no_unsafe_link(tmp_path: Path, webhook_receiver, url: str) -> None:
    settings = make_settings(tmp_path, channels={"hook": {"type": "webhook", "url": webhook_receiver.url + "/hook",
                                                          "secret_env": "HOOK_SECRET"}})
    build_notifier("hook", settings, ENV).send(_delivery(settings, "hook", url))
    body = webhook_receiver.requests[0]["json"]
    assert body["mention"]["url"] is None  # only http(s) links travel
    assert body["mention"]["excerpt"].startswith("<!channel>")  # JSON carries text as data; receivers escape
