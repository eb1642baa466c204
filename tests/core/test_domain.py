"""Domain models: stable ids, UTC times, strict fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from core.domain import Author, Mention, mention_id


def test_mention_id_is_stable_and_platform_scoped() -> None:
    assert mention_id("mastodon", "109876") == mention_id("mastodon", "109876")
    assert mention_id("mastodon", "109876") != mention_id("telegram", "109876")
    assert mention_id("forum", "https://forum.example/t/1#p2").startswith("forum-")
    with pytest.raises(ValueError):
        mention_id("forum", "")


def test_times_become_aware_utc() -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    mention = Mention(
        id=mention_id("forum", "1"), platform="forum", source="f", native_id="1",
        text="گوشیم دوباره خراب شد", author=Author(platform="forum", handle="Mina_R"),
        published_at=datetime(2026, 11, 2, 12, 0, tzinfo=tehran),
    )
    assert mention.published_at == datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc)
    assert mention.published_at.tzinfo == timezone.utc
    assert mention.author.key == "forum:mina_r"
    naive = mention.model_copy(update={}).model_validate({**mention.model_dump(), "published_at": datetime(2026, 1, 1)})
    assert naive.published_at.tzinfo == timezone.utc


def test_unknown_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="likez"):
        Author(platform="forum", handle="x", likez=3)  # type: ignore[call-arg]
