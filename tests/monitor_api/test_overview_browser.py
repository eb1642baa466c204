"""The overview page in a real headless Chromium (Debian's, driven by playwright; no browser
download): sign in, land on the overview, filter to a Persian and to an English brand,
compare the charts' numbers with ``GET /v1/stats/overview``, check right-to-left layout,
download a chart as SVG and PNG and a search as CSV, and refresh in place. Screenshots go
to ``test-artifacts/``."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.config import Settings
from monitor_api.app import create_app
from monitor_api.security import create_api_key
from monitor_api.server import BackgroundServer
from tests.monitor_api.seed import PERSIAN_BRAND, PERSIAN_TAG, seed_persian_brand
from tests.monitor_api.test_browser import ARGS, ARTIFACTS, CHROMIUM

ENGLISH_BRAND = "Sepehr Mobile"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium "
                       "(apt-get install -y chromium) — browser test skipped"),
]


@pytest.fixture
def live(settings: Settings, store: Any, story: Any, clock: Any) -> Iterator[tuple[str, str]]:
    seed_persian_brand(store)
    branded = Settings(data_dir=settings.data_dir, store=settings.store, api=settings.api, brands=[
        {"name": ENGLISH_BRAND, "query": '"sepehr mobile" OR #sepehrfail'},
        {"name": PERSIAN_BRAND, "query": "دیجی‌کالا"},
        {"name": "Arianet", "query": "arianet OR آریانت", "competitor": True},
    ])
    _, key = create_api_key(store, "nasrin-analyst", ["mentions:read", "alerts:read"])
    server = BackgroundServer(create_app(branded, store, clock=clock), "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{server.port}", key
    finally:
        server.stop()


@pytest.fixture
def browser_page(live: Any) -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 1000}, accept_downloads=True)
            yield context.new_page()
        finally:
            browser.close()


def _api(page: Any, base: str, key: str, **params: Any) -> dict[str, Any]:
    response = page.request.get(f"{base}/v1/stats/overview", params=params,
                                headers={"Authorization": f"Bearer {key}"})
    assert response.ok, response.text()
    return response.json()


def _check_numbers_against_api(page: Any, api: dict[str, Any]) -> None:
    volume = api["volume"]
    assert int(page.locator("#kpi-mentions").get_attribute("data-value")) == volume["overall"]["count"]
    assert int(page.locator("#kpi-negative").get_attribute("data-value")) == volume["overall"]["negative"]
    bars = page.locator("#chart-sov g.sov-bar")
    shown = [(bars.nth(i).get_attribute("data-brand"), int(bars.nth(i).get_attribute("data-count")),
              int(bars.nth(i).get_attribute("data-negative"))) for i in range(bars.count())]
    assert shown == [(s["brand"], s["count"], s["negative"]) for s in api["share_of_voice"]]
    series = page.locator("#chart-volume g.series")
    for i in range(series.count()):
        brand = series.nth(i).get_attribute("data-brand")
        expected = next(s for s in volume["brands"] if s["brand"] == brand)
        points = series.nth(i).locator("circle")
        assert points.count() == len(expected["buckets"])
        assert [int(points.nth(j).get_attribute("data-count")) for j in range(points.count())] == \
            [b["count"] for b in expected["buckets"]]
    platforms = page.locator("#chart-platforms g.mix-bar")
    assert [(platforms.nth(i).get_attribute("data-value"), int(platforms.nth(i).get_attribute("data-count")))
            for i in range(platforms.count())] == [(b["value"], b["count"]) for b in api["mix"]["platforms"]]
    rows = page.locator("#ov-threads tbody tr")
    assert [rows.nth(i).get_attribute("data-thread-id") for i in range(rows.count())] == \
        [t["thread_id"] for t in api["threads"]]
    authors = page.locator("#ov-authors tbody tr")
    assert [(authors.nth(i).get_attribute("data-author"), int(authors.nth(i).get_attribute("data-reach")))
            for i in range(authors.count())] == [(a["author_key"], a["reach"]) for a in api["authors"]]
    terms = page.locator("#ov-terms li[data-term]")
    assert [terms.nth(i).get_attribute("data-term") for i in range(terms.count())] == [t["label"] for t in api["terms"]]


def test_overview_in_persian_and_english(live: Any, browser_page: Any) -> None:
    base, key = live
    page = browser_page
    page.goto(f"{base}/ui/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")
    assert page.locator("h1").inner_text() == "Overview"
    _check_numbers_against_api(page, _api(page, base, key, range="7d"))
    page.screenshot(path=str(ARTIFACTS / "20-overview-all-brands.png"), full_page=True)

    # The Persian brand: pick it in the filter form.
    page.check("input[name=range][value='24h']")
    page.select_option("select[name=brand]", PERSIAN_BRAND)
    page.click("#ov-filters button[type=submit]")
    page.wait_for_selector(f"#chart-sov g.sov-bar[data-brand='{PERSIAN_BRAND}']")
    api = _api(page, base, key, range="24h", brand=PERSIAN_BRAND)
    assert api["volume"]["overall"]["count"] == 4 and [t["label"] for t in api["terms"]] == [PERSIAN_TAG]
    # The share of voice still compares the picked brand with the others (marked ▶).
    assert [s["brand"] for s in api["share_of_voice"]] == [ENGLISH_BRAND, PERSIAN_BRAND, "Arianet"]
    assert page.locator(f"#chart-sov g.sov-bar[data-brand='{PERSIAN_BRAND}'] text").first.text_content() == "▶"
    _check_numbers_against_api(page, api)
    label = page.locator(f"#chart-sov g.sov-bar[data-brand='{PERSIAN_BRAND}'] text").nth(1)
    assert label.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert label.text_content() == PERSIAN_BRAND
    term = page.locator("#ov-terms a.term")
    assert term.inner_text() == PERSIAN_TAG
    thread = page.locator("#ov-threads tbody tr a[dir=auto]").first
    assert thread.evaluate("el => getComputedStyle(el).direction") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "21-overview-persian-brand.png"), full_page=True)

    # Charts download as SVG and PNG.
    with page.expect_download() as svg_download:
        page.click("figure[data-chart=sov] a.dl-svg")
    svg = Path(svg_download.value.path()).read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and PERSIAN_BRAND in svg and 'direction="rtl"' in svg
    with page.expect_download() as png_download:
        page.click("figure[data-chart=volume] button.dl-png")
    png = Path(png_download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    (ARTIFACTS / "22-chart-volume-persian.png").write_bytes(png)

    # The refresh swaps the body in place (triggered here by a visibility change instead of a minute's wait).
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#ov-status:text-matches('^Updated')")  # a selector, not a function: CSP forbids eval
    assert page.locator(f"#chart-sov g.sov-bar[data-brand='{PERSIAN_BRAND}']").count() == 1

    # From the emerging term into the search, and the search out as CSV.
    term.click()
    page.wait_for_selector("article.mention")
    assert page.locator("article.mention").count() == 4
    assert page.locator("article.mention p.text").first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    with page.expect_download() as csv_download:
        page.click("a.export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 4 and all(PERSIAN_TAG in r["text"] for r in rows)

    # The English brand over 7 days, with its competitor in the share of voice.
    page.goto(f"{base}/ui/?range=7d&brand={ENGLISH_BRAND.replace(' ', '+')}")
    api = _api(page, base, key, range="7d", brand=ENGLISH_BRAND)
    assert api["volume"]["overall"]["count"] == 9
    _check_numbers_against_api(page, api)
    assert "(competitor)" in page.locator("select[name=brand] option[value=Arianet]").inner_text()
    assert page.locator("#chart-sov g.sov-bar[data-brand=Arianet]").text_content().count("(competitor)") >= 1
    english = page.locator(f"#chart-sov g.sov-bar[data-brand='{ENGLISH_BRAND}'] text").nth(1)
    assert english.evaluate("el => getComputedStyle(el).direction") == "ltr"
    page.screenshot(path=str(ARTIFACTS / "23-overview-english-brand.png"), full_page=True)


def test_support_keys_land_on_their_inbox(live: Any, browser_page: Any, store: Any) -> None:
    base, _ = live
    _, support = create_api_key(store, "sara-support", ["alerts:read", "alerts:write"])
    page = browser_page
    page.goto(f"{base}/ui/login")
    page.fill("#key", support)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/alerts")
    assert page.locator("h1").inner_text() == "Alert inbox"
