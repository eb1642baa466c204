"""Bluesky's AppView: searchPosts with cursor paging (signed in only), getPostThread replies, re-visits."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from crawlers.runner import run_sources
from crawlers.spiders.bluesky import post_url
from tests.crawlers.conftest import NOW, stored
from tests.crawlers.fixture_api import FixtureApi, Seen, serving, source_settings

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
SESSION_JWT = "eyJhbGciOiJFUzI1NksifQ.session.sig"


def _iso(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _post(rkey: str, text: str, *, handle: str, created: str, likes: int = 0, reposts: int = 0, replies: int = 0,
          quotes: int = 0, reply_to: str | None = None, root: str | None = None, langs: list[str] | None = None) -> dict[str, Any]:
    """A PostView as app.bsky.feed.defs#postView describes it."""
    uri = f"at://did:plc:{handle.split('.')[0]}/app.bsky.feed.post/{rkey}"
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": langs or ["en"]}
    if reply_to:
        record["reply"] = {"root": {"uri": root or reply_to, "cid": "bafyroot"}, "parent": {"uri": reply_to, "cid": "bafyparent"}}
    return {
        "uri": uri, "cid": f"bafy{rkey}",
        "author": {"did": f"did:plc:{handle.split('.')[0]}", "handle": handle, "displayName": handle.split(".")[0].title(),
                   "avatar": "https://cdn.bsky.app/img/avatar/plain/x.jpg", "labels": []},
        "record": record, "replyCount": replies, "repostCount": reposts, "likeCount": likes, "quoteCount": quotes,
        "indexedAt": created, "labels": [],
    }


