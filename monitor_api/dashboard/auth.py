"""Dashboard sign-in with an API key, kept in an HttpOnly, SameSite=Strict cookie.

Pages call :func:`page_principal` to get the signed-in key (or a redirect to sign in) and
check the scope the page needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from monitor_api.security import SESSION_COOKIE, Principal, authenticate

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE_MAX_AGE = 12 * 3600


class SignInRequired(Exception):
    """The page needs a signed-in key (handled by redirecting to the sign-in page)."""


class ScopeMissing(Exception):
    """The signed-in key lacks the page's scope (handled with a 403 page)."""


def page_principal(request: Request, scope: str) -> Principal:
    """The signed-in key; raises SignInRequired, or ScopeMissing naming the missing scope."""
    principal = authenticate(request.app.state.store, request.cookies.get(SESSION_COOKIE))
    if principal is None:
        raise SignInRequired
    if not principal.has(scope):
        raise ScopeMissing(f"your key lacks the scope {scope!r} needed for this page")
    return principal


def check_same_origin(request: Request) -> None:
    """Refuse a form POST sent from another site (defence in depth on top of SameSite=Strict)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ScopeMissing(f"cross-site form posts are refused (origin {origin})")


def _secure(request: Request) -> bool:
    # Secure cookies need https; a local http dashboard (the demo) still gets HttpOnly + SameSite.
    return request.url.scheme == "https" or request.app.state.settings.environment == "production"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error, "principal": None})


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=300)]) -> Response:
    principal = authenticate(request.app.state.store, key.strip())
    if principal is None:
        return templates.TemplateResponse(request, "login.html", {"error": "That API key is unknown or revoked.",
                                                                   "principal": None}, status_code=401)
    response = RedirectResponse("/ui/", status_code=303)  # the overview (support keys go on to the inbox)
    response.set_cookie(SESSION_COOKIE, key.strip(), max_age=COOKIE_MAX_AGE, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse("/ui/login", status_code=303)


def scope_missing_page(request: Request, exc: ScopeMissing) -> Response:
    return templates.TemplateResponse(request, "error.html", {"message": str(exc), "principal": None}, status_code=403)
