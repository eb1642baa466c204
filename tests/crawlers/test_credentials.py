"""Tokens, API keys and app passwords are added when a request is sent, never while it is queued
(a paused crawl pickles its queue into JOBDIR on disk)."""

from __future__ import annotations

import json
import pickle


from core.config import Settings
from crawlers.middlewares.credentials import SourceCredentialsMiddleware
from crawlers.spiders.bluesky import BlueskySpider
from crawlers.spiders.reddit import RedditSpider
from crawlers.spiders.youtube import YouTubeSpider
from tests.crawlers.conftest import spider_for


def _settings(tmp_path, kind: str, options: dict) -> Settings:
    return Settings.model_validate({"data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile"'}],
                                    "sources": [{"name": "s", "kind": kind, "urls": ["http://127.0.0.1:9"], "options": options}]})


def _queued_and_sent(spider, request):
    queued = pickle.dumps(request.to_dict(spider=spider))  # what JOBDIR would write
    SourceCredentialsMiddleware(spider.crawler).process_request(request)
    return queued, request


def test_reddit_token_and_youtube_key_only_at_send_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_T_REDDIT", "reddit-secret-token")
    monkeypatch.setenv("BG_T_YT", "AIza-secret-key")
    for cls, kind, options, header, secret in (
        (RedditSpider, "reddit", {"subreddits": ["iran"], "token_env": "BG_T_REDDIT"}, b"Authorization", "reddit-secret-token"),
        (YouTubeSpider, "youtube", {"queries": ["sepehr mobile"], "api_key_env": "BG_T_YT"}, b"X-Goog-Api-Key", "AIza-secret-key"),
    ):
        settings = _settings(tmp_path / kind, kind, options)
        spider = spider_for(cls, settings, "s")
        request = next(iter(spider.start_requests_for(settings.sources[0])))
        queued, sent = _queued_and_sent(spider, request)
        assert secret.encode() not in queued
        assert secret in sent.headers[header].decode()


def test_bluesky_app_password_goes_into_the_sign_in_body_at_send_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BG_T_BSKY", "app-pass-secret")
    settings = _settings(tmp_path, "bluesky", {"search": ["x"], "identifier": "me.bsky.social", "app_password_env": "BG_T_BSKY"})
    spider = spider_for(BlueskySpider, settings, "s")
    login = next(iter(spider.start_requests_for(settings.sources[0])))
    queued, sent = _queued_and_sent(spider, login)
    assert b"app-pass-secret" not in queued and login.method == "POST"
    assert json.loads(sent.body) == {"identifier": "me.bsky.social", "password": "app-pass-secret"}
