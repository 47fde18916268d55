"""A chart renderer's worker process: Vega-Lite specs in on standard input, drawn files out on standard output.

Started by opsg_metrics.render.draw as a plain script (`python draw_worker.py`), so that it imports
nothing but vl-convert and never the program that started it. One request at a time:

    request:  4-byte big-endian length, then that many bytes of JSON {"fmt": "png"|"svg"|"pdf",
              "ppi": int, "spec_bytes": n, "size": null or {"width_cm", "page_cm": [w, h], "top_cm"}};
              then n bytes of the spec as UTF-8 JSON
    response: 1 byte (b"+" for a file, b"!" for an error message), 8-byte big-endian length, the bytes

With a "size" (a print layout's physical size), the chart is drawn as SVG first and then carries it:
an SVG `width_cm` wide (its height in proportion, its drawing in the viewBox), a PNG of that width at `ppi`,
a PDF page of `page_cm` with the chart centred across it, `top_cm` from its top (centred down it when
`top_cm` is null), shrunk only if it could not fit.

The worker ends when its standard input closes.
"""

import json
import re
import struct
import sys
from pathlib import Path

FONT_DIRECTORIES = (Path("/usr/share/fonts"),)
# vl-convert's SVG root: its size in pixels and the same as its viewBox.
SVG_ROOT = re.compile(r'<svg\b([^>]*?)\swidth="([\d.]+)" height="([\d.]+)" viewBox="[^"]*"')
POINTS_PER_CM = 72 / 2.54


def _sized(svg: str, size: dict, fmt: str, ppi: int, vlc) -> bytes:
    """The chart drawn as `svg`, given its physical size (see the module's notes)."""
    root = SVG_ROOT.search(svg)
    if root is None:
        raise ValueError("the drawn chart has no size")
    drawn_w, drawn_h = float(root[2]), float(root[3])
    width_cm = float(size["width_cm"])
    height_cm = width_cm * drawn_h / drawn_w

    def with_root(attributes: str) -> str:
        return SVG_ROOT.sub(lambda m: f'<svg{m[1]} {attributes} viewBox="0 0 {drawn_w:g} {drawn_h:g}"', svg, count=1)

    if fmt == "svg":
        return with_root(f'width="{width_cm:g}cm" height="{height_cm:.4f}cm"').encode("utf-8")
    if fmt == "png":
        # vl-convert draws ppi / 72 pixels a point: scaled so the picture is width_cm at ppi.
        return vlc.svg_to_png(svg, scale=width_cm / 2.54 * 72 / drawn_w, ppi=ppi)
    page_w, page_h = (float(v) * POINTS_PER_CM for v in size["page_cm"])
    chart_w, chart_h = width_cm * POINTS_PER_CM, height_cm * POINTS_PER_CM
    top = size.get("top_cm")
    room = page_h - 2 * (float(top) * POINTS_PER_CM if top is not None else 0.0)
    if chart_h > room:  # taller than the page allows: fitted, in proportion
        chart_w, chart_h = chart_w * room / chart_h, room
    x = (page_w - chart_w) / 2
    y = float(top) * POINTS_PER_CM if top is not None else (page_h - chart_h) / 2
    inner = with_root(f'x="{x:.3f}" y="{y:.3f}" width="{chart_w:.3f}" height="{chart_h:.3f}"')
    inner = inner[inner.index("<svg") :]
    page = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{page_w:.3f}" height="{page_h:.3f}" viewBox="0 0 {page_w:.3f} {page_h:.3f}">{inner}</svg>'
    )
    return vlc.svg_to_pdf(page)


def _read_exactly(stream, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main() -> int:
    import vl_convert as vlc

    for folder in FONT_DIRECTORIES:
        if folder.is_dir():
            vlc.register_font_directory(str(folder))
    requests, responses = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = _read_exactly(requests, 4)
        if head is None:
            return 0
        header = json.loads(_read_exactly(requests, struct.unpack(">I", head)[0]) or b"{}")
        spec = (_read_exactly(requests, header["spec_bytes"]) or b"").decode("utf-8")
        try:
            if header.get("size"):
                out, mark = _sized(vlc.vegalite_to_svg(spec), header["size"], header["fmt"], header["ppi"], vlc), b"+"
            elif header["fmt"] == "png":
                out, mark = vlc.vegalite_to_png(spec, ppi=header["ppi"]), b"+"
            elif header["fmt"] == "svg":
                out, mark = vlc.vegalite_to_svg(spec).encode("utf-8"), b"+"
            else:
                out, mark = vlc.vegalite_to_pdf(spec), b"+"
        except Exception as exc:  # vl-convert's own errors: a spec it cannot compile
            out, mark = str(exc).encode("utf-8", "replace")[:2000], b"!"
        responses.write(mark + struct.pack(">Q", len(out)) + out)
        responses.flush()


if __name__ == "__main__":
    sys.exit(main())
