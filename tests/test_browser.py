"""End to end: the real app served by `streamlit run`, driven in Debian's chromium by Playwright.

Playwright never downloads a browser here: it launches the system chromium
through executable_path (the `browser` fixture and `running_app`, in conftest).
`make test` installs chromium when it is missing.
"""

from __future__ import annotations

import os
import shutil
import urllib.request

import pytest

from .conftest import running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(sample_db_path):
    with running_app(sample_db_path) as url:
        yield url


def test_overview_in_a_real_browser(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/?month=2020-04&window=17", wait_until="domcontentloaded")
    flag = page.get_by_text("16 consecutive months below target since January 2019; 16 of the last 17").first
    flag.wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.get_by_text("Measures by provider, April 2020").is_visible()
    assert page.get_by_text("Illustrative sample data.").is_visible()
    assert page.get_by_text("Latest PMR month:").is_visible()
    screenshot = os.environ.get("OPSG_SCREENSHOT")
    page.screenshot(path=screenshot or str(tmp_path / "overview.png"), full_page=True)
    page.close()


def test_the_overview_says_what_is_wrong_above_the_fold(server, browser):
    """The month's counts and the list of what needs attention sit in the first screen, before the matrix,
    and each item leads to its trend."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/?month=2020-04&window=17", wait_until="domcontentloaded")
    heading = page.get_by_role("heading", name="April 2020 at a glance")
    heading.wait_for(timeout=60_000)
    first = page.get_by_role("link", name="PM2 in CSP N: 54.80%, below minimum")
    first.wait_for(timeout=60_000)
    matrix = page.get_by_role("heading", name="Measures by provider, April 2020")
    labels, values = page.locator('[data-testid="stMetricLabel"]'), page.locator('[data-testid="stMetricValue"]')
    values.first.wait_for(timeout=60_000)
    assert labels.count() == values.count() == 4
    assert "Below minimum" in labels.nth(2).inner_text() and values.nth(2).inner_text().strip() == "1"
    metrics = values
    fold = 1000
    for element in (heading, metrics.nth(0), page.get_by_text("Needs attention"), first):
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= fold  # seen without scrolling
    assert first.bounding_box()["y"] < matrix.bounding_box()["y"]
    first.click()
    page.wait_for_url("**/trends?**", timeout=60_000)
    assert "measure=PM2" in page.url and "provider=CSP+N" in page.url
    page.close()


def test_changing_the_month_in_the_browser_updates_flags_and_url(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/?month=2019-10", wait_until="domcontentloaded")
    page.get_by_text("10 consecutive months below target since January 2019").first.wait_for(timeout=60_000)
    assert "month=2019-10" in page.url
    page.close()


def test_follow_an_overview_link_to_trends_change_it_and_download_a_png(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    page.goto(f"{server}/?month=2020-04", wait_until="domcontentloaded")
    link = page.locator("table.opsg-matrix a[href*='measure=PM2'][href*='provider=CSP+N']")
    link.first.wait_for(timeout=60_000)
    link.first.click()
    page.wait_for_url("**/trends?**", timeout=60_000)
    assert "measure=PM2" in page.url and "provider=CSP+N" in page.url

    title = page.locator(".vega-embed svg text", has_text="PM2: Category 1 firmware payloads within TRT")
    title.first.wait_for(timeout=60_000)
    panels = page.locator(".vega-embed svg text", has_text="CSP C&S")
    assert panels.count() == 0

    # Add CSP C&S: the chart gains a panel and the URL follows.
    page.get_by_text("Providers").first.wait_for()
    providers = page.locator("[data-testid='stMultiSelect']").nth(1)
    providers.click()
    page.get_by_role("option", name="CSP C&S").click()
    page.keyboard.press("Escape")
    page.locator(".vega-embed svg text", has_text="CSP C&S").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => window.location.search.includes('CSP+C%26S') || window.location.search.includes('CSP%20C%26S')",
        timeout=30_000,
    )

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="Download PNG").first.click()
    download = download_info.value
    assert download.suggested_filename.endswith("_PM2_CSP-N_CSP-CandS.png")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    content = target.read_bytes()
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) > 50_000
    page.close()


def test_a_shared_link_as_the_first_request_of_a_new_server(sample_db_path, browser, tmp_path):
    """Streamlit runs a deep-linked page file on its own until app.py has run once; the app must not."""
    # Its own copy: the module's other server holds the sample database (an app holds its file read-write).
    database = tmp_path / "opsg.duckdb"
    shutil.copy(sample_db_path, database)
    with running_app(database) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/trends?measure=PM2&provider=CSP+N&from=2020-01&to=2020-06", wait_until="domcontentloaded")
        page.locator(".vega-embed svg text", has_text="PM2: Category 1 firmware payloads within TRT").first.wait_for(
            timeout=60_000
        )
        assert page.get_by_text("Latest PMR month:").is_visible()  # the shared sidebar: app.py ran
        assert page.get_by_text("Illustrative sample data.").is_visible()
        nav = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
        assert [n.split()[-1] for n in nav][:2] == ["Overview", "Trends"]
        assert "from=2020-01" in page.url
        page.close()


def test_an_annotation_that_cannot_be_printed_never_stops_the_server(sample_db_path, browser, tmp_path):
    """The hostile-input review's worst case: one U+FFFF in an annotation, then Download PNG killed the
    server for every user. Written straight into the database (as a file loaded before the rule would
    leave it): the chart still downloads and the server still answers."""
    from opsg_metrics.store import connect as db

    database = tmp_path / "poisoned.duckdb"
    shutil.copy(sample_db_path, database)
    con = db.connect(database)
    con.execute("UPDATE annotations SET text = text || ' \uffff\x0b'")
    con.close()
    with running_app(database) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        page.goto(
            f"{url}/trends?measure=CPM1&provider=CSP+C%26S&from=2019-01&to=2020-06", wait_until="domcontentloaded"
        )
        page.locator(".vega-embed svg text", has_text="CPM1").first.wait_for(timeout=60_000)
        with page.expect_download(timeout=90_000) as download_info:
            page.get_by_role("button", name="Download PNG").first.click()
        target = tmp_path / "chart.png"
        download_info.value.save_as(target)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
            assert response.status == 200
        page.reload(wait_until="domcontentloaded")
        page.locator(".vega-embed svg text", has_text="CPM1").first.wait_for(timeout=60_000)
        page.close()
