"""A summary document as plain text, to paste into a Panel paper as it is: the marking, the title, the
headline paragraph, each section's statements as bullets, the footer. No markup at all (no escapes, no
asterisks); the tables are left to the Word, HTML and Markdown files."""

from __future__ import annotations

from opsg_metrics import words
from opsg_metrics.queries.findings import HEADLINE
from opsg_metrics.render.documents.document import Document, cell
from opsg_metrics.store.text import printable


def _line(text: str) -> str:
    return " ".join(str(text).split())


def to_text(document: Document) -> str:
    summary = document.summary
    lines = [document.marking, "", _line(document.title), ""]
    if document.provenance.sample:
        lines += [words.SAMPLE_NOTICE + ".", ""]
    for heading, findings in summary.sections:
        lines += [heading, ""]
        for f in findings:
            note = document.note(f.key)
            lines.append(_line(f.text) if heading == HEADLINE else f"• {_line(f.text)}")
            if note:
                lines.append(f"  Secretariat commentary: {_line(note)}")
        lines.append("")
    for part in document.parts:
        lines += [_line(part.heading), ""] + ([_line(part.intro), ""] if part.intro else [])
        if part.table is not None and not part.table.empty:
            # Cells between " | ": a "|" in a cell is shown as "¦", so no text can add a column.
            lines.append(" | ".join(_line(c).replace("|", "¦") for c in part.table.columns))
            lines += [
                " | ".join(_line(cell(v)).replace("|", "¦") for v in row) for row in part.table.itertuples(index=False)
            ]
        lines += [f"• {_line(line)}" for line in part.lines]
        lines.append("")
    lines += [_line(line) for line in document.footer_lines()]
    lines += ["", document.marking]
    return printable("\n".join(lines).rstrip() + "\n")
