"""Text to check, read from what the secretariat has: plain text, Markdown or a Word document (.docx).

One rule for every way in (the command's files, the page's upload): at most MAX_BYTES, UTF-8 text (a
byte-order mark dropped, nothing else guessed) or a .docx whose paragraphs and table cells are read in
order. Anything else is refused with the file's name and why, never half-read.
"""

from __future__ import annotations

import io
import zipfile

from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.text import printable

MAX_BYTES = 5_000_000  # a page of minutes is a few kilobytes; a Word file with pictures a few megabytes
MAX_CHARS = 1_000_000  # characters of text to check (a year of minutes is a tenth of that)
MAX_UNPACKED = 50_000_000  # bytes a Word file may unpack to (its text and its parts)
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text", "")
WORD_SUFFIXES = (".docx",)


def read_document(name: str, data: bytes) -> str:
    """The text of a file to check; OpsgError saying why when it cannot be read."""
    if len(data) > MAX_BYTES:
        raise OpsgError(f"{name}: {len(data):,} bytes is more than the {MAX_BYTES:,} a document to check may be")
    suffix = ("." + name.rsplit(".", 1)[1].lower()) if "." in name.rsplit("/", 1)[-1] else ""
    if suffix in WORD_SUFFIXES or (data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))):
        return _bounded(name, _word_text(name, data))
    if suffix not in TEXT_SUFFIXES:
        raise OpsgError(f"{name}: not a text, Markdown or Word (.docx) file; save it as one of those")
    if b"\x00" in data[:4096]:
        raise OpsgError(f"{name}: holds binary data, not text; save it as plain text, Markdown or .docx")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OpsgError(f"{name}: is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8") from None
    return _bounded(name, printable(text))


def _bounded(name: str, text: str) -> str:
    if len(text) > MAX_CHARS:
        raise OpsgError(f"{name}: {len(text):,} characters is more than the {MAX_CHARS:,} a check reads; split it")
    return text


def _word_text(name: str, data: bytes) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            if sum(info.file_size for info in package.infolist()) > MAX_UNPACKED:
                raise OpsgError(f"{name}: unpacks to more than {MAX_UNPACKED:,} bytes; not read")
            body = package.read("word/document.xml") if "word/document.xml" in package.namelist() else b""
        if b"<!ENTITY" in body or b"<!DOCTYPE" in body:
            raise OpsgError(f"{name}: declares XML entities or a document type; not read")
        document = docx.Document(io.BytesIO(data))
    except OpsgError:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise OpsgError(f"{name}: is not a Word document that can be read ({str(exc)[:120]})") from None
    except Exception as exc:  # noqa: BLE001 - a damaged part (bad deflate data, malformed XML): said, not raised
        raise OpsgError(f"{name}: is damaged and cannot be read ({exc.__class__.__name__})") from None
    parts = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = [
                        "".join(t.text or "" for t in c.iter() if t.tag.endswith("}t"))
                        for c in row
                        if c.tag.endswith("}tc")
                    ]
                    parts.append(" | ".join(cells))
    return printable("\n\n".join(p for p in parts if p.strip()))
