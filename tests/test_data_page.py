"""The Data page: revisions and the log under AppTest; uploads, checks and loads in a real browser."""

from __future__ import annotations

import shutil

from .conftest import running_app


def test_revisions_and_log_tabs(open_app):
    at = open_app("pages/data.py")
    assert not at.exception
    revisions = at.dataframe[0].value
    assert set(revisions["source"]) == {"PMR April 2020 issue 1", "PMR April 2020 issue 2"}
    cpm1 = revisions[(revisions["measure"] == "CPM1") & (revisions["provider"] == "CSP N")]
    assert list(cpm1["value"]) == [96.76, 97.03] and list(cpm1["current"]) == [False, True]
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "13 figures changed or added by PMR April 2020 issue 2" in captions
    sources = at.dataframe[2].value
    assert {"PMR April 2020 issue 2", "Incident log (illustrative)"} <= set(sources["source"])
    log = at.dataframe[3].value
    assert (log["outcome"] == "loaded").all() and len(log) == len(sources)


def test_upload_check_and_load_in_the_browser(sample_db_path, browser, tmp_path):
    database = tmp_path / "opsg.duckdb"
    shutil.copy(sample_db_path, database)
    good = tmp_path / "pmr-2022-01.csv"
    good.write_text(
        "month,measure,provider,value,note\n2022-01,CPM1,DCC,98.7,first figure of 2022\n"
        "2021-12,CPM1,DCC,98.1,restated\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("month,measure,provider,value\n2022-01,CPM1,DCC,n/a\n")
    with running_app(database) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        page.get_by_text("Load files").first.wait_for(timeout=60_000)

        page.locator("input[type='file']").set_input_files(str(bad))
        page.get_by_text("1 problem: correct the files and upload them again. Nothing has been loaded.").wait_for(
            timeout=60_000
        )
        assert page.get_by_role("button", name="Load 0 files").is_disabled()

        # A fresh session without the bad file (while it is there, nothing can be loaded).
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        page.get_by_text("Load files").first.wait_for(timeout=60_000)
        page.locator("input[type='file']").set_input_files(str(good))
        load = page.get_by_role("button", name="Load 1 file")
        load.wait_for(timeout=60_000)
        assert load.is_enabled()
        page.get_by_text("Revisions this load would make (1)").wait_for(timeout=30_000)
        load.click()
        page.get_by_text("pmr-2022-01.csv: loaded 2 rows").first.wait_for(timeout=60_000)

        # The app's connection sees the new month at once: no restart.
        page.goto(f"{url}/", wait_until="domcontentloaded")
        page.get_by_text("Latest PMR month:").first.wait_for(timeout=60_000)
        page.get_by_text("January 2022").first.wait_for(timeout=60_000)
        page.close()
