"""A summary document as plain text, to paste into a Panel paper as it is: the marking, the title, the
headline paragraph, each section's statements as bullets, the footer. No markup at all (no escapes, no
asterisks); the tables are left to the Word, HTML and Markdown files."""

from __future__ import annotations

from opsg_metrics import words
from opsg_metrics.queries.findings import HEADLINE
from opsg_metrics.render.documents.document import Document
from opsg_metrics.store.text import printable


def _line(text: str) -> str:
    return " ".join(str(text).split())


def to_text(document: Document) -> str:
    summary = document.summary
    lines = [document.marking, "", summary.title, ""]
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
    lines += [_line(line) for line in document.footer_lines()]
    lines += ["", document.marking]
    return printable("\n".join(lines).rstrip() + "\n")
