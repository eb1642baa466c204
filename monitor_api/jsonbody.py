"""JSON request bodies with lone surrogates replaced, for every route that takes a body.

``json.loads`` accepts ``"\\ud83d"`` without its pair (half an emoji, as collectors and CRM exports
cut them) and gives a ``str`` no UTF-8 can hold: the store, the logs and the answer would all
fail on it, and the client would see a 500 for one bad character. Routers built with
``route_class=CleanJsonRoute`` read bodies through ``CleanJsonRequest``, which turns each lone
surrogate into U+FFFD before validation, so the rest of the text is kept.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Coroutine

from fastapi import Request, Response
from fastapi.routing import APIRoute

from core.textnorm import replace_lone_surrogates


class CleanJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = replace_lone_surrogates(json.loads(await self.body()))
        return self._json


class CleanJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def clean_json_handler(request: Request) -> Response:
            return await handle(CleanJsonRequest(request.scope, request.receive))

        return clean_json_handler
