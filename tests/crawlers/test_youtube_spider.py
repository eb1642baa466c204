"""YouTube Data API v3: search.list → videos.list → commentThreads.list, with the daily quota counted."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from crawlers.runner import run_sources
from crawlers.sources import source_dir
from tests.crawlers.conftest import NOW, stored
from tests.crawlers.fixture_api import FixtureApi, Seen, serving, source_settings

KEY = "AIzaSyTest-key-0123456789"
COSTS = {"/youtube/v3/search": 100, "/youtube/v3/videos": 1, "/youtube/v3/commentThreads": 1}


def _iso(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "errors": [{"message": message, "domain": "youtube.quota"
                                                                     if reason == "quotaExceeded" else "global", "reason": reason}]}}


def _comment(comment_id: str, text: str, author: str, *, video: str, likes: int, minutes: int, parent: str | None = None) -> dict[str, Any]:
    snippet: dict[str, Any] = {
        "authorDisplayName": f"@{author}", "authorProfileImageUrl": "https://yt3.ggpht.com/a.jpg",
        "authorChannelUrl": f"http://www.youtube.com/@{author}", "authorChannelId": {"value": f"UC{author}"},
        "channelId": "UCsepehr", "videoId": video, "textDisplay": text, "textOriginal": text, "canRate": True,
        "viewerRating": "none", "likeCount": likes, "publishedAt": _iso(minutes=minutes), "updatedAt": _iso(minutes=minutes),
    }
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": "e", "id": comment_id, "snippet": snippet}


class FakeYouTube:
    """The Data API as strict as the real one: the key is required, every call (even a refused one)
    costs its units, ``maxResults`` is bounded, and calls past the project quota get ``quotaExceeded``."""

    def __init__(self, project_quota: int = 10_000) -> None:
        self.project_quota, self.used = project_quota, 0
        self.views = "1520"

    def _gate(self, request: Seen, max_results: int) -> tuple[int, Any, dict[str, str]] | None:
        if self.used >= self.project_quota:
            return 403, _error(403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota."), {}
        self.used += COSTS[request.path]
        if request.headers.get("x-goog-api-key") != KEY:
            return 400, _error(400, "badRequest", "API key not valid. Please pass a valid API key."), {}
        if int(request.arg("maxResults", "5")) > max_results:
            return 400, _error(400, "invalidParameter", f"maxResults must be at most {max_results}"), {}
        return None

    def search(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._gate(request, 50)
        if refused:
            return refused
        assert request.arg("part") == "snippet" and request.arg("type") == "video" and request.arg("order") == "date"
        items = [
            {"kind": "youtube#searchResult", "id": {"kind": "youtube#video", "videoId": vid},
             "snippet": {"publishedAt": _iso(hours=h), "channelId": "UCx", "title": t, "description": "", "channelTitle": "c"}}
            for vid, t, h in (("dQw4w9WgXcA", "Sepehr Mobile S24 teardown: the battery problem", 5),
                              ("dQw4w9WgXcB", "بررسی گوشی سپهر موبایل؛ چرا باتری داغ می‌کند؟", 8))
        ]
        return 200, {"kind": "youtube#searchListResponse", "regionCode": "US",
                     "pageInfo": {"totalResults": 2, "resultsPerPage": 50}, "items": items}, {}

    def videos(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._gate(request, 50)
        if refused:
            return refused
        videos = {
            "dQw4w9WgXcA": ("Sepehr Mobile S24 teardown: the battery problem",
                            "We opened three phones. Two had swollen batteries after a month.", "en", self.views, "87", "2"),
            "dQw4w9WgXcB": ("بررسی گوشی سپهر موبایل؛ چرا باتری داغ می‌کند؟",
                            "در این ویدیو باتری گوشی را آزمایش کردیم و نتیجه ناامیدکننده بود.", "fa", "430", "21", "0"),
        }
        items = []
        for vid in (request.arg("id") or "").split(","):
            if vid in videos:
                title, description, lang, views, likes, comments = videos[vid]
                items.append({"kind": "youtube#video", "id": vid, "snippet": {
                    "publishedAt": _iso(hours=5), "channelId": f"UC{vid[-1]}", "title": title, "description": description,
                    "channelTitle": "Tech Tehran", "defaultAudioLanguage": lang},
                    "statistics": {"viewCount": views, "likeCount": likes, "favoriteCount": "0", "commentCount": comments}})
        return 200, {"kind": "youtube#videoListResponse", "items": items, "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}}, {}

    def comment_threads(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        refused = self._gate(request, 100)
        if refused:
            return refused
        video = request.arg("videoId")
        top = _comment("UgzTopA1", "Mine swelled too. Support told me it was normal!", "nima", video=video, likes=40, minutes=90)
        reply = _comment("UgzTopA1.ReplyB2", "همین مشکل را داشتم، گارانتی هم قبول نکرد.", "sara", video=video, likes=3,
                         minutes=30, parent="UgzTopA1")
        thread = {"kind": "youtube#commentThread", "id": "UgzTopA1", "snippet": {
            "channelId": "UCx", "videoId": video, "topLevelComment": top, "canReply": True, "totalReplyCount": 1, "isPublic": True},
            "replies": {"comments": [reply]}}
        return 200, {"kind": "youtube#commentThreadListResponse", "pageInfo": {"totalResults": 1, "resultsPerPage": 100},
                     "items": [thread]}, {}


@pytest.fixture
def youtube() -> Any:
    fake = FakeYouTube()
    with serving({
        ("GET", "/youtube/v3/search"): fake.search,
        ("GET", "/youtube/v3/videos"): fake.videos,
        ("GET", "/youtube/v3/commentThreads"): fake.comment_threads,
    }, fake) as api:
        yield api


def _settings(tmp_path: Path, api: FixtureApi, **options: Any) -> Settings:
    return source_settings(tmp_path, {"name": "yt", "kind": "youtube", "urls": [f"{api.base_url}/youtube/v3"],
                                      "options": {"queries": ["sepehr mobile"], "api_key_env": "BG_TEST_YT_KEY", **options}})


def _ledger(settings: Settings) -> dict[str, Any]:
    return json.loads((source_dir(settings, "yt") / "quota.json").read_text())


def test_videos_and_comment_threads_with_engagement_and_units_counted(youtube, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_TEST_YT_KEY", KEY)
    settings = _settings(tmp_path, youtube)
    summary = run_sources(settings, now=NOW, timeout=120)
    assert summary.sources[0].finished and summary.sources[0].errors == 0
    mentions = {m.native_id: m for m in stored(settings)}
    assert set(mentions) == {"video:dQw4w9WgXcA", "video:dQw4w9WgXcB", "comment:UgzTopA1", "comment:UgzTopA1.ReplyB2"}
    video = mentions["video:dQw4w9WgXcA"]
    assert (video.engagement.views, video.engagement.likes, video.engagement.replies) == (1520, 87, 2)
    assert video.url == "https://www.youtube.com/watch?v=dQw4w9WgXcA" and video.title.startswith("Sepehr Mobile S24 teardown")
    persian = mentions["video:dQw4w9WgXcB"]
    assert persian.lang == "fa" and persian.brands == ["Sepehr Mobile"]
    top, reply = mentions["comment:UgzTopA1"], mentions["comment:UgzTopA1.ReplyB2"]
    assert top.parent_id == video.id and reply.parent_id == top.id and reply.thread_id == top.thread_id == video.thread_id
    assert reply.text == "همین مشکل را داشتم، گارانتی هم قبول نکرد." and reply.brands == ["Sepehr Mobile"]
    assert top.url == "https://www.youtube.com/watch?v=dQw4w9WgXcA&lc=UgzTopA1" and top.engagement.likes == 40
    # Comments only for the video with comments; the key only ever in the header, never in a URL.
    assert [s.arg("videoId") for s in youtube.seen if s.path.endswith("commentThreads")] == ["dQw4w9WgXcA"]
    assert all("key" not in s.query and s.headers.get("x-goog-api-key") == KEY for s in youtube.seen)
    # Units: search 100 + videos 1 + commentThreads 1, the same as the API charged.
    assert _ledger(settings)["used"] == 102 == youtube.fake.used


def test_the_daily_budget_stops_calls_and_survives_a_restart(youtube, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("BG_TEST_YT_KEY", KEY)
    settings = _settings(tmp_path, youtube, queries=["sepehr mobile", "سپهر موبایل"], daily_quota_units=150)
    run_sources(settings, now=NOW, timeout=120)
    assert len([s for s in youtube.seen if s.path.endswith("/search")]) == 1  # the second search would pass 150
    assert re.search(r"YouTube quota budget reached \(10[0-2] of 150 units used today", capfd.readouterr().err)
    youtube.fake.views = "9000"
    before = len(youtube.seen)
    run_sources(settings, now=NOW + timedelta(hours=1, minutes=1), timeout=120)  # same Pacific day: no search left
    later = youtube.seen[before:]
    assert not [s for s in later if s.path.endswith("/search")]
    assert [s.path for s in later] == ["/youtube/v3/videos"]  # the re-visit of known videos still fits (1 unit)
    video = next(m for m in stored(settings) if m.native_id == "video:dQw4w9WgXcA")
    assert [p.views for p in video.engagement_history] == [1520, 9000]
    assert _ledger(settings)["used"] == 103
    # The next quota day (midnight Pacific) starts from zero again.
    next_day = NOW.replace(hour=9) + timedelta(days=1)  # 01:00 in Los Angeles
    run_sources(settings, now=next_day, timeout=120)
    assert len([s for s in youtube.seen if s.path.endswith("/search")]) == 2
    assert _ledger(settings)["day"] == (next_day - timedelta(hours=8)).date().isoformat()


def test_quota_exceeded_from_the_api_closes_the_day(youtube, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("BG_TEST_YT_KEY", KEY)
    youtube.fake.project_quota = 50  # another client of the project spent most of it
    youtube.fake.used = 50
    settings = _settings(tmp_path, youtube)
    summary = run_sources(settings, now=NOW, timeout=120)
    assert summary.sources[0].finished
    assert "YouTube says the quota is spent (quotaExceeded)" in capfd.readouterr().err
    assert _ledger(settings)["used"] >= 10_000  # no more calls today, not even after a restart
    before = len(youtube.seen)
    run_sources(settings, now=NOW + timedelta(minutes=5), timeout=120)
    assert youtube.seen[before:] == []


def test_a_bad_key_is_a_clear_warning_without_the_key(youtube, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("BG_TEST_YT_KEY", "AIza-wrong-9876")
    summary = run_sources(_settings(tmp_path, youtube), now=NOW, timeout=120)
    err = capfd.readouterr().err
    assert "YouTube refused the API key of source yt (HTTP 400" in err and "check $BG_TEST_YT_KEY" in err
    assert "AIza-wrong-9876" not in err and summary.sources[0].finished
