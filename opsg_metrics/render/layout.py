"""Print layouts: an exported chart laid out for the physical size it will be printed at.

A preset names a width on paper (A4 text width, 16 cm, the default; A4 landscape, 25 cm; a 16:9 slide) and
the page a PDF of it fills. For a preset, `print_spec` lays the chart out at that width, in a drawing where
one pixel is 1/96 inch at the preset's width (0.75 pt), and the renderer (draw.py) gives the file that
physical size:

- at the top, the classification in capitals, then a title that says what the chart shows and a subtitle
  (measure, provider, period);
- the legend under the title, listing only the symbols the chart draws;
- the plot filling the width: every panel as wide as the width less its y axis, whose labels take a fixed
  room measured from the values drawn, so panels stacked on one another line up;
- no text smaller than MIN_FONT_PX (8.25 pt at the preset's width; the title at 12.75 pt);
- the footer wrapped to the width (notes, the annotations key, sources, PMR month, sample notice,
  classification), then the classification in capitals again;
- the panels' heights fitted so the whole chart stands on the preset's page (a slide fills its frame).

This is the only place that knows about paper; the charts on screen are drawn by the same chart builders.
"""

from __future__ import annotations

import copy
import math
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from opsg_metrics.render.draw import PRINT_SIZE_KEY
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.errors import OpsgError

PX_PER_CM = 96 / 2.54
PT_PER_PX = 0.75
MIN_FONT_PX = 11.0  # 8.25 pt
TEXT_PX = 12.0  # 9 pt: axes, legends, footers, panel titles
TITLE_PX = 17.0  # 12.75 pt
LINE_HEIGHT = 1.3
# DejaVu Sans (the charts' font) averages well under 0.6 em a character in English text: wrapping at this
# width never runs a line past the edge.
CHAR_EM = 0.57
DIGIT_EM = 0.64  # a digit or a comma of DejaVu Sans, generously
SPACING_PX = 10
AXIS_TITLE_ROOM = TEXT_PX * 1.25 + 6  # a y axis's title, turned on its side, and its padding
X_AXIS_ROOM = 2 * TEXT_PX + 10  # the x axis's labels (and the panel's top) under and over each plot
LEGEND_CHANNELS = ("color", "fill", "stroke", "shape", "strokeDash", "opacity", "size")


@dataclass(frozen=True)
class Preset:
    """A physical width to lay a chart out for, and the page a PDF of it fills."""

    key: str
    label: str
    width_cm: float
    page_cm: tuple[float, float]
    top_cm: float | None  # the chart's distance from the page's top; None: centred on the page (a slide)
    height_cm: float | None = None  # a frame to fill exactly (a slide); None: as tall as the chart needs

    @property
    def width_px(self) -> float:
        return self.width_cm * PX_PER_CM

    @property
    def room_px(self) -> float:
        """How tall the chart may be on its page."""
        if self.height_cm is not None:
            return self.height_cm * PX_PER_CM
        return (self.page_cm[1] - 2 * (self.top_cm or 0.0)) * PX_PER_CM

    def size(self) -> dict:
        """The physical size the renderer gives the file."""
        return {"width_cm": self.width_cm, "page_cm": list(self.page_cm), "top_cm": self.top_cm}


PRESETS = {
    "a4": Preset("a4", "A4 text width (16 cm)", 16.0, (21.0, 29.7), 2.5),
    "a4-landscape": Preset("a4-landscape", "A4 landscape (25 cm)", 25.0, (29.7, 21.0), 2.0),
    "slide": Preset("slide", "Slide (16:9, 24 cm)", 24.0, (25.4, 14.2875), None, 13.5),
}
DEFAULT_PRESET = "a4"


def preset(key: str | None) -> Preset:
    """The preset called `key` (None: the default); OpsgError naming the presets for any other."""
    found = PRESETS.get(key or DEFAULT_PRESET)
    if found is None:
        raise OpsgError(f"unknown print layout '{key}' (use {', '.join(PRESETS)})")
    return found


@dataclass(frozen=True)
class Heading:
    """What a printed chart says at its top: a title saying what it shows, and a subtitle (measure, provider,
    period)."""

    title: str
    subtitle: str = ""


def heading_of(spec: dict) -> Heading:
    """The heading a chart's own title gives (its text and subtitle), for charts without a better one."""
    title = spec.get("title")

    def joined(value: object) -> str:
        return " ".join(value) if isinstance(value, list) else str(value or "")

    if isinstance(title, dict):
        return Heading(joined(title.get("text")), joined(title.get("subtitle")))
    return Heading(joined(title))


