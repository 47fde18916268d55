"""Text from the data or a link, shown through a Markdown element as it is, never as markup.

Plain code (no Streamlit), so the request readers can write their warnings ready to show.
"""

from __future__ import annotations

_MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|<>~$"


def md_escape(text: str) -> str:
    """Text from the data shown through a Markdown element (labels, captions) as it is, never as markup."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIALS else c for c in text)
