"""Fixtures for the risk tests: settings, a SQLite store, a still clock, the demo story's
customers and realistic Persian/English mentions with the analysis the NLP stage would write."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.clock import SimulatedClock
from core.config import Settings, StoreSettings
from core.domain import (
    Analysis, Author, Consent, Cue, Customer, Engagement, EngagementPoint, Mention, SupportTicket, TicketStatus,
    mention_id,
)
from core.store import open_store
from tests.story import BRAND, COPY_EN, MINA_EN, MINA_FA, NOW, PRAISE_FA  # noqa: F401 (re-exported to the tests)
from tests.story import drain as _drain


ANGRY_EN = ("@sepehrmobile broke my phone twice and support ignores me. Share this everywhere — "
            "never buy from Sepehr Mobile! #sepehrfail")


def cue(text: str, evidence: str, kind: str, score: float = 0.95) -> Cue:
    """A cue whose offsets point at ``evidence`` inside ``text`` (as the NLP stage writes them)."""
    start = text.find(evidence)
    assert start >= 0, f"{evidence!r} not in text"
    return Cue(kind=kind, evidence=evidence, start=start, end=start + len(evidence), score=score)


def angry_analysis(text: str, lang: str, anger: float = 0.93, cues: list[tuple[str, str]] = (),
                   reasons: list[str] = ("reason_service",)) -> Analysis:
    return Analysis(
        lang=lang, sentiment="negative", sentiment_scores={"negative": 0.96, "neutral": 0.03, "positive": 0.01},
        emotions={"anger": anger, "sadness": 0.04}, anger=anger,
        cues=[cue(text, evidence, kind) for evidence, kind in cues], complaint_reasons=list(reasons),
        model="test-model", analyzed_at=NOW,
    )


def praise_analysis(lang: str) -> Analysis:
    return Analysis(lang=lang, sentiment="positive", sentiment_scores={"negative": 0.02, "neutral": 0.08, "positive": 0.9},
                    emotions={"joy": 0.85, "anger": 0.01}, anger=0.01, model="test-model", analyzed_at=NOW)


def make_mention(
    native_id: str, text: str, *, platform: str = "mastodon", handle: str | None = "someone", name: str | None = None,
    analysis: Analysis | None = None, published: datetime = NOW, history: list[EngagementPoint] | None = None,
    followers: int = 250, bio: str | None = None, thread_id: str | None = None, parent_id: str | None = None,
    url: str | None = None, source: str | None = None,
) -> Mention:
    history = history or []
    last = history[-1] if history else None
    return Mention(
        id=mention_id(platform, native_id), platform=platform, source=source or f"{platform}-demo", native_id=native_id,
        url=url if url is not None else f"https://{platform}.example/@{handle}/{native_id}",
        thread_id=thread_id, parent_id=parent_id, text=text, lang=analysis.lang if analysis else None,
        author=Author(platform=platform, handle=handle, name=name, followers=followers, bio=bio),
        published_at=published, crawled_at=last.at if last else published,
        engagement=Engagement(**last.model_dump(exclude={"at"})) if last else Engagement(),
        engagement_history=history, brands=[BRAND], analysis=analysis,
    )


def growth(shares: list[int], start: datetime, step: timedelta = timedelta(minutes=15)) -> list[EngagementPoint]:
    """Engagement points every ``step`` with the given share counts (likes and replies grow along)."""
    return [EngagementPoint(at=start + i * step, shares=s, likes=2 * s, replies=s // 10) for i, s in enumerate(shares)]


def mina(ticket_status: TicketStatus = TicketStatus.reopened) -> Customer:
    return Customer(
        crm_id="C-1042", name="Mina Rahimi", emails=["mina.rahimi@example.com"], phones=["+989121234567"],
        handles={"mastodon": ["mina_r"], "forum": ["mina_r"]}, tier="gold", lifetime_value=4800,
        tickets=[SupportTicket(id="T-881", status=ticket_status, opened_at=NOW - timedelta(days=9),
                               last_contact_at=NOW - timedelta(days=6), channel="phone",
                               subject="screen replacement failed twice")],
    )


def sara() -> Customer:
    return Customer(crm_id="C-3001", name="Sara Ahmadi", emails=["sara.ahmadi@example.com"], handles={"forum": ["sara_a"]},
                    tier="bronze", consent=Consent(do_not_link=True),
                    tickets=[SupportTicket(id="T-902", status=TicketStatus.open, opened_at=NOW - timedelta(days=4))])


def john() -> Customer:
    return Customer(crm_id="C-4001", name="John Miller", emails=["john.miller@example.com"], phones=["+14155550123"],
                    tier="gold", lifetime_value=5200)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db"),
                    brands=[{"name": BRAND, "query": '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR "سپهر موبایل"'}])


@pytest.fixture
def store(settings: Settings) -> Iterator[Any]:
    st = open_store(settings)
    yield st
    st.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW, speed=0.0)  # time moves only when a test advances it


def seed(store: Any, mentions: list[Mention], customers: list[Customer] = ()) -> None:
    """Store what the crawler and NLP stages would have written and queue the mentions for risk."""
    if customers:
        assert store.upsert_customers(customers).ok
    report = store.upsert_mentions(mentions)
    assert report.ok, report.failed
    store.enqueue("risk", [m.id for m in mentions], now=NOW)


drain = partial(_drain, limit=200)  # risk tests drain longer queues
