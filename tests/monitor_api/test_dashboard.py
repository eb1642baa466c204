"""The server-rendered dashboard through HTTP: sign-in cookie, inbox, actions, alert page,
mention search with facets and chart, customer page, right-to-left Persian."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from monitor_api.security import SESSION_COOKIE, create_api_key
from tests.monitor_api.seed import MINA_FA


@pytest.fixture(autouse=True)
def same_origin(client: TestClient) -> None:
    client.headers["Origin"] = "http://testserver"  # what a browser sends with our own forms


@pytest.fixture
def signed_in(client: TestClient, store: Any, story: Any) -> TestClient:
    _, key = create_api_key(store, "sara-support", ["alerts:read", "alerts:write", "mentions:read", "risk:read"])
    response = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    return client


def test_pages_need_sign_in_and_a_wrong_key_is_refused(client: TestClient, story: Any) -> None:
    response = client.get("/ui/alerts", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/login")
    refused = client.post("/ui/login", data={"key": "bg_nope_nope"})
    assert refused.status_code == 401 and "unknown or revoked" in refused.text


def test_a_key_without_the_page_scope_sees_a_403_page(client: TestClient, store: Any, story: Any) -> None:
    _, key = create_api_key(store, "crm", ["risk:read"])
    client.post("/ui/login", data={"key": key})
    page = client.get("/ui/alerts")
    assert page.status_code == 403 and "alerts:read" in page.text


def test_inbox_lists_the_escalation_with_its_customer(signed_in: TestClient, story: Any) -> None:
    html = signed_in.get("/ui/alerts").text
    assert "Mina Rahimi (gold, C-1042) is calling to share against Sepehr Mobile" in html
    assert 'href="/ui/customers/C-1042"' in html
    assert 'value="acknowledge"' in html


def test_acknowledge_from_the_inbox_changes_the_state(signed_in: TestClient, story: Any, store: Any) -> None:
    response = signed_in.post(f"/ui/alerts/{story['alert']}/action", data={"action": "acknowledge", "back": "/ui/alerts"},
                              follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/alerts")
    assert store.get_alert(story["alert"]).state.value == "acknowledged"
    assert store.get_alert(story["alert"]).timeline[-1].actor == "key:sara-support"
    again = signed_in.post(f"/ui/alerts/{story['alert']}/action", data={"action": "acknowledge"})
    assert "cannot acknowledge" in again.text  # the refusal is shown on the alert page


def test_a_cross_site_form_post_is_refused(signed_in: TestClient, story: Any, store: Any) -> None:
    response = signed_in.post(f"/ui/alerts/{story['alert']}/action", data={"action": "resolve"},
                              headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert store.get_alert(story["alert"]).state.value == "open"


def test_alert_page_shows_why_timeline_chart_and_customer_card(signed_in: TestClient, story: Any) -> None:
    html = signed_in.get(f"/ui/alerts/{story['alert']}").text
    assert "ticket T-881 reopened and unresolved for 9 days" in html
    assert "<svg" in html and "Engagement of @mina_r" in html and "<polyline" in html
    card = html[html.index('class="card customer-card"'):]
    assert "Mina Rahimi" in card and "gold" in card and "T-881" in card and "reopened" in card
    assert f'<p class="text" dir="auto" lang="fa">{MINA_FA}</p>' in html
    assert "connection refused" in html  # the dead delivery's last error


def test_every_user_text_element_is_dir_auto(signed_in: TestClient, story: Any) -> None:
    for url in ("/ui/alerts", f"/ui/alerts/{story['alert']}", "/ui/mentions", "/ui/customers/C-1042"):
        html = signed_in.get(url).text
        for match in re.finditer(r'<p class="text"[^>]*>', html):
            assert 'dir="auto"' in match.group(0), (url, match.group(0))


def test_mention_search_with_facets_and_chart(signed_in: TestClient, story: Any) -> None:
    html = signed_in.get("/ui/mentions", params={"q": '"سپهر موبایل" OR #sepehrfail'}).text
    assert "8 mention(s)" in html  # 2 Persian + Mina's post + 5 copies
    assert 'class="bar-neg"' in html
    facet = re.search(r'href="(/ui/mentions\?[^"]*lang=fa[^"]*)"', html)
    assert facet, "the lang facet links to a filtered search"
    filtered = signed_in.get(facet.group(1).replace("&amp;", "&")).text
    assert "2 mention(s)" in filtered
    bad = signed_in.get("/ui/mentions", params={"q": "(("}).text
    assert "position" in bad


def test_customer_page(signed_in: TestClient, story: Any) -> None:
    html = signed_in.get("/ui/customers/C-1042").text
    assert "Mina Rahimi" in html and "mastodon:mina_r" in html and "critical" in html
    assert "Mentions (2)" in html
    assert signed_in.get("/ui/customers/C-0000").status_code == 404


def test_a_suggested_link_is_confirmed_from_the_customer_page(client: TestClient, store: Any, story: Any) -> None:
    _, key = create_api_key(store, "crm-admin", ["risk:read", "customers:write"])
    client.post("/ui/login", data={"key": key})
    html = client.get("/ui/customers/C-2001").text
    assert 'value="confirm"' in html and "mastodon:reza_k" in html
    response = client.post("/ui/customers/C-2001/links", data={"author_key": "mastodon:reza_k", "decision": "confirm"},
                           follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/customers/C-2001")
    assert store.get_links(crm_id="C-2001")[0].status.value == "confirmed"
    assert 'value="confirm"' not in client.get("/ui/customers/C-2001").text


def test_notification_links_lead_to_the_alert_page(client: TestClient, story: Any) -> None:
    response = client.get(f"/alerts/{story['alert']}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/ui/alerts/{story['alert']}")


def test_sign_out_clears_the_cookie(signed_in: TestClient) -> None:
    response = signed_in.post("/ui/logout", follow_redirects=False)
    assert response.status_code == 303
    assert signed_in.get("/ui/alerts", follow_redirects=False).status_code == 303
