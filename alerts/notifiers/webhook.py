"""A generic JSON webhook, signed Stripe-style, with a delivery-id header receivers dedupe on.

Secrets come from the environment variable named by ``secret_env``; during rotation it holds
two comma-separated secrets and the header carries one ``v1=`` per secret.
"""

from __future__ import annotations

import json
import time

from typing import Mapping

from alerts.notifiers.base import (
    HttpNotifier, NotifierConfigError, http_url_problems, missing_fields, post, read_secret, secret_problems,
)
from alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign_payload_with_all
from core.config import ChannelSettings
from core.domain import Delivery


class WebhookNotifier(HttpNotifier):
    type_name = "webhook"

    @classmethod
    def config_problems(cls, channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        return (missing_fields(channel, "url") + http_url_problems(channel)
                + secret_problems("secret_env", channel.secret_env, env, "webhook secret"))

    def secrets(self) -> list[str]:
        raw = read_secret(self.channel.secret_env, self.env, what="webhook secret", channel=self.name)
        return [s.strip() for s in raw.split(",") if s.strip()]

    def send(self, delivery: Delivery) -> None:
        if not self.channel.url:
            raise NotifierConfigError(f"channel {self.name!r}: webhook needs a url")
        body = json.dumps({"delivery_id": delivery.id, "kind": delivery.kind, **delivery.payload},
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign_payload_with_all(body, self.secrets(), int(time.time())),
            DELIVERY_HEADER: delivery.id,
            "User-Agent": "brandguard-alerts/1",
        }
        post(self.client, self.channel.url, channel=self.name, content=body, headers=headers)
