"""Charts as Vega-Lite specs, fast: a chart's frames as rows column by column (frame_records, Altair's
data transformer "opsg"), and Altair's spec without Altair's copies of every panel (spec_of). The print
layout (heading, legend, footer, physical size) is render/layout.py's."""

from __future__ import annotations

import copy
from datetime import date

import altair as alt
import numpy as np
import pandas as pd

from opsg_metrics.render.charts.theme import opsg_theme


def iso(day: object) -> str:
    """A day as the ISO date string specs carry (what vl-convert parses the same everywhere)."""
    return pd.Timestamp(day).strftime("%Y-%m-%d")


MAX_MONTH_TICKS = 8


def month_ticks(first: date, last: date, most: int = MAX_MONTH_TICKS) -> tuple[list[str], str]:
    """The month axis's ticks for first..last and their format: every month, quarter, half year, year or
    two years, whichever gives at most MAX_MONTH_TICKS, on calendar boundaries (January, April, July,
    October for quarters), never past `last`; years labelled '2020', months 'Apr 2020'."""
    first, last = date(first.year, first.month, 1), date(last.year, last.month, 1)
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((s for s in (1, 3, 6, 12, 24, 60) if span / s <= most), 120)
    values, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        index = year * 12 + month - 1
        if index % step == 0:
            values.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not values:  # a span shorter than the step with no boundary in it: its first month
        values = [first]
    return [iso(v) for v in values], ("%Y" if step >= 12 else "%b %Y")


def month_axis(first: date, last: date, *, most: int = MAX_MONTH_TICKS, **options: object) -> alt.Axis:
    """The x axis of every chart over months: regular ticks that do not collide (month_ticks; `most` ticks
    at the most: fewer for a narrow panel)."""
    values, fmt = month_ticks(first, last, most)
    return alt.Axis(values=values, format=fmt, labelAngle=0, labelOverlap="greedy", title=None, **options)


def value_format(unit: str) -> str:
    """The d3 format of a value in tooltips and labels."""
    return ".2f" if unit == "percent" else ",.0f"


def frame_records(frame: pd.DataFrame) -> list[dict] | None:
    """A chart's data frame as the rows Altair's own data transformer makes of it (sanitize_pandas_dataframe,
    then to_dict of records: dates as full ISO strings, NaN and infinities as null, NumPy scalars as Python
    ones), made a column at a time; Altair converts cell by cell (~5 ms a frame, 23 frames in a 3-panel
    trend chart, most of the time an export of a chart never drawn took above vl-convert's own).
    None for a frame with anything this does not convert exactly as Altair would; Altair does those."""
    columns = frame.columns
    if isinstance(columns, (pd.RangeIndex, pd.MultiIndex)) or isinstance(frame.index, pd.MultiIndex):
        return None
    if not all(isinstance(name, str) for name in columns) or len(set(columns)) != len(columns):
        return None
    lists = []
    for name in columns:
        col = frame[name]
        kind = col.dtype.kind
        if kind == "M" and getattr(col.dtype, "tz", None) is None:
            stamps = col.to_numpy()
            seconds = stamps.astype("datetime64[s]")
            valid = ~np.isnat(stamps)
            if (stamps[valid] != seconds[valid]).any():  # sub-second times: Altair's isoformat
                return None
            lists.append(["" if text == "NaT" else text for text in np.datetime_as_string(seconds, unit="s").tolist()])
        elif kind == "f" and isinstance(col.dtype, np.dtype):
            values = col.to_numpy()
            good = np.isfinite(values)
            lists.append(
                values.tolist() if good.all() else [v if ok else None for v, ok in zip(values.tolist(), good.tolist())]
            )
        elif kind in "iub" and isinstance(col.dtype, np.dtype):
            lists.append(col.to_numpy().tolist())
        elif str(col.dtype) in ("str", "string"):
            lists.append(col.to_numpy(dtype=object, na_value=None).tolist())  # missing as None
        elif col.dtype == object:
            values = col.tolist()
            present = col.notna().tolist()
            if any(isinstance(v, np.ndarray) for v in values):
                return None
            lists.append([v if ok else None for v, ok in zip(values, present)])
        else:
            return None
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*lists)] if names else [{} for _ in range(len(frame))]


