"""Where a crawl finds brandguard's settings, its sources and its per-source folders.

``brandguard crawl`` hands the Settings object to Scrapy as the ``BRANDGUARD_SETTINGS``
setting; ``scrapy crawl`` reads the YAML file named by ``$BRANDGUARD_CONFIG`` (or
``./brandguard.yaml``). ``BRANDGUARD_NOW`` (ISO time) lets a simulated clock drive a crawl.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import Settings, SourceSettings, load_settings

KNOWN_KINDS = ("rss", "forum", "mastodon", "telegram", "hackernews", "reddit", "bluesky", "youtube", "appstore")
# Kinds that talk to one well-known API host: ``urls`` is optional (it overrides the host, for tests).
API_KINDS = ("hackernews", "reddit", "bluesky", "youtube", "appstore")


def brandguard_settings(scrapy_settings: Any) -> Settings:
    """The brandguard Settings for a crawler: the object passed in, else the config file."""
    given = scrapy_settings.get("BRANDGUARD_SETTINGS") if scrapy_settings is not None else None
    if isinstance(given, Settings):
        return given
    path = os.environ.get("BRANDGUARD_CONFIG") or ("brandguard.yaml" if Path("brandguard.yaml").exists() else None)
    return _load_cached(path)


@lru_cache(maxsize=4)
def _load_cached(path: str | None) -> Settings:
    return load_settings(path)


def crawl_now(scrapy_settings: Any) -> datetime:
    """The crawl's "now": ``BRANDGUARD_NOW`` when a simulated clock set it, else the real time."""
    raw = scrapy_settings.get("BRANDGUARD_NOW") if scrapy_settings is not None else None
    if isinstance(raw, datetime):
        return raw.astimezone(timezone.utc)
    if raw:
        return datetime.fromisoformat(str(raw)).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def sources_for(settings: Settings, kind: str, names: str | list[str] | None = None) -> list[SourceSettings]:
    """Enabled sources of ``kind``; restricted to ``names`` (comma-separated or list) when given."""
    wanted: set[str] | None = None
    if names:
        wanted = set(names.split(",")) if isinstance(names, str) else set(names)
    found = [s for s in settings.sources if s.kind == kind and (s.enabled or wanted) and (wanted is None or s.name in wanted)]
    if wanted:
        missing = wanted - {s.name for s in found}
        if missing:
            raise ValueError(f"no {kind} source named {', '.join(sorted(missing))} in the configuration")
    return found


def source_dir(settings: Settings, source_name: str) -> Path:
    """``<data_dir>/crawl/<source>``: the source's JOBDIR parent and seen-state file."""
    return Path(settings.data_dir) / "crawl" / source_name


def check_settings(settings: Settings) -> list[str]:
    """Problems in the crawler-owned parts of the config (source kinds and options)."""
    from crawlers.spiders.forum import check_forum_options
    from crawlers.spiders.options import check_api_options

    problems: list[str] = []
    for index, source in enumerate(settings.sources):
        where = f"sources[{index}] ({source.name})"
        if source.kind not in KNOWN_KINDS:
            problems.append(f"{where}.kind: unknown kind {source.kind!r} (known: {', '.join(KNOWN_KINDS)})")
            continue
        if not source.urls and source.kind not in API_KINDS:
            problems.append(f"{where}.urls: at least one URL is needed")
        for i, url in enumerate(source.urls):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"{where}.urls[{i}]: {url!r} is not an http(s) URL")
        for option, env_name in source.options.items():  # token_env, api_key_env, app_password_env, ...
            if source.enabled and option.endswith("_env") and isinstance(env_name, str) and env_name and not os.environ.get(env_name):
                problems.append(f"{where}.options.{option}: environment variable {env_name} is not set")
        if source.kind == "forum":
            problems.extend(f"{where}.options.{p}" for p in check_forum_options(source.options))
        if not isinstance(source.options.get("allow_private_networks", False), bool):
            problems.append(f"{where}.options.allow_private_networks: must be true or false")
        problems.extend(f"{where}.{p}" for p in check_api_options(source.kind, source.options, source.urls))
        brand = source.options.get("brand")
        if brand is not None and settings.brand(str(brand)) is None:
            known = ", ".join(b.name for b in settings.brands) or "none configured"
            problems.append(f"{where}.options.brand: no brand named {brand!r} (known: {known})")
    return problems