class FakeAppView:
    """The AppView as strict as the real one: signed out, a search ``cursor`` is refused with 403;
    ``limit`` is 1-100; createSession wants the right app password."""

    def __init__(self) -> None:
        self.likes = 31
        self.complaint = _post("3kx2c4ta7ak2a", "Sepehr Mobile support closed my ticket again. Boost this so they finally answer.",
                               handle="mina.bsky.social", created=_iso(hours=1), likes=31, reposts=12, replies=2, quotes=3)
        self.persian = _post("3kx2c4ta7ak2b", "سپهر موبایل سه هفته است گوشی مرا برای تعمیر نگه داشته و جواب نمی‌دهد.",
                             handle="reza.bsky.social", created=_iso(hours=2), likes=5, langs=["fa"])

    def session(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        body = json.loads(request.body or b"{}")
        if body.get("identifier") != "brandwatch.bsky.social" or body.get("password") != "app-pass-1234":
            return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, {}
        return 200, {"did": DID, "handle": "brandwatch.bsky.social", "accessJwt": SESSION_JWT, "refreshJwt": "r", "active": True}, {}

    def search(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        signed_in = request.headers.get("authorization") == f"Bearer {SESSION_JWT}"
        if request.arg("cursor") and not signed_in:
            return 403, "Request forbidden by administrative rules.", {"Content-Type": "text/plain"}
        if not request.arg("q") or not 1 <= int(request.arg("limit", "25")) <= 100:
            return 400, {"error": "InvalidRequest", "message": "Error: limit must be between 1 and 100"}, {}
        if "sepehr" not in request.arg("q", "").lower():
            return 200, {"posts": [], "hitsTotal": 0}, {}
        if request.arg("cursor") == "2":
            old = _post("3kx2c4ta7ak2d", "Sepehr Mobile shipped my order late, but it arrived.", handle="sam.bsky.social",
                        created=_iso(hours=20))
            return 200, {"posts": [old], "hitsTotal": 3}, {}
        self.complaint["likeCount"] = self.likes
        broken = {"uri": "not-a-uri", "record": {"text": "x"}}
        return 200, {"posts": [self.complaint, self.persian, broken], "cursor": "2", "hitsTotal": 3}, {}

    def thread(self, request: Seen) -> tuple[int, Any, dict[str, str]]:
        uri = request.arg("uri")
        if uri == self.persian["uri"]:
            return 200, {"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.persian, "replies": []}}, {}
        if uri != self.complaint["uri"]:
            return 400, {"error": "NotFound", "message": f"Post not found: {uri}"}, {}
        self.complaint["likeCount"] = self.likes
        root = self.complaint["uri"]
        reply = _post("3kx2c4ta7ak2c", "Same thing happened to me last month, they never called back.",
                      handle="leila.bsky.social", created=_iso(minutes=40), likes=4, reply_to=root)
        nested = _post("3kx2c4ta7ak2e", "من هم شکایت کردم و هنوز منتظرم.", handle="ali.bsky.social", created=_iso(minutes=20),
                       reply_to=reply["uri"], root=root, langs=["fa"])
        return 200, {"thread": {
            "$type": "app.bsky.feed.defs#threadViewPost", "post": self.complaint,
            "replies": [
                {"$type": "app.bsky.feed.defs#threadViewPost", "post": reply,
                 "replies": [{"$type": "app.bsky.feed.defs#threadViewPost", "post": nested, "replies": []}]},
                {"$type": "app.bsky.feed.defs#notFoundPost", "uri": f"at://{DID}/app.bsky.feed.post/gone", "notFound": True},
            ],
        }}, {}


@pytest.fixture
def appview() -> Any:
    fake = FakeAppView()
    with serving({
        ("POST", "/xrpc/com.atproto.server.createSession"): fake.session,
        ("GET", "/xrpc/app.bsky.feed.searchPosts"): fake.search,
        ("GET", "/xrpc/app.bsky.feed.getPostThread"): fake.thread,
    }, fake) as api:
        yield api


def _settings(tmp_path: Path, api: FixtureApi, **options: Any) -> Settings:
    return source_settings(tmp_path, {"name": "bsky", "kind": "bluesky", "urls": [api.base_url],
                                      "options": {"search": ["sepehr mobile"], **options}})


def test_signed_in_search_pages_with_the_cursor_and_reads_reply_threads(appview, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_TEST_BSKY_PASSWORD", "app-pass-1234")
    settings = _settings(tmp_path, appview, identifier="brandwatch.bsky.social", app_password_env="BG_TEST_BSKY_PASSWORD")
    summary = run_sources(settings, now=NOW, timeout=120)
    assert summary.sources[0].finished and summary.sources[0].malformed == 1  # the post without an at:// uri
    mentions = {m.native_id.rsplit("/", 1)[-1]: m for m in stored(settings)}
    assert set(mentions) == {"3kx2c4ta7ak2a", "3kx2c4ta7ak2b", "3kx2c4ta7ak2c", "3kx2c4ta7ak2d", "3kx2c4ta7ak2e"}
    post = mentions["3kx2c4ta7ak2a"]
    assert (post.engagement.likes, post.engagement.shares, post.engagement.replies) == (31, 15, 2)  # reposts + quotes
    assert post.url == "https://bsky.app/profile/mina.bsky.social/post/3kx2c4ta7ak2a"
    assert post.author.handle == "mina.bsky.social" and post.published_at == NOW - timedelta(hours=1)
    assert mentions["3kx2c4ta7ak2b"].lang == "fa" and mentions["3kx2c4ta7ak2b"].brands == ["Sepehr Mobile"]
    reply, nested = mentions["3kx2c4ta7ak2c"], mentions["3kx2c4ta7ak2e"]
    assert reply.parent_id == post.id and nested.parent_id == reply.id and nested.thread_id == post.thread_id
    assert nested.text == "من هم شکایت کردم و هنوز منتظرم." and nested.brands == ["Sepehr Mobile"]  # inherited
    searches = [s for s in appview.seen if s.path.endswith("searchPosts")]
    assert [s.arg("cursor") for s in searches] == [None, "2"]
    assert all(s.headers.get("authorization") == f"Bearer {SESSION_JWT}" for s in searches)
    assert searches[0].arg("sort") == "latest" and searches[0].arg("since") == (NOW - timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_signed_out_reads_the_first_page_only_and_revisits_add_engagement(appview, tmp_path) -> None:
    settings = _settings(tmp_path, appview)
    summary = run_sources(settings, now=NOW, timeout=120)
    assert summary.sources[0].finished and summary.sources[0].errors == 0
    assert not any(s.arg("cursor") for s in appview.seen)  # the public AppView would refuse it
    appview.fake.likes = 250
    settings.sources[0].options["search"] = ["nothing matches this"]
    before = len(appview.seen)
    run_sources(settings, now=NOW + timedelta(hours=2), timeout=120)
    revisited = {s.arg("uri").rsplit("/", 1)[-1] for s in appview.seen[before:] if s.path.endswith("getPostThread")}
    assert revisited == {"3kx2c4ta7ak2a", "3kx2c4ta7ak2b"}  # the known posts, through getPostThread
    post = next(m for m in stored(settings) if m.native_id.endswith("3kx2c4ta7ak2a"))
    assert [p.likes for p in post.engagement_history] == [31, 250]


def test_a_wrong_app_password_is_a_clear_warning(appview, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("BG_TEST_BSKY_PASSWORD", "pw-Zx81-not-it")
    settings = _settings(tmp_path, appview, identifier="brandwatch.bsky.social", app_password_env="BG_TEST_BSKY_PASSWORD")
    summary = run_sources(settings, now=NOW, timeout=120)
    err = capfd.readouterr().err
    assert "Bluesky refused to sign in brandwatch.bsky.social" in err and "app password in $BG_TEST_BSKY_PASSWORD" in err
    assert "pw-Zx81-not-it" not in err  # the password itself is never logged
    assert summary.sources[0].finished and stored(settings) == []


def test_post_url_from_an_at_uri() -> None:
    assert post_url(f"at://{DID}/app.bsky.feed.post/3k44deefqdk2g", None) == f"https://bsky.app/profile/{DID}/post/3k44deefqdk2g"
    assert post_url(f"at://{DID}/app.bsky.feed.post/3k44deefqdk2g", "jay.bsky.team") == "https://bsky.app/profile/jay.bsky.team/post/3k44deefqdk2g"
