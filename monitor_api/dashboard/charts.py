"""Small inline SVG charts rendered on the server (no chart library, no CDN).

Each function returns an SVG string (markup-safe: every label is escaped) that the templates
embed as-is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Sequence

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T, PAD_R = 640, 200, 44, 28, 12, 12
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")


@dataclass(frozen=True)
class Series:
    """A named line of (time, value) points."""

    name: str
    points: Sequence[tuple[datetime, float]]


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** max(0, len(str(int(top))) - 1)
    while top / step > 5:
        step *= 2
    return [i * step for i in range(int(top // step) + 1)]


def _frame(top: float, title: str) -> list[str]:
    plot_h = HEIGHT - PAD_B - PAD_T
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in _ticks(top):
        y = PAD_T + plot_h - (tick / top * plot_h if top else 0)
        parts.append(f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{int(tick)}</text>')
    return parts


def line_chart(series: Sequence[Series], title: str) -> str:
    """Lines over time, one per series, with a legend; an explanatory note when there is no data."""
    points = [p for s in series for p in s.points]
    if not points:
        return f'<p class="empty">No data for “{escape(title)}” yet.</p>'
    t0 = min(p[0] for p in points).timestamp()
    t1 = max(p[0] for p in points).timestamp()
    span = (t1 - t0) or 1.0
    top = max(max(p[1] for p in points), 1.0) * 1.1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_B - PAD_T
    parts = _frame(top, title)
    for index, s in enumerate(series):
        color = COLORS[index % len(COLORS)]
        xy = [(PAD_L + (t.timestamp() - t0) / span * plot_w, PAD_T + plot_h - v / top * plot_h) for t, v in s.points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in xy)
        parts.append(f'<text x="{PAD_L + 8 + index * 110}" y="{HEIGHT - 6}" fill="{color}" class="legend">'
                     f'■ {escape(s.name)}</text>')
    parts.append(f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 6}" text-anchor="end" class="axis">'
                 f'{escape(_fmt(min(p[0] for p in points)))} → {escape(_fmt(max(p[0] for p in points)))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(buckets: Sequence[tuple[datetime, int, int]], title: str) -> str:
    """Volume per time bucket with its negative share on top: (start, total, negative)."""
    if not buckets:
        return f'<p class="empty">No data for “{escape(title)}” yet.</p>'
    top = max(max(total for _, total, _ in buckets), 1) * 1.1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_B - PAD_T
    slot = plot_w / len(buckets)
    bar = max(slot * 0.7, 1.0)
    parts = _frame(top, title)
    for index, (start, total, negative) in enumerate(buckets):
        x = PAD_L + index * slot + (slot - bar) / 2
        h_total, h_neg = total / top * plot_h, negative / top * plot_h
        label = escape(f"{_fmt(start)}: {total} mentions, {negative} negative")
        parts.append(f'<g><title>{label}</title>'
                     f'<rect x="{x:.1f}" y="{PAD_T + plot_h - h_total:.1f}" width="{bar:.1f}" height="{h_total:.1f}" class="bar"/>'
                     f'<rect x="{x:.1f}" y="{PAD_T + plot_h - h_neg:.1f}" width="{bar:.1f}" height="{h_neg:.1f}" class="bar-neg"/></g>')
    parts.append(f'<text x="{PAD_L + 8}" y="{HEIGHT - 6}" class="legend" fill="#3b82f6">■ all mentions</text>'
                 f'<text x="{PAD_L + 130}" y="{HEIGHT - 6}" class="legend neg" fill="#dc2626">■ negative</text>')
    parts.append(f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 6}" text-anchor="end" class="axis">'
                 f'{escape(_fmt(buckets[0][0]))} → {escape(_fmt(buckets[-1][0]))}</text></svg>')
    return "".join(parts)


def _fmt(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")
