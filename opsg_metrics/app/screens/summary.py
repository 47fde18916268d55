"""The PMR summary page's layout: the downloads first, the whole summary as one block, the secretariat's
commentary (kept in the record), then the evidence behind each statement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.screens import commentary as commentary_screen
from opsg_metrics.queries import record
from opsg_metrics.queries.findings import Finding, Summary
from opsg_metrics.render.documents import markdown, text
from opsg_metrics.render.documents.build import FORMAT_LABELS, MEDIA_TYPES
from opsg_metrics.render.documents.document import Document
from opsg_metrics.store import classification
from opsg_metrics.store.people import Person

ORDER = ("docx", "md", "html", "txt")  # the buttons, Word first (every one of build.SUMMARY_FORMATS)


def downloads(
    month_key: str,
    marks: Mapping[str, str],
    made: Callable[[str], Callable[[], bytes]],
    month: date,
    commentary: int,
) -> None:
    """One button per format, each with the classification its file carries (AMBER and RED only after
    the confirmation); `made(fmt)` makes the file's bytes when it is asked for."""
    confirmed = ui.restricted_confirmed(classification.most_restrictive(marks.values()), "summary")
    for column, fmt in zip(st.columns(len(ORDER)), ORDER):
        with column:
            name = f"pmr-summary-{month_key}-{marks[fmt]}.{fmt}"
            st.download_button(
                FORMAT_LABELS[fmt],
                data=ui.export_made(made(fmt), name, marks[fmt], month),
                file_name=name,
                mime=MEDIA_TYPES[fmt],
                on_click="ignore",
                key=f"summary-{fmt}",
                type="primary" if fmt == "docx" else "secondary",
                disabled=marks[fmt] in ui.RESTRICTED and not confirmed,
                width="stretch",
            )
            st.caption(classification.LABELS[marks[fmt]])
    if commentary:
        st.caption(f"The downloads include the month's {words.plural(commentary, 'commentary', 'commentaries')}.")


def as_shown(document: Document) -> tuple[str, str]:
    """The summary as the page shows it (the Markdown document, its title a level down under the page's
    own) and as plain text to copy."""
    lines = markdown.to_markdown(document).splitlines()
    # Headings two levels down: the page has its own title, and the block reads as a paper, not a page.
    shown = "\n".join("##" + line if line.startswith("#") else line for line in lines)
    return shown + "\n", text.to_text(document)


def whole(markdown_text: str, plain_text: str) -> None:
    """The whole summary in one block, to read and to select and copy as one, and as plain text."""
    with st.container(border=True):
        st.markdown(markdown_text)
    with st.expander("Copy as plain text"):
        st.code(plain_text, language=None, wrap_lines=True)


def label(finding: Finding) -> str:
    """An evidence expander's label: who the statement is about and its first words."""
    text = finding.text if len(finding.text) <= 100 else finding.text[:100].rsplit(" ", 1)[0] + " …"
    if finding.measure and finding.provider and not text.startswith(finding.measure):
        return f"{words.who(finding.measure, finding.provider)}: {text}"
    return text


def evidence(built: Summary, tables: Mapping[str, pd.DataFrame]) -> None:
    """Each statement with the figures and sources it rests on."""
    st.subheader("Evidence behind each statement")
    st.caption("Each statement with the figures and sources it rests on.")
    for heading, findings in built.sections:
        st.markdown(f"**{ui.md_escape(heading)}**")
        for finding in findings:
            with st.expander(ui.md_escape(label(finding))):
                st.markdown(ui.md_escape(finding.text))
                if finding.key in tables:
                    ui.table(tables[finding.key], hide_index=True, width="content")
                if finding.sources:
                    st.caption("Source: " + ui.md_escape("; ".join(finding.sources)))


def series_of(built: Summary) -> list[tuple[str | None, str | None]]:
    """What the month's commentary may be on: the month overall, then each measure and provider the
    summary speaks of, in its order."""
    return [(None, None), *dict.fromkeys((f.measure, f.provider) for f in built.findings if f.measure and f.provider)]


def commentary(built: Summary, who: Person, marking: str, notes: record.MonthNotes) -> None:
    """The secretariat's commentary on the month, overall and on each measure and provider it speaks of:
    saved with who and when, a new version for each edit, carried into the downloads."""
    st.subheader("Secretariat commentary")
    st.caption(
        "Saved in the record with who wrote it and when (an edit is a new version); shown beside the figures "
        "(the Overview cell, the trend's tooltip) and carried into the downloads and the meeting pack."
    )
    for measure, provider in series_of(built):
        about = words.who(measure, provider) if measure else f"{words.month_label(built.month)} overall"
        mark = " ✎" if (measure, provider) in notes.now else ""
        with st.expander(ui.md_escape(about) + mark, expanded=measure is None):
            commentary_screen.editor(notes, measure, provider, who, marking)
