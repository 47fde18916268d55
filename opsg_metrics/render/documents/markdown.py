"""A summary document as Markdown: headings, one bullet per finding, tables, the footer."""

from __future__ import annotations

import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.findings import HEADLINE
from opsg_metrics.render.documents.document import Document, cell
from opsg_metrics.store.text import printable

_MD_SPECIALS = "\\`*_[]<>|#"


def md_inline(text: str) -> str:
    """Data or commentary as one line of Markdown text: no line breaks, no markup."""
    flat = " ".join(str(text).split())
    return "".join("\\" + c if c in _MD_SPECIALS else c for c in flat)


def _md_table(frame: pd.DataFrame, index_name: str | None = None) -> list[str]:
    frame = frame.reset_index() if index_name else frame
    columns = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    lines = ["| " + " | ".join(md_inline(c) for c in columns) + " |", rule]
    lines += ["| " + " | ".join(md_inline(cell(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def to_markdown(document: Document) -> str:
    summary = document.summary
    lines = [f"**{md_inline(document.marking)}**", "", f"# {md_inline(document.title)}", ""]
    if document.provenance.sample:
        lines += [f"> {md_inline(words.SAMPLE_NOTICE)}.", ""]
    for heading, findings in summary.sections:
        lines += [f"## {heading}", ""]
        for f in findings:
            note = document.note(f.key)
            if heading == HEADLINE:  # a paragraph, as a Panel paper takes it
                lines += [md_inline(f.text), ""] + (
                    [f"*Secretariat commentary:* {md_inline(note)}", ""] if note else []
                )
                continue
            lines.append(f"- {md_inline(f.text)}")
            if note:
                lines.append(f"  - *Secretariat commentary:* {md_inline(note)}")
        lines.append("")
        if heading == "Context":
            if not summary.incident_table.empty:
                lines += (
                    ["### Incidents opened, by provider and category", ""]
                    + _md_table(summary.incident_table, "Provider")
                    + [""]
                )
            if not summary.alert_table.empty:
                lines += (
                    ["### Alert volumes by code and region", ""] + _md_table(summary.alert_table, "Alert code") + [""]
                )
    for part in document.parts:
        lines += [f"## {md_inline(part.heading)}", ""]
        lines += [md_inline(part.intro), ""] if part.intro else []
        lines += _md_table(part.table) + [""] if part.table is not None and not part.table.empty else []
        lines += [f"- {md_inline(line)}" for line in part.lines] + ([""] if part.lines else [])
    if not summary.table.empty:
        lines += ["## Every measure and provider", ""] + _md_table(summary.table) + [""]
    lines += ["---", ""] + [f"{md_inline(line)}  " for line in document.footer_lines()]
    lines += ["", f"**{md_inline(document.marking)}**"]
    return printable("\n".join(lines).rstrip() + "\n")
