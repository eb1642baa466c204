"""Errors as ``application/problem+json`` (RFC 9457), validation errors with field paths.

Every error the API returns has the same shape: ``type``, ``title``, ``status``, ``detail``
and, for validation errors, ``errors`` — one entry per problem with its location
(``query.limit``, ``body[3].crm_id``) and message.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.query import QueryError
from core.store.port import ConflictError, NotFoundError, SearchTooCostly, StoreError

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://brandguard.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class ProblemField(BaseModel):
    """One invalid input: where (``query.limit``) and what is wrong."""

    loc: str
    msg: str
    type: str = "value_error"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemField] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.kind, self.headers = status, title, detail, kind, headers


def problem_response(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                     instance: str | None = None, errors: list[ProblemField] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSONResponse carrying a problem document with the problem media type."""
    body = Problem(
        type=PROBLEM_TYPE_BASE + kind if kind else "about:blank",
        title=title, status=status, detail=detail, instance=instance, errors=errors or [],
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", 3, "crm_id")`` -> ``body[3].crm_id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [ProblemField(loc=field_path(e.get("loc", ())), msg=e.get("msg", "invalid"), type=e.get("type", "value_error"))
              for e in exc.errors()]
    detail = "; ".join(f"{e.loc}: {e.msg}" for e in errors[:5])
    return problem_response(422, "Invalid request", detail, kind="validation", instance=request.url.path, errors=errors)


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route of ``app`` serves at ``path`` (Starlette's 405 names only one route's)."""
    from fastapi.routing import iter_route_contexts

    methods: set[str] = set()
    for ctx in iter_route_contexts(app.routes):
        regex = getattr(ctx, "path_regex", None)
        if regex is not None and ctx.methods and regex.match(path):
            methods |= set(ctx.methods)
    return sorted(methods)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 413: "Request too large"}
    title = titles.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, title, detail, instance=request.url.path, headers=headers or None)


def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(exc.status, exc.title, exc.detail, kind=exc.kind, instance=request.url.path, headers=exc.headers)


def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
    return problem_response(404, "Not found", str(exc), kind="not-found", instance=request.url.path)


def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(409, "Conflict", str(exc), kind="conflict", instance=request.url.path)


def _bad_query(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(400, "Bad request", str(exc), kind="bad-request", instance=request.url.path)


def _too_costly(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(400, "Search too costly", str(exc), kind="search-too-costly", instance=request.url.path)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal server error", "the error was logged", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to a problem document."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(ApiProblem, _api_problem)  # type: ignore[arg-type]
    app.add_exception_handler(NotFoundError, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(QueryError, _bad_query)
    app.add_exception_handler(SearchTooCostly, _too_costly)
    app.add_exception_handler(StoreError, _bad_query)  # invalid cursors and the like
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": text}
    for code, text in ((400, "Bad request"), (401, "Missing or invalid API key"), (403, "The key lacks a required scope"),
                       (404, "Not found"), (409, "Conflict"), (413, "Request too large"), (422, "Invalid request"),
                       (429, "Too many requests (search rate limit per key)"))
}
