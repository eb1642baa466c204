"""SVG charts of the overview page, rendered on the server.

Unlike ``charts`` (styled by the page's CSS), these carry every colour and font as
presentation attributes, so the same markup is embedded in the page and served alone as
a downloadable ``.svg`` (and drawn to a PNG by ``static/overview.js``), and no inline
style is needed (the dashboard's Content-Security-Policy forbids them). Every label is
escaped; labels starting with a right-to-left letter (Persian brand names, hashtags) are
laid out right-to-left so they read correctly and keep their place. Each mark carries its
numbers as ``data-*`` attributes, which the browser tests compare with the API.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from html import escape
from typing import Collection, Sequence

from core.stats.overview import BrandShare
from core.store.stats_port import MixBucket, VolumeSeries

WIDTH = 600
FONT = 'font-family="system-ui, \'Vazirmatn\', \'Noto Sans Arabic\', Tahoma, sans-serif"'
PALETTE = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#475569")
NEGATIVE = "#dc2626"
GRID, AXIS = "#e5e7eb", "#6b7280"
MAX_LINES = 8


def is_rtl(label: str) -> bool:
    """True when the first strong character of ``label`` is right-to-left (Persian, Arabic)."""
    for char in label:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def text(x: float, y: float, label: str, anchor: str = "start", size: int = 12, fill: str = "#111827",
         extra: str = "") -> str:
    """An escaped ``<text>``; right-to-left labels get ``direction="rtl"`` with the anchor
    mirrored, so they extend to the same side as a left-to-right label would."""
    attrs = f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"'
    if is_rtl(label):
        anchor = {"start": "end", "end": "start"}.get(anchor, anchor)
        attrs += ' direction="rtl" unicode-bidi="embed"'
    return f'<text {attrs} text-anchor="{anchor}"{extra}>{escape(label)}</text>'


def _svg(height: int, title: str, chart_id: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="ov-chart" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
            f'aria-label="{escape(title)}" {FONT}><title>{escape(title)}</title>'
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>{"".join(body)}</svg>')


def _empty(title: str, chart_id: str) -> str:
    return _svg(60, title, chart_id, [text(16, 36, f"No mentions for “{title}” in this range.", fill=AXIS)])


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^k (at least 1) not below ``raw``: whole-number axis ticks."""
    if raw <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def brand_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def share_of_voice(shares: Sequence[BrandShare], title: str, chart_id: str = "chart-sov",
                   selected: Collection[str] = (), competitors: Collection[str] = ()) -> str:
    """One bar per brand: its mentions and share of all brand mentions, the negative part in
    red; brands picked in the filter are marked with ▶, competitors say so."""
    rows = [s for s in shares if s.count > 0]
    if not rows:
        return _empty(title, chart_id)
    top = max(s.count for s in rows)
    label_w, bar_x, bar_w, row_h = 150, 160, 250, 28
    body = []
    for i, s in enumerate(rows):
        y = 14 + i * row_h
        w_all = s.count / top * bar_w
        w_neg = s.negative / top * bar_w
        neg_share = s.negative / s.count * 100
        label = s.brand + (" (competitor)" if s.brand in competitors else "")
        mark = text(4, y + 14, "▶", size=12, fill=NEGATIVE) if s.brand in selected else ""
        body.append(
            f'<g class="sov-bar" data-brand="{escape(s.brand)}" data-count="{s.count}" '
            f'data-negative="{s.negative}" data-share="{s.share:.2f}">'
            f'<title>{escape(f"{label}: {s.count} mentions ({s.share:.1f} %), {s.negative} negative")}</title>'
            + mark + text(label_w, y + 14, label, anchor="end", size=13)
            + f'<rect x="{bar_x}" y="{y}" width="{w_all:.1f}" height="18" fill="{brand_color(i)}" rx="2"/>'
            f'<rect x="{bar_x}" y="{y}" width="{w_neg:.1f}" height="18" fill="{NEGATIVE}" fill-opacity="0.85" rx="2"/>'
            + text(bar_x + w_all + 6, y + 14, f"{s.count:,} · {s.share:.1f} % · {neg_share:.0f} % negative",
                   size=11, fill=AXIS)
            + "</g>")
    return _svg(24 + len(rows) * row_h, title, chart_id, body)


def _time_label(when: datetime, interval: str) -> str:
    return when.strftime("%H:%M" if interval == "hour" else "%m-%d")