def wrap(text: str, width_px: float, font_px: float = TEXT_PX) -> list[str]:
    """`text` as lines that fit `width_px` at `font_px`."""
    chars = max(20, int(width_px / (font_px * CHAR_EM)))
    return textwrap.wrap(text, chars, break_long_words=True, break_on_hyphens=False) or [""]


def printed_text(spec: dict, part: str) -> list[str]:
    """The lines of a print spec's heading ('heading') or footer ('footer'), as laid out (wrapped)."""
    block = spec["vconcat"][0 if part == "heading" else -1]
    return [layer["mark"]["text"] for layer in block["layer"]]


# ------------------------------------------------------------------------------------------ the parts


def _text_block(lines: list[tuple[str, float, str, str]], width: float, left: float) -> dict:
    """Lines of text (text, font px, weight, colour), one under another, as a view `width` wide whose text
    starts `left` px before its origin (where the panels' y axes start: stacked views line up on their plots)."""
    layers, y = [], 0.0
    for line, size, weight, colour in lines:
        layers.append(
            {
                "data": {"values": [{}]},
                "mark": {
                    "type": "text",
                    "text": line,
                    "x": -left,
                    "y": y,
                    "align": "left",
                    "baseline": "top",
                    "fontSize": size,
                    "fontWeight": weight,
                    "color": colour,
                    "limit": 0,
                },
            }
        )
        y += size * LINE_HEIGHT
    return {"layer": layers, "width": max(1.0, width - left), "height": max(1.0, y), "view": {"stroke": None}}


def _walk(node: object) -> Iterator[dict]:
    """Every dict of a spec tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _rows_of(spec: dict, node: dict) -> list[dict]:
    data = node.get("data")
    if isinstance(data, dict):
        if "values" in data and isinstance(data["values"], list):
            return [r for r in data["values"] if isinstance(r, dict)]
        if "name" in data:
            return [r for r in spec.get("datasets", {}).get(data["name"], []) if isinstance(r, dict)]
    return []


def present_values(spec: dict) -> dict[str, set]:
    """Every field's values in the data the spec draws (its datasets and inline values)."""
    values: dict[str, set] = {}
    rows = [r for dataset in spec.get("datasets", {}).values() for r in dataset if isinstance(r, dict)]
    rows += [r for node in _walk({k: v for k, v in spec.items() if k != "datasets"}) for r in _rows_of({}, node)]
    for row in rows:
        for field, value in row.items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                values.setdefault(field, set()).add(value)
    return values


def _legend_encodings(spec: dict, *, shown_only: bool = False) -> Iterator[dict]:
    """Every encoding of a field on a channel that draws a legend (with `shown_only`, only those whose legend
    is not turned off)."""
    for node in _walk(spec):
        encoding = node.get("encoding")
        if not isinstance(encoding, dict):
            continue
        for channel in LEGEND_CHANNELS:
            enc = encoding.get(channel)
            if isinstance(enc, dict) and "field" in enc and not (shown_only and enc.get("legend", {}) is None):
                yield enc


def _legend_only_drawn(spec: dict) -> None:
    """Each legend's scale narrowed to the values the chart draws; a legend with none of them is dropped."""
    present = present_values(spec)
    for enc in _legend_encodings(spec):
        scale = enc.get("scale")
        domain = scale.get("domain") if isinstance(scale, dict) else None
        if not isinstance(domain, list):
            continue
        drawn = present.get(str(enc["field"]).split(":")[0], set())
        keep = [i for i, value in enumerate(domain) if value in drawn]
        scale["domain"] = [domain[i] for i in keep]
        if isinstance(scale.get("range"), list) and len(scale["range"]) == len(domain):
            scale["range"] = [scale["range"][i] for i in keep]
        if not keep:
            enc["legend"] = None


def _label_room(spec: dict) -> float:
    """The room a y axis's labels need: the longest value drawn on one, formatted with thousands."""
    present = present_values(spec)
    longest = 3
    for node in _walk(spec):
        encoding = node.get("encoding")
        y = encoding.get("y") if isinstance(encoding, dict) else None
        if not isinstance(y, dict) or y.get("axis", {}) is None or y.get("type") != "quantitative":
            continue
        field = str(y.get("field", "")).split(":")[0]
        numbers = [abs(v) for v in present.get(field, ()) if isinstance(v, (int, float)) and math.isfinite(v)]
        domain = (y.get("scale") or {}).get("domain") if isinstance(y.get("scale"), dict) else None
        if isinstance(domain, list):
            numbers += [abs(v) for v in domain if isinstance(v, (int, float))]
        if numbers:
            longest = max(longest, len(f"{max(numbers):,.0f}") + (1 if max(numbers) < 10 else 0))
    return longest * TEXT_PX * DIGIT_EM + 8  # and the ticks


