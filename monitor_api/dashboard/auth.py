"""Dashboard sign-in: an API key is exchanged for a server-side session (see ``sessions``).

The cookie holds only a random session id (HttpOnly, SameSite=Strict, Path=/ui, Secure on
https or in production). Every state-changing request, sign-in and sign-out included, must
come from our own origin: an ``Origin`` (or, failing that, ``Referer``) naming this site;
a missing, ``null`` or foreign one is refused (403). Pages call :func:`page_principal` to
get the signed-in key (or a redirect to sign in) and check the scope the page needs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from core.links import safe_http_url
from monitor_api.security import SESSION_COOKIE, Principal, authenticate, principal_for_key_id

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["http_url"] = safe_http_url  # crawled links: http(s) only, else no link
COOKIE_PATH = "/ui"


class SignInRequired(Exception):
    """The page needs a signed-in key (handled by redirecting to the sign-in page)."""


class ScopeMissing(Exception):
    """The signed-in key lacks the page's scope (handled with a 403 page)."""


class CrossSiteRequest(ScopeMissing):
    """A state-changing request without our own Origin/Referer (a 403 page)."""


def page_principal(request: Request, scope: str) -> Principal:
    """The signed-in key; raises SignInRequired, or ScopeMissing naming the missing scope."""
    key_id = request.app.state.sessions.key_id(request.cookies.get(SESSION_COOKIE))
    principal = principal_for_key_id(request.app.state.store, key_id) if key_id else None
    if principal is None:
        raise SignInRequired
    if not principal.has(scope):
        raise ScopeMissing(f"your key lacks the scope {scope!r} needed for this page")
    return principal


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def own_origins(request: Request) -> set[str]:
    """The origins this dashboard answers as: the request's own and ``api.public_url``."""
    origins = {_origin_of(str(request.base_url))}
    public_url = request.app.state.settings.api.public_url
    if public_url:
        origins.add(_origin_of(public_url))
    return origins


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request unless its Origin (or Referer) is this site; a
    missing or ``null`` origin is refused too (login CSRF, sandboxed frames)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        origin = _origin_of(referer) if referer else None
    if not origin or origin.lower().rstrip("/") not in own_origins(request):
        raise CrossSiteRequest(f"cross-site or origin-less form posts are refused (origin {origin or 'missing'})")


def _secure(request: Request) -> bool:
    # Secure cookies need https; a local http dashboard (the demo) still gets HttpOnly + SameSite.
    return request.url.scheme == "https" or request.app.state.settings.environment == "production"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error, "principal": None})


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=300)]) -> Response:
    check_same_origin(request)
    principal = authenticate(request.app.state.store, key.strip())
    if principal is None:
        return templates.TemplateResponse(request, "login.html", {"error": "That API key is unknown or revoked.",
                                                                   "principal": None}, status_code=401)
    sessions = request.app.state.sessions
    request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE))  # no session fixation
    response = RedirectResponse("/ui/", status_code=303)  # the overview (support keys go on to the inbox)
    response.set_cookie(SESSION_COOKIE, sessions.create(principal.key_id),
                        max_age=int(sessions.lifetime.total_seconds()), httponly=True, samesite="strict",
                        secure=_secure(request), path=COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    check_same_origin(request)
    request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request))
    return response


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse("/ui/login", status_code=303)


def scope_missing_page(request: Request, exc: ScopeMissing) -> Response:
    return templates.TemplateResponse(request, "error.html", {"message": str(exc), "principal": None}, status_code=403)
