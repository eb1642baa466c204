"""Outbox rows for an alert change: one delivery per channel, with a stable id.

The id is derived from the alert, the version the change produces, the kind and the channel,
so re-running the same change after a crash yields the same ids (the store ignores ids it
already has) and receivers can de-duplicate on the delivery-id they are sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Iterable

from core.domain import Delivery


def delivery_id(alert_id: str, version: int, kind: str, channel: str) -> str:
    digest = hashlib.blake2b(f"{alert_id}\x1f{version}\x1f{kind}\x1f{channel}".encode(), digest_size=8).hexdigest()
    return f"dl-{digest}"


def deliveries_for(
    alert_id: str, version: int, kind: str, channels: Iterable[str], payload: dict[str, Any], now: datetime
) -> list[Delivery]:
    """Deliveries of one alert change (``version`` is the alert version the write produces)."""
    unique = list(dict.fromkeys(channels))
    return [
        Delivery(
            id=delivery_id(alert_id, version, kind, channel), alert_id=alert_id, channel=channel, kind=kind,
            payload=payload, next_attempt_at=now, created_at=now,
        )
        for channel in unique
    ]
