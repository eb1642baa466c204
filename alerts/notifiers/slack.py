"""Slack incoming webhook with Block Kit: header, why, the post, the customer, a dashboard button.

Every text that reaches a ``mrkdwn`` field (and the top-level ``text``, which Slack also
parses) is escaped: ``&``, ``<`` and ``>`` become entities, so a crawled ``<!channel>``,
``<@U123>`` or ``<https://evil|label>`` is shown as text and never pings or links. The post
link is written only for an http(s) URL without ``|``, ``<``, ``>`` or spaces
(``core.links.safe_http_url``), so a URL cannot close the link and open another.
"""

from __future__ import annotations

from typing import Any, Mapping

from alerts.message import text_lines
from alerts.notifiers.base import HttpNotifier, NotifierConfigError, http_url_problems, missing_fields, post
from core.config import ChannelSettings
from core.domain import Delivery
from core.links import safe_http_url

SEVERITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "high": ":large_orange_circle:", "critical": ":rotating_light:"}


def _mrkdwn(text: str) -> str:
    # Slack's mrkdwn treats &, <, > specially; escape them so user text cannot inject links.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Block Kit blocks for one alert message."""
    emoji = SEVERITY_EMOJI.get(message["severity"], "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{message['headline']}: {message['title']}"[:150]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Brand*\n{_mrkdwn(message.get('brand') or '-')}"},
            {"type": "mrkdwn", "text": f"*Severity*\n{emoji} {message['severity']}"},
        ]},
    ]
    if message.get("reasons"):
        why = "\n".join(f"• {_mrkdwn(r)}" for r in message["reasons"])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Why*\n{why}"[:3000]}})
    mention = message.get("mention")
    if mention:
        author = mention["author"]
        who = "@" + author["handle"] if author.get("handle") else (author.get("name") or "unknown")
        reach = f" · {author['followers']:,} followers" if author.get("followers") is not None else ""
        url = safe_http_url(mention.get("url"))
        link = f"\n<{_mrkdwn(url)}|Open the post>" if url else ""
        text = f"*Post* on {_mrkdwn(mention['platform'])} by {_mrkdwn(who)}{reach}\n>{_mrkdwn(mention['excerpt'])}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[: 3000 - len(link)] + link}})
    customer = message.get("customer")
    if customer:
        ticket = customer.get("open_ticket")
        ticket_text = f" · open ticket *{_mrkdwn(ticket['id'])}* ({_mrkdwn(ticket['status'])})" if ticket else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Customer *{_mrkdwn(customer.get('name') or customer['crm_id'])}* ({_mrkdwn(customer['crm_id'])}) · "
            f"tier {_mrkdwn(customer.get('tier') or '-')}{ticket_text}")}]})
    blocks.append({"type": "actions", "elements": [{
        "type": "button", "text": {"type": "plain_text", "text": "Open in dashboard"},
        "url": message["dashboard_url"], "action_id": "open_alert",
    }]})
    return blocks


class SlackNotifier(HttpNotifier):
    type_name = "slack"

    @classmethod
    def config_problems(cls, channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        return missing_fields(channel, "url") + http_url_problems(channel)

    def send(self, delivery: Delivery) -> None:
        if not self.channel.url:
            raise NotifierConfigError(f"channel {self.name!r}: slack needs the incoming webhook url")
        body = {"text": _mrkdwn("\n".join(text_lines(delivery.payload)))[:3000], "blocks": slack_blocks(delivery.payload)}
        post(self.client, self.channel.url, channel=self.name, json=body)
