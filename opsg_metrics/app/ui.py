"""Shared Streamlit pieces: the cached connection, the sidebar, the page's URL, charts and downloads.

The pages and their screens (opsg_metrics.app.screens) call these and the plain functions of the other
layers; no SQL or rules here. What a URL asks for is read by opsg_metrics.app.requests (no Streamlit).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import access, serving
from opsg_metrics.app.markup import md_escape  # noqa: F401  (pages and screens escape with ui.md_escape)
from opsg_metrics.queries.overview import DatasetInfo, dataset_info
from opsg_metrics.store import clearance, people
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.connect import data_version, resolve_db_path
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person

if TYPE_CHECKING:
    import altair as alt

    from opsg_metrics.queries.provenance import Provenance


# A page's script runs again on every interaction, and with it every `@st.cache_data` line in it: each
# time Streamlit makes a new cached function, reading the function's source to name its cache (~0.4 ms a
# function, 2-5 ms a rerun for our pages: a third of the Overview's whole rerun). These two make it once
# per function (its file, name and code), as a module-level cache would be, and always call the
# latest run's function, so its globals are that run's. Same arguments as Streamlit's own.
_CACHED_FUNCS: dict[tuple, tuple[list, Callable]] = {}


def _cached(streamlit_decorator, options: dict):
    def decorate(func):
        code = func.__code__
        # Code objects are equal when their bytecode, constants, names and lines are (not their file).
        key = (
            streamlit_decorator.__class__.__name__,
            code.co_filename,
            code.co_qualname,
            code,
            repr(sorted(options.items())),
        )
        entry = _CACHED_FUNCS.get(key)
        if entry is None:
            latest = [func]

            @functools.wraps(func)  # Streamlit names the cache by the source __wrapped__ points to
            def call(*args, **kwargs):
                return latest[0](*args, **kwargs)

            entry = _CACHED_FUNCS[key] = (latest, streamlit_decorator(**options)(call))
        entry[0][0] = func
        return entry[1]

    return decorate


def cache_data(**options: Any) -> Callable[[Callable], Callable]:
    """`st.cache_data(**options)`, made once per function rather than on every run of the page."""
    return _cached(st.cache_data, options)


def cache_resource(**options: Any) -> Callable[[Callable], Callable]:
    """`st.cache_resource(**options)` (for results no caller changes: no copy per rerun), made once."""
    return _cached(st.cache_resource, options)


def _main_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on the newest published snapshot (app/serving.py): every session moves to a newer one at its
    next rerun; when the newest cannot be read the last good one is served, and the page says so."""
    try:
        con, _, warning = serving.served(resolve_db_path())
    except OpsgError as exc:
        st.error(str(exc))
        st.stop()
    if warning:
        st.warning(md_escape(warning))
    return con.cursor()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the app's connection that reads only what the person using the app is cleared to
    see (store/clearance.py); stops the page with a clear error."""
    return clearance.scope(_main_cursor(), person().clearance)


def unscoped() -> duckdb.DuckDBPyConnection:
    """A cursor on the served snapshot reading every source (the people table, for administrators)."""
    return _main_cursor()


def audit_log() -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """The working database, read-only, to read the audit log as it is (app/serving.py)."""
    return serving.audit_log()


def writing(
    level: str | None = None, *, publish: bool = True
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """One write of the database while the app serves (app/serving.py): the working database, briefly, under
    the folder's write lock, then published; scoped to `level` when given. A refusal (a write in progress
    too long) is an OpsgError for the caller to show."""
    return serving.writing(level, publish=publish)


# ------------------------------------------------------------------ who is using the app


def _secrets() -> dict:
    """The app's secrets (.streamlit/secrets.toml) as a plain mapping; empty when there is no such file."""
    try:
        return {name: st.secrets[name] for name in st.secrets}
    except (FileNotFoundError, KeyError, OSError, st.errors.StreamlitSecretNotFoundError):
        return {}
    except Exception:  # noqa: BLE001 - a damaged secrets file: say so rather than serve in local mode
        st.error("The app's secrets (.streamlit/secrets.toml) cannot be read; fix the file and reload.")
        st.stop()


# session id -> (that run's `cursors` dict, the person the run is for): decided once a run (see db_version)
_PEOPLE: dict[str, tuple[dict, Person]] = {}
_deferred = threading.local()  # the person a download made outside a run is for (export_made)