def lines_over_time(series: Sequence[VolumeSeries], interval: str, title: str, chart_id: str,
                    percent: bool = False) -> str:
    """One line per series over time: counts, or with ``percent`` the negative share of
    each bucket (buckets without mentions leave a gap)."""
    shown = [s for s in series if s.count > 0][:MAX_LINES]
    if not shown:
        return _empty(title, chart_id)
    starts = [b.start for b in shown[0].buckets]
    height, left, right, top_pad, bottom = 260, 48, 16, 14, 64
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom

    def value(count: int, negative: int) -> float | None:
        if not percent:
            return float(count)
        return negative / count * 100 if count else None

    values = [[value(b.count, b.negative) for b in s.buckets] for s in shown]
    highest = max((v for row in values for v in row if v is not None), default=0.0)
    tick_step = 25.0 if percent else nice_step(highest / 4)
    peak = 100.0 if percent else tick_step * max(1, math.ceil(highest / tick_step))
    step = plot_w / max(1, len(starts) - 1)
    body = []
    for i in range(int(round(peak / tick_step)) + 1):
        tick = i * tick_step
        y = top_pad + plot_h - tick / peak * plot_h
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                    + text(left - 6, y + 4, f"{tick:.0f}{' %' if percent else ''}", anchor="end", size=10, fill=AXIS))
    ticks = max(1, len(starts) // 8)
    for i in range(0, len(starts), ticks):
        body.append(text(left + i * step, height - bottom + 16, _time_label(starts[i], interval), anchor="middle",
                         size=10, fill=AXIS))
    for index, (s, row) in enumerate(zip(shown, values)):
        color = brand_color(index)
        segments: list[list[str]] = [[]]
        marks = []
        for i, (bucket, v) in enumerate(zip(s.buckets, row)):
            if v is None:
                segments.append([])
                continue
            x, y = left + i * step, top_pad + plot_h - v / peak * plot_h
            segments[-1].append(f"{x:.1f},{y:.1f}")
            tip = (f"{s.brand or 'all mentions'} {_time_label(bucket.start, interval)}: {bucket.count} mentions, "
                   f"{bucket.negative} negative")
            marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}" data-start="'
                         f'{bucket.start.isoformat()}" data-count="{bucket.count}" data-negative="{bucket.negative}">'
                         f'<title>{escape(tip)}</title></circle>')
        for seg in segments:
            if len(seg) > 1:
                body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{color}" stroke-width="2"/>')
        body.append(f'<g class="series" data-brand="{escape(s.brand or "")}" data-count="{s.count}" '
                    f'data-negative="{s.negative}">{"".join(marks)}</g>')
        lx, ly = left + (index % 4) * 165, height - 26 + (index // 4) * 16
        body.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{color}"/>'
                    + text(lx + 14, ly, s.brand or "all mentions", size=11))
    return _svg(height + (16 if len(shown) > 4 else 0), title, chart_id, body)


def mix_bars(buckets: Sequence[MixBucket], title: str, chart_id: str) -> str:
    """Horizontal bars of a mix (platforms, languages), negative part in red."""
    if not buckets:
        return _empty(title, chart_id)
    total = sum(b.count for b in buckets)
    top = max(b.count for b in buckets)
    label_w, bar_x, bar_w, row_h = 120, 130, 300, 24
    body = []
    for i, b in enumerate(buckets[:12]):
        y = 10 + i * row_h
        w_all, w_neg = b.count / top * bar_w, b.negative / top * bar_w
        body.append(
            f'<g class="mix-bar" data-value="{escape(b.value)}" data-count="{b.count}" data-negative="{b.negative}">'
            + text(label_w, y + 13, b.value, anchor="end", size=12)
            + f'<rect x="{bar_x}" y="{y}" width="{w_all:.1f}" height="16" fill="#64748b" rx="2"/>'
            f'<rect x="{bar_x}" y="{y}" width="{w_neg:.1f}" height="16" fill="{NEGATIVE}" fill-opacity="0.85" rx="2"/>'
            + text(bar_x + w_all + 6, y + 13, f"{b.count:,} ({b.count / total * 100:.0f} %)", size=11, fill=AXIS)
            + "</g>")
    return _svg(20 + min(len(buckets), 12) * row_h, title, chart_id, body)
