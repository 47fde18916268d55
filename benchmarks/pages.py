"""Page rerun times under AppTest, against a floor: a bare page with the same widgets and no queries.

The floor of a page is generated from the page itself: after a real run, every widget it showed (same
kind, label, options and value, in the same order) and every element it drew (the same texts, tables,
HTML and charts, as constants) are written into a script that shows just those, with no query, no cache
lookup and no computation. So the ratio is what our code costs on top of what Streamlit must do anyway to
send that page. Both are timed in the same process, one after the other, as medians of several reruns (a
rerun: Streamlit runs the script again, as on every interaction; the page's caches are warm).

Both are compiled once, as the server does (`compiled_once`): AppTest makes a new script cache on every
run, so each rerun would otherwise compile the script again, with Streamlit's magic rewriting, a cost that
grows with the length of the source (10–25 ms for our pages, 2–5 ms for their floors) and that a served
app pays only on its first run.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
PAGES = ("overview", "trends", "summary", "incidents", "alerts", "operations", "data")


def _walk(node, out: list) -> list:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            out.append(child)
            _walk(child, out)
    return out


TEXT_ELEMENTS = {
    "title",
    "header",
    "subheader",
    "caption",
    "markdown",
    "html",
    "info",
    "warning",
    "success",
    "error",
    "code",
}


def _chart_spec(element) -> dict:
    """A drawn chart's spec with its data back inside (Streamlit sends the datasets beside it, as Arrow)."""
    import json

    import pyarrow as pa

    spec = json.loads(element.proto.spec)
    datasets = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pylist() for d in element.proto.datasets}
    if datasets:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def floor_script(at, payload_path: Path) -> str:
    """A Streamlit script with the same widgets and elements as the page AppTest `at` has just run, its
    texts, tables and charts as constants (pickled to `payload_path`), and nothing else."""
    import pickle

    payload: list = []
    lines = [
        "import pickle, streamlit as st",
        "@st.cache_resource",
        f"def payload():\n    return pickle.load(open({str(payload_path)!r}, 'rb'))",
        "data = payload()",
    ]

    def constant(value) -> str:
        payload.append(value)
        return f"data[{len(payload) - 1}]"

    for i, element in enumerate(_walk(at._tree, [])):
        kind = getattr(element, "type", "")
        label = repr(getattr(element, "label", f"widget {i}"))
        key = repr(f"w{i}")
        if kind in TEXT_ELEMENTS or type(element).__name__.lower() in TEXT_ELEMENTS:
            kind = kind if kind in TEXT_ELEMENTS else type(element).__name__.lower()
            body = getattr(element, "value", None)
            if isinstance(body, str):
                lines.append(f"st.{kind}({constant(body)})")
            continue
        if kind == "dataframe":
            lines.append(f"st.dataframe({constant(element.value)}, hide_index=True)")
            continue
        if kind == "vega_lite_chart":
            lines.append(f"st.vega_lite_chart(spec={constant(_chart_spec(element))}, theme=None)")
            continue
        # Options as the page shows them (formatted), the chosen ones by position.
        if kind == "selectbox" or kind == "radio":
            options = list(element.options)
            index = element.index if element.index is not None else 0
            lines.append(f"st.{kind}({label}, {options!r}, index={index}, key={key})")
        elif kind == "multiselect":
            options = list(element.options)
            default = [options[i] for i in element.indices]
            lines.append(f"st.multiselect({label}, {options!r}, default={default!r}, key={key})")
        elif kind == "select_slider":
            options = list(element.options)
            value = (
                [element.format_func(v) for v in element.value]
                if isinstance(element.value, (list, tuple))
                else element.format_func(element.value)
            )
            value = tuple(value) if isinstance(value, list) else value
            lines.append(f"st.select_slider({label}, {options!r}, value={value!r}, key={key})")
        elif kind == "number_input":
            lines.append(f"st.number_input({label}, value={element.value!r}, key={key})")
        elif kind in ("toggle", "checkbox"):
            lines.append(f"st.{kind}({label}, value={bool(element.value)!r}, key={key})")
        elif kind == "button":
            lines.append(f"st.button({label}, key={key})")
        elif kind == "download_button":
            lines.append(f"st.download_button({label}, data=b'x', key={key})")
        elif kind in ("text_input", "text_area"):
            lines.append(f"st.{kind}({label}, value={element.value!r}, key={key})")
        elif kind == "date_input":
            lines.append(f"st.date_input({label}, key={key})")
        elif kind == "file_uploader" or (
            kind == ""
            and type(element).__name__ == "UnknownElement"
            and getattr(element, "proto", None) is not None
            and element.proto.__class__.__name__ == "FileUploader"
        ):
            lines.append(f"st.file_uploader({label}, key={key})")
    with open(payload_path, "wb") as handle:
        pickle.dump(payload, handle)
    return "\n".join(lines) + "\n"


