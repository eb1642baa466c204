"""Telegram Bot API ``sendMessage`` (HTML parse mode). The base URL is configurable (``url``)."""

from __future__ import annotations

import html
from typing import Mapping

from alerts.message import text_lines
from alerts.notifiers.base import (
    DeliveryError, HttpNotifier, NotifierConfigError, http_url_problems, missing_fields, post, read_secret, secret_problems,
)
from core.config import ChannelSettings
from core.domain import Delivery

DEFAULT_API = "https://api.telegram.org"


def telegram_html(message: dict) -> str:
    """The alert as Telegram HTML: bold headline, escaped text, a dashboard link (max 4096 chars)."""
    lines = text_lines(message)
    head, rest = lines[0], lines[1:-1]
    out = [f"<b>{html.escape(head)}</b>", *(html.escape(line) for line in rest)]
    out.append(f'<a href="{html.escape(message["dashboard_url"], quote=True)}">Open in dashboard</a> · '
               f"{message['mention_count']} mention(s)")
    return "\n".join(out)[:4096]


class TelegramNotifier(HttpNotifier):
    type_name = "telegram"

    @classmethod
    def config_problems(cls, channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        return (missing_fields(channel, "chat_id") + http_url_problems(channel)
                + secret_problems("bot_token_env", channel.bot_token_env, env, "bot token"))

    def send(self, delivery: Delivery) -> None:
        if not self.channel.chat_id:
            raise NotifierConfigError(f"channel {self.name!r}: telegram needs chat_id")
        token = read_secret(self.channel.bot_token_env, self.env, what="bot token", channel=self.name)
        url = f"{(self.channel.url or DEFAULT_API).rstrip('/')}/bot{token}/sendMessage"
        body = {"chat_id": self.channel.chat_id, "text": telegram_html(delivery.payload), "parse_mode": "HTML",
                "disable_web_page_preview": True}
        try:
            response = post(self.client, url, channel=self.name, json=body)
        except DeliveryError as exc:
            raise DeliveryError(str(exc).replace(token, "<token>"), retryable=exc.retryable, retry_after=exc.retry_after) from None
        data = response.json() if response.content else {}
        if not data.get("ok", False):
            raise DeliveryError(f"channel {self.name!r}: telegram said {data.get('description', 'not ok')}", retryable=False)
