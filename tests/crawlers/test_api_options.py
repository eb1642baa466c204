"""`brandguard config check` names each problem in the API kinds' options (reddit, bluesky, youtube)."""

from __future__ import annotations

from core.config import Settings
from crawlers.sources import check_settings


def _problems(kind: str, options: dict) -> list[str]:
    settings = Settings.model_validate({"brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile"'}],
                                        "sources": [{"name": "s", "kind": kind, "options": options}]})
    return check_settings(settings)


def test_well_formed_api_sources_need_no_urls() -> None:
    assert _problems("reddit", {"subreddits": ["iran"], "token_env": "REDDIT_TOKEN"}) == []
    assert _problems("bluesky", {"search": ["سپهر موبایل"], "identifier": "me.bsky.social", "app_password_env": "BSKY_PW"}) == []
    assert _problems("youtube", {"queries": ["sepehr mobile"], "api_key_env": "YT_KEY", "daily_quota_units": 5000}) == []


def test_each_problem_is_named() -> None:
    assert _problems("reddit", {"subreddits": "iran"}) == ["sources[0] (s).options.subreddits: must be a list of non-empty strings"]
    assert _problems("reddit", {}) == ["sources[0] (s).options: a reddit source needs subreddits or search (a non-empty list)"]
    assert "sources[0] (s).options.token_env: must name an environment variable (the secret itself never goes in the file)" in \
        _problems("reddit", {"search": ["x"], "token_env": "abc def-123"})
    assert "sources[0] (s).options.api_key_env: a youtube source needs the environment variable holding its API key" in \
        _problems("youtube", {"queries": ["x"]})
    assert "sources[0] (s).options.daily_quota_units: must be a whole number from 1 to 10000000" in \
        _problems("youtube", {"queries": ["x"], "api_key_env": "K", "daily_quota_units": "lots"})
    assert "sources[0] (s).options: identifier and app_password_env go together (a Bluesky handle and its app password)" in \
        _problems("bluesky", {"search": ["x"], "identifier": "me.bsky.social"})
    assert _problems("bluesky", {"search": ["x"], "max_pages": 0}) == [
        "sources[0] (s).options.max_pages: must be a whole number from 1 to 20"]
