"""ui.cache_data / ui.cache_resource: Streamlit's caches, made once per function instead of once per rerun.

A page runs again on every interaction, and its `@...cache_data` lines with it. These tests run a page's
function definition several times, as reruns do (same compiled code, fresh globals), and check that the
cache is one, that a miss calls the latest run's function, and that other functions get other caches.
"""

from __future__ import annotations

import warnings

import pytest

from opsg_metrics.app import ui

PAGE = """
CALLS = []


def load(version, month):
    CALLS.append((version, month))
    return {"version": version, "month": month, "run": RUN}


def other(version, month):
    return ("other", version, month, RUN)
"""


@pytest.fixture
def page_code(tmp_path):
    path = tmp_path / "page_under_test.py"
    path.write_text(PAGE, encoding="utf-8")
    return compile(PAGE, str(path), "exec")


def rerun(code, run: str, decorator, **options) -> dict:
    """One run of the page: its definitions made again in fresh globals, decorated as the page does."""
    scope = {"__name__": "__main__", "RUN": run}
    exec(code, scope)
    scope["load"] = decorator(**options)(scope["load"])
    scope["other"] = decorator(**options)(scope["other"])
    return scope


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No runtime found, using MemoryCacheStorageManager"
        yield


@pytest.mark.parametrize("decorator", [ui.cache_data, ui.cache_resource], ids=["cache_data", "cache_resource"])
def test_reruns_share_one_cached_function_which_calls_the_latest_definition(page_code, decorator):
    first = rerun(page_code, "first", decorator, show_spinner=False, max_entries=4)
    second = rerun(page_code, "second", decorator, show_spinner=False, max_entries=4)
    assert first["load"] is second["load"]
    assert first["other"] is second["other"] and first["other"] is not first["load"]

    # A miss after the second run calls the second run's function: its globals (RUN, CALLS) are that run's.
    assert second["load"]("v1", "2020-04") == {"version": "v1", "month": "2020-04", "run": "second"}
    assert second["CALLS"] == [("v1", "2020-04")] and first["CALLS"] == []
    # A hit, from either run's name for it, does not call again.
    assert first["load"]("v1", "2020-04") == {"version": "v1", "month": "2020-04", "run": "second"}
    assert second["CALLS"] == [("v1", "2020-04")]
    # Other arguments are another entry; the other function is another cache.
    third = rerun(page_code, "third", decorator, show_spinner=False, max_entries=4)
    assert third["load"]("v2", "2020-04")["run"] == "third"
    assert third["other"]("v1", "2020-04") == ("other", "v1", "2020-04", "third")
    first["load"].clear()
    assert third["load"]("v1", "2020-04")["run"] == "third"


def test_other_options_or_another_kind_of_cache_are_other_caches(page_code):
    data = rerun(page_code, "a", ui.cache_data, show_spinner=False, max_entries=4)
    resource = rerun(page_code, "b", ui.cache_resource, show_spinner=False, max_entries=4)
    bigger = rerun(page_code, "c", ui.cache_data, show_spinner=False, max_entries=8)
    assert len({id(data["load"]), id(resource["load"]), id(bigger["load"])}) == 3


def test_cache_data_hands_each_caller_its_own_copy_and_cache_resource_the_same_object(page_code):
    data = rerun(page_code, "a", ui.cache_data, show_spinner=False)
    resource = rerun(page_code, "a", ui.cache_resource, show_spinner=False)
    one, two = data["load"]("copy", "2020-05"), data["load"]("copy", "2020-05")
    assert one == two and one is not two
    assert resource["load"]("same", "2020-05") is resource["load"]("same", "2020-05")


def test_an_edited_function_gets_a_new_cache(tmp_path):
    path = tmp_path / "edited_page.py"
    versions = []
    for body in ("return 1", "return 2"):
        source = f"def load(version):\n    {body}\n"
        path.write_text(source, encoding="utf-8")
        scope = {"__name__": "__main__"}
        exec(compile(source, str(path), "exec"), scope)
        versions.append(ui.cache_data(show_spinner=False)(scope["load"]))
    assert versions[0] is not versions[1]
    assert [versions[0]("v"), versions[1]("v")] == [1, 2]
