"""Reddit's JSON API: listings with ``after`` paging, search, comment trees, re-visits, the OAuth token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from crawlers.runner import run_sources
from tests.crawlers.conftest import NOW, stored
from tests.crawlers.fixture_api import FixtureApi, Seen, serving, source_settings

TOKEN = "reddit-oauth-token-123"


def _ago(**delta: float) -> float:
    return (NOW - timedelta(**delta)).timestamp()


def _t3(post_id: str, title: str, selftext: str, *, score: int, comments: int, author: str, created: float,
        sub: str = "iran") -> dict[str, Any]:
    return {"kind": "t3", "data": {
        "id": post_id, "name": f"t3_{post_id}", "title": title, "selftext": selftext, "author": author,
        "subreddit": sub, "score": score, "ups": score, "num_comments": comments, "created_utc": created,
        "permalink": f"/r/{sub}/comments/{post_id}/slug/", "url": f"https://www.reddit.com/r/{sub}/comments/{post_id}/slug/",
        "over_18": False, "is_self": True,
    }}


def _t1(comment_id: str, body: str, *, parent: str, author: str, created: float, score: int = 1,
        replies: Any = "") -> dict[str, Any]:
    return {"kind": "t1", "data": {
        "id": comment_id, "name": f"t1_{comment_id}", "body": body, "author": author, "parent_id": parent,
        "link_id": "t3_1h2abc", "score": score, "created_utc": created, "replies": replies,
        "permalink": f"/r/iran/comments/1h2abc/slug/{comment_id}/",
    }}


def _listing(children: list[Any], after: str | None = None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": after, "before": None, "dist": len(children), "modhash": "", "children": children}}


class FakeReddit:
    """oauth.reddit.com as strict as the real one: a bearer token is required, a listing's ``limit`` is at most 100."""

    def __init__(self) -> None:
        self.score = 152
        self.complaint = _t3("1h2abc", "Sepehr Mobile refused my warranty repair",
                             "My phone died after two weeks. Support closed my ticket three times. "
                             "Never buying from Sepehr Mobile again.", score=152, comments=3, author="angry_buyer",
                             created=_ago(hours=2))
        self.seen_posts: dict[str, Any] = {}

    def _checked(self, request: Seen, listing: bool = True) -> tuple[int, Any, dict[str, str]] | None:
        if request.headers.get("authorization") != f"bearer {TOKEN}":
            return 401, {"message": "Unauthorized", "error": 401}, {}
        if listing and int(request.arg("limit", "25")) > 100:
            return 400, {"message": "limit must be at most 100"}, {}
        return None

    def new(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._checked(request)
        if refused:
            return refused
        if request.arg("after") == "t3_1h2abe":
            old = _t3("1h1zzz", "Sepehr Mobile battery swelled", "The battery swelled after a month, be careful.",
                      score=9, comments=0, author="old_timer", created=_ago(hours=30))
            self.seen_posts["1h1zzz"] = old
            return 200, _listing([old]), {}
        self.complaint["data"]["score"] = self.score
        persian = _t3("1h2abd", "تجربه بد با سپهر موبایل",
                      "گوشی را برای تعمیر فرستادم و بعد از یک ماه هنوز خبری نیست. پشتیبانی هم جواب نمی‌دهد.",
                      score=40, comments=0, author="tehran_dev", created=_ago(hours=3))
        hiking = _t3("1h2abe", "Best hiking trails near Tehran", "Darband or Tochal this weekend?", score=5,
                     comments=2, author="hiker", created=_ago(hours=4))
        broken = {"kind": "t3", "data": {"title": "a post without an id"}}
        self.seen_posts.update({"1h2abd": persian, "1h2abe": hiking})
        return 200, _listing([self.complaint, persian, hiking, broken], after="t3_1h2abe"), {}

    def search(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._checked(request)
        if refused:
            return refused
        rival = _t3("1h2xyz", "Switching from Arianet to Sepehr Mobile?", "Is the support any better? Arianet lost my order.",
                    score=12, comments=0, author="switcher", created=_ago(hours=1), sub="PersianTech")
        return 200, _listing([rival, self.complaint]), {}  # the complaint again: one mention, not two

    def comments(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._checked(request, listing=False)
        if refused:
            return refused
        post_id = request.path.removeprefix("/comments/").removesuffix(".json")
        if post_id != "1h2abc":
            post = self.seen_posts.get(post_id)
            return (200, [_listing([post]), _listing([])], {}) if post else (404, {"message": "Not Found", "error": 404}, {})
        self.complaint["data"]["score"] = self.score
        nested = _t1("c2", "من هم همین مشکل را داشتم، بالاخره پولم را پس گرفتم.", parent="t1_c1", author="sara_fa",
                     created=_ago(minutes=50), score=7)
        first = _t1("c1", "Same here, they ignored my emails for weeks.", parent="t3_1h2abc", author="me_too",
                    created=_ago(minutes=90), score=21, replies=_listing([nested]))
        deleted = _t1("c3", "[deleted]", parent="t3_1h2abc", author="[deleted]", created=_ago(minutes=30))
        more = {"kind": "more", "data": {"count": 2, "children": ["c9", "c10"], "parent_id": "t3_1h2abc"}}
        return 200, [_listing([self.complaint]), _listing([first, deleted, more])], {}


@pytest.fixture
def reddit() -> Any:
    fake = FakeReddit()
    with serving({
        ("GET", "/r/iran/new.json"): fake.new,
        ("GET", "/search.json"): fake.search,
        ("GET", "/comments/"): fake.comments,
    }, fake) as api:
        yield api


def _settings(tmp_path: Path, api: FixtureApi, **options: Any) -> Settings:
    return source_settings(tmp_path, {
        "name": "reddit", "kind": "reddit", "urls": [api.base_url], "revisit_seconds": 3600,
        "options": {"subreddits": ["iran"], "search": ["sepehr mobile"], "token_env": "BG_TEST_REDDIT_TOKEN", **options},
    }, competitor=True)


def test_listing_search_and_comment_tree_become_mentions(reddit, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_TEST_REDDIT_TOKEN", TOKEN)
    settings = _settings(tmp_path, reddit)
    summary = run_sources(settings, now=NOW, timeout=120)
    entry = summary.sources[0]
    assert entry.finished and entry.malformed == 1 and entry.dropped_unmatched == 1  # the id-less post; the hiking post
    mentions = {m.native_id: m for m in stored(settings)}
    assert set(mentions) == {"t3_1h2abc", "t3_1h2abd", "t3_1h1zzz", "t3_1h2xyz", "t1_c1", "t1_c2", "t1_c3"}
    post = mentions["t3_1h2abc"]
    assert post.title == "Sepehr Mobile refused my warranty repair" and post.text.startswith("My phone died after two weeks.")
    assert (post.engagement.likes, post.engagement.replies) == (152, 3)
    assert post.url == "https://www.reddit.com/r/iran/comments/1h2abc/slug/" and post.published_at == NOW - timedelta(hours=2)
    assert post.author.handle == "angry_buyer" and post.author.profile_url == "https://www.reddit.com/user/angry_buyer"
    assert mentions["t3_1h2abd"].title == "تجربه بد با سپهر موبایل" and mentions["t3_1h2abd"].brands == ["Sepehr Mobile"]
    assert set(mentions["t3_1h2xyz"].brands) == {"Sepehr Mobile", "Arianet"}
    # The comment tree: replies inherit the post's brand, parents are Reddit fullnames, one thread.
    reply, nested = mentions["t1_c1"], mentions["t1_c2"]
    assert reply.parent_id == post.id and nested.parent_id == reply.id
    assert reply.thread_id == nested.thread_id == post.thread_id == "reddit:t3_1h2abc"
    assert nested.text == "من هم همین مشکل را داشتم، بالاخره پولم را پس گرفتم." and nested.brands == ["Sepehr Mobile"]
    assert mentions["t1_c3"].author.handle is None  # "[deleted]" is nobody, not a user called [deleted]
    # Paging followed ``after`` (page 2 had an older post); every call carried the token; no "more" fetches.
    assert any(s.arg("after") == "t3_1h2abe" and s.arg("count") == "100" for s in reddit.seen)
    assert all(s.headers.get("authorization") == f"bearer {TOKEN}" for s in reddit.seen)
    assert reddit.paths("/comments/") == ["/comments/1h2abc.json"]  # only the matching post with comments


def test_a_revisit_rereads_the_thread_and_appends_an_engagement_point(reddit, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_TEST_REDDIT_TOKEN", TOKEN)
    settings = _settings(tmp_path, reddit, subreddits=[], search=[])  # only re-visits can reach the post now
    settings.sources[0].options.update(subreddits=["iran"])
    run_sources(settings, now=NOW, timeout=120)
    settings.sources[0].options.update(subreddits=[])
    reddit.fake.score = 480  # the complaint is taking off
    before = len(reddit.seen)
    run_sources(settings, now=NOW + timedelta(hours=1, minutes=5), timeout=120)
    # Each known post inside the revisit window is re-read once (its score changes even without comments).
    assert sorted(s.path for s in reddit.seen[before:]) == ["/comments/1h1zzz.json", "/comments/1h2abc.json", "/comments/1h2abd.json"]
    post = next(m for m in stored(settings) if m.native_id == "t3_1h2abc")
    assert [p.likes for p in post.engagement_history] == [152, 480]


def test_a_missing_or_refused_token_is_a_clear_warning(reddit, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("BG_TEST_REDDIT_TOKEN", "expired")
    settings = _settings(tmp_path, reddit)
    summary = run_sources(settings, now=NOW, timeout=120)
    err = capfd.readouterr().err
    assert "Reddit refused the request at " in err and "(HTTP 401): check the token in the source's token_env" in err
    assert summary.sources[0].finished and stored(settings) == []
