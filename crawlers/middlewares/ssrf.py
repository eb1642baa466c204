"""Server-side request forgery guard: the crawler does not fetch private addresses that a
feed, page or redirect supplied.

An RSS entry's link (``full_text``), a forum's "next page" link or a redirect can point
anywhere, e.g. ``http://169.254.169.254/latest/meta-data/`` (cloud credentials),
``http://127.0.0.1:9200/`` (the Elasticsearch next door) or a router on ``10.0.0.1``.
Every request whose host is not one the operator configured for that source (same scheme,
host and port as one of its ``urls``) is resolved, and refused when any address it
resolves to is not globally routable: private, loopback, link-local (cloud metadata),
shared (100.64/10), multicast, reserved or unspecified, IPv4-mapped forms included.
Refusals are logged with the URL and counted in the ``brandguard/ssrf_refused`` stat.

A source that really crawls an internal site sets ``options.allow_private_networks: true``
(the local demo web does). Known limit: the name is resolved here and again by the
downloader, so a DNS server that answers differently the second time (rebinding) is not
stopped; run crawlers without access to internal services where that matters.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawlers.sources import brandguard_settings

log = logging.getLogger(__name__)
ALLOW_OPTION = "allow_private_networks"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def is_public_address(address: str) -> bool:
    """True for a globally routable IP address (IPv4-mapped IPv6 judged as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@lru_cache(maxsize=4096)
def resolve(host: str) -> tuple[str, ...]:
    """Every address ``host`` resolves to (an IP literal is its own answer); () if it does not resolve."""
    try:
        return (str(ipaddress.ip_address(host.strip("[]"))),)
    except ValueError:
        pass
    try:
        return tuple(sorted({info[4][0] for info in socket.getaddrinfo(host, None)}))
    except (socket.gaierror, UnicodeError, OSError):
        return ()


class SsrfGuardMiddleware:
    """Refuse requests to non-public addresses unless configured (see the module)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        settings = brandguard_settings(crawler.settings)
        self.trusted: dict[str, set[tuple[str, str, int | None]]] = {
            s.name: {_origin(u) for u in s.urls} for s in settings.sources}
        self.allowed = {s.name for s in settings.sources if s.options.get(ALLOW_OPTION) is True}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SsrfGuardMiddleware":
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        source = request.meta.get("source")
        if source in self.allowed:
            return None
        if source is None and urlsplit(request.url).path == "/robots.txt":
            return None  # robots.txt of a host whose page request already passed this check
        origin = _origin(request.url)
        if origin in self.trusted.get(source, set()):
            return None  # the operator typed this host and port into the config
        addresses = resolve(origin[1])
        bad = [a for a in addresses if not is_public_address(a)]
        if addresses and not bad:
            return None
        self.stats.inc_value("brandguard/ssrf_refused")
        why = f"resolves to {', '.join(bad)}" if bad else "does not resolve"
        log.warning("refused %s for source %r: %s (a non-public address; set options.%s: true to allow)",
                    request.url, source, why, ALLOW_OPTION)
        raise IgnoreRequest(f"refused {request.url}: {why}")