WIDGETS = (
    "st.selectbox",
    "st.radio",
    "st.multiselect",
    "st.select_slider",
    "st.number_input",
    "st.toggle",
    "st.checkbox",
    "st.button",
    "st.download_button",
    "st.text_input",
    "st.text_area",
    "st.date_input",
    "st.file_uploader",
)


@contextlib.contextmanager
def compiled_once():
    """AppTest runs inside share one script cache, as the runs of a served app do (the server's cache
    lives as long as the server); AppTest would otherwise make a new one for every run."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    with (
        mock.patch.object(app_test, "ScriptCache", lambda: shared),
        mock.patch.object(local_script_runner, "ScriptCache", lambda: shared),
    ):
        yield shared


def widget_count(script: str) -> int:
    return sum(1 for line in script.splitlines() if line.startswith(WIDGETS))


def element_count(script: str) -> int:
    return sum(1 for line in script.splitlines() if line.startswith("st.") and not line.startswith(WIDGETS))


def _time_reruns(at, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return times


def page_times(db_path: str | Path, pages=PAGES, repeats: int = 7, timeout: float = 300) -> list[dict]:
    """For each page: its first run in this process (data caches empty for this database, though Streamlit
    and the modules are loaded), rerun median/min/max, the floor's, and their ratio."""
    from streamlit.testing.v1 import AppTest

    os.environ["OPSG_DB"] = str(db_path)
    results = []
    for page in pages:
        with compiled_once():
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
            start = time.perf_counter()
            at.run()  # the app's first run shows the overview
            cold = time.perf_counter() - start
            if page != "overview":
                start = time.perf_counter()
                at.switch_page(f"pages/{page}.py").run()
                cold = time.perf_counter() - start
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].message}")
            at.run()  # warm: every cache filled
            real = _time_reruns(at, repeats)
        # The floor runs like the app: an entry script that sets the page up and navigates to the page.
        folder = Path(tempfile.mkdtemp(prefix="opsg-floor-"))
        script = floor_script(at, folder / f"{page}.pickle")
        (folder / f"{page}.py").write_text(script, encoding="utf-8")
        (folder / "app.py").write_text(
            "import streamlit as st\n"
            "st.set_page_config(page_title='Floor', layout='wide')\n"
            f"st.navigation([st.Page({page + '.py'!r}, default=True)]).run()\n",
            encoding="utf-8",
        )
        with compiled_once():
            floor = AppTest.from_file(str(folder / "app.py"), default_timeout=timeout)
            floor.run()
            if floor.exception:
                raise RuntimeError(f"floor of {page}: {floor.exception[0].message}\n{script}")
            floor.run()
            bare = _time_reruns(floor, repeats)
        results.append(
            {
                "page": page,
                "cold_s": cold,
                "widgets": widget_count(script),
                "elements": element_count(script),
                "rerun_median_s": statistics.median(real),
                "rerun_min_s": min(real),
                "rerun_max_s": max(real),
                "floor_median_s": statistics.median(bare),
                "floor_min_s": min(bare),
                "floor_max_s": max(bare),
                "ratio": statistics.median(real) / statistics.median(bare),
            }
        )
    return results
