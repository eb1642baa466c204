"""The demo story's cast, shared by the stage tests: Mina's complaint in Persian and English,
a copied sabotage post, and a Persian compliment (see docs/demo-story.md), plus ``drain``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
BRAND = "Sepehr Mobile"

MINA_FA = ("گوشیم رو برای بار دوم دادم تعمیر سپهر موبایل و باز خراب برگردوندن. پنج بار به پشتیبانی زنگ زدم "
           "و هیچکس جواب نداد، تیکت T-881. همه بازنشر کنید! دارم میرم سراغ آریانت.")
MINA_EN = ("@sepehrmobile broke my phone twice and support ignores me (ticket T-881). Boost this, everyone — "
           "never buy from Sepehr Mobile! #sepehrfail")
COPY_EN = "Boost this! Sepehr Mobile broke @mina_r's phone twice and ignores her. Never buy from Sepehr Mobile #sepehrfail"
PRAISE_FA = "خرید از سپهر موبایل خیلی راحت بود، گوشی یک روزه رسید. ممنون!"


def drain(worker: Any, limit: int = 100) -> int:
    """Run a worker until it reports no work; returns the total handled."""
    total = 0
    for _ in range(limit):
        handled = worker.run_once()
        if not handled:
            return total
        total += handled
    raise AssertionError("worker never went idle")


def shifted(record: Model, delta: timedelta) -> Model:
    """A copy of ``record`` with every time in it moved by ``delta``: the story replayed at another date.

    Tests whose processes run on the system clock shift the story to the real now, so they pass
    on any date.
    """
    def move(value: Any) -> Any:
        if isinstance(value, datetime):
            return value + delta
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return type(record).model_validate(move(record.model_dump()))


def to_real_now() -> timedelta:
    """How far to shift the story so that its ``NOW`` is the real current time."""
    return datetime.now(timezone.utc) - NOW
