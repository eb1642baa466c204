"""Severity that follows growth: a situation that keeps growing climbs severity steps.

Matches carry figures (``RuleMatch.growth``): a post's reach (``shares``), a thread's
velocity (``shares/h``, from thread_velocity) and a campaign's size (``accounts``). The alert
keeps each figure's value when it first saw it (``open``) and its highest since (``peak``)
in ``Alert.growth``. Every configured step (``alerts.growth_steps``, default 10× and 100×)
that a figure's peak crosses, measured against its opening value (never less than
``alerts.growth_min_base``, so 0 → 10 shares is no "10×"), raises the severity one level
above what the rules themselves said: a thread first alerted at 40 shares is ``high`` at
400 and ``critical`` at 4,000. The rise re-notifies as a severity raise, and the reason
says why ("shares 31,000: 775× the 40 at first alert").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.rules.base import SEVERITY_ORDER, severity_rank
from core.config import Settings
from core.domain import Severity

BY_RANK = {rank: severity for severity, rank in SEVERITY_ORDER.items()}
GROWTH_REASON_PREFIX = "grew: "


@dataclass(frozen=True)
class GrowthPolicy:
    """Severity steps: multiples of a figure's opening value, each worth one severity level."""

    steps: tuple[float, ...] = (10.0, 100.0)
    min_base: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings | None) -> "GrowthPolicy":
        if settings is None:
            return cls()
        alerts = settings.alerts
        return cls(tuple(sorted(alerts.growth_steps)), alerts.growth_min_base)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def track(state: dict[str, Any], figures: dict[str, float]) -> dict[str, Any]:
    """``state`` with ``figures`` recorded: the first value of a figure opens it, the highest is its peak."""
    opened = dict(state.get("open") or {})
    peak = dict(state.get("peak") or {})
    for name, value in figures.items():
        if value is None:
            continue
        opened.setdefault(name, float(value))
        peak[name] = max(float(value), peak.get(name, float(value)))
    return {**state, "open": opened, "peak": peak}


def level_of(state: dict[str, Any], policy: GrowthPolicy) -> tuple[int, str | None]:
    """How many steps the fastest-growing figure crossed, and the reason that explains it."""
    best, reason = 0, None
    peaks = state.get("peak") or {}
    for name in sorted(peaks, key=lambda n: ("/" in n, n)):  # on a tie, reach explains better than speed
        peak = peaks[name]
        opened = (state.get("open") or {}).get(name, peak)
        base = max(opened, policy.min_base)
        crossed = sum(1 for step in policy.steps if peak >= step * base)
        if crossed > best:
            best = crossed
            reason = (f"{GROWTH_REASON_PREFIX}{name} {_number(peak)}: {peak / max(opened, 1e-9):,.0f}× the "
                      f"{_number(opened)} at first alert (severity +{crossed})")
    return best, reason


def severity_with_growth(rule_severity: Severity, level: int) -> Severity:
    """The rules' severity raised ``level`` steps, at most critical."""
    return BY_RANK[min(severity_rank(rule_severity) + level, severity_rank(Severity.critical))]


def with_growth_reason(reasons: list[str], reason: str | None, cap: int) -> list[str]:
    """``reasons`` with the growth reason first (replacing an older one)."""
    kept = [r for r in reasons if not r.startswith(GROWTH_REASON_PREFIX)]
    return ([reason] + kept)[:cap] if reason else kept[:cap]
