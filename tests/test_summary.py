"""The PMR summary: sentence rules on fixtures, OPSG's statements on the sample, the three formats."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.queries import summary
from opsg_metrics.render.documents import build
from opsg_metrics.render.documents import html as html_doc
from opsg_metrics.render.documents import markdown as markdown_doc
from opsg_metrics.render.documents import text as text_doc
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
    # "since January 2018" already says January was a miss: the window (2 in 3) adds nothing, so it is not
    # said; SPC has nothing to add either (3 figures).
    assert finding(built, "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, the first month below target since "
        "January 2018."
    )
    load_series(fresh_db, {"2018-01": 97, "2018-02": 97, "2018-03": 99.5, "2018-04": 97})
    assert finding(summary.build_summary(fresh_db, date(2018, 4, 1)), "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, the first month below target since "
        "February 2018, and the third month below target in the last 12 (4 months reported)."
    )


def test_first_month_below_target_ever(fresh_db):
    load_series(fresh_db, {"2018-01": 99.5, "2018-02": 97})
    built = summary.build_summary(fresh_db, date(2018, 2, 1))
    assert finding(built, "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, the first month below target in the "
        "figures loaded."
    )


def test_a_run_as_opsg_words_it_and_no_window_that_adds_nothing(fresh_db):
    load_series(fresh_db, {f"2018-{m:02d}": 97 for m in range(1, 13)})
    expected = (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, below target for the 12th month in "
        "succession (since January 2018)."
    )
    for window in (12, 3):  # "in 12 of the last 12" (or 3 of 3) says nothing the run does not
        text = finding(summary.build_summary(fresh_db, date(2018, 12, 1), window=window), "below:M1").text
        assert text.split(" SPC ")[0] == expected


def test_the_window_is_said_in_opsgs_words_when_it_adds(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": 99.5, **{f"2018-{m:02d}": 97 for m in range(3, 6)}})
    text = finding(summary.build_summary(fresh_db, date(2018, 5, 1), window=5), "below:M1").text
    assert text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, below target for the third month in "
        "succession (since March 2018), and the fourth month below target in the last 5."
    )


def test_run_across_null_months(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": None, "2018-03": 97, "2018-04": 97})
    built = summary.build_summary(fresh_db, date(2018, 4, 1))
    assert finding(built, "below:M1").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%, below target for the third reported "
        "month in succession (since January 2018; 1 month in that time was not reported)."
    )


def test_below_minimum_says_so_and_gives_the_minimum(fresh_db):
    load_series(fresh_db, {"2018-01": 95, "2018-02": 94.5})
    assert finding(summary.build_summary(fresh_db, date(2018, 2, 1)), "below:M1").text == (
        "M1 in CSP N was below its Minimum Service Level (96%) at 94.50%, against a Target Service Level of 99%: "
        "below target for the second month in succession (since January 2018), and below its minimum for the "
        "second."
    )


def test_back_to_target_and_new_misses_are_changes(fresh_db):
    load_series(fresh_db, {"2018-01": 97, "2018-02": 97, "2018-03": 99.5})
    load_series(fresh_db, {"2018-02": 10, "2018-03": 25}, measure="L1", provider="DSP")
    built = summary.build_summary(fresh_db, date(2018, 3, 1))
    assert finding(built, "changes:back:M1").text == "M1 in CSP N returned to target at 99.50%, after 2 months below."
    # L1 is lower-is-better (target 10, minimum 20): 25 is below its minimum.
    assert (
        finding(built, "changes:new:L1").text
        == "L1 in DSP missed its minimum at 25 minutes, from 10 minutes (met) the month before."
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


REPORTED_54_80 = "54.80% (reported in the OPSG_33xx minutes of 22 Jun 2020"


def test_april_2020_headline_is_a_paragraph_a_panel_paper_takes_as_it_is(april):
    _, built = april
    (headline,) = dict(built.sections)["Headline"]
    assert headline.text == (
        "In April 2020 CPM1 was below target overall (98.32%) and in CSP N (97.03%), for the 16th month in "
        "succession in each; it was held below target by PM2 in CSP N, Category 1 firmware payloads within TRT, "
        f"at {REPORTED_54_80}; flagged as unreliable), below its minimum. DSP1.2 (DSP) at 96.30% and CH1.3 in "
        "CSP N at 97.23% fell below target. PM4.1 in CSP N and PM4.2 in CSP C&S returned to target. "
        "12 of 14 CPM and 24 of 27 Service Provider figures met target (overall, DSP, CSP N and CSP C&S, which "
        "covers CSP C and CSP S). PMR April 2020 issue 2 (8 July 2020) revised 13 CSP N figures. Caveats: the "
        "OPSG_33xx minutes of 22 Jun 2020 stated ten months in succession for CPM1 overall, the figures give 16; "
        "service levels not yet verified against the SEC (see the catalogue's sources)."
    )
    assert len(headline.text.split()) <= 160
    # Counted once: CSP C&S, not CSP C and CSP S as well (27 = 5 DSP + 11 CSP N + 11 CSP C&S).
    assert headline.figures["figures counted"] == 14 + 27


def test_april_2020_cpm1_names_the_provider_measure_that_held_it_down(april):
    _, built = april
    assert finding(built, "below:CPM1:CSP N").text == (
        "CPM1 in CSP N was below its Target Service Level (99%) at 97.03%, below target for the 16th month in "
        "succession (since January 2019). It was held below target by PM2, Category 1 firmware payloads within "
        f"TRT, at {REPORTED_54_80}; flagged as unreliable), below its minimum. SPC on the 28 months from January "
        "2018 to April 2020: the April 2020 figure lies below the lower process limit (97.34%), a special cause "
        "of concern rather than ordinary variation, and the process cannot meet its target without a change "
        "(its upper process limit is 98.58%)."
    )
    # Overall: no SPC sentence, as none would add to 16 months of misses ("meet and miss by chance" would
    # contradict them, and the shift it shows is the run itself).
    assert finding(built, "below:CPM1:DCC").text == (
        "CPM1 overall was below its Target Service Level (99%) at 98.32%, below target for the 16th month in "
        "succession (since January 2019). It was held below target by PM2 in CSP N, Category 1 firmware payloads "
        f"within TRT, at {REPORTED_54_80}; flagged as unreliable), below its minimum."
    )
    pm2 = finding(built, "below:PM2:CSP N")
    assert pm2.figures["value"] == 54.8 and pm2.status == "below_minimum"
    assert pm2.sources == ("PMR April 2020 issue 1 (issued 20 May 2020)",)


def test_spc_is_one_sentence_that_adds_to_the_run_and_says_the_latest_point_is_unreliable(april):
    _, built = april
    pm2 = finding(built, "below:PM2:CSP N")
    assert pm2.text == (
        f"PM2 in CSP N was below its Minimum Service Level (96%) at {REPORTED_54_80}), against a Target "
        "Service Level of 99%: below target for the 21st month in succession (since August 2018), and below its "
        "minimum for the 18th. The figure is flagged as unreliable (see Data quality). SPC on the 28 months from "
        "January 2018 to April 2020: the April 2020 figure lies below the lower process limit (71.27%), a special "
        "cause of concern rather than ordinary variation, and the process cannot meet its target or its minimum "
        "without a change (its upper process limit is 80.66%); the April 2020 figure it rests on is flagged as "
        "unreliable."
    )
    assert (pm2.figures["spc_assurance_target"], pm2.figures["spc_assurance_minimum"]) == ("fail", "fail")
    for found in built.findings:
        assert found.text.count(" SPC ") <= 1
        assert "36 months" not in found.text  # the months it rests on, not the months it could have
        assert "meet and miss" not in found.text or found.figures.get("run_below_target") == 1


def test_october_2019_states_the_tenth_month_in_succession(sample_db):
    built = summary.build_summary(sample_db, date(2019, 10, 1))
    assert finding(built, "below:CPM1:DCC").text.startswith(
        "CPM1 overall was below its Target Service Level (99%) at 97.95%, below target for the tenth month in "
        "succession (since January 2019). It was held below target by PM2 in CSP N, Category 1 firmware payloads "
        "within TRT, at 59.17%, below its minimum."
    )
    (headline,) = dict(built.sections)["Headline"]
    assert headline.text.startswith(
        "In October 2019 CPM1 was below target overall (97.95%), in CSP N (97.10%) and in CSP C&S (98.51%), for "
        "the tenth month in succession in each; overall and in CSP N it was held below target by PM2 in CSP N, "
        "Category 1 firmware payloads within TRT, at 59.17%, below its minimum."
    )
    assert len(headline.text.split()) <= 160
    # A single miss that SPC reads as ordinary variation says so; a window that adds is said.
    assert finding(built, "below:CH2.1:CSP N").text == (
        "CH2.1 in CSP N was below its Target Service Level (99%) at 96.82%, the first month below target since "
        "February 2019, and the third month below target in the last 12. SPC on the 21 months from January 2018 "
        "to October 2019: the miss is ordinary variation, as the process meets and misses its target by chance."
    )


def test_every_headline_of_the_sample_is_about_150_words(sample_db):
    from opsg_metrics.rules.status import available_months

    for month in available_months(sample_db):
        (headline,) = dict(summary.build_summary(sample_db, month).sections)["Headline"]
        assert len(headline.text.split()) <= 160, (month, headline.text)
        assert headline.text.startswith(f"In {month:%B %Y}")


def test_revisions_are_grouped_by_the_reissue_that_made_them(april):
    _, built = april
    assert [f.key for f in built.findings if f.key.startswith("quality:revised")] == [
        "quality:revised:PMR April 2020 issue 2"
    ]
    assert finding(built, "quality:revised").text == (
        "PMR April 2020 issue 2 (issued 8 July 2020) revised 13 CSP N figures given in PMR April 2020 "
        "issue 1 (issued 20 May 2020), where all were flagged as unreliable; the largest: PM1.1 in CSP N from "
        "99.65% to 100.00% (+0.35 percentage points); PM12.1 in CSP N from 99.60% to 99.25% (-0.35 percentage "
        "points); PM4.2 in CSP N from 99.73% to 99.41% (-0.32 percentage points)."
    )
    assert finding(built, "quality:revised").figures["CPM1 in CSP N"] == "96.76% → 97.03%"


def test_notes_are_quoted_as_notes_with_their_source(april):
    _, built = april
    assert finding(built, "quality:unreliable:PM2:CSP N").text == (
        f"PM2 in CSP N at {REPORTED_54_80}) is flagged as unreliable. Note (PMR April 2020 issue 1): "
        "“below minimum service level; CSP N figures flagged as possibly unreliable (reporting tool); PMR to be "
        "reissued”."
    )
    for found in built.findings:
        assert "::" not in found.text and "\\" not in found.text
        assert "Reported figure:" not in found.text  # said as "reported in ...", beside the value


def test_context_names_cumulative_and_monthly_figures_and_marks_reported_ones(april, sample_db):
    _, built = april
    assert finding(built, "context:installations").text.startswith(
        "Installations in the month: CSP N 10,686, CSP C 14,308 and CSP S 13,080; installed base at the end of "
        "the month (cumulative): CSP N 1,256,881, CSP C 1,922,076 and CSP S 1,694,679."
    )
    assert finding(built, "context:rdp").text == "RDP incidents: 7 opened, 6 resolved in month, 3 still open."
    assert built.incident_table.loc["All", "Total"] == finding(built, "context:incidents").figures["incidents_opened"]
    may = summary.build_summary(sample_db, date(2020, 5, 1))
    assert finding(may, "context:rdp").text == (
        "RDP incidents: 5 opened, 3 resolved in month, 5 still open (all reported in the OPSG_33xx minutes of "
        "22 Jun 2020)."
    )
    november = summary.build_summary(sample_db, date(2019, 11, 1))
    assert finding(november, "context:rdp").text == (
        "RDP incidents: 7 opened, 9 resolved in month (reported in the OPSG_28 minutes of 7 Jan 2020), 6 still "
        "open (reported in the OPSG_28 minutes of 7 Jan 2020)."
    )
    majors = finding(november, "context:majors").text
    assert "INC000000503961 (DCC, Category 2): Major incident with review report published to all SEC" in majors
    assert "(named in the OPSG_28 minutes of 7 Jan 2020)" in majors


def test_august_2021_context_agrees_with_the_minutes(sample_db):
    built = summary.build_summary(sample_db, date(2021, 8, 1))
    majors = finding(built, "context:majors")
    assert majors.text.startswith("5 major incidents were opened (5 Category 2)")
    assert finding(built, "context:changes").text == (
        "211 changes were implemented, 96.7% successfully (both reported in the OPSG_56 minutes of 7 Sep 2021). "
        "Note (Operational figures (illustrative)): “one with adverse impact”."
    )
    assert finding(built, "context:problems").text.startswith(
        "90 problem tickets were open (reported in the OPSG_56 minutes of 7 Sep 2021)."
    )


def test_markdown_has_no_sentence_without_a_finding(april):
    _, built = april
    markdown = markdown_doc.to_markdown(Document.of(built, {"below:CPM1:DCC": "DCC expects Green by June."}))
    bullets = [line[2:] for line in markdown.splitlines() if line.startswith("- ")]
    headline, *rest = built.findings
    assert bullets == [markdown_doc.md_inline(f.text) for f in rest]
    assert "  - *Secretariat commentary:* DCC expects Green by June." in markdown
    prose = [
        line for line in markdown.splitlines() if line and not line.startswith(("#", "- ", "  - ", "|", ">", "---"))
    ]
    marking = f"**{markdown_doc.md_inline(Document.of(built).marking)}**"
    assert prose[0] == prose[-1] == marking  # the classification at the top and at the bottom
    assert prose[1] == markdown_doc.md_inline(headline.text)  # the headline, one paragraph
    assert [line.rstrip() for line in prose[2:-1]] == [markdown_doc.md_inline(line) for line in built.footer_lines()]


def test_plain_text_has_no_markup_and_every_statement(april):
    _, built = april
    plain = text_doc.to_text(Document.of(built, {"below:CPM1:DCC": "DCC expects *Green* by June."}))
    for f in built.findings:
        assert f.text in plain
    assert "\\" not in plain and "**" not in plain and "OPSG_33xx" in plain
    assert "  Secretariat commentary: DCC expects *Green* by June." in plain
    lines = plain.splitlines()
    assert lines[0] == lines[-1] == Document.of(built).marking


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
    assert text == (
        "L1 in DSP did not meet its Minimum Service Level (20 minutes, lower is better) at 25 minutes, against a "
        "Target Service Level of 10 minutes: the first month below target in the figures loaded."
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
    # The run counts reported months only: this month's figure is not one.
    assert finding(built, "below:M1:CSP N").text == (
        "M1 in CSP N was below its Target Service Level (99%) at 97.00%. The figure is inferred, not reported "
        "(see Data quality); the last 2 reported months were below target too, since January 2018."
    )
    assert finding(built, "quality:inferred:M1:CSP N").text == (
        "M1 in CSP N at 97.00% is inferred, not reported. Note (pmr.csv): “OPSG minutes: below target since January”."
    )
    assert not [f for f in built.findings if f.key.startswith("quality:inferred:M1:DCC")]
    assert "Caveats: 1 figure is inferred, not reported" in finding(built, "headline").text
    table = built.table.set_index("Provider")
    assert (table.loc["CSP N", "Status"], table.loc["DCC", "Status"]) == ("Below target (inferred)", "Met")
    markdown = markdown_doc.to_markdown(Document.of(built))
    assert "is inferred, not reported. Note (pmr.csv): “OPSG minutes" in markdown
    assert "Below target (inferred)" in markdown


def test_an_inferred_miss_after_met_months_and_an_inferred_minimum_run(fresh_db):
    load_rows(
        fresh_db,
        "2018-01,M1,CSP N,97,,\n2018-02,M1,CSP N,99.5,,\n2018-03,M1,CSP N,95,inferred,minutes say below minimum\n",
    )
    text = finding(summary.build_summary(fresh_db, date(2018, 3, 1)), "below:M1").text
    assert text.endswith(
        "The figure is inferred, not reported (see Data quality); the last reported month below target was "
        "January 2018; it was below target in 1 of the 2 months reported in the last 12."
    )
    assert "first month below target" not in text
    load_rows(fresh_db, "2018-04,M1,CSP N,95,,\n2018-05,M1,CSP N,95,inferred,minutes again\n", "later.csv")
    text = finding(summary.build_summary(fresh_db, date(2018, 5, 1)), "below:M1").text
    assert text.endswith(
        "The figure is inferred, not reported (see Data quality); the last reported month, April 2018, was below "
        "target too; it was below target in 2 of the 3 months reported in the last 12; the last reported month "
        "was below its minimum too."
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
    assert any("the third reported month in succession (since January 2018" in f.text for f in built.findings)
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
        con, date(2020, 4, 1), "docx", window=17, notes={"below:CPM1:DCC": "Remediation due in June."}
    )
    assert name == "pmr-summary-2020-04-white-no-publish.docx" and classification == "white-no-publish"
    document = docx.Document(io.BytesIO(content))
    paragraphs = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert headings[0] == "PMR summary: April 2020"
    assert "Code Performance Measures below target" in headings and "Data quality" in headings
    assert finding(built, "below:CPM1:DCC").text in paragraphs
    # The headline is a paragraph of body text; the statements of the sections are bullets.
    styles = {p.text: p.style.name for p in document.paragraphs}
    assert styles[finding(built, "headline").text] == "Normal"
    assert styles[finding(built, "below:CPM1:DCC").text] == "List Bullet"
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
    assert "below target for the 16th month in succession (since January 2019)" in proc.stdout
    out = tmp_path / "april.docx"
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2020-04", "--format", "docx", "-o", out, check=0)
    assert out.read_bytes()[:2] == b"PK" and "Wrote" in proc.stdout
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2020-04", "--format", "docx", check=1)
    assert "needs a file" in proc.stderr
    proc = cli_here("--db", sample_db_path, "summary", "--month", "2030-01", check=1)
    assert "no figures are loaded for January 2030" in proc.stderr and "Traceback" not in proc.stderr


def test_summary_page_is_one_block_with_the_downloads_first(open_app):
    at = open_app("pages/summary.py", month="2020-04", window="12")
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Word (.docx)", "Markdown", "HTML", "Plain text"]
    block = [m.value for m in at.markdown if "#### Headline" in m.value]
    assert len(block) == 1  # the whole summary in one element, to select and copy as one
    assert "below target for the 16th month in succession (since January 2019)" in block[0]
    assert "month below target in the last 12" not in block[0]
    (plain,) = [c.value for c in at.code]
    assert plain.startswith("WHITE (SHARED WITH SEC PARTIES, NOT PUBLISHED ONLINE)") and "\\_" not in plain
    # A window long enough to reach CPM1's miss before its run (November 2018) says so; 12 months do not.
    at.number_input[0].set_value(24).run()
    block = [m.value for m in at.markdown if "#### Headline" in m.value][0]
    assert "since January 2019), and the 17th month below target in the last 24" in block.replace("\\", "")


def test_summary_page_counts_the_commentary_in_the_downloads(open_app):
    at = open_app("pages/summary.py", month="2020-04")
    assert "The downloads include the month's 2 commentaries." in [c.value for c in at.caption]
    keys = [t.key for t in at.text_area]
    assert keys[0] == "commentary:2020-04:::text"  # the month overall first, then each measure and provider
    assert "commentary:2020-04:CPM1:DCC:text" in keys and "commentary:2020-04:PM2:CSP N:text" in keys
    assert at.text_area(key="commentary:2020-04:PM2:CSP N:text").value.startswith("Below its minimum at 54.80%")


# ------------------------------------------------------------------ generated months


SERIES = (("CPM1", "DCC"), ("CPM1", "CSP N"), ("PM2", "CSP N"), ("DSP1.1", "DSP"), ("PM2", "CSP C"), ("PM2", "CSP C&S"))
figure = st.one_of(st.none(), st.floats(50, 100).map(lambda v: round(v, 2)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(figure, min_size=len(SERIES), max_size=len(SERIES)), min_size=1, max_size=6))
def test_generated_months_read_as_the_rules_say(months):
    """Whatever the figures: the headline leads with the month, names every CPM below target with its value
    and stays about 150 words; a CPM names the provider measures that held it down exactly when one fed it
    in its region; nothing says a process meets and misses its target beside a run of misses."""
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.store import connect as db

    con = db.connect(":memory:")
    try:
        bootstrap.load_reference_data(con)
        lines = ["month,measure,provider,value,status,note"]
        for number, values in enumerate(months, start=1):
            for (measure, provider), value in zip(SERIES, values):
                status = "null,not reported" if value is None else ","
                lines.append(f"2018-{number:02d},{measure},{provider},{'' if value is None else value},{status}")
        load_text(con, "\n".join(lines) + "\n", "generated.csv")
        month = date(2018, len(months), 1)
        built = summary.build_summary(con, month)
        (headline,) = dict(built.sections)["Headline"]
        assert headline.text.startswith(f"In {month:%B %Y}")
        assert len(headline.text.split()) <= 160
        for found in built.findings:
            assert not {"nan", "None", "NaN", "::"} & set(found.text.replace(".", " ").replace(",", " ").split())
            if found.figures.get("run_below_target", 0) > 1:
                assert "meets and misses" not in found.text
        latest = dict(zip(SERIES, months[-1]))
        levels = {"CPM1": (99, 96), "PM2": (99, 96), "DSP1.1": (99, 96)}

        def missed(key):
            value = latest[key]
            return value is not None and value < levels[key[0]][0]

        for key in (("CPM1", "DCC"), ("CPM1", "CSP N")):
            if missed(key):
                assert f"{latest[key]:.2f}%" in headline.text
                text = finding(built, f"below:CPM1:{key[1]}").text
                regions = ("CSP N", "CSP C&S", "DSP") if key[1] == "DCC" else ("CSP N",)
                fed = [k for k in latest if k[0] != "CPM1" and k[1] in regions and missed(k)]
                assert ("held below target by" in text) == bool(fed), (text, fed)
    finally:
        con.close()


def test_identifiers_as_opsg_writes_them():
    from opsg_metrics import words

    assert [words.who(*k) for k in (("CPM1", "DCC"), ("DSP1.2", "DSP"), ("PM2", "CSP N"), ("DSP-AVAIL", "DSP"))] == [
        "CPM1 overall",
        "DSP1.2 (DSP)",
        "PM2 in CSP N",
        "DSP-AVAIL (DSP)",
    ]
    assert words.where("PM4.2", ["CSP S", "CSP C&S"]) == "PM4.2 in CSP S and CSP C&S"
    assert words.where("CPM1", ["DCC", "CSP N"]) == "CPM1 overall and in CSP N"
    assert words.listing(["a", "b", "c", "d", "e", "f"], 4) == "a, b, c, d and 2 more"
    assert words.split_reported("Reported figure: OPSG_56 minutes (7 Sep 2021); 77 pending") == (
        "OPSG_56 minutes (7 Sep 2021)",
        "77 pending",
    )
    assert words.split_reported("Low growth") == (None, "Low growth")
    assert words.minutes_of("OPSG_56 minutes (7 Sep 2021)") == "the OPSG_56 minutes of 7 Sep 2021"


def test_the_table_marks_the_values_the_minutes_reported(april):
    _, built = april
    table = built.table.set_index(["Measure", "Provider"])
    assert table.loc[("PM2", "CSP N"), "Value"] == f"{REPORTED_54_80})"
    assert table.loc[("CPM1", "CSP N"), "Value"] == "97.03%"


def test_the_headline_says_runs_and_causes_as_the_sections_do(sample_db):
    def headline(month):
        return finding(summary.build_summary(sample_db, month), "headline").text

    # A month inside the run not reported: the headline says "reported" as the section does.
    assert "(98.68%, the 20th reported month in succession)" in headline(date(2020, 9, 1))
    # Below its minimum for the first time (below target for four months): it fell below its minimum.
    assert "PM2 in CSP N at 89.66% fell below its minimum." in headline(date(2018, 11, 1))
    # PM2 in CSP N held CPM1 down overall and in CSP N, not in CSP C&S: the headline says where.
    assert "; overall and in CSP N it was held below target by PM2 in CSP N" in headline(date(2019, 3, 1))
    # A figure not reported is named, not only counted.
    assert "; CPM1 overall was not reported." in headline(date(2020, 6, 1))


def test_a_figure_revised_twice_is_under_each_reissue_with_its_unit(fresh_db):
    load_rows(fresh_db, "2018-01,L1,DSP,12,,\n", "issue 1.csv")
    load_rows(fresh_db, "2018-01,L1,DSP,14,,\n", "issue 2.csv")
    load_rows(fresh_db, "2018-01,L1,DSP,15,,\n", "issue 3.csv")
    built = summary.build_summary(fresh_db, date(2018, 1, 1))
    revised = [f.text for f in built.findings if f.key.startswith("quality:revised")]
    assert revised == [
        "issue 2.csv revised 1 DSP figure given in issue 1.csv: L1 in DSP from 12 minutes to 14 minutes (+2.00).",
        "issue 3.csv revised 1 DSP figure given in issue 2.csv: L1 in DSP from 14 minutes to 15 minutes (+1.00).",
    ]


def test_a_note_with_no_words_is_not_quoted(fresh_db):
    load_rows(fresh_db, '2018-01,M1,CSP N,95,unreliable,"..."\n')
    text = finding(summary.build_summary(fresh_db, date(2018, 1, 1)), "quality:unreliable").text
    assert text == "M1 in CSP N at 95.00% is flagged as unreliable."


def test_many_cpms_below_target_make_a_short_headline(catalogue_db):
    rows = "".join(f"2018-01,CPM{n},DCC,70,,\n" for n in (1, 2, 3, 5, 6, 7, 8))
    rows += "".join(f"2018-01,CPM{n},CSP N,70,,\n" for n in (1, 2, 3))
    load_rows(catalogue_db, rows)
    text = finding(summary.build_summary(catalogue_db, date(2018, 1, 1)), "headline").text
    assert text.startswith("In January 2018 10 Code Performance Measure figures were below target: ")
    assert "and 3 more." in text and len(text.split()) <= 160


def test_a_trend_title_names_the_overall_figure_as_the_summary_does():
    from opsg_metrics import words

    april = date(2020, 4, 1)
    assert (
        words.trend_title("CPM1", [("DCC", "below_target", 16, 0)], april) == "CPM1 below target overall for 16 months"
    )
    assert (
        words.trend_title("CPM1", [("DCC", "below_target", 16, 0), ("CSP N", "below_target", 16, 0)], april)
        == "CPM1 below target overall and in CSP N for 16 months"
    )
    assert (
        words.trend_title("PM2", [("CSP N", "below_minimum", 21, 18)], april)
        == "PM2 below minimum in CSP N for 18 months"
    )
    assert words.trend_title("CPM2", [("DCC", "met", 0, 0)], april) == "CPM2 met its target overall in April 2020"
