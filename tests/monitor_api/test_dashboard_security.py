"""Dashboard attacks from issue 12 (items 4, 5, 6): stored XSS through crawled links,
framing and sniffing, a cookie that was the API key, and cross-site / origin-less posts."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.domain import Author, Mention, mention_id
from monitor_api.security import SESSION_COOKIE, create_api_key
from tests.monitor_api.seed import BRAND, NOW

ORIGIN = {"Origin": "http://testserver"}
HOSTILE_URLS = ["javascript:alert(document.domain)//", " JaVaScRiPt:alert(document.cookie)",
                "data:text/html,<script>alert(1)</script>"]


def _sign_in(client: TestClient, store: Any, *scopes: str) -> tuple[str, str]:
    key_row, key = create_api_key(store, "sara-support", scopes or ["alerts:read", "alerts:write", "mentions:read", "risk:read"])
    response = client.post("/ui/login", data={"key": key}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303, response.text
    return key, response.cookies[SESSION_COOKIE]


# ---------------------------------------------------------------- sessions


def test_the_cookie_is_a_session_id_scoped_to_ui_not_the_key(client: TestClient, store: Any, story: Any) -> None:
    key, session = _sign_in(client, store)
    assert session != key and key not in session and "bg_" not in session
    set_cookie = client.post("/ui/login", data={"key": key}, headers=ORIGIN, follow_redirects=False).headers["set-cookie"]
    assert "Path=/ui" in set_cookie and "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    assert "Max-Age=43200" in set_cookie  # api.session_hours, also enforced by the server
    assert client.get("/ui/alerts").status_code == 200
    # The session id is not an API key, and /v1 never reads the cookie.
    assert client.get("/v1/alerts", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    bare = TestClient(client.app)
    assert bare.get("/v1/alerts", cookies={SESSION_COOKIE: session}).status_code == 401
    assert bare.get("/v1/alerts", cookies={SESSION_COOKIE: key}).status_code == 401  # nor an old key cookie


def test_the_server_stores_only_the_hash_of_the_session_id(client: TestClient, store: Any, story: Any) -> None:
    _, session = _sign_in(client, store)
    stored = client.app.state.sessions.stored_ids()
    assert session not in stored and hashlib.sha256(session.encode()).hexdigest() in stored


def test_sign_out_kills_the_session_even_if_the_cookie_is_replayed(client: TestClient, store: Any, story: Any) -> None:
    _, session = _sign_in(client, store)
    assert client.post("/ui/logout", headers=ORIGIN, follow_redirects=False).status_code == 303
    replay = TestClient(client.app)
    response = replay.get("/ui/alerts", cookies={SESSION_COOKIE: session}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/login")


def test_expiry_is_enforced_by_the_server(client: TestClient, store: Any, story: Any) -> None:
    now = [datetime.now(timezone.utc)]
    sessions = client.app.state.sessions
    sessions._now = lambda: now[0]
    _, session = _sign_in(client, store)
    replay = TestClient(client.app)
    assert replay.get("/ui/alerts", cookies={SESSION_COOKIE: session}).status_code == 200
    now[0] += sessions.lifetime + timedelta(seconds=1)  # the browser may keep the cookie; the server does not
    response = replay.get("/ui/alerts", cookies={SESSION_COOKIE: session}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"


def test_revoking_the_key_ends_its_sessions(client: TestClient, store: Any, story: Any, admin: dict[str, str]) -> None:
    key, _ = _sign_in(client, store)
    key_id = key.split("_")[1]
    assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code in (200, 204)
    assert client.get("/ui/alerts", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- same origin


@pytest.mark.parametrize("headers", [{}, {"Origin": "null"}, {"Origin": "https://evil.example"},
                                     {"Referer": "https://evil.example/page"}, {"Origin": "http://testserver.evil.example"}])
def test_login_logout_and_actions_need_our_own_origin(client: TestClient, store: Any, story: Any,
                                                      headers: dict[str, str]) -> None:
    _, key = create_api_key(store, "victim", ["alerts:read", "alerts:write", "risk:read", "customers:write"])
    login = client.post("/ui/login", data={"key": key}, headers=headers, follow_redirects=False)
    assert login.status_code == 403 and SESSION_COOKIE not in login.headers.get("set-cookie", "")
    _sign_in(client, store)
    action = client.post(f"/ui/alerts/{story['alert']}/action", data={"action": "resolve"}, headers=headers)
    assert action.status_code == 403 and store.get_alert(story["alert"]).state.value == "open"
    link = client.post("/ui/customers/C-1042/links", data={"author_key": "mastodon:x", "decision": "reject"},
                       headers=headers)
    assert link.status_code == 403
    assert client.post("/ui/logout", headers=headers, follow_redirects=False).status_code == 403
    assert client.get("/ui/alerts").status_code == 200  # still signed in: the forged logout did nothing


def test_a_same_origin_referer_is_enough_without_origin(client: TestClient, store: Any, story: Any) -> None:
    _, key = create_api_key(store, "sara", ["alerts:read"])
    response = client.post("/ui/login", data={"key": key}, headers={"Referer": "http://testserver/ui/login"},
                           follow_redirects=False)
    assert response.status_code == 303


# ---------------------------------------------------------------- headers and links


def test_every_page_sends_the_security_headers(client: TestClient, store: Any, story: Any, admin: dict[str, str]) -> None:
    _sign_in(client, store)
    for path in ["/ui/login", "/ui/alerts", f"/ui/alerts/{story['alert']}", "/ui/mentions?q=sepehr",
                 "/ui/customers/C-1042", "/ui/static/app.js", "/v1/alerts", "/healthz", "/ui/nope", "/openapi.json"]:
        response = client.get(path, headers=admin if path.startswith("/v1") else {})
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        if path.startswith("/ui/") and not path.startswith("/ui/static"):
            assert response.headers["cache-control"] == "no-store", path
    docs = client.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "'sha256-" in csp


def test_pages_carry_no_inline_script(client: TestClient, store: Any, story: Any) -> None:
    _sign_in(client, store)
    for path in ["/ui/alerts", f"/ui/alerts/{story['alert']}", "/ui/mentions", "/ui/customers/C-1042"]:
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_crawled_links_with_other_schemes_are_never_hrefs(client: TestClient, store: Any, story: Any, url: str) -> None:
    hostile = Mention(id=mention_id("forum", "x1"), platform="forum", source="demo-forum", native_id="x1", url=url,
                      text="Sepehr Mobile click here", author=Author(platform="forum", handle="eve", profile_url=url),
                      published_at=NOW - timedelta(minutes=1), crawled_at=NOW, brands=[BRAND])
    store.upsert_mentions([hostile])  # as stored before crawlers filtered links
    _sign_in(client, store)
    html = client.get("/ui/mentions", params={"q": "click"}).text
    assert "Sepehr Mobile click here" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("/", "http://", "https://")) for h in hrefs), hrefs
    assert "javascript" not in html.lower() and "data:text" not in html
    normal = client.get("/ui/mentions", params={"q": "sepehr"}).text
    assert 'href="https://forum.example/@mina_r/' in normal or 'href="https://' in normal  # http(s) still linked


def test_mentions_read_alone_does_not_see_customer_links(client: TestClient, store: Any, story: Any,
                                                         key_for: Any) -> None:
    analyst, crm = key_for("mentions:read"), key_for("mentions:read", "risk:read")
    page = client.get("/v1/mentions", params={"q": "sepehr", "limit": 100}, headers=analyst).json()
    assert page["items"] and all(m.get("customer_id") is None for m in page["items"])
    assert client.get(f"/v1/mentions/{story['mina_en']}", headers=analyst).json().get("customer_id") is None
    assert client.get("/v1/mentions", params={"customer_id": "C-1042"}, headers=analyst).status_code == 403
    assert client.get("/v1/mentions", params={"facets": "customer_id"}, headers=analyst).status_code == 403
    assert client.get(f"/v1/mentions/{story['mina_en']}", headers=crm).json()["customer_id"] == "C-1042"
    _sign_in(client, store, "mentions:read")
    assert "C-1042" not in client.get("/ui/mentions", params={"q": "sepehr"}).text
