"""Validation of the API source kinds' ``options`` (``brandguard config check`` reports each problem).

Each kind declares which options it needs and their shapes; a problem names the option and what is
wrong, so a typo in ``subreddits`` is found before the first crawl rather than as an empty crawl.
"""

from __future__ import annotations

import re
from typing import Any

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_APP_ID = re.compile(r"^(id)?\d{1,12}$")
_COUNTRY = re.compile(r"^[a-z]{2}$")

# kind -> (options of which at least one must be a non-empty list of strings, env-var options, int options with bounds)
_LISTS: dict[str, tuple[str, ...]] = {"reddit": ("subreddits", "search"), "bluesky": ("search",), "youtube": ("queries",)}
_ENVS: dict[str, tuple[str, ...]] = {
    "reddit": ("token_env",), "bluesky": ("app_password_env",), "youtube": ("api_key_env",),
}
_INTS: dict[str, dict[str, tuple[int, int]]] = {
    "reddit": {"max_pages": (1, 20), "max_revisits": (0, 1000)},
    "bluesky": {"max_pages": (1, 20), "max_revisits": (0, 1000)},
    "youtube": {"max_pages": (1, 10), "max_videos": (1, 500), "max_comment_pages": (1, 20),
                "daily_quota_units": (1, 10_000_000), "lookback_hours": (1, 24 * 90)},
    "appstore": {"max_pages": (1, 10)},  # Apple serves at most 10 pages of 50 reviews
}


def check_api_options(kind: str, options: dict[str, Any], urls: list[str]) -> list[str]:
    """Problems in ``options`` of an API kind (``options.search: ...``); [] for other kinds."""
    problems: list[str] = []
    lists = _LISTS.get(kind, ())
    for name in lists:
        value = options.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            problems.append(f"options.{name}: must be a list of non-empty strings")
    if lists and not any(options.get(name) for name in lists):
        problems.append(f"options: a {kind} source needs {' or '.join(lists)} (a non-empty list)")
    for name in _ENVS.get(kind, ()):
        value = options.get(name)
        if value is not None and not (isinstance(value, str) and _ENV_NAME.match(value)):
            problems.append(f"options.{name}: must name an environment variable (the secret itself never goes in the file)")
    for name, (low, high) in _INTS.get(kind, {}).items():
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            problems.append(f"options.{name}: must be a whole number from {low} to {high}")
    if kind == "youtube" and not options.get("api_key_env"):
        problems.append("options.api_key_env: a youtube source needs the environment variable holding its API key")
    if kind == "bluesky" and bool(options.get("identifier")) != bool(options.get("app_password_env")):
        problems.append("options: identifier and app_password_env go together (a Bluesky handle and its app password)")
    if kind == "appstore":
        problems.extend(_check_apps(options))
    return problems


def _check_apps(options: dict[str, Any]) -> list[str]:
    apps = options.get("apps")
    if not isinstance(apps, list) or not apps:
        return ["options.apps: an appstore source needs a list of App Store app ids (e.g. [\"389801252\"])"]
    problems = [f"options.apps[{i}]: {app!r} is not an App Store app id (digits)"
                for i, app in enumerate(apps) if not _APP_ID.match(str(app))]
    countries = options.get("countries", ["us"])
    if not isinstance(countries, list) or not countries or not all(isinstance(c, str) and _COUNTRY.match(c) for c in countries):
        problems.append("options.countries: must be a list of two-letter store codes in lower case (e.g. [\"us\", \"de\"])")
    return problems
