"""A summary document as Word (python-docx): real headings, styled tables, the charts of the measures below
target, the classification in the page header."""

from __future__ import annotations

import io

import pandas as pd

from opsg_metrics.queries.provenance import exported_note
from opsg_metrics.render.documents.document import Document
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.text import person_name, printable


def _line(text: str) -> str:
    """Text for one line of the document: printable, and a line break or tab inside it a space (so a title
    or a label can never forge a line of its own, such as another "Classification: ...")."""
    return " ".join(printable(text).split())


def to_docx(source: Document) -> bytes:
    """A Word document: real headings, a styled table, the charts of the measures below target."""

    from docx import Document
    from docx.shared import Cm, Pt

    summary = source.summary
    document = Document()
    if note := exported_note(source.classification, source.exported_by):
        document.core_properties.last_modified_by = person_name(source.exported_by)
        document.core_properties.comments = note
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10.5)
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2)
    header = section.header.paragraphs[0]
    header.text = f"{LABELS[source.classification]}"
    document.add_heading(summary.title, level=0)
    if source.provenance.sample:
        document.add_paragraph("Illustrative sample data.").runs[0].italic = True

    def add_table(frame: pd.DataFrame, index_name: str | None = None):
        frame = frame.reset_index() if index_name else frame
        table = document.add_table(rows=1, cols=len(frame.columns))
        table.style = "Light Grid Accent 1"
        for cell, name in zip(table.rows[0].cells, frame.columns):
            cell.text = _line(str(name))
        for row in frame.itertuples(index=False):
            cells = table.add_row().cells
            for cell, value in zip(cells, row):
                cell.text = _line(str(value))
        return table

    for heading, findings in summary.sections:
        document.add_heading(_line(heading), level=1)
        for f in findings:
            document.add_paragraph(_line(f.text), style="List Bullet")
            note = source.note(f.key)
            if note:
                paragraph = document.add_paragraph(style="List Bullet 2")
                paragraph.add_run("Secretariat commentary: ").italic = True
                paragraph.add_run(note)
        if heading == "Context":
            if not summary.incident_table.empty:
                document.add_heading("Incidents opened, by provider and category", level=2)
                add_table(summary.incident_table, "Provider")
            if not summary.alert_table.empty:
                document.add_heading("Alert volumes by code and region", level=2)
                add_table(summary.alert_table, "Alert code")
    if source.charts:
        document.add_heading("Charts of the measures below target", level=1)
        for caption, png in source.charts:
            document.add_picture(io.BytesIO(png), width=Cm(16.5))
            document.add_paragraph(_line(caption), style="Caption")
    document.add_heading("Every measure and provider", level=1)
    add_table(summary.table)
    document.add_paragraph()
    for line in source.footer_lines():
        document.add_paragraph(_line(line)).runs[0].font.size = Pt(9)
    buffer = io.BytesIO()
    try:
        document.save(buffer)
    except (ValueError, OSError) as exc:
        raise OpsgError(f"the Word document could not be written: {str(exc)[:200]}") from None
    return buffer.getvalue()