def _is_view(node: dict) -> bool:
    return ("mark" in node or "layer" in node) and not any(k in node for k in ("vconcat", "hconcat", "concat"))


def _has_y_axis(view: dict) -> bool:
    for node in _walk(view):
        encoding = node.get("encoding")
        y = encoding.get("y") if isinstance(encoding, dict) else None
        if isinstance(y, dict) and y.get("axis", {}) is not None and "field" in y:
            return True
    return False


def _fit_width(node: dict, room: float, axis: float) -> None:
    """Views made as wide as `room` allows, their y axes `axis` wide."""
    spacing = node.get("spacing", SPACING_PX) if isinstance(node.get("spacing"), (int, float)) else SPACING_PX
    if "vconcat" in node:
        for child in node["vconcat"]:
            _fit_width(child, room, axis)
    elif "hconcat" in node:
        parts = node["hconcat"]
        for child in parts:
            _fit_width(child, (room - spacing * (len(parts) - 1)) / max(1, len(parts)), axis)
    elif "concat" in node:
        columns = node.get("columns") or len(node["concat"])
        for child in node["concat"]:
            _fit_width(child, (room - spacing * (columns - 1)) / max(1, columns), axis)
    elif _is_view(node):
        y_axis = _has_y_axis(node)
        node["width"] = max(60.0, room - (axis + AXIS_TITLE_ROOM if y_axis else 0) - 4)
        for inner in _walk(node):
            encoding = inner.get("encoding")
            y = encoding.get("y") if isinstance(encoding, dict) else None
            if isinstance(y, dict) and y.get("axis", {}) is not None and "field" in y:
                y["axis"] = {**(y.get("axis") or {}), "minExtent": axis, "maxExtent": axis}


def _heights(node: dict) -> tuple[float, float]:
    """(room fixed by text and axes, room of the plots that may grow or shrink) of a stack of views."""
    spacing = node.get("spacing", SPACING_PX) if isinstance(node.get("spacing"), (int, float)) else SPACING_PX
    if "vconcat" in node:
        parts = [_heights(child) for child in node["vconcat"]]
        return sum(p[0] for p in parts) + spacing * (len(parts) - 1), sum(p[1] for p in parts)
    if "hconcat" in node or "concat" in node:
        children = node.get("hconcat") or node.get("concat")
        columns = node.get("columns") or len(children)
        rows = [children[i : i + columns] for i in range(0, len(children), columns)]
        fixed = plots = 0.0
        for row in rows:
            parts = [_heights(child) for child in row]
            fixed += max(p[0] for p in parts)
            plots += max(p[1] for p in parts)
        return fixed + spacing * (len(rows) - 1), plots
    height = node.get("height") if isinstance(node.get("height"), (int, float)) else 0.0
    title = node.get("title")
    title_lines = 0 if title is None else 1 + (1 if isinstance(title, dict) and title.get("subtitle") else 0)
    return X_AXIS_ROOM + title_lines * TEXT_PX * LINE_HEIGHT + 4, float(height)


def _scale_heights(node: dict, factor: float) -> None:
    for inner in _walk(node):
        if _is_view(inner) and isinstance(inner.get("height"), (int, float)):
            inner["height"] = max(40.0, inner["height"] * factor)


def _fonts_at_least(node: dict) -> None:
    """Every font size of the spec at least TEXT_PX (so none prints below 8 pt)."""
    for inner in _walk(node):
        for key, value in list(inner.items()):
            if key.lower().endswith("fontsize") and isinstance(value, (int, float)) and value < TEXT_PX:
                inner[key] = TEXT_PX