def person() -> Person:
    """The person this run is for, decided by `gate` once a run (app.py calls it first; a page run on its
    own, as under AppTest, calls it here). Outside a run (a download made when clicked), the person of
    the run that offered the download."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        found = getattr(_deferred, "person", None)
        if found is not None:
            return found
        if access.mode_of(_secrets()) == "local":
            return access.local_owner()
        raise OpsgError("no person signed in for this request")
    memo = _PEOPLE.get(ctx.session_id)
    if memo is not None and memo[0] is ctx.cursors:
        return memo[1]
    return gate()


def gate() -> Person:
    """Who this run is for, or a page that says why nobody (sign in, no access yet, a bad configuration)
    and stops. app.py calls it before any page runs."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    secrets = _secrets()
    if access.mode_of(secrets) == "local" and isinstance(st.session_state.get(LOCAL_SESSION), Person):
        # A local session let in once stays let in: its client (this machine) cannot change within it.
        if ctx is not None:
            _PEOPLE[ctx.session_id] = (ctx.cursors, st.session_state[LOCAL_SESSION])
        return st.session_state[LOCAL_SESSION]
    problems = access.config_problems(secrets)
    if problems:
        _closed()
        st.error("OPSG Metrics is configured for sign-in but cannot serve: " + "; ".join(problems) + ".")
        st.stop()
    user = dict(st.user.to_dict())
    user["is_logged_in"] = bool(getattr(st.user, "is_logged_in", False))
    found = access.resolve(_main_cursor(), secrets, user, st.context.ip_address)
    if found.state == "refused":
        _closed()
        st.error(found.message)
        st.stop()
    if found.state == "sign-in":
        _closed()
        st.info("The performance-measure dashboard of the SEC Operations Group. Sign in to see the figures.")
        st.button("Sign in", type="primary", on_click=st.login)
        st.stop()
    if found.state == "no-access":
        if not st.session_state.get("refusal-recorded"):
            serving.record(user.get("email") or user.get("sub") or "", "refused", "no access yet")
            st.session_state["refusal-recorded"] = True
        _closed()
        st.warning(md_escape(found.message))
        st.button("Sign out", on_click=st.logout)
        st.stop()
    if found.state == "signed-in":
        if found.person.subject is None and user.get("sub") and found.person.email:
            with writing() as con:
                people.remember_subject(con, found.person.email, user["sub"])
        if not st.session_state.get("sign-in-recorded"):
            serving.record(found.person.email, "sign-in", f"{found.person.role}, cleared {found.person.clearance}")
            st.session_state["sign-in-recorded"] = True
    if found.state == "local":
        st.session_state[LOCAL_SESSION] = found.person
    if ctx is not None:
        _PEOPLE[ctx.session_id] = (ctx.cursors, found.person)
    return found.person


LOCAL_SESSION = "opsg-local-owner"  # session state: the local owner, once let in


def _closed() -> None:
    """The app's name, and no menu: the pages are not offered to someone who may not see them."""
    st.navigation([st.Page(_closed_page, title="OPSG Metrics", default=True)], position="hidden")
    st.title("OPSG Metrics")


def _closed_page() -> None:  # never run: the gate stops first
    st.stop()


def _who() -> str:
    found = person()
    return found.email or found.shown_name


def record_refusal(action: str) -> None:
    """Record in the audit log that the person's role did not allow `action`."""
    serving.record(_who(), "refused", action)


def refuse(action: str, message: str) -> None:
    """Say that the person's role does not allow `action`, and record the refusal."""
    record_refusal(action)
    st.error(message)


def record_load(result: Any, classification: str) -> None:
    """A load from the Data page in the audit log (loaded, unchanged or rejected)."""
    serving.record(
        _who(),
        "load",
        f"{result.file}: {result.outcome}" + (f" as source '{result.source_label}'" if result.source_label else ""),
        classification=classification,
        detail=result.message,
    )


def exporter() -> str:
    """The name exports of content above WHITE carry ("Exported by NAME on DATE")."""
    return person().shown_name


def signed() -> tuple[str, str]:
    """Who exports and on which day: passed to (and so part of the cache key of) every cached export, whose
    footer names them when the content is above WHITE."""
    return exporter(), date.today().isoformat()


