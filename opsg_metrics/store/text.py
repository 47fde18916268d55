"""The rules for text the product stores and prints, each in one place.

Printable text: every document OPSG Metrics writes is XML underneath (SVG charts, PDF via SVG, Word), and
XML 1.0 cannot carry some characters at all. A character that cannot be printed is refused where text
comes in (ingest, source labels, file names) and replaced where text goes out (the renderers), so that
no text from the database reaches vl-convert or a document writer unchecked. The characters:

- C0 controls other than tab, line feed and carriage return (U+0000-U+0008, U+000B, U+000C,
  U+000E-U+001F), DEL (U+007F) and the C1 controls (U+0080-U+009F);
- surrogates (U+D800-U+DFFF), which never stand alone in well-formed text;
- the non-characters U+FDD0-U+FDEF and the last two code points of every plane (U+FFFE, U+FFFF,
  U+1FFFE, U+1FFFF, ... U+10FFFF).

Identifiers (measure ids, provider codes, incident ids, alert codes) are ASCII: a Cyrillic С beside a
Latin C, a zero-width space or a German ß (which upper-cases to SS) would make a look-alike of an
existing id or fold silently into one, so any other character is refused and named.
"""

from __future__ import annotations

import re
import unicodedata

_NONCHARACTERS = "".join(chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef" + _NONCHARACTERS + "]")

# The same characters as UTF-8 bytes (a surrogate cannot be valid UTF-8): lets a reader of raw bytes
# (the columnar alerts reader) tell in one pass whether a file holds any.
UNPRINTABLE_UTF8 = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xef\xb7[\x90-\xaf]|\xef\xbf[\xbe\xbf]"
    rb"|\xf0[\x9f\xaf\xbf]\xbf[\xbe\xbf]|[\xf1-\xf3][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]|\xf4\x8f\xbf[\xbe\xbf]"
)

QUOTE_CHARS = 80
# What a cell is trimmed of: ASCII white space only. Python's own strip() also removes no-break and other
# Unicode spaces, which would fold ' CPM1' with a no-break space silently into CPM1.
ASCII_SPACE = " \t\r\n\x0b\x0c"


def trim(text: str) -> str:
    """The cell as read: ASCII white space trimmed, nothing else."""
    return text.strip(ASCII_SPACE)


REPLACEMENT = "\ufffd"


def char_name(char: str) -> str:
    """'U+0421 CYRILLIC CAPITAL LETTER ES'; a character without a name as its code point alone."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def first_unprintable(text: str) -> str | None:
    """The first character of `text` that cannot be printed, or None."""
    found = UNPRINTABLE.search(text)
    return found.group() if found else None


def unprintable_problem(text: str) -> str | None:
    """'text holds U+FFFF, which cannot be printed', or None when every character can be."""
    char = first_unprintable(text)
    if char is None:
        return None
    return f"text holds {char_name(char)}, which cannot be printed (remove it)"


def printable(text: str) -> str:
    """Text with every character that cannot be printed replaced by U+FFFD (for the renderers)."""
    return UNPRINTABLE.sub(REPLACEMENT, text)


def printable_tree(value: object) -> object:
    """A spec or document tree (dicts, lists, strings, numbers) with every string made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_tree(k) if isinstance(k, str) else k: printable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_tree(item) for item in value]
    return value


def json_has_unprintable(text: str) -> bool:
    """Whether JSON text (as json.dumps writes it, ensure_ascii=False) may hold a character that cannot
    be printed: raw, or as the escapes json.dumps writes for controls. May say yes for text that is fine
    (an escaped backslash before 'b'), never no for text that is not."""
    return bool(UNPRINTABLE.search(text)) or "\\u00" in text or "\\b" in text or "\\f" in text


# What a one-line message shows in place of a character: code points for those that cannot be printed, and
# escapes for line breaks and tabs (a message is one line: a line break in it could forge another line).
_IN_A_LINE = re.compile(UNPRINTABLE.pattern[:-1] + "\t\n\r]")


def one_line(text: str) -> str:
    """Text for a one-line message: line breaks and tabs as \\n, \\r and \\t, characters that cannot be
    printed as <U+XXXX>."""
    escapes = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return _IN_A_LINE.sub(lambda m: escapes.get(m.group()) or f"<U+{ord(m.group()):04X}>", text)


NAME_CHARS = 100
# Line and paragraph breaks of every kind, tabs and other spaces: a name is one line of words.
_NAME_SPACE = re.compile(r"[\s\u2028\u2029\u0085]+")
# Direction overrides and isolates: they could make a footer read other than it is written.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def direction_control_problem(text: str, what: str) -> str | None:
    """Why `text` cannot be kept as it is: it holds a direction override or isolate (which could make an
    output read other than it is written), named; None when it holds none."""
    found = _BIDI_CONTROLS.search(text)
    if found is None:
        return None
    return f"{what} holds a direction control character, {char_name(found.group())}, that could make it read otherwise (remove it)"


def person_name(text: str) -> str:
    """A person's name as the product keeps and prints it ("Exported by NAME"): one line, every run of
    white space or line breaks as one space, characters that cannot be printed and direction controls
    removed, at most NAME_CHARS characters (then '…'). A name from a sign-in claim or typed by an admin
    cannot add a line to a footer or a document's properties."""
    name = _NAME_SPACE.sub(" ", _BIDI_CONTROLS.sub("", UNPRINTABLE.sub("", str(text)))).strip()
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1].rstrip() + "…"


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A value as an error message quotes it: in quotes, at most `limit` characters (then '…' and how
    long it was), on one line (one_line)."""
    shown = one_line(text)
    if len(shown) > limit:
        shown = shown[:limit] + f"…' ({len(text):,} characters"
        return f"'{shown})"
    return f"'{shown}'"


def identifier_problem(text: str, what: str) -> str | None:
    """Why `text` cannot be an identifier (a character outside printable ASCII, named), or None."""
    for char in text:
        if not (" " <= char <= "~") and char != "\t":
            category = unicodedata.category(char)
            kind = "an invisible character" if category in ("Cf", "Zs", "Zl", "Zp", "Cc") else "a character"
            return (
                f"{quote(text)} holds {kind} that is not allowed in {what}: {char_name(char)} "
                "(identifiers use ASCII letters, digits and punctuation only; retype it)"
            )
    return None
