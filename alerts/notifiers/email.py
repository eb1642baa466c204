"""Email over SMTP (smtplib): a text part and an HTML part; Persian text is laid out right to left.

The HTML wraps each user-written text in ``dir="auto"`` and the whole message in ``dir="rtl"``
when the post is Persian/Arabic, so mixed Persian/English lines render correctly in mail
clients. SMTP 4xx answers and connection problems are retried; 5xx answers are not.
"""

from __future__ import annotations

import html
import smtplib
import socket
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Mapping

from alerts.message import text_lines
from alerts.notifiers.base import DeliveryError, Notifier, NotifierConfigError, missing_fields, read_secret, secret_problems
from core.config import ChannelSettings
from core.domain import Delivery
from core.links import safe_http_url


def email_html(message: dict) -> str:
    """The HTML body. ``dir`` is rtl for a Persian post, and every free text gets ``dir="auto"``."""
    mention = message.get("mention") or {}
    direction = "rtl" if mention.get("rtl") else "ltr"
    e = html.escape
    parts = [
        f'<!doctype html><html dir="{direction}"><head><meta charset="utf-8"></head><body dir="{direction}">',
        f'<h2 dir="auto">{e(message["headline"])}: {e(message["title"])}</h2>',
        f'<p><b>Brand:</b> <span dir="auto">{e(message.get("brand") or "-")}</span> · '
        f'<b>Severity:</b> {e(message["severity"])}</p>',
    ]
    if message.get("reasons"):
        items = "".join(f'<li dir="auto">{e(r)}</li>' for r in message["reasons"])
        parts.append(f"<p><b>Why</b></p><ul>{items}</ul>")
    if mention:
        author = mention["author"]
        who = "@" + author["handle"] if author.get("handle") else (author.get("name") or "unknown")
        reach = f" · {author['followers']:,} followers" if author.get("followers") is not None else ""
        lang = f' lang="{e(mention["lang"])}"' if mention.get("lang") else ""
        parts.append(f'<p><b>Post</b> on {e(mention["platform"])} by <span dir="auto">{e(who)}</span>{reach}</p>')
        parts.append(f'<blockquote dir="auto"{lang}>{e(mention["excerpt"])}</blockquote>')
        if safe_http_url(mention.get("url")):
            parts.append(f'<p><a href="{e(mention["url"], quote=True)}">Open the post</a></p>')
    customer = message.get("customer")
    if customer:
        ticket = customer.get("open_ticket")
        ticket_html = f" · open ticket <b>{e(ticket['id'])}</b> ({e(ticket['status'])})" if ticket else ""
        parts.append(f'<p><b>Customer:</b> <span dir="auto">{e(customer.get("name") or customer["crm_id"])}</span> '
                     f'({e(customer["crm_id"])}) · tier {e(customer.get("tier") or "-")}{ticket_html}</p>')
    parts.append(f'<p><a href="{e(message["dashboard_url"], quote=True)}">Open the alert in the dashboard</a> '
                 f'({message["mention_count"]} mention(s))</p></body></html>')
    return "".join(parts)


class EmailNotifier(Notifier):
    type_name = "email"

    @classmethod
    def config_problems(cls, channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        problems = missing_fields(channel, "smtp_host", "mail_from", "mail_to")
        if channel.smtp_user:  # a login needs the password's variable to be set
            problems += secret_problems("smtp_password_env", channel.smtp_password_env, env, "SMTP password")
        return problems

    def build(self, delivery: Delivery) -> EmailMessage:
        if not self.channel.mail_to or not self.channel.mail_from:
            raise NotifierConfigError(f"channel {self.name!r}: email needs mail_from and mail_to")
        payload = delivery.payload
        msg = EmailMessage()
        # One line: a crawled title with CR/LF must not add headers (or make the delivery fail).
        msg["Subject"] = " ".join(f"[{payload['severity'].upper()}] {payload['title']}".split())[:250]
        msg["From"] = self.channel.mail_from
        msg["To"] = ", ".join(self.channel.mail_to)
        # A stable Message-ID per delivery lets mail systems drop a re-sent duplicate.
        msg["Message-ID"] = make_msgid(idstring=delivery.id, domain="brandguard.local")
        msg["X-BrandGuard-Delivery"] = delivery.id
        msg.set_content("\n".join(text_lines(payload)))
        msg.add_alternative(email_html(payload), subtype="html")
        return msg

    def send(self, delivery: Delivery) -> None:
        if not self.channel.smtp_host:
            raise NotifierConfigError(f"channel {self.name!r}: email needs smtp_host")
        msg = self.build(delivery)
        try:
            with smtplib.SMTP(self.channel.smtp_host, self.channel.smtp_port, timeout=self.channel.timeout_seconds) as smtp:
                if self.channel.smtp_starttls:
                    smtp.starttls()
                if self.channel.smtp_user:
                    password = read_secret(self.channel.smtp_password_env, self.env, what="SMTP password", channel=self.name)
                    smtp.login(self.channel.smtp_user, password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"channel {self.name!r}: all recipients refused {codes}",
                                retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"channel {self.name!r}: SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                retryable=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(f"channel {self.name!r}: SMTP connection problem: {type(exc).__name__}: {exc}",
                                retryable=True) from None
        if refused:
            # Some recipients took it; retrying would duplicate for them, so record and move on.
            raise DeliveryError(f"channel {self.name!r}: some recipients refused: {sorted(refused)}", retryable=False)
