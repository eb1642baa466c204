"""Parse the times that real pages show into aware UTC datetimes.

Handles ISO 8601, RFC 822 (feeds, HTTP), Unix epochs, relative times in English and
Persian ("3 hours ago", "۳ ساعت پیش", "yesterday"), Jalali dates with Persian or
Latin digits (``۱۴۰۳/۰۸/۱۲ ۱۴:۳۰``, ``۱۲ آبان ۱۴۰۳``) and, last, free-form dates
via dateutil. Relative times are measured from ``now`` so a simulated clock works.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import jdatetime
from dateutil import parser as dateutil_parser

from core.textnorm import normalize_persian

TEHRAN = ZoneInfo("Asia/Tehran")


class TimeParseError(ValueError):
    """A time string none of the known formats understands (the message quotes it)."""


_UNIT_SECONDS = {
    "second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "hr": 3600,
    "h": 3600, "day": 86400, "d": 86400, "week": 604800, "w": 604800, "month": 2592000, "year": 31536000,
    "ثانیه": 1, "دقیقه": 60, "ساعت": 3600, "روز": 86400, "هفته": 604800, "ماه": 2592000, "سال": 31536000,
}
_EN_RELATIVE = re.compile(
    r"^(?P<n>\d+|an?|one)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|[smhdw])\s+ago$",
    re.IGNORECASE,
)
_FA_RELATIVE = re.compile(r"^(?P<n>\d+|یک)?\s*(?P<unit>ثانیه|دقیقه|ساعت|روز|هفته|ماه|سال)\s*(?:پیش|قبل)$")
_NOW_WORDS = {"just now", "now", "moments ago", "همین الان", "الان", "لحظاتی پیش", "چند لحظه پیش"}
_YESTERDAY_WORDS = {"yesterday", "دیروز"}
_JALALI_NUMERIC = re.compile(
    r"^(?P<y>1[34]\d\d)[/\-.](?P<mo>\d{1,2})[/\-.](?P<d>\d{1,2})"
    r"(?:\s*(?:[T,،\-]|ساعت)?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_JALALI_MONTHS = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]
_JALALI_NAMED = re.compile(
    r"^(?P<d>\d{1,2})\s+(?P<mon>" + "|".join(_JALALI_MONTHS) + r")\s+(?P<y>1[34]\d\d)"
    r"(?:\s*(?:[,،\-]|ساعت)?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)


def parse_time(value: object, now: datetime | None = None, default_tz: tzinfo = timezone.utc) -> datetime:
    """Parse ``value`` (string, datetime or epoch number) into an aware UTC datetime.

    ``now`` anchors relative times; ``default_tz`` is assumed for naive Gregorian times
    (Jalali times without a zone are taken as Iran time). Raises :class:`TimeParseError`.
    """
    now = now or datetime.now(timezone.utc)
    if isinstance(value, datetime):
        return _aware(value, default_tz)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), timezone.utc)
    if not isinstance(value, str) or not value.strip():
        raise TimeParseError(f"no time given ({value!r})")
    text = " ".join(normalize_persian(value).split())
    for parser in (_relative, _jalali, _iso, _rfc822, _epoch):
        try:
            result = parser(text, now, default_tz)
        except TimeParseError as exc:
            raise TimeParseError(f"{exc} (shown as {value!r})") from None
        if result is not None:
            return result
    try:
        return _aware(dateutil_parser.parse(text), default_tz)
    except (ValueError, OverflowError):
        raise TimeParseError(f"unrecognised time {value!r}") from None


def _aware(value: datetime, default_tz: tzinfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(timezone.utc)


def _relative(text: str, now: datetime, _tz: tzinfo) -> datetime | None:
    lowered = text.lower().strip(" .")
    if lowered in _NOW_WORDS:
        return now
    if lowered in _YESTERDAY_WORDS:
        return now - timedelta(days=1)
    match = _EN_RELATIVE.match(lowered) or _FA_RELATIVE.match(lowered)
    if not match:
        return None
    raw_n = match.group("n")
    n = int(raw_n) if raw_n and raw_n.isdigit() else 1
    unit = match.group("unit")
    seconds = _UNIT_SECONDS.get(unit) or _UNIT_SECONDS.get(unit.rstrip("s")) or _UNIT_SECONDS[unit[0]]
    return now - timedelta(seconds=n * seconds)


def _jalali(text: str, _now: datetime, _tz: tzinfo) -> datetime | None:
    match = _JALALI_NUMERIC.match(text)
    if match:
        month = int(match.group("mo"))
    else:
        match = _JALALI_NAMED.match(text)
        if not match:
            return None
        month = _JALALI_MONTHS.index(match.group("mon")) + 1
    try:
        local = jdatetime.datetime(
            int(match.group("y")), month, int(match.group("d")),
            int(match.group("H") or 0), int(match.group("M") or 0), int(match.group("S") or 0),
        ).togregorian()
    except ValueError as exc:
        raise TimeParseError(f"invalid Jalali date {text!r}: {exc}") from None
    return local.replace(tzinfo=TEHRAN).astimezone(timezone.utc)


def _iso(text: str, _now: datetime, tz: tzinfo) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return _aware(datetime.fromisoformat(text), tz)
    except ValueError:
        return None


def _rfc822(text: str, _now: datetime, tz: tzinfo) -> datetime | None:
    if not re.search(r"\d{1,2} [A-Za-z]{3} \d{2,4} \d{1,2}:\d{2}", text):
        return None
    try:
        return _aware(parsedate_to_datetime(text), tz)
    except (TypeError, ValueError, IndexError):
        return None


def _epoch(text: str, _now: datetime, _tz: tzinfo) -> datetime | None:
    if re.fullmatch(r"\d{9,10}(?:\.\d+)?", text):
        return datetime.fromtimestamp(float(text), timezone.utc)
    return None