def to_values(data: object) -> dict:
    """Altair's data transformer, with max rows off: our charts carry their data inline and bound it
    themselves (alert codes folded, ranges chosen), and Altair's 5,000-row guard would refuse a long range
    of a big dataset outright. Pandas frames go through frame_records."""
    if isinstance(data, pd.DataFrame):
        records = frame_records(data)
        if records is not None:
            return {"values": records}
    return alt.vegalite.data.default_data_transformer(data, max_rows=None)


_SPECS: dict[int, tuple] = {}  # id(chart) -> (weak reference to it, its Vega-Lite spec)
TOP_LEVEL_ONLY = ("$schema", "config", "datasets", "autosize", "background", "padding", "usermeta")


_COMPOSED_KEYS = ("vconcat", "hconcat", "concat", "layer")


class _AsBuilt:
    """A composed chart (concat, layer) whose shallow copy keeps its parts as they are.

    Altair's to_dict starts with a shallow copy of each composed chart it meets, and Altair makes a shallow
    copy by running the chart's constructor again, which deep-copies every panel and layer to lift their
    parameters and data (done already when the chart was built): two thirds of the time a 3-panel trend
    chart's spec took. For a chart made by its constructor, running it again changes nothing, so this copy
    takes the parts as they are."""

    def copy(self, deep=True, ignore=None):
        if deep is not False or ignore:
            return super().copy(deep=deep, ignore=ignore)
        return _shell(type(self), self._args, dict(self._kwds))


_AS_BUILT: dict[type, type] = {}


def _shell(cls: type, args: tuple, kwds: dict):
    shell = object.__new__(cls)
    object.__setattr__(shell, "_args", args)  # as SchemaBase.__init__ stores them
    object.__setattr__(shell, "_kwds", kwds)
    return shell


def _composed(chart):
    """The chart's composition (concat and layer charts) as _AsBuilt twins sharing its leaf charts, for
    to_dict; the chart itself (which may be shared) is not changed."""
    if not isinstance(chart, alt.TopLevelMixin) or not any(isinstance(chart._get(k), list) for k in _COMPOSED_KEYS):
        return chart
    cls = type(chart)
    if cls not in _AS_BUILT:
        _AS_BUILT[cls] = type(cls.__name__, (_AsBuilt, cls), {"__module__": cls.__module__})
    kwds = dict(chart._kwds)
    for key in _COMPOSED_KEYS:
        if isinstance(kwds.get(key), list):
            kwds[key] = [_composed(part) for part in kwds[key]]
    return _shell(_AS_BUILT[cls], chart._args, kwds)


def spec_of(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, exactly Altair's to_dict(validate=False) (unvalidated: the test suite
    validates these charts), made once per chart object and without Altair's copies of the whole chart
    (_composed). The spec is shared: do not change it."""
    import weakref

    enable()
    found = _SPECS.get(id(chart))
    if found is not None and found[0]() is chart:
        return found[1]
    spec = _composed(chart).to_dict(validate=False)
    key = id(chart)
    _SPECS[key] = (weakref.ref(chart, lambda _ref, key=key: _SPECS.pop(key, None)), spec)
    return spec


def without_raw_tooltips(spec: dict) -> dict:
    """The spec with a tooltip of nothing on every mark that names none of its own: a browser would show
    such a mark's raw fields (`month_iso`, `level_name`) on hover. Marks with tooltips keep their friendly
    names. A copy: the chart's own spec is shared."""
    out = copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"})

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if "mark" in node and "layer" not in node:
                encoding = node.setdefault("encoding", {})
                if "tooltip" not in encoding:
                    encoding["tooltip"] = {"value": None}
            for key, value in node.items():
                if key != "encoding":
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(out)
    if "datasets" in spec:
        out["datasets"] = spec["datasets"]
    return out


_ENABLED: list[bool] = []


def enable() -> None:
    """Register and turn on the "opsg" theme (theme.py) and data transformer (to_values), once."""
    if _ENABLED:
        return
    alt.theme.register("opsg", enable=True)(opsg_theme)
    alt.data_transformers.register("opsg", to_values)
    alt.data_transformers.enable("opsg")
    _ENABLED.append(True)