def export_made(
    make: Callable[[], bytes], what: str, classification: str, month: date | None = None
) -> Callable[[], bytes]:
    """A download's `data`: made when the button is clicked, recorded in the audit log then.

    Streamlit calls it in its server's thread, outside this run: it runs as the person of this run (their
    clearance for the reads it makes, their name for the footer), captured now."""
    who = person()

    def made() -> bytes:
        saved = getattr(_deferred, "person", None)
        _deferred.person = who
        try:
            content = make()
        finally:
            _deferred.person = saved
        serving.record(who.email or who.shown_name, "export", what, month=month, classification=classification)
        return content

    return made


_VERSION_MEMO: dict[str, tuple] = {}  # session id -> (that run's cursors dict, data version)


def db_version() -> tuple:
    """The data version: part of every cache key, so a load shows without a restart.

    Asked once per script run (the sidebar and the page both need it): Streamlit gives each run a fresh
    `cursors` dict on its context; holding the dict (not its id, which a later dict could reuse) tells
    this run from the next."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    memo = _VERSION_MEMO.get(ctx.session_id) if ctx is not None else None
    if memo is not None and memo[0] is ctx.cursors:
        return memo[1]
    version = (str(resolve_db_path()), person().clearance, *data_version(cursor()))
    if ctx is not None:
        _VERSION_MEMO[ctx.session_id] = (ctx.cursors, version)
    return version


@st.cache_resource(show_spinner=False, max_entries=8)  # read-only: no copy per rerun
def _dataset_info(version: tuple) -> DatasetInfo:
    return dataset_info(cursor())


def current_dataset() -> DatasetInfo:
    """The dataset's state (latest month, sources, classification), read once per data version."""
    return _dataset_info(db_version())


def sidebar() -> DatasetInfo:
    """The shared sidebar: the sample banner, the latest PMR month, the classification, the database."""
    info = current_dataset()
    with st.sidebar:
        who = person()
        if access.mode_of(_secrets()) == "local":
            st.info(access.LOCAL_BANNER, icon=":material/computer:")
        else:
            st.caption(f"Signed in as **{md_escape(who.shown_name)}** · {who.role} · cleared {LABELS[who.clearance]}")
            st.button("Sign out", on_click=st.logout, key="sign-out")
        if info.has_sample:
            st.warning(words.SAMPLE_BANNER, icon=":material/science:")
        st.caption("Data")
        latest = words.month_label(info.latest_month) if info.latest_month else "none loaded"
        st.markdown(f"Latest PMR month: **{latest}**")
        st.markdown(f"Classification: **{LABELS[info.classification]}**")
        where = f"Database: `{resolve_db_path()}` · " if who.may("manage_people") else ""
        st.caption(f"{where}schema v{info.schema_version} · {info.sources} sources · {info.figures:,} figures")
    return info


_script_run = threading.local()


def app_run_started() -> None:
    """Called by app.py at the start of every script run (each session's run has its own thread)."""
    _script_run.through_app = True


def ensure_app_navigation() -> None:
    """Run the page through app.py even when a shared link is the server's first request.

    Until app.py has called st.navigation once, Streamlit treats an app with a pages/
    folder the old way and runs a deep-linked page file on its own: no sidebar, no
    sample banner, the wrong menu. A page run without app.py switches Streamlit to
    st.navigation and reruns, so app.py serves the same URL properly."""
    if getattr(_script_run, "through_app", False):
        _script_run.through_app = False
        return
    from streamlit.runtime.pages_manager import PagesManager

    if "streamlit.testing.v1.app_test" in sys.modules:
        # Under AppTest, which resets Streamlit's page mode before every run and runs a
        # switched-to page directly by design; a rerun there would only lose widget events.
        return

    PagesManager.uses_pages_directory = False
    st.rerun()


def page_start(title: str) -> tuple[DatasetInfo, tuple]:
    """Title, the stop with advice when nothing is loaded yet, and the data version for cache keys."""
    ensure_app_navigation()
    st.title(title)
    info = current_dataset()
    if info.latest_month is None:
        st.info("No figures loaded yet. Load a PMR with `python -m opsg_metrics ingest FILE`.")
        st.stop()
    return info, db_version()


@st.cache_resource(show_spinner=False, max_entries=256)
def _built_chart(key: tuple, _build):
    return _build()


