"""The dashboard in a real headless Chromium (Debian's, driven by playwright; no browser
download): sign in with an API key, find the escalation alert, acknowledge it, see its state
change; a Persian mention renders right-to-left. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from monitor_api.app import create_app
from monitor_api.security import create_api_key
from monitor_api.server import BackgroundServer

from tests.monitor_api.seed import analysis_unavailable

ANALYSIS_UNAVAILABLE = analysis_unavailable()
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium "
                       "(apt-get install -y chromium) — browser test skipped"),
]


@pytest.fixture
def live(settings: Any, store: Any, story: Any, clock: Any) -> Iterator[tuple[str, str]]:
    _, key = create_api_key(store, "sara-support", ["alerts:read", "alerts:write", "mentions:read", "risk:read"])
    server = BackgroundServer(create_app(settings, store, clock=clock), "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{server.port}", key
    finally:
        server.stop()


@pytest.fixture
def page(live: Any) -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def test_sign_in_find_the_escalation_and_acknowledge_it(live: Any, page: Any, story: Any) -> None:
    base, key = live
    page.goto(f"{base}/ui/alerts")
    assert page.url.endswith("/ui/login")
    page.screenshot(path=str(ARTIFACTS / "01-sign-in.png"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")  # analysts land on the overview
    page.goto(f"{base}/ui/alerts")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["bg_session"]["httpOnly"] is True
    assert page.evaluate("document.cookie") == ""  # the key is not readable by scripts
    row = page.locator(f"li[data-alert-id='{story['alert']}']")
    assert "Mina Rahimi (gold, C-1042)" in row.inner_text()
    assert row.locator(".badge.state").inner_text() == "open"
    page.screenshot(path=str(ARTIFACTS / "02-inbox.png"), full_page=True)

    row.locator("a.title").click()
    page.wait_for_url(f"{base}/ui/alerts/{story['alert']}")
    assert page.locator("#alert-state").inner_text() == "open"
    assert page.locator("svg.chart polyline").count() >= 1
    assert "T-881" in page.locator(".customer-card").inner_text()
    persian = page.locator(f"article[data-mention-id='{story['mina_fa']}'] p.text")
    assert persian.get_attribute("dir") == "auto"
    assert persian.evaluate("el => getComputedStyle(el).direction") == "rtl"
    english = page.locator(f"article[data-mention-id='{story['mina_en']}'] p.text")
    assert english.evaluate("el => getComputedStyle(el).direction") == "ltr"
    page.screenshot(path=str(ARTIFACTS / "03-alert-before-ack.png"), full_page=True)

    page.click("button[value=acknowledge]")
    page.wait_for_selector("#alert-state[data-state=acknowledged]")
    assert page.locator("#alert-state").inner_text() == "acknowledged"
    assert "acknowledge by key:sara-support" in page.locator(".timeline").inner_text()
    page.screenshot(path=str(ARTIFACTS / "04-alert-acknowledged.png"), full_page=True)

    page.goto(f"{base}/ui/alerts")
    assert page.locator(f"li[data-alert-id='{story['alert']}'] .badge.state").inner_text() == "acknowledged"


def test_mention_search_and_customer_page_render(live: Any, page: Any, story: Any) -> None:
    base, key = live
    page.goto(f"{base}/ui/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")
    page.goto(f"{base}/ui/mentions")
    page.fill("input[name=q]", '"سپهر موبایل"')
    page.click("form.search button[type=submit]")
    page.wait_for_selector("article.mention")
    texts = page.locator("article.mention p.text")
    assert texts.count() == 2
    assert all(texts.nth(i).evaluate("el => getComputedStyle(el).direction") == "rtl" for i in range(2))
    assert page.locator("svg.chart rect.bar").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "05-mentions-persian.png"), full_page=True)
    page.goto(f"{base}/ui/customers/C-1042")
    assert "Mina Rahimi" in page.locator("h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "06-customer.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.skipif(ANALYSIS_UNAVAILABLE is not None, reason=str(ANALYSIS_UNAVAILABLE))
def test_the_demo_escalation_is_acknowledged_in_the_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from monitor_api.demo import Demo

    demo = Demo(tmp_path / "demo", "127.0.0.1", 0, step_seconds=0, echo=lambda line: None)
    runner = threading.Thread(target=demo.run, kwargs={"exit_when_done": False}, daemon=True)
    runner.start()
    try:
        assert demo.story_done.wait(600), "the demo story did not finish in 10 minutes"
        assert demo.result is not None and demo.result.escalation is not None, "no alert linked to C-1042"
        alert = demo.result.escalation
        base = demo.result.dashboard_url.rsplit("/ui/", 1)[0]
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/ui/login")
            page.fill("#key", demo.result.api_key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/ui/")
            page.goto(f"{base}/ui/alerts")
            row = page.locator(f"li[data-alert-id='{alert.id}']")
            assert "C-1042" in row.inner_text()
            page.screenshot(path=str(ARTIFACTS / "10-demo-inbox.png"), full_page=True)
            row.locator("a.title").click()
            page.click("button[value=acknowledge]")
            page.wait_for_selector("#alert-state[data-state=acknowledged]")
            assert "Mina Rahimi" in page.locator(".customer-card").inner_text()
            persian = page.locator("article.mention p.text[lang=fa]")
            if persian.count():
                assert persian.first.evaluate("el => getComputedStyle(el).direction") == "rtl"
            page.screenshot(path=str(ARTIFACTS / "11-demo-alert-acknowledged.png"), full_page=True)
            browser.close()
    finally:
        demo.stop_event.set()
        runner.join(timeout=60)
