"""The PMR summary: sentence rules on fixtures, OPSG's statements on the sample, the three formats."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import docx
import pytest

from opsg_metrics.queries import summary
from opsg_metrics.render.documents import build
from opsg_metrics.render.documents import html as html_doc
from opsg_metrics.render.documents import markdown as markdown_doc
from opsg_metrics.render.documents.document import Document
from opsg_metrics.store.errors import OpsgError

from .conftest import cli_here, load_text


def load_series(con, values: dict, measure="M1", provider="CSP N"):
    lines = ["month,measure,provider,value,status,note"]
    for month, value in values.items():
        lines.append(
            f"{month},{measure},{provider},,null,withdrawn"
            if value is None
            else f"{month},{measure},{provider},{value},,"
        )
    result = load_text(con, "\n".join(lines) + "\n", f"pmr-{len(values)}.csv")
    assert result.ok, result.problems


def finding(built, key_start: str) -> summary.Finding:
    matches = [f for f in built.findings if f.key.startswith(key_start)]
    assert len(matches) == 1, [f.key for f in built.findings]
    return matches[0]


def test_first_month_below_target_since_an_earlier_miss(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": 99.5, "2018-03": 97})
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%. This is the first month below target "
        "since January 2018; it has been below target in 2 of the 3 months reported in the last 12. SPC, 36 months "
        "to March 2018: no SPC reading: only 3 figures; process limits need at least 12."
    )


def test_first_month_below_target_ever(fresh_db):
    load_series(fresh_db, {"2018-01": 99.5, "2018-02": 97})
    built = summary.build_summary(fresh_db, date(2018, 2, 1))
    assert (
        finding(built, "below:M1:CSP N")
        .text.split(" SPC, ")[0]
        .endswith("This is the first month below target in the figures loaded.")
    )


def test_long_run_and_a_window_shorter_than_the_history(fresh_db):
    load_series(fresh_db, {f"2018-{m:02d}": 97 for m in range(1, 13)})
    assert (
        finding(summary.build_summary(fresh_db, date(2018, 12, 1)), "below:M1")
        .text.split(" SPC, ")[0]
        .endswith(
            "It has been below target for 12 consecutive months, since January 2018, and in 12 of the last 12 months."
        )
    )
    assert (
        finding(summary.build_summary(fresh_db, date(2018, 12, 1), window=3), "below:M1")
        .text.split(" SPC, ")[0]
        .endswith(
            "It has been below target for 12 consecutive months, since January 2018, and in 3 of the last 3 months."
        )
    )


def test_run_across_null_months(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": None, "2018-03": 97, "2018-04": 97})
    built = summary.build_summary(fresh_db, date(2018, 4, 1))
    assert (
        finding(built, "below:M1")
        .text.split(" SPC, ")[0]
        .endswith(
            "It has been below target for 3 consecutive reported months, since January 2018 (1 month in that time "
            "was not reported), and in 3 of the 3 months reported in the last 12."
        )
    )


def test_below_minimum_says_so_and_gives_the_minimum(fresh_db):
    load_series(fresh_db, {"2018-01": 95, "2018-02": 94.5})
    text = finding(summary.build_summary(fresh_db, date(2018, 2, 1)), "below:M1").text
    assert text.startswith(
        "M1 in CSP N was below its Minimum Service Level (96%) at 94.50%, against a Target Service Level of 99%."
    )
    assert text.split(" SPC, ")[0].endswith("It has been below its minimum for 2 consecutive months.")


def test_back_to_target_and_new_misses_are_changes(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": 97, "2018-03": 99.5})
    load_series(fresh_db, {"2018-02": 10, "2018-03": 25}, measure="L1", provider="DSP")
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "changes:back:M1").text == "M1 in CSP N returned to target at 99.50%, after 2 months below."
    # L1 is lower-is-better (target 10, minimum 20): 25 is below its minimum.
    assert (
        finding(built, "changes:new:L1").text
        == "L1 in DSP fell below its minimum at 25, from 10 (met) the month before."
    )
    # No CPM is loaded here, so nothing is said about CPMs.
    assert not [f for f in built.findings if "Code Performance Measure" in f.text]


def test_a_month_with_no_figures_is_a_clear_error(fresh_db):
    load_series(fresh_db, {"2018-01": 97})
    with pytest.raises(OpsgError, match="no figures are loaded for March 2018"):
        summary.build_summary(fresh_db, date(2018, 3, 1))


def test_the_same_data_gives_the_same_text(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": None, "2018-03": 95})
    one = markdown_doc.to_markdown(Document.of(summary.build_summary(fresh_db, date(2018, 3, 1))))
    two = markdown_doc.to_markdown(Document.of(summary.build_summary(fresh_db, date(2018, 3, 1))))
    assert one == two


# ------------------------------------------------------------------ the sample data


@pytest.fixture(scope="module")
def april(sample_db_path):
    from opsg_metrics.store import connect as db

    con = db.connect(sample_db_path, read_only=True)
    yield con, summary.build_summary(con, date(2020, 4, 1), window=17)
    con.close()


def test_april_2020_states_the_cpm1_run_and_pm2(april):
    _, built = april
    texts = [f.text.split(" SPC, ")[0] for f in built.findings]
    assert (
        "CPM1 was below its Target Service Level (99%) at 98.32%. It has been below target for 16 consecutive "
        "months, since January 2019, and in 16 of the last 17 months."
    ) in texts
    pm2 = finding(built, "below:PM2:CSP N")
    assert pm2.text.startswith("PM2 in CSP N was below its Minimum Service Level (96%) at 54.80%")
    assert pm2.figures["value"] == 54.8 and pm2.status == "below_minimum"
    assert pm2.sources == ("PMR April 2020 issue 1 (issued 20 May 2020)",)


def test_each_measure_below_target_gets_its_spc_reading(april):
    con, built = april
    from opsg_metrics.queries import spc as spc_readings

    readings = spc_readings.readings_for_month(con, date(2020, 4, 1)).set_index(["measure", "provider"])
    below = [f for f in built.findings if f.key.startswith("below:") and f.measure]
    assert len(below) == 5
    for found in below:
        sentence = readings.loc[(found.measure, found.provider), "sentence"]
        assert found.text.endswith(f" SPC, 36 months to April 2020: {sentence[0].lower()}{sentence[1:]}")
        assert found.figures["spc_variation"] == readings.loc[(found.measure, found.provider), "variation"]
    pm2 = finding(built, "below:PM2:CSP N")
    # PM2 in CSP N ran far below both levels: the process cannot meet either.
    assert (pm2.figures["spc_assurance_target"], pm2.figures["spc_assurance_minimum"]) == ("fail", "fail")
    assert "cannot consistently meet its target: the target (99.00%) lies above the upper process limit" in pm2.text
    assert "cannot consistently meet its minimum: the minimum (96.00%) lies above the upper process limit" in pm2.text


def test_october_2019_states_the_tenth_consecutive_month(sample_db):
    built = summary.build_summary(sample_db, date(2019, 10, 1))
    assert finding(built, "below:CPM1:DCC").text.startswith(
        "CPM1 was below its Target Service Level (99%) at 97.95%. It has been below target for 10 consecutive "
        "months, since January 2019"
    )


def test_revisions_quality_and_context_for_april_2020(april):
    _, built = april
    revised = finding(built, "quality:revised:CPM1:CSP N")
    assert (
        "(PMR April 2020 issue 1, issued 20 May 2020) to 97.03 (PMR April 2020 issue 2, issued 08 July 2020)"
        in revised.text
    )
    assert finding(built, "quality:unreliable:PM2:CSP N").text.startswith(
        "PM2 in CSP N at 54.80% is flagged as unreliable"
    )
    assert finding(built, "context:rdp").text == "RDP incidents: 7 opened, 6 resolved in month, 3 still open."
    assert built.incident_table.loc["All", "Total"] == finding(built, "context:incidents").figures["incidents_opened"]


def test_august_2021_context_agrees_with_the_minutes(sample_db):
    built = summary.build_summary(sample_db, date(2021, 8, 1))
    majors = finding(built, "context:majors")
    assert majors.text.startswith("5 major incidents were opened (5 Category 2)")
    assert finding(built, "context:changes").text == "211 changes were implemented, 96.7% successfully."
    assert finding(built, "context:problems").text.startswith("90 problem tickets were open")


def test_markdown_has_no_sentence_without_a_finding(april):
    _, built = april
    markdown = markdown_doc.to_markdown(Document.of(built, {"below:CPM1:DCC": "DCC expects Green by June."}))
    bullets = [line[2:] for line in markdown.splitlines() if line.startswith("- ")]
    assert bullets == [markdown_doc.md_inline(f.text) for f in built.findings]
    assert "  - *Secretariat commentary:* DCC expects Green by June." in markdown
    prose = [
        line for line in markdown.splitlines() if line and not line.startswith(("#", "- ", "  - ", "|", ">", "---"))
    ]
    marking = f"**{markdown_doc.md_inline(Document.of(built).marking)}**"
    assert prose[0] == prose[-1] == marking  # the classification at the top and at the bottom
    assert [line.rstrip() for line in prose[1:-1]] == [markdown_doc.md_inline(line) for line in built.footer_lines()]


def test_markdown_cannot_be_broken_by_data_or_commentary(fresh_db):
    load_text(
        fresh_db,
        "month,measure,provider,value,status,note\n"
        '2018-01,M1,CSP N,95,unreliable,"line one\n## Injected heading\n| a | b |"\n',
    )
    built = summary.build_summary(fresh_db, date(2018, 1, 1))
    markdown = markdown_doc.to_markdown(
        Document.of(built, {"below:M1:CSP N": "first\n# second [link](http://x) *bold*"})
    )
    assert "\n## Injected heading" not in markdown and "\n| a |" not in markdown
    assert "\\#\\# Injected heading" in markdown
    assert "  - *Secretariat commentary:* first \\# second \\[link\\](http://x) \\*bold\\*" in markdown


def test_a_null_cpm_is_never_reported_as_met(catalogue_db):
    load_text(catalogue_db, "month,measure,provider,value,status\n2018-01,CPM1,DCC,99.5,\n2018-01,CPM2,DCC,,null\n")
    built = summary.build_summary(catalogue_db, date(2018, 1, 1))
    texts = [f.text for f in built.findings]
    assert "Every Code Performance Measure met its target." not in texts
    assert any(t.startswith("No Code Performance Measure reported was below target;") for t in texts)


def test_lower_is_better_wording(fresh_db):
    load_series(fresh_db, {"2018-01": 25}, measure="L1", provider="DSP")
    text = finding(summary.build_summary(fresh_db, date(2018, 1, 1)), "below:L1").text
    assert text.startswith(
        "L1 in DSP did not meet its Minimum Service Level (20, lower is better) at 25, "
        "against a Target Service Level of 10."
    )


def test_changes_compare_with_the_last_reported_month(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": None, "2018-03": 99.5})
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "changes:back:M1").text == "M1 in CSP N returned to target at 99.50%, after 1 month below."


def load_rows(con, rows: str, name="pmr.csv"):
    result = load_text(con, "month,measure,provider,value,status,note\n" + rows, name)
    assert result.ok, result.problems


def test_a_miss_whose_figure_is_inferred_says_so_and_counts_reported_months(fresh_db):
    load_rows(
        fresh_db,
        "2018-01,M1,CSP N,97,,\n2018-02,M1,CSP N,97,,\n"
        "2018-03,M1,CSP N,97,inferred,OPSG minutes: below target since January\n"
        "2018-03,M1,DCC,99.5,,\n",
    )
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%. The figure is inferred, not reported: "
        "OPSG minutes: below target since January. It has been below target for 2 consecutive reported months, "
        "since January 2018 (1 month in that time was not reported), and in 2 of the 2 months reported in the last 12. "
        # The inferred month is left out of the SPC series too: 2 figures, not 3.
        "SPC, 36 months to March 2018: no SPC reading: only 2 figures; process limits need at least 12."
    )
    assert finding(built, "quality:inferred:M1:CSP N").text == (
        "M1 in CSP N at 97.00% is inferred, not reported: OPSG minutes: below target since January."
    )
    assert not [f for f in built.findings if f.key.startswith("quality:inferred:M1:DCC")]
    assert finding(built, "headline:Service Provider measures").text.endswith(
        "1 of these figures is inferred, not reported (see Data quality)."
    )
    assert finding(built, "headline:CSP N").text == "CSP N: 0 met, below target: M1, inferred (not reported): M1."
    table = built.table.set_index("Provider")
    assert (table.loc["CSP N", "Status"], table.loc["DCC", "Status"]) == ("Below target (inferred)", "Met")
    markdown = markdown_doc.to_markdown(Document.of(built))
    assert "is inferred, not reported: OPSG minutes" in markdown and "Below target (inferred)" in markdown


def test_an_inferred_miss_after_met_months_and_an_inferred_minimum_run(fresh_db):
    load_rows(
        fresh_db,
        "2018-01,M1,CSP N,97,,\n2018-02,M1,CSP N,99.5,,\n2018-03,M1,CSP N,95,inferred,minutes say below minimum\n",
    )
    text = finding(summary.build_summary(fresh_db, date(2018, 3, 1)), "below:M1").text
    assert text.split(" SPC, ")[0].endswith(
        "The figure is inferred, not reported: minutes say below minimum. The last reported month "
        "below target was January 2018; it has been below target in 1 of the 2 months reported "
        "in the last 12."
    )
    assert "first month below target" not in text
    load_rows(fresh_db, "2018-04,M1,CSP N,95,,\n2018-05,M1,CSP N,95,inferred,minutes again\n", "later.csv")
    text = finding(summary.build_summary(fresh_db, date(2018, 5, 1)), "below:M1").text
    assert text.split(" SPC, ")[0].endswith(
        "The last reported month, April 2018, was below target too; it has been below target in 2 "
        "of the 3 months reported in the last 12. The last reported month was below its minimum too."
    )


def test_changes_do_not_compare_with_an_inferred_month(fresh_db):
    load_rows(fresh_db, "2018-01,M1,CSP N,99.5,,\n2018-02,M1,CSP N,97,inferred,minutes\n2018-03,M1,CSP N,97,,\n")
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "changes:new:M1").text == (
        "M1 in CSP N fell below target at 97.00%, from 99.50% (met) in January 2018 (the last month reported)."
    )
    load_rows(fresh_db, "2018-04,M1,CSP N,99.2,inferred,minutes say back to target\n", "april.csv")
    built = summary.build_summary(fresh_db, date(2018, 4, 1))
    assert finding(built, "changes:back:M1").text == (
        "M1 in CSP N returned to target at 99.20% (inferred, not reported), after 1 month below."
    )


def test_no_cpm_below_target_says_how_many_are_inferred(catalogue_db):
    load_text(
        catalogue_db,
        "month,measure,provider,value,status,note\n2018-01,CPM1,DCC,99.5,,\n"
        "2018-01,CPM2,DCC,99.9,inferred,minutes: CPM2 met\n",
    )
    built = summary.build_summary(catalogue_db, date(2018, 1, 1))
    assert finding(built, "below:cpm:none").text == (
        "No Code Performance Measure reported was below target; 12 of 14 CPM figures were not reported; "
        "1 of the CPM figures is inferred, not reported (see Data quality)."
    )


def test_every_cpm_met_says_how_many_are_inferred(fresh_db):
    result = load_text(
        fresh_db,
        """\
        measure,provider,name,unit,direction,target,minimum,effective_from
        CPM1,DCC,First,percent,higher,99,96,2018-01
        CPM2,DCC,Second,percent,higher,99,96,2018-01
        """,
        "cpms.csv",
        kind="catalogue",
    )
    assert result.ok, result.problems
    load_rows(fresh_db, "2018-01,CPM1,DCC,99.5,,\n2018-01,CPM2,DCC,99.9,inferred,minutes: CPM2 met\n")
    built = summary.build_summary(fresh_db, date(2018, 1, 1))
    assert finding(built, "below:cpm:none").text == (
        "Every Code Performance Measure met its target; 1 of the CPM figures is inferred, not reported "
        "(see Data quality)."
    )


def test_earlier_sources_quoted_raise_the_classification(fresh_db):
    load_text(fresh_db, "month,measure,provider,value\n2018-01,M1,CSP N,99.5\n", "amber.csv", classification="amber")
    load_text(fresh_db, "month,measure,provider,value\n2018-02,M1,CSP N,97\n", "white.csv")
    built = summary.build_summary(fresh_db, date(2018, 2, 1))
    assert built.classification == "amber"  # January's amber figure is quoted under Changes


def test_charts_in_a_document_count_for_its_classification(fresh_db):
    # A major incident five months back is drawn on the chart of the miss, and stated nowhere else.
    load_text(
        fresh_db,
        "incident_id,opened,resolved,category,provider,major,title\n"
        "INC1,2018-02-10 09:00,2018-02-10 12:00,1,CSP N,true,outage\n",
        "old-red.csv",
        classification="red",
    )
    load_text(fresh_db, "month,measure,provider,value\n2018-06,M1,CSP N,97\n2018-07,M1,CSP N,97\n", "white.csv")
    assert summary.build_summary(fresh_db, date(2018, 7, 1)).classification == "white"
    _, _, classification = build.summary_document(fresh_db, date(2018, 7, 1), "html")
    assert classification == "red"  # the chart draws the red February incident


def test_the_runs_and_spc_a_summary_states_count_for_its_classification(fresh_db):
    """A restricted figure years back that the run (or the 36 months of SPC) rests on marks the summary."""
    load_text(fresh_db, "month,measure,provider,value\n2018-01,M1,CSP N,97\n", "old-red.csv", classification="red")
    load_text(fresh_db, "month,measure,provider,value\n2018-06,M1,CSP N,97\n2018-07,M1,CSP N,97\n", "white.csv")
    built = summary.build_summary(fresh_db, date(2018, 7, 1))
    assert any("3 consecutive reported months, since January 2018" in f.text for f in built.findings)
    assert built.classification == "red"
    # Not stated (levels begin in 2018 for CSP N, so December 2017 is in no run or window), but counted:
    # the SPC sentence ("only 3 figures") rests on the 36 months to July.
    load_text(fresh_db, "month,measure,provider,value\n2017-12,M1,CSP N,97\n", "older.csv", classification="amber")
    assert summary.build_summary(fresh_db, date(2018, 7, 1)).classification == "red"


def test_summary_is_the_same_in_separate_processes(sample_db_path):
    outputs = set()
    for seed in ("1", "2"):
        import os

        env = {**os.environ, "PYTHONHASHSEED": seed}
        import subprocess
        import sys

        proc = subprocess.run(
            [sys.executable, "-m", "opsg_metrics", "--db", str(sample_db_path), "summary", "--month", "2020-04"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1 and next(iter(outputs)).splitlines()[2].startswith("# PMR summary")


def test_footer_has_month_sources_classification_and_sample_notice(april):
    _, built = april
    lines = built.footer_lines()
    assert lines[0] == "PMR month: April 2020. Rolling window: 17 months."
    assert "PMR April 2020 issue 1 (issued 20 May 2020)" in lines[1] and "PMR April 2020 issue 2" in lines[1]
    assert "Incident log (illustrative)" in lines[1]
    assert lines[2] == "Classification: WHITE (shared with SEC Parties, not published online)."
    assert lines[3].startswith("Illustrative sample data")


def test_word_document(april):
    con, built = april
    name, content, classification = build.summary_document(
        con, date(2020, 4, 1), "docx", window=17, commentary={"below:CPM1:DCC": "Remediation due in June."}
    )
    assert name == "pmr-summary-2020-04-white-no-publish.docx" and classification == "white-no-publish"
    document = docx.Document(io.BytesIO(content))
    paragraphs = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert headings[0] == "PMR summary: April 2020"
    assert "Measures below target" in headings and "Data quality" in headings
    assert any(
        p.startswith(
            "CPM1 was below its Target Service Level (99%) at 98.32%. It has been below target for "
            "16 consecutive months, since January 2019, and in 16 of the last 17 months."
        )
        for p in paragraphs
    )
    assert "Secretariat commentary: Remediation due in June." in paragraphs
    assert len(document.inline_shapes) == len(built.charts) >= 1
    full = document.tables[-1]
    assert [c.text for c in full.rows[0].cells] == [
        "Measure",
        "Provider",
        "Value",
        "Target",
        "Minimum",
        "Status",
        "Run",
    ]
    assert len(full.rows) == len(built.table) + 1
    marking = "WHITE (SHARED WITH SEC PARTIES, NOT PUBLISHED ONLINE)"
    section = document.sections[0]
    assert section.header.paragraphs[0].text == marking and section.footer.paragraphs[0].text == marking
    assert paragraphs[0] == paragraphs[-1] == marking  # and at the top and bottom of the text


def test_word_is_an_a4_document_a_secretariat_can_restyle(april):
    from docx.oxml.ns import qn
    from docx.shared import Cm

    con, built = april
    _, content, _ = build.summary_document(con, date(2020, 4, 1), "docx", window=17)
    document = docx.Document(io.BytesIO(content))
    for section in document.sections:

        def near(length, cm):
            return abs(length - Cm(cm)) < Cm(0.01)  # Word keeps lengths in twentieths of a point

        assert near(section.page_width, 21) and near(section.page_height, 29.7)
        assert all(near(m, 2.5) for m in (section.left_margin, section.right_margin, section.top_margin))
        fields = [t.text.strip() for t in section.footer._element.iter(qn("w:instrText"))]
        assert fields == ["PAGE", "NUMPAGES"]  # "Page X of Y"
        assert "Page 1 of 1" == section.footer.paragraphs[1].text
    properties = document.core_properties
    assert properties.title == "PMR summary: April 2020"
    assert properties.subject == "PMR summary for the SEC Operations Group, April 2020"
    assert properties.author == "OPSG Metrics" and "PMR" in properties.keywords and "April 2020" in properties.keywords
    pictures = list(document.element.body.iter(qn("wp:docPr")))
    assert len(pictures) == len(built.charts) >= 1
    assert all(p.get("descr", "").startswith("Chart: ") and len(p.get("descr")) > 40 for p in pictures)
    for shape in document.inline_shapes:
        assert abs(shape.width - Cm(16)) < Cm(0.01)  # at the text width the chart was laid out for
    captions = [p for p in document.paragraphs if p.text.startswith("Figure ")]
    assert len(captions) == len(built.charts) and {p.style.name for p in captions} == {"Caption"}
    styles = {s.name for s in document.styles}
    assert {"OPSG Classification", "OPSG Footer Note", "OPSG Commentary"} <= styles
    cells = [c.text for table in document.tables for row in table.rows for c in row.cells]
    assert "None" not in cells and "nan" not in cells
    alerts = document.tables[1]  # the alert volumes: counts with thousands separators
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", c.text) for row in alerts.rows[1:] for c in row.cells)


def test_html_is_standalone_well_formed_and_escaped(april, fresh_db):
    con, built = april
    _, content, _ = build.summary_document(con, date(2020, 4, 1), "html", window=17)
    page = content.decode("utf-8")
    root = ET.fromstring(page.split("\n", 1)[1])  # strict XML parse of everything after the doctype
    assert root.tag.endswith("html")
    assert "http://" not in re.sub(r'xmlns(:\w+)?="[^"]+"', "", page)  # nothing fetched from elsewhere
    assert page.count("<svg") == len(built.charts)
    load_text(
        fresh_db,
        'month,measure,provider,value,status,note\n2018-01,M1,CSP N,95,unreliable,"<script>alert(1)</script>"\n',
    )
    hostile = html_doc.to_html(Document.of(summary.build_summary(fresh_db, date(2018, 1, 1))))
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def test_cli_summary(sample_db_path, tmp_path):
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2020-04", "--window", "17", check=0)
    first, _, title = proc.stdout.splitlines()[:3]
    assert first == "**WHITE (SHARED WITH SEC PARTIES, NOT PUBLISHED ONLINE)**" and title == "# PMR summary: April 2020"
    assert "16 of the last 17 months" in proc.stdout
    out = tmp_path / "april.docx"
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2020-04", "--format", "docx", "-o", out, check=0)
    assert out.read_bytes()[:2] == b"PK" and "Wrote" in proc.stdout
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2020-04", "--format", "docx", check=1)
    assert "needs a file" in proc.stderr
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2030-01", check=1)
    assert "no figures are loaded for January 2030" in proc.stderr and "Traceback" not in proc.stderr


def test_summary_page_window_changes_the_counts(open_app):
    at = open_app("pages/summary.py", month="2020-04", window="12")
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("in 12 of the last 12 months" in label for label in labels)
    at.number_input[0].set_value(17).run()
    labels = [e.label for e in at.expander]
    assert any(
        "16 consecutive months, since January 2019, and in 16 of the last 17 months" in label.replace("\\", "")
        for label in labels
    )
    assert [b.label for b in at.get("download_button")] == ["Word (.docx)", "Markdown", "HTML"]


def test_summary_page_commentary_is_kept_and_counted(open_app):
    at = open_app("pages/summary.py", month="2020-04")
    at.text_area(key="commentary:2020-04:below:CPM1:DCC").input("Remediation plan due in June").run()
    assert "The downloads include 1 commentary." in [c.value for c in at.caption]
