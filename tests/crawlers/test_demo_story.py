"""The demo story as the crawler sees it across re-visits (docs/demo-story.md)."""

from __future__ import annotations

from datetime import timedelta

from core.clock import SimulatedClock
from crawlers.demo.story import STEP
from crawlers.runner import CrawlScheduler
from tests.crawlers.conftest import NOW, stored


def test_the_escalation_grows_across_four_revisits(demo_web, settings) -> None:
    clock = SimulatedClock(NOW, speed=0.0)
    scheduler = CrawlScheduler(settings, clock, timeout=180)
    for step in range(4):
        assert scheduler.run_due() == 6, f"step {step}: every demo source is due each 15 minutes"
        demo_web.advance()
        clock.advance(STEP)
    mentions = stored(settings)
    mina_toot = next(m for m in mentions if m.platform == "mastodon" and m.author.handle == "mina_r")
    assert [p.shares for p in mina_toot.engagement_history] == [5, 40, 180, 500]
    assert [p.at - NOW for p in mina_toot.engagement_history] == [STEP * i for i in range(4)]
    thread = [m for m in mentions if m.thread_id and m.thread_id.endswith("/forum/thread/101")]
    assert len(thread) == 10  # Mina's post and nine angry replies, across two thread pages
    assert all("Sepehr Mobile" in m.brands for m in thread)
    copies = {m.author.handle for m in mentions if "Boost this! Sepehr Mobile broke @mina_r" in m.text}
    assert len(copies) == 21  # 20 Mastodon accounts and one forwarding Telegram channel
    replies = [m for m in mentions if m.parent_id == mina_toot.id]
    assert len(replies) == 9
    assert not [m for m in mentions if "Sepehr turns 30" in m.text or "nephew Sepehr" in m.text]
    assert max(m.published_at for m in mentions) <= NOW + 3 * STEP + timedelta(minutes=1)
