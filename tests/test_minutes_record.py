"""Where the minutes contradict the record (queries/minutes.py): a statement of the minutes whose number the
figures do not bear out is shown beside the record, with both sources, in the summary, the trend and the
Overview cell; kept as data (the reference file's statements), never as prose in code."""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsg_metrics.queries import minutes, overview
from opsg_metrics.queries.summary import build_summary
from opsg_metrics.render import files
from opsg_metrics.render.charts import views
from opsg_metrics.render.layout import printed_text

APRIL = date(2020, 4, 1)
SAID = (
    'The OPSG_33xx minutes of 22 Jun 2020 stated ten months in succession for CPM1 overall in April 2020 ("below '
    'Target Service Level for the last ten months"); the record has 16, as the OPSG_28 minutes of 7 Jan 2020 '
    'imply ("again below target for the tenth month in succession" in October 2019).'
)


def test_the_statements_are_read_from_the_reference_file(tmp_path):
    path = tmp_path / "said.csv"
    path.write_text(
        "month,provider,metric,value,unit,kind,note,source\n"
        '2020-04,DCC,CPM1 months in succession below target,at least 10,months,statement,"""ten""",M1\n'
        '2020-04,DCC,CPM1 months below target in last 17,16,months,statement,"""16th""",M2\n'
        "2020-04,CSP N,PM2,54.80,%,figure,,M3\n",
        encoding="utf-8",
    )
    said = minutes.statements(path)
    assert [(s.quantity, s.window, s.stated, s.source) for s in said] == [
        ("run", None, 10, "M1"),
        ("window", 17, 16, "M2"),
    ]


def rows(statuses: list[str], run_at_end: int) -> pd.DataFrame:
    """CPM1 DCC status rows for the 17 months to April 2020, the run at April given."""
    months = pd.date_range("2018-12-01", "2020-04-01", freq="MS")
    runs = [0] * (len(months) - 1) + [run_at_end]
    return pd.DataFrame(
        {"measure": "CPM1", "provider": "DCC", "month": months, "status": statuses, "run_below_target": runs}
    )


def test_a_window_the_figures_bear_out_is_no_difference_and_a_run_they_do_not_is():
    agreeing = rows(["met"] + ["below_target"] * 16, 16)
    april = [d for d in minutes.differences(agreeing) if d.statement.month == APRIL]
    assert [(d.statement.source, d.recorded) for d in april] == [("OPSG_33xx minutes (22 Jun 2020)", 16)]
    assert not [d for d in april if d.statement.quantity == "window"]  # 16 of 17: as the minutes say


def test_the_sample_shows_the_conflict_with_both_sources(sample_db):
    found = minutes.differences_in(sample_db, APRIL)
    assert [d.text for d in found] == [SAID]
    assert found[0].sources == ("OPSG_33xx minutes (22 Jun 2020)", "OPSG_28 minutes (7 Jan 2020)")
    assert minutes.differences_in(sample_db, date(2019, 10, 1)) == []  # October 2019: the tenth, as said


def test_the_summary_the_trend_and_the_overview_cell_say_so(sample_db):
    built = build_summary(sample_db, APRIL, window=17)
    quality = dict(built.sections)["Data quality"]
    noted = [f for f in quality if f.key == "minutes:CPM1:DCC:run"]
    assert [f.text for f in noted] == [SAID] and set(noted[0].sources) >= {
        "OPSG_33xx minutes (22 Jun 2020)",
        "OPSG_28 minutes (7 Jan 2020)",
    }
    view = views.trend_view(sample_db, "CPM1", ["DCC"], date(2018, 12, 1), APRIL)
    footer = " ".join(printed_text(files.export_spec(view), "footer"))
    assert SAID in footer
    cells = overview.matrix_cells(sample_db, APRIL, window=17).set_index(["measure", "provider"])
    assert cells.loc[("CPM1", "DCC"), "tooltip"].endswith(SAID)
    assert SAID not in cells.loc[("CPM1", "CSP N"), "tooltip"]
