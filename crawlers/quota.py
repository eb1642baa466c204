"""A daily API quota ledger that survives restarts (YouTube Data API units, counted per call).

The ledger lives in ``<data_dir>/crawl/<source>/quota.json`` as ``{"day": ..., "used": ...}``.
``day`` is the date in the API's own reset zone (YouTube: midnight Pacific Time), so a new day
starts from zero at the same moment Google resets the project's quota. Every call is counted
when it is issued (the API charges invalid calls too), and a call that would pass the budget
is not made at all.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)
PACIFIC = ZoneInfo("America/Los_Angeles")


class QuotaLedger:
    """Units spent today against ``budget``; ``spend(cost)`` says whether a call may be made."""

    def __init__(self, path: Path, budget: int, reset_zone: ZoneInfo = PACIFIC) -> None:
        self.path, self.budget, self.zone = path, budget, reset_zone
        self.day, self.used = "", 0
        self._unreadable = False
        self._load()

    def _today(self, now: datetime) -> str:
        return now.astimezone(self.zone).date().isoformat()

    def used_on(self, now: datetime) -> int:
        """Units spent on ``now``'s quota day (0 once a new day began)."""
        return self.used if self.day == self._today(now) else 0

    def spend(self, cost: int, now: datetime) -> bool:
        """Count ``cost`` units and return True, or False (nothing counted) when it would pass the budget."""
        today = self._today(now)
        if self._unreadable:  # assume the worst for today rather than overspend a paid quota
            self._unreadable = False
            self.exhaust(now)
        if self.day != today:
            self.day, self.used = today, 0
        if self.used + cost > self.budget:
            return False
        self.used += cost
        self._save()
        return True

    def exhaust(self, now: datetime) -> None:
        """The API said the quota is spent (another client shares the project): no more calls today."""
        self.day, self.used = self._today(now), max(self.used, self.budget)
        self._save()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.day, self.used = str(raw["day"]), int(raw["used"])
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("quota ledger %s is unreadable (%s); treating today's budget as spent", self.path, exc)
            self._unreadable = True

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"day": self.day, "used": self.used, "budget": self.budget}), encoding="utf-8")
        os.replace(tmp, self.path)