@st.cache_resource(show_spinner=False, max_entries=256)
def _chart_spec(key: tuple, _build) -> dict:
    """The spec Streamlit is given: the chart's own (unvalidated: the test suite validates these charts; it
    also serves the exports), its datasets already as the Arrow bytes Streamlit would make of them on every
    rerun. Shared between reruns: give Streamlit a copy of the top level (it removes `datasets`)."""
    from opsg_metrics.render.charts.spec import spec_of, without_raw_tooltips

    spec = without_raw_tooltips(spec_of(_built_chart(key, _build)))
    if "datasets" in spec:
        try:
            from streamlit import dataframe_util

            spec["datasets"] = {
                name: dataframe_util.convert_anything_to_arrow_bytes(pd.DataFrame(rows))
                for name, rows in spec["datasets"].items()
            }
        except (ImportError, AttributeError):  # another Streamlit: it converts them itself
            pass
    return spec


def altair(key: tuple, build: Callable[[], alt.TopLevelMixin], *, width: str = "stretch") -> alt.TopLevelMixin:
    """Show an Altair chart built by `build()`, built and turned into its spec once per `key`.

    `key` must hold everything the chart depends on (the data version and every widget value used): a
    rerun with the same key reuses the spec instead of rebuilding the chart and re-validating it, which
    was most of a page's rerun time. Returns the chart (for its exports)."""
    st.vega_lite_chart(spec=dict(_chart_spec(key, build)), theme=None, width=width)
    return _built_chart(key, build)


def chart_downloads(
    key: str,
    file_stem: str,
    make: Callable[[str, str], bytes],
    classification: str = "white",
    month: date | None = None,
) -> None:
    """A print layout to choose and PNG, SVG and PDF buttons for a chart; `make(fmt, layout)` renders only
    when a button is clicked. AMBER or RED charts need an explicit confirmation first."""
    from opsg_metrics.render.files import FORMATS, MEDIA_TYPES
    from opsg_metrics.render.layout import DEFAULT_PRESET, PRESETS

    if not restricted_confirmed(classification, key):
        return
    columns = st.columns([1.6] + [1] * len(FORMATS))
    with columns[0]:
        layout = st.selectbox(
            "Print layout",
            list(PRESETS),
            index=list(PRESETS).index(DEFAULT_PRESET),
            format_func=lambda k: PRESETS[k].label,
            key=f"{key}-layout",
            help="The size the exported chart is laid out for: its text prints at 8 pt or more at that width.",
        )
    for column, fmt in zip(columns[1:], FORMATS):
        with column:
            st.download_button(
                f"Download {fmt.upper()}",
                data=export_made(lambda fmt=fmt: make(fmt, layout), f"{file_stem}.{fmt}", classification, month),
                file_name=f"{file_stem}.{fmt}",
                mime=MEDIA_TYPES[fmt],
                on_click="ignore",
                key=f"{key}-{fmt}",
            )


def chart_with_provenance(
    key: str, stem: str, chart: alt.TopLevelMixin, origin: Provenance, end: date, notes: list[str] | None = None
) -> None:
    """A chart's provenance as a caption and its PNG/SVG/PDF buttons (footer: notes, sources, classification)."""
    from opsg_metrics.render import files as export

    st.caption(md_escape(" · ".join(origin.footer_lines(end))))
    name = exporter()
    chart_downloads(
        key,
        stem,
        lambda fmt, layout: export.export_chart(
            chart, origin, fmt, pmr_month=end, notes=notes, exported_by=name, layout=layout
        ),
        origin.classification,
        end,
    )


from opsg_metrics.app.widgets import month_slider, number_table, table, url_params, warnings  # noqa: E402, F401
from opsg_metrics.store.classification import RESTRICTED  # noqa: E402


def restricted_confirmed(classification: str, key: str) -> bool:
    """For AMBER or RED data, an explicit confirmation before anything can be downloaded."""
    if classification not in RESTRICTED:
        return True
    from opsg_metrics.store.classification import LABELS

    st.warning(
        f"This is classified **{LABELS[classification]}** under the Panel Information Policy. "
        "Exports carry the marking; share them only as the classification allows."
    )
    return st.checkbox(f"I confirm I may export {classification.upper()} data", key=f"confirm-{key}")


def csv_download(label: str, frame: pd.DataFrame, file_name: str, key: str, classification: str) -> None:
    """A CSV download marked with its classification (first line), neutralised, confirmed if restricted."""
    from opsg_metrics.render.csv import csv_bytes

    if restricted_confirmed(classification, key):
        name = exporter()
        # Made when clicked, not on every rerun of the page.
        st.download_button(
            label,
            data=export_made(lambda: csv_bytes(frame, classification, exported_by=name), file_name, classification),
            file_name=file_name,
            mime="text/csv",
            on_click="ignore",
            key=key,
        )
