"""Fixtures for the alert tests: settings with local channels, a SQLite store, real receivers,
and the demo story's realistic mentions (Persian and English) with analysis and risk filled in."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.clock import SimulatedClock
from core.config import Settings
from core.domain import (
    Analysis, Author, Campaign, Cue, Customer, Engagement, EngagementPoint, Mention, RiskScore,
    SupportTicket, Thread, TicketStatus, mention_id,
)
from tests.alerts.receivers import HttpReceiver, SmtpReceiver
from tests.story import BRAND, COPY_EN, MINA_EN, MINA_FA, NOW, PRAISE_FA, drain  # noqa: F401 (re-exported to the tests)

WEBHOOK_SECRETS = ["whsec_old_3f9a", "whsec_new_81c2"]


def make_settings(tmp_path: Path, *, rules: list[dict[str, Any]] | None = None, channels: dict | None = None,
                  escalation: list[str] | None = None, **alert_extra: Any) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path),
        "brands": [
            {"name": BRAND, "query": '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR "سپهر موبایل"'},
            {"name": "Arianet", "query": "arianet OR آریانت", "competitor": True},
        ],
        "alerts": {
            "dashboard_url": "http://127.0.0.1:8080",
            "channels": channels or {"inbox": {"type": "log", "options": {"path": "alerts.jsonl"}}},
            "escalation_channels": escalation or [],
            "rules": rules or [],
            **alert_extra,
        },
    })


def negative_analysis(lang: str, anger: float = 0.9, cues: list[Cue] | None = None) -> Analysis:
    return Analysis(lang=lang, sentiment="negative", sentiment_scores={"negative": 0.95, "neutral": 0.04, "positive": 0.01},
                    emotions={"anger": anger}, anger=anger, cues=cues or [], complaint_reasons=["reason_service"], model="test")


def mention(native_id: str, text: str, *, platform: str = "mastodon", handle: str = "someone", lang: str = "en",
            published: datetime = NOW, thread_id: str | None = None, risk: float | None = 70,
            reasons: list[str] | None = None, sentiment: str = "negative", customer_id: str | None = None,
            campaign_id: str | None = None, followers: int = 300, history: list[EngagementPoint] | None = None,
            url: str | None = None) -> Mention:
    analysis = negative_analysis(lang) if sentiment == "negative" else Analysis(
        lang=lang, sentiment=sentiment, emotions={"joy": 0.8}, model="test")
    return Mention(
        id=mention_id(platform, native_id), platform=platform, source=f"{platform}-demo", native_id=native_id,
        url=url or f"https://{platform}.example/{handle}/{native_id}", thread_id=thread_id, text=text, lang=lang,
        author=Author(platform=platform, handle=handle, name=handle.replace("_", " ").title(), followers=followers),
        published_at=published, crawled_at=published, brands=[BRAND] + (["Arianet"] if "آریانت" in text else []),
        analysis=analysis, customer_id=customer_id, campaign_id=campaign_id,
        risk=None if risk is None else RiskScore(score=risk, reasons=reasons or [f"angry 0.90 · 'share this' · risk {risk:.0f}"]),
        engagement=Engagement(shares=history[-1].shares if history else 5, likes=10, replies=2),
        engagement_history=history or [],
    )


def mina() -> Customer:
    return Customer(
        crm_id="C-1042", name="Mina Rahimi", emails=["mina.rahimi@example.com"], phones=["+989121234567"],
        handles={"mastodon": ["mina_r"], "forum": ["mina_r"]}, tier="gold", lifetime_value=4800,
        tickets=[SupportTicket(id="T-881", status=TicketStatus.reopened, opened_at=NOW - timedelta(days=9),
                               last_contact_at=NOW - timedelta(days=6), channel="phone",
                               subject="screen replacement failed twice")],
    )


def thread(thread_id: str, mention_ids: list[str], risk: float = 75) -> Thread:
    return Thread(id=thread_id, platform="mastodon", brands=[BRAND], mention_ids=mention_ids,
                  first_at=NOW - timedelta(hours=1), last_at=NOW,
                  risk=RiskScore(score=risk, reasons=[f"thread risk {risk:.0f}", "shares +420/h"]))


def campaign(campaign_id: str, mention_ids: list[str], authors: list[str]) -> Campaign:
    return Campaign(id=campaign_id, brands=[BRAND], mention_ids=mention_ids, authors=authors, hashtags=["sepehrfail"],
                    sample_text=COPY_EN, first_at=NOW - timedelta(minutes=30), last_at=NOW,
                    risk=RiskScore(score=85, reasons=["20 accounts, near-identical text"]))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW, speed=0.0)  # time moves only when a test advances it


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(secrets=WEBHOOK_SECRETS)
    yield receiver
    receiver.close()


@pytest.fixture
def telegram_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(telegram=True)
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


def open_test_store(settings: Settings):  # noqa: ANN201 - SqliteStore
    from core.store.sqlite import open_sqlite_store

    return open_sqlite_store(settings)


def receiver_channels(receiver: HttpReceiver) -> dict[str, Any]:
    """A Slack channel posting to ``receiver`` and a local log channel (``inbox``)."""
    return {"support-slack": {"type": "slack", "url": receiver.url + "/slack"},
            "inbox": {"type": "log", "options": {"path": "alerts.jsonl"}}}


@pytest.fixture
def alert_env(tmp_path: Path, clock: SimulatedClock) -> Iterator[Any]:
    """``build(*rules, channels=None, **alert_settings) -> (settings, store, AlertWorker)`` on the test's
    clock; every store it opened is closed after the test."""
    stores: list = []

    def build(*rules: dict[str, Any], channels: dict | None = None, **extra: Any) -> tuple:
        from alerts.worker import AlertWorker

        settings = make_settings(tmp_path, rules=list(rules), channels=channels, **extra)
        store = open_test_store(settings)
        stores.append(store)
        return settings, store, AlertWorker(settings, store, clock, "alert-w1")

    yield build
    for store in stores:
        store.close()


def seed(store, mentions: list[Mention], *, threads=(), campaigns=(), customers=(), queue: bool = True) -> None:
    """Store what the earlier stages would have written and queue the mentions for the alert stage."""
    if customers:
        assert store.upsert_customers(customers).ok
    for t in threads:
        store.upsert_thread(t)
    for c in campaigns:
        store.upsert_campaign(c)
    report = store.upsert_mentions(mentions)
    assert report.ok, report.failed
    if queue:
        store.enqueue("alert", [m.id for m in mentions], now=NOW)


