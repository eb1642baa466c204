"""What every notifier shares: the error that says whether to retry, secrets, and an HTTP poster.

A notifier sends one delivery's payload to its channel and either returns or raises
:class:`DeliveryError`. ``retryable`` tells the dispatcher to try again later (timeouts,
connection errors, 5xx, 429); ``retry_after`` carries the receiver's own ``Retry-After``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Mapping
from urllib.parse import urlsplit

import httpx

from core.config import ChannelSettings, Settings
from core.domain import Delivery


class DeliveryError(Exception):
    """A failed send. ``retryable=False`` means trying again cannot help (e.g. 400, 404)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class NotifierConfigError(ValueError):
    """A channel is missing something it needs (URL, secret, recipients)."""


def read_secret(env_name: str | None, env: Mapping[str, str] | None = None, *, what: str, channel: str) -> str:
    """The secret held by environment variable ``env_name`` (never logged)."""
    env = os.environ if env is None else env
    if not env_name:
        raise NotifierConfigError(f"channel {channel!r}: {what} needs the name of its environment variable")
    value = env.get(env_name)
    if not value:
        raise NotifierConfigError(f"channel {channel!r}: environment variable {env_name} ({what}) is not set")
    return value


def missing_fields(channel: ChannelSettings, *names: str) -> list[str]:
    """``field: required ...`` for each named channel field that is empty."""
    return [f"{name}: required for a {channel.type} channel" for name in names if not getattr(channel, name)]


def http_url_problems(channel: ChannelSettings) -> list[str]:
    """The channel's ``url`` must be an http(s) URL with a host."""
    if not channel.url:
        return []
    parts = urlsplit(channel.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"url: {channel.url!r} is not an http(s) URL"]
    return []


def secret_problems(env_field: str, env_name: str | None, env: Mapping[str, str], what: str) -> list[str]:
    """An ``*_env`` field must name an environment variable that is set (its value is never shown)."""
    if not env_name:
        return [f"{env_field}: required (the environment variable that holds the {what})"]
    if not env.get(env_name):
        return [f"{env_field}: environment variable {env_name} ({what}) is not set"]
    return []


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def raise_for_http(response: httpx.Response, *, channel: str) -> None:
    """Map an HTTP answer to success or a DeliveryError that says whether to retry."""
    if response.is_success:
        return
    status = response.status_code
    detail = response.text[:200].replace("\n", " ")
    message = f"channel {channel!r}: HTTP {status}: {detail}"
    if status == 429 or status >= 500 or status in (408, 425):
        raise DeliveryError(message, retryable=True, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise DeliveryError(message, retryable=False)


def post(client: httpx.Client, url: str, *, channel: str, **kwargs: Any) -> httpx.Response:
    """POST, turning transport problems (timeouts, refused connections) into retryable errors."""
    try:
        response = client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"channel {channel!r}: timed out: {type(exc).__name__}", retryable=True) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"channel {channel!r}: connection failed: {type(exc).__name__}: {exc}", retryable=True) from None
    raise_for_http(response, channel=channel)
    return response


class Notifier:
    """Base class: one channel of one type. Subclasses set ``type_name`` and implement ``send``."""

    type_name: ClassVar[str] = ""

    def __init__(self, name: str, channel: ChannelSettings, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.channel = channel
        self.settings = settings
        self.env = env

    @classmethod
    def config_problems(cls, channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        """What the channel lacks to send (``field: message`` lines); checked before any stage starts."""
        return []

    def send(self, delivery: Delivery) -> None:
        """Deliver ``delivery.payload``; raise DeliveryError on failure."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class HttpNotifier(Notifier):
    """A notifier that POSTs over HTTP with one pooled client and the channel's timeout."""

    def __init__(self, name: str, channel: ChannelSettings, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        super().__init__(name, channel, settings, env)
        self.client = httpx.Client(timeout=channel.timeout_seconds, follow_redirects=False)

    def close(self) -> None:
        self.client.close()
