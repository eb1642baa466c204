"""A crawl-writer process for the two-processes-per-stage pipeline test
(``python -m tests.pipeline_writer CONFIG ORDER``).

It writes the demo story's crawled mentions (Mina's Persian and English complaints, six copies
of the sabotage post by six accounts, a Persian compliment) the way the crawler's store
pipeline does, in small batches; ``ORDER`` ``forward``/``backward`` makes two writers overlap
on the same posts in different orders, as two crawlers re-crawling the same pages.
Times are relative to now, so the story holds on any date.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

from core.config import load_settings
from core.domain import Author, Engagement, Mention, mention_id
from core.store import open_store
from tests.story import BRAND, COPY_EN, MINA_EN, MINA_FA, PRAISE_FA

ACCOUNTS = ["amir_h", "neda_88", "kaveh_t", "roya_m", "babak_sh", "leila_k"]


def story_mentions(now: datetime) -> list[Mention]:
    """The crawled story (no analysis yet), newest last."""
    def post(platform: str, native_id: str, text: str, handle: str, minutes_ago: int, **extra: object) -> Mention:
        return Mention(id=mention_id(platform, native_id), platform=platform, source=f"{platform}-demo",
                       native_id=native_id, url=f"https://{platform}.example/p/{native_id}", text=text,
                       author=Author(platform=platform, handle=handle, followers=300),
                       published_at=now - timedelta(minutes=minutes_ago), crawled_at=now,
                       engagement=Engagement(shares=12, replies=4), brands=[BRAND], **extra)

    story = [post("forum", "p10100", MINA_FA, "mina_r", 50, thread_id="forum:https://forum.example/t/7"),
             post("mastodon", "110", MINA_EN, "mina_r", 45)]
    story += [post("mastodon", f"copy{i}", COPY_EN, handle, 40 - 2 * i) for i, handle in enumerate(ACCOUNTS)]
    story.append(post("forum", "p10500", PRAISE_FA, "ali_t", 30))
    return story


def main(argv: list[str]) -> int:
    config, order = argv
    store = open_store(load_settings(config))
    items = story_mentions(datetime.now(timezone.utc).replace(second=0, microsecond=0))
    if order == "backward":
        items.reverse()
    try:
        for start in range(0, len(items), 3):
            report = store.upsert_mentions(items[start:start + 3])
            if report.failed:
                print(f"failed: {report.failed}", file=sys.stderr)
                return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