PRINT_CONFIG = {
    "title": {"fontSize": TEXT_PX + 1, "subtitleFontSize": TEXT_PX},
    "axis": {"labelFontSize": TEXT_PX, "titleFontSize": TEXT_PX, "labelOverlap": True},
    "legend": {
        "labelFontSize": TEXT_PX,
        "titleFontSize": TEXT_PX,
        "orient": "top",
        "direction": "horizontal",
        "labelLimit": 0,
        "symbolSize": 90,
    },
    "header": {"labelFontSize": TEXT_PX, "titleFontSize": TEXT_PX},
    "text": {"fontSize": TEXT_PX},
}


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _legend_columns(body: dict, width: float) -> None:
    """Legends laid out in columns so that together they fit the width: Vega sets legends at the top side
    by side, so each gets a share of the width in proportion to what it lists."""
    present = present_values(body)
    legends = []
    for enc in _legend_encodings(body, shown_only=True):
        scale = enc.get("scale") if isinstance(enc.get("scale"), dict) else {}
        labels = scale.get("domain") or sorted(map(str, present.get(str(enc["field"]).split(":")[0], ())))
        if labels:
            entry = max(len(str(label)) for label in labels) * TEXT_PX * CHAR_EM + 34
            legends.append((enc, len(labels), entry))
    # Channels sharing a field (shape and colour of one mark) make one legend: count it once.
    distinct = {}
    for enc, count, entry in legends:
        distinct.setdefault(str(enc["field"]), (count, entry))
    total = sum(count * entry for count, entry in distinct.values()) or 1.0
    for enc, count, entry in legends:
        share = width * (count * entry) / total if total > width else width
        legend = dict(enc.get("legend") or {})
        legend["columns"] = max(1, min(count, int(share // entry)))
        legend.setdefault("title", None)
        enc["legend"] = legend


_MADE: dict[tuple, tuple[dict, dict]] = {}  # the last print specs made: key -> (the chart's spec, the print spec)
_MADE_MOST = 32


def print_spec(
    spec: dict,
    layout: Preset,
    heading: Heading,
    footer_lines: list[str],
    classification: str,
) -> dict:
    """A chart's spec laid out for `layout` (see the module's notes). `spec` is not changed. The same chart
    exported again (PNG, then SVG) reuses the layout made the first time. The result is shared: do not change
    it."""
    key = (id(spec), layout.key, heading, tuple(footer_lines), classification)
    made = _MADE.get(key)
    if made is not None and made[0] is spec:
        return made[1]
    out = _laid_out(spec, layout, heading, footer_lines, classification)
    if len(_MADE) >= _MADE_MOST:
        _MADE.pop(next(iter(_MADE)))
    _MADE[key] = (spec, out)
    return out


def _laid_out(
    spec: dict,
    layout: Preset,
    heading: Heading,
    footer_lines: list[str],
    classification: str,
) -> dict:
    width = layout.width_px
    inner_width = width - 8  # the drawing's padding
    body = copy.deepcopy({k: v for k, v in spec.items() if k not in ("$schema", "config", "datasets", "usermeta")})
    body.pop("title", None)
    body["datasets"] = spec.get("datasets", {})
    _legend_only_drawn(body)
    axis = _label_room(body)
    _fit_width(body, inner_width, axis)
    left = axis + AXIS_TITLE_ROOM if any(_is_view(n) and _has_y_axis(n) for n in _walk(body)) else 0.0
    _fonts_at_least(body)
    _legend_columns(body, inner_width)

    marking = LABELS[classification].upper()
    top = [(marking, TEXT_PX, "bold", "#000000")]
    top += [(line, TITLE_PX, "bold", "#000000") for line in wrap(heading.title, inner_width, TITLE_PX)]
    if heading.subtitle:
        top += [
            (line, TEXT_PX + 0.5, "normal", "#333333") for line in wrap(heading.subtitle, inner_width, TEXT_PX + 0.5)
        ]
    bottom = [(line, TEXT_PX, "normal", "#222222") for text in footer_lines for line in wrap(text, inner_width)]
    bottom.append((marking, TEXT_PX, "bold", "#000000"))
    header, footer = _text_block(top, inner_width, left), _text_block(bottom, inner_width, left)

    # The plots' heights: the whole on its page (or filling a slide's frame).
    legends = next(_legend_encodings(body, shown_only=True), None) is not None
    legend_room = 2 * TEXT_PX * LINE_HEIGHT + 10 if legends else 0.0
    fixed, plots = _heights(body)
    room = layout.room_px - header["height"] - footer["height"] - legend_room - fixed - 3 * SPACING_PX - 8
    if plots > 0:
        factor = room / plots
        factor = min(factor, 2.5) if layout.height_cm is not None else min(factor, 1.0)
        _scale_heights(body, max(0.3, factor))

    datasets = body.pop("datasets")
    config = _merged(spec.get("config", {}), PRINT_CONFIG)
    out = {
        "$schema": spec.get("$schema", "https://vega.github.io/schema/vega-lite/v6.json"),
        "config": config,
        "vconcat": [header, body, footer],
        "spacing": SPACING_PX,
        "padding": 4,
        "background": "white",
        # The body's legends stay with the body (under the heading), not above the whole drawing.
        "resolve": {"scale": {c: "independent" for c in LEGEND_CHANNELS}},
        "usermeta": {PRINT_SIZE_KEY: layout.size()},
    }
    if datasets:
        out["datasets"] = datasets
    return out
