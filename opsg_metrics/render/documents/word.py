"""A summary document as Word (python-docx): an A4 document with 2.5 cm margins, its title, subject, author
and keywords in its properties, the classification in capitals in every page's header and footer with
"Page X of Y", real headings, Word tables (thousands separators, "—" for a missing value), the charts of the
measures below target at the text width (laid out for it: render/layout.py's A4 preset) with captions in
the Caption style and alt text on every picture. Styles are named (the built-in Title, Heading n, List
Bullet, Caption; OPSG Classification, OPSG Commentary, OPSG Footer Note) so a secretariat can restyle it.
"""

from __future__ import annotations

import io

import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.findings import HEADLINE
from opsg_metrics.queries.provenance import exported_note
from opsg_metrics.render.documents.document import Document, cell
from opsg_metrics.render.layout import PRESETS
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.text import person_name, printable

PAGE_CM = PRESETS["a4"].page_cm
TEXT_WIDTH_CM = PRESETS["a4"].width_cm  # the charts are laid out for exactly this width
MARGIN_CM = (PAGE_CM[0] - TEXT_WIDTH_CM) / 2  # 2.5 cm


def _line(text: str) -> str:
    """Text for one line of the document: printable, and a line break or tab inside it a space (so a title
    or a label can never forge a line of its own, such as another "Classification: ...")."""
    return " ".join(printable(text).split())


def _field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) in the paragraph, showing '1' until Word or LibreOffice updates it."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind: str):
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    begin, separate, end = paragraph.add_run(), paragraph.add_run(), paragraph.add_run()
    begin._r.append(char("begin"))
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    begin._r.append(code)
    begin._r.append(char("separate"))
    separate.text = "1"
    end._r.append(char("end"))


def _styles(document) -> None:
    """The document's named styles: the look in one place, restyled in Word by name."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    marking = document.styles.add_style("OPSG Classification", WD_STYLE_TYPE.PARAGRAPH)
    marking.base_style = normal
    marking.font.bold = True
    marking.font.size = Pt(9)
    marking.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    marking.paragraph_format.space_after = Pt(0)
    note = document.styles.add_style("OPSG Footer Note", WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = normal
    note.font.size = Pt(9)
    note.paragraph_format.space_after = Pt(2)
    commentary = document.styles.add_style("OPSG Commentary", WD_STYLE_TYPE.PARAGRAPH)
    commentary.base_style = document.styles["List Bullet 2"]
    commentary.font.italic = True
    commentary.font.color.rgb = RGBColor(0x0B, 0x4F, 0x82)


def _page(document, source: Document) -> None:
    """A4, 2.5 cm margins; the classification in capitals at the top and bottom of every page, with the
    page number."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    section = document.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    section.left_margin = section.right_margin = Cm(MARGIN_CM)
    section.top_margin = section.bottom_margin = Cm(MARGIN_CM)
    section.header.paragraphs[0].text = source.marking
    section.header.paragraphs[0].style = document.styles["OPSG Classification"]
    footer = section.footer.paragraphs[0]
    footer.text = source.marking
    footer.style = document.styles["OPSG Classification"]
    pages = section.footer.add_paragraph(style=document.styles["OPSG Footer Note"])
    pages.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pages.add_run("Page ")
    _field(pages, "PAGE")
    pages.add_run(" of ")
    _field(pages, "NUMPAGES")


def _properties(document, source: Document) -> None:
    summary = source.summary
    properties = document.core_properties
    properties.title = _line(source.title)
    properties.subject = f"PMR summary for the SEC Operations Group, {words.month_label(summary.month)}"
    properties.author = "OPSG Metrics"
    properties.keywords = f"OPSG; PMR; {words.month_label(summary.month)}; {LABELS[source.classification]}"
    properties.category = LABELS[source.classification]
    properties.last_modified_by = "OPSG Metrics"
    properties.comments = ""
    if note := exported_note(source.classification, source.exported_by):
        properties.last_modified_by = person_name(source.exported_by)
        properties.comments = note


