"""Signed webhook push of risk-flag changes to the CRM (optional).

Configured as an ordinary webhook channel named ``crm-risk-flags`` under ``alerts.channels``
(``url`` and ``secret_env``). The pusher reads the risk-flag feed from its own checkpoint,
POSTs each page as ``{"items": [...], "next_cursor": ...}`` signed with the alerts signer
(``BrandGuard-Signature: t=..,v1=..``; one ``v1`` per secret during rotation), and moves its
checkpoint only after a 2xx — so a CRM outage delays pushes but never loses one. Receivers
de-duplicate by ``seq`` (a page may be sent again after a crash between send and checkpoint).
"""

from __future__ import annotations

import json
import logging
import os

import httpx

from alerts.signing import SIGNATURE_HEADER, sign_payload_with_all
from core.clock import Clock
from core.config import Settings
from core.store.port import Store

log = logging.getLogger(__name__)
CHANNEL = "crm-risk-flags"
CHECKPOINT = "flagpush:cursor"


class RiskFlagPusher:
    """Stage worker: one ``run_once`` pushes at most one feed page; 0 when idle or not configured."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, name: str, *, page_size: int = 200,
                 env: dict[str, str] | None = None) -> None:
        self.settings, self.store, self.clock, self.name = settings, store, clock, name
        self.page_size = page_size
        self.channel = settings.alerts.channels.get(CHANNEL)
        self.env = os.environ if env is None else env
        self._client = httpx.Client(timeout=self.channel.timeout_seconds if self.channel else 10)

    @property
    def configured(self) -> bool:
        return self.channel is not None and self.channel.type == "webhook" and bool(self.channel.url)

    def _secrets(self) -> list[str]:
        name = self.channel.secret_env if self.channel else None
        raw = self.env.get(name or "", "")
        secrets = [s.strip() for s in raw.split(",") if s.strip()]
        if not secrets:
            raise RuntimeError(f"channel {CHANNEL!r}: environment variable {name or '(secret_env unset)'} holds no secret")
        return secrets

    def run_once(self) -> int:
        if not self.configured:
            return 0
        cursor = self.store.get_checkpoint(CHECKPOINT)
        page = self.store.risk_flag_feed(cursor, limit=self.page_size)
        if not page.items:
            if page.next_cursor != cursor:
                self.store.set_checkpoint(CHECKPOINT, page.next_cursor)
            return 0
        body = json.dumps({"items": [f.model_dump(mode="json") for f in page.items], "next_cursor": page.next_cursor},
                          ensure_ascii=False).encode()
        timestamp = int(self.clock.now().timestamp())
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign_payload_with_all(body, self._secrets(), timestamp)}
        try:
            response = self._client.post(self.channel.url, content=body, headers=headers)  # type: ignore[union-attr,arg-type]
        except httpx.HTTPError as exc:
            log.warning("risk-flag push to %s failed: %s; will retry", CHANNEL, exc)
            return 0
        if not response.is_success:
            log.warning("risk-flag push to %s answered %s; will retry", CHANNEL, response.status_code)
            return 0
        self.store.set_checkpoint(CHECKPOINT, page.next_cursor)
        return len(page.items)

    def close(self) -> None:
        self._client.close()
