"""Times as real pages show them become aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawlers.timeparse import TimeParseError, parse_time

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("2024-11-02T10:00:00Z", datetime(2024, 11, 2, 10, 0, tzinfo=timezone.utc)),
        ("2024-11-02T13:30:00+03:30", datetime(2024, 11, 2, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-23T11:45:00.000Z", datetime(2026, 11, 23, 11, 45, tzinfo=timezone.utc)),  # Mastodon
        ("Sat, 02 Nov 2024 10:00:00 GMT", datetime(2024, 11, 2, 10, 0, tzinfo=timezone.utc)),  # RSS
        ("Sat, 02 Nov 2024 13:30:00 +0330", datetime(2024, 11, 2, 10, 0, tzinfo=timezone.utc)),
        # Jalali, Persian digits, Iran time (UTC+3:30): 12 Aban 1403 = 2 Nov 2024
        ("۱۴۰۳/۰۸/۱۲", datetime(2024, 11, 1, 20, 30, tzinfo=timezone.utc)),
        ("۱۴۰۳/۰۸/۱۲ ۱۴:۳۰", datetime(2024, 11, 2, 11, 0, tzinfo=timezone.utc)),
        ("1403-08-12 14:30", datetime(2024, 11, 2, 11, 0, tzinfo=timezone.utc)),
        ("۱۲ آبان ۱۴۰۳ ساعت ۱۴:۳۰", datetime(2024, 11, 2, 11, 0, tzinfo=timezone.utc)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("Nov 2, 2024 10:30", datetime(2024, 11, 2, 10, 30, tzinfo=timezone.utc)),
    ],
)
def test_absolute_times(shown: str, expected: datetime) -> None:
    assert parse_time(shown, NOW) == expected


@pytest.mark.parametrize(
    ("shown", "ago"),
    [
        ("3 hours ago", timedelta(hours=3)),
        ("an hour ago", timedelta(hours=1)),
        ("5 mins ago", timedelta(minutes=5)),
        ("2 days ago", timedelta(days=2)),
        ("just now", timedelta(0)),
        ("yesterday", timedelta(days=1)),
        ("۳ ساعت پیش", timedelta(hours=3)),
        ("۱۰ دقیقه قبل", timedelta(minutes=10)),
        ("یک روز پیش", timedelta(days=1)),
        ("۲ هفته پیش", timedelta(weeks=2)),
        ("دیروز", timedelta(days=1)),
    ],
)
def test_relative_times_count_back_from_now(shown: str, ago: timedelta) -> None:
    assert parse_time(shown, NOW) == NOW - ago


def test_naive_times_use_the_source_zone() -> None:
    from zoneinfo import ZoneInfo

    assert parse_time("2024-11-02 13:30", NOW, ZoneInfo("Asia/Tehran")) == datetime(2024, 11, 2, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("shown", ["", "sometime soon", "۱۴۰۳/۱۳/۴۰"])
def test_unparseable_times_raise_naming_the_value(shown: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time(shown, NOW)
    if shown:
        assert shown in str(info.value)
