"""robots.txt for every request, also those that arrive while robots.txt is downloading.

Scrapy's RobotsTxtMiddleware makes requests that arrive during the robots.txt download
await one shared Deferred; a Deferred hands its result to the first awaiter only, so the
second and later ones get ``None`` ("no robots.txt") and are let through. That happens
whenever several requests to a host start together (a resumed JOBDIR queue, several start
URLs). Each waiter here gets its own Deferred fed from the shared one.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose concurrent waiters all see the parsed robots.txt."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred[Any] = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result  # keep the result for the next waiter

            pending.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)
