"""The YouTube quota ledger: counted per call, refused past the budget, kept across restarts, reset at midnight Pacific."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawlers.quota import QuotaLedger

# 07:30 UTC on 24 Nov is still 23 Nov in Los Angeles (UTC-8 in November).
LATE_PACIFIC = datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc)


def test_spend_until_the_budget_then_refuse_without_counting(tmp_path) -> None:
    ledger = QuotaLedger(tmp_path / "quota.json", budget=250)
    assert [ledger.spend(100, LATE_PACIFIC) for _ in range(3)] == [True, True, False]
    assert ledger.spend(1, LATE_PACIFIC) and ledger.used_on(LATE_PACIFIC) == 201


def test_a_restart_keeps_the_days_usage_and_the_pacific_midnight_resets_it(tmp_path) -> None:
    QuotaLedger(tmp_path / "quota.json", budget=150).spend(100, LATE_PACIFIC)
    again = QuotaLedger(tmp_path / "quota.json", budget=150)
    assert again.used_on(LATE_PACIFIC) == 100 and not again.spend(100, LATE_PACIFIC)
    after_midnight = LATE_PACIFIC + timedelta(minutes=31)  # 00:01 in Los Angeles
    assert again.used_on(after_midnight) == 0 and again.spend(100, after_midnight)


def test_an_unreadable_ledger_counts_as_spent_for_today(tmp_path, caplog) -> None:
    path = tmp_path / "quota.json"
    path.write_text("{not json", encoding="utf-8")
    ledger = QuotaLedger(path, budget=10_000)
    assert "is unreadable" in caplog.text
    assert not ledger.spend(1, LATE_PACIFIC)
    assert ledger.spend(1, LATE_PACIFIC + timedelta(days=1))


def test_exhaust_closes_the_day(tmp_path) -> None:
    ledger = QuotaLedger(tmp_path / "quota.json", budget=10_000)
    ledger.exhaust(LATE_PACIFIC)
    assert not QuotaLedger(tmp_path / "quota.json", budget=10_000).spend(1, LATE_PACIFIC)