def _table(document, frame: pd.DataFrame, index_name: str | None = None, widths: tuple[float, ...] = ()):
    """A Word table: a header row repeated on every page, numbers right-aligned with thousands separators;
    `widths`: the columns' relative widths across the text width (equal when not given)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    frame = frame.reset_index() if index_name else frame
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    table = document.add_table(rows=1, cols=len(frame.columns))
    table.style = "Light Grid Accent 1"
    header = table.rows[0]
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    for place, name, is_number in zip(header.cells, frame.columns, numeric):
        place.text = _line(str(name))
        if is_number:
            place.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in frame.itertuples(index=False):
        for place, value, is_number in zip(table.add_row().cells, row, numeric):
            place.text = _line(cell(value))
            if is_number:
                place.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if widths and len(widths) == len(frame.columns):
        from docx.shared import Cm

        table.autofit = False
        sizes = [Cm(TEXT_WIDTH_CM * weight / sum(widths)) for weight in widths]
        for column, size in zip(table.columns, sizes):
            column.width = size  # the grid (what LibreOffice lays out by)
        for row in table.rows:
            for place, size in zip(row.cells, sizes):
                place.width = size  # each cell (what Word lays out by)
    return table


def to_docx(source: Document) -> bytes:
    """A Word document (see the module's notes)."""
    from docx import Document as WordDocument
    from docx.shared import Cm

    summary = source.summary
    document = WordDocument()
    _styles(document)
    _page(document, source)
    _properties(document, source)
    document.add_paragraph(source.marking, style="OPSG Classification")
    document.add_heading(_line(source.title), level=0)
    if source.provenance.sample:
        document.add_paragraph(words.SAMPLE_NOTICE + ".").runs[0].italic = True

    for heading, findings in summary.sections:
        document.add_heading(_line(heading), level=1)
        for f in findings:
            document.add_paragraph(_line(f.text), style="Normal" if heading == HEADLINE else "List Bullet")
            note = source.note(f.key)
            if note:
                document.add_paragraph(_line("Secretariat commentary: " + note), style="OPSG Commentary")
        if heading == "Context":
            if not summary.incident_table.empty:
                document.add_heading("Incidents opened, by provider and category (incidents)", level=2)
                _table(document, summary.incident_table, "Provider")
            if not summary.alert_table.empty:
                document.add_heading("Alert volumes by code and region (alerts)", level=2)
                _table(document, summary.alert_table, "Alert code")
    for part in source.parts:
        document.add_heading(_line(part.heading), level=1)
        if part.intro:
            document.add_paragraph(_line(part.intro))
        if part.table is not None and not part.table.empty:
            _table(document, part.table, widths=part.widths)
            if part.lines:
                document.add_paragraph()
        for line in part.lines:
            document.add_paragraph(_line(line), style="List Bullet")
    if source.charts:
        document.add_heading("Charts of the measures below target", level=1)
        for number, (caption, png, alt) in enumerate(source.charts, start=1):
            shape = document.add_picture(io.BytesIO(png), width=Cm(TEXT_WIDTH_CM))
            shape._inline.docPr.set("descr", _line(alt))
            shape._inline.docPr.set("title", _line(caption))
            document.add_paragraph(_line(f"Figure {number}: {caption}"), style="Caption")
    if not summary.table.empty:
        document.add_heading("Every measure and provider", level=1)
        _table(document, summary.table)
    document.add_paragraph()
    for line in source.footer_lines():
        document.add_paragraph(_line(line), style="OPSG Footer Note")
    document.add_paragraph(source.marking, style="OPSG Classification")
    buffer = io.BytesIO()
    try:
        document.save(buffer)
    except (ValueError, OSError) as exc:
        raise OpsgError(f"the Word document could not be written: {str(exc)[:200]}") from None
    return buffer.getvalue()
