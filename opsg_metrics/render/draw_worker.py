"""A chart renderer's worker process: Vega-Lite specs in on standard input, drawn files out on standard output.

Started by opsg_metrics.render.draw as a plain script (`python draw_worker.py`), so that it imports
nothing but vl-convert and never the program that started it. One request at a time:

    request:  4-byte big-endian length, then that many bytes of JSON {"fmt": "png"|"svg"|"pdf",
              "ppi": int, "spec_bytes": n}; then n bytes of the spec as UTF-8 JSON
    response: 1 byte (b"+" for a file, b"!" for an error message), 8-byte big-endian length, the bytes

The worker ends when its standard input closes.
"""

import json
import struct
import sys
from pathlib import Path

FONT_DIRECTORIES = (Path("/usr/share/fonts"),)


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
            if header["fmt"] == "png":
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
