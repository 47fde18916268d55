"""The Minutes check page's layout: the text (typed, pasted or uploaded), the PMR month, and every claim
with its verdict, the claim marked in its sentence and what it was read as."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.ingest import statements
from opsg_metrics.queries import kept
from opsg_metrics.queries.claims.check import Checked
from opsg_metrics.queries.claims.judge import AGREES, CANNOT, DISAGREES
from opsg_metrics.queries.claims.read import pmr_month_of
from opsg_metrics.store import classification, clearance
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person

BADGES = {AGREES: ("✔", "green", "Agrees"), DISAGREES: ("✖", "red", "Disagrees"), CANNOT: ("○", "gray", "Cannot check")}
EXAMPLE = (
    "The April 2020 PMR: CPM1 has been below Target Service Level for the last ten months; with this being the "
    "16th instance it has been below in 17 months. This was impacted by the failure of PM2 to meet its Service "
    "Level, which was below minimum target level of 54.80% in CSP N."
)


def named_month(text: str, checked: Checked) -> None:
    """Says so when the text names another PMR month than the one it is checked against."""
    named = pmr_month_of(text)
    if named and named != checked.month:
        st.info(
            f"The text names the {words.month_label(named)} PMR; it is checked against "
            f"{words.month_label(checked.month)}, as chosen."
        )


def summary_line(checked: Checked) -> None:
    counts = checked.counts()
    columns = st.columns(4)
    columns[0].metric("PMR month", words.month_short(checked.month))
    for column, name in zip(columns[1:], (AGREES, DISAGREES, CANNOT)):
        icon, _, label = BADGES[name]
        column.metric(f"{icon} {label}", counts[name])


def marked(sentence: str, span: tuple[int, int], colour: str) -> str:
    """The sentence as Markdown text, the claim on a coloured background, nothing else read as markup."""
    s, e = span
    claim = ui.md_escape(sentence[s:e]).replace("[", "\\[").replace("]", "\\]")
    return f"{ui.md_escape(sentence[:s])}:{colour}-background[**{claim}**]{ui.md_escape(sentence[e:])}"


def verdicts(checked: Checked) -> None:
    """Each claim: its verdict, its sentence with the claim marked, what it was read as, what the record has."""
    if not checked.verdicts:
        st.info(
            "No checkable claim was found in the text (runs, windows, values, statuses, counts, directions, causes)."
        )
        return
    for v in sorted(checked.verdicts, key=lambda v: (AGREES, CANNOT, DISAGREES).index(v.verdict) * -1):
        icon, colour, label = BADGES[v.verdict]
        with st.container(border=True):
            st.markdown(f":{colour}[**{icon} {label}**] · " + marked(v.claim.sentence, v.claim.span, colour))
            c = v.claim
            read_as = [
                f"{c.quantity}",
                words.who(c.measure, c.provider)
                if c.measure and c.provider and c.quantity not in ("count", "direction")
                else c.measure or "",
                words.month_label(c.month),
                f"claimed {'' if c.comparison == '=' else c.comparison + ' '}{_shown(c.claimed)}",
            ]
            st.caption(ui.md_escape("Read as: " + "; ".join(x for x in read_as if x)))
            st.markdown(
                ui.md_escape(v.said[0].upper() + v.said[1:] + ".")
                + (f" *{ui.md_escape(v.source)}*" if v.source else "")
            )


def table(checked: Checked) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Verdict": [BADGES[v.verdict][2] for v in checked.verdicts],
            "Claim": [v.claim.text for v in checked.verdicts],
            "Measure": [v.claim.measure or "" for v in checked.verdicts],
            "Provider": [v.claim.provider or "" for v in checked.verdicts],
            "Month": [words.month_key(v.claim.month) for v in checked.verdicts],
            "Quantity": [v.claim.quantity for v in checked.verdicts],
            "Claimed": [_shown(v.claim.claimed) for v in checked.verdicts],
            "Record": [v.said for v in checked.verdicts],
        }
    )


def _shown(value: object) -> str:
    from datetime import date

    if isinstance(value, date):
        return words.month_label(value)
    return words.STATUS_LABELS.get(value, str(value)) if isinstance(value, str) else f"{value:g}"


def keep(checked: Checked, who: Person) -> None:
    """Keep the checked claims as statements (with where they were stated and their marking): loaded as a
    statements file, the same way as one uploaded on the Data page; they are then set beside the figures
    they speak of (the summary's Data quality, the trend, the Overview cell) wherever the record differs."""
    with st.expander(f"Keep these {len(checked.verdicts)} statements"):
        if not who.may("load"):
            st.info(f"Keeping statements needs the secretariat or admin role; you are a {who.role}.")
            return
        left, right = st.columns([2, 1])
        with left:
            said_in = st.text_input(
                "Stated in", placeholder="e.g. OPSG_33xx minutes (22 Jun 2020)", help="Where the text was stated."
            )
        with right:
            level = st.selectbox(
                "Classification", clearance.admitted(who.clearance), format_func=classification.LABELS.get
            )
        if not st.button("Keep the statements", disabled=not said_in.strip() or not checked.verdicts):
            return
        records = kept.statement_records(list(checked.verdicts), said_in.strip())
        try:
            with ui.writing() as con:
                result = statements.load_statement_rows(
                    con,
                    list(kept.COLUMNS),
                    records,
                    f"statements {words.month_key(checked.month)}",
                    source=said_in.strip(),
                    classification=level,
                    loaded_by=who.name,
                )
        except OpsgError as exc:
            st.error(ui.md_escape(str(exc)))
            return
        ui.record_load(result, level)
        if result.ok:
            st.success(ui.md_escape(result.message))
        else:
            st.error(ui.md_escape(result.message))
            for problem in result.problems:
                st.text(str(problem))
