"""The minutes check: claims read in OPSG's styles and judged on the sample (a corpus of sentences, each
with its expected claims and verdicts), the summary round trip, traps, the command, the page."""

from __future__ import annotations

import io
import json
from datetime import date

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest.documents import read_document
from opsg_metrics.queries.claims.check import as_records, check_text
from opsg_metrics.queries.claims.read import pmr_month_of
from opsg_metrics.queries.claims.vocabulary import number_value, resolve_month
from opsg_metrics.render.documents import build
from opsg_metrics.store.errors import OpsgError

from .conftest import cli_here

# (PMR month, sentence, [(quantity, measure, provider, verdict), ...]) on the bundled sample. Written from
# the primer and the reported figures in OPSG's styles; sentences with no claim, two or more, and traps
# (action numbers, incident numbers, meeting dates, forecasts, quotes, tables).
CORPUS = [
    (
        "2019-10",
        "CPM1 was again below target for the tenth month in succession.",
        [("status", "CPM1", "DCC", "agrees"), ("run", "CPM1", "DCC", "agrees")],
    ),
    ("2019-10", "CPM 1 remained below its Target Service Level in CSP North.", [("status", "CPM1", "CSP N", "agrees")]),
    (
        "2019-10",
        "Nine RDP Incidents had been resolved in November, and six remain open.",
        [("count", "RDP incidents resolved", "RDP", "agrees"), ("count", "RDP incidents still open", "RDP", "agrees")],
    ),
    (
        "2019-10",
        "Nine RDP Incidents had been resolved in November, and seven remain open.",
        [
            ("count", "RDP incidents resolved", "RDP", "agrees"),
            ("count", "RDP incidents still open", "RDP", "disagrees"),
        ],
    ),
    (
        "2019-11",
        "There has been a reduction in the number of RDP Incidents raised since a spike in September 2019.",
        [
            ("direction", "RDP incidents opened", "DCC", "agrees"),
            ("direction", "RDP incidents opened", "DCC", "agrees"),
        ],
    ),
    (
        "2019-11",
        "Members noted the current increase in Alerts, particularly 8F3E Alerts.",
        [("direction", "alerts in month", "DCC", "agrees")],
    ),
    ("2019-10", "A fix for CSP C&S planned for December has been delayed until February.", []),
    ("2019-10", "Action OPSG 28/04: DCC to report on the Key Incidents caused by Production Proving.", []),
    ("2019-10", "INC000000526144 was caused by human error applying a change overnight.", []),
    ("2019-10", "The meeting on 7 January 2020 reviewed the October 2019 PMR.", []),
    ("2019-10", "CPM1 in CSP N was 97.10% in October 2019.", [("value", "CPM1", "CSP N", "agrees")]),
    ("2019-10", "CPM1 in CSP N was 97.50% in October 2019.", [("value", "CPM1", "CSP N", "disagrees")]),
    (
        "2019-10",
        "PM2 in CSP N was at 59.17%, below its minimum.",
        [("value", "PM2", "CSP N", "agrees"), ("status", "PM2", "CSP N", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 has been below Target Service Level for the last ten months; with this being the 16th instance it has been below in 17 months.",
        [("status", "CPM1", "DCC", "agrees"), ("run", "CPM1", "DCC", "disagrees"), ("window", "CPM1", "DCC", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 was below target again. This was impacted by the failure of PM2 to meet its Service Level, which was below minimum target level of 54.80% in CSP N.",
        [
            ("status", "CPM1", "DCC", "agrees"),
            ("cause", "CPM1", "DCC", "agrees"),
            ("status", "PM2", "CSP N", "agrees"),
            ("value", "PM2", "CSP N", "agrees"),
        ],
    ),
    (
        "2020-04",
        "CPM1 in CSP N was impacted by the failure of PM4.1 in CSP N.",
        [("cause", "CPM1", "CSP N", "cannot check")],
    ),
    ("2020-04", "CPM1 was held below target by DSP1.1 (DSP).", [("cause", "CPM1", "DCC", "disagrees")]),
    (
        "2020-04",
        "the April 2020 PMR shows CPM 1 at 98.32 % overall, CPM1 in CSP North at 97.03%.",
        [("value", "CPM1", "DCC", "agrees"), ("value", "CPM1", "CSP N", "agrees")],
    ),
    ("2020-04", "- **CPM1** overall: *98.32%*", [("value", "CPM1", "DCC", "agrees")]),
    ("2020-04", "| CPM1 | DCC | 99.00% | 99% |", []),
    ("2020-04", "PM2 was below its minimum service level in CSP N in April.", [("status", "PM2", "CSP N", "agrees")]),
    ("2020-04", "CPM1 met its target in April 2020.", [("status", "CPM1", "DCC", "disagrees")]),
    ("2020-04", "CPM2 met its target.", [("status", "CPM2", "DCC", "agrees")]),
    (
        "2020-04",
        "DSP 1.2 was 96.30% against a target of 99%.",
        [("value", "DSP1.2", "DSP", "agrees"), ("target", "DSP1.2", "DSP", "agrees")],
    ),
    ("2020-04", "CPM3 was at a Green status across all regions.", [("status", "CPM3", "DCC", "agrees")]),
    (
        "2020-05",
        "Five RDP Incidents were raised in May, three were resolved in the month and five remain open.",
        [
            ("count", "RDP incidents opened", "RDP", "agrees"),
            ("count", "RDP incidents resolved", "RDP", "agrees"),
            ("count", "RDP incidents still open", "RDP", "agrees"),
        ],
    ),
    ("2020-05", "Installations were now up to 25% of the amount of installations pre Covid-19.", []),
    (
        "2021-07",
        "PM2 in CSP N achieved 71.01% in July, ahead of the remediation plan.",
        [("value", "PM2", "CSP N", "agrees")],
    ),
    (
        "2021-07",
        "PM2 in CSP N is forecast to reach approximately 76% in August.",
        [("value", "PM2", "CSP N", "agrees")],
    ),
    (
        "2021-08",
        "There were five Category 2 Major Incidents in August.",
        [("count", "major incidents", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "There were 211 changes in August with a 96.7% success rate.",
        [("count", "changes implemented", "DCC", "agrees"), ("count", "change success rate", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "There are 90 open Problem tickets, 77 of them pending.",
        [("count", "open problem tickets", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "The volume of installations was lower in August than the previous month.",
        [("direction", "installations in month", "DCC", "agrees")],
    ),
    ("2021-08", "The volume of change has reduced.", [("direction", "changes implemented", "DCC", "agrees")]),
    (
        "2021-08",
        "The number and age of outstanding problems is stable.",
        [("direction", "open problem tickets", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "The number of Devices being decommissioned had increased.",
        [("direction", "devices decommissioned", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "The frequency of Major Incidents appeared to be increasing in comparison with the levels achieved at the end of 2020.",
        [("direction", "major incidents", "DCC", "cannot check")],
    ),
    (
        "2021-08",
        "The FOC migration issues caused an increase in the number of Incidents raised in the month.",
        [("direction", "incidents opened", "DCC", "agrees")],
    ),
    (
        "2021-08",
        "CPM1 remained below target in CSP N at 98.18%.",
        [("status", "CPM1", "CSP N", "agrees"), ("value", "CPM1", "CSP N", "agrees")],
    ),
    ("2021-08", "There were 250 changes in August.", [("count", "changes implemented", "DCC", "disagrees")]),
    (
        "2021-08",
        "The volume of installations was higher in August than the previous month.",
        [("direction", "installations in month", "DCC", "disagrees")],
    ),
    ("2021-08", "CPM1 was 99.1% in March 2030.", [("value", "CPM1", "DCC", "cannot check")]),
    ("2020-04", "PM2 was 54.80%.", [("value", "PM2", None, "cannot check")]),
    ("2018-03", "CPM8 was not reported in March 2018.", []),
    ("2018-03", "CPM8 met its target in March 2018.", [("status", "CPM8", "DCC", "cannot check")]),
    ("2020-04", "Members noted the update.", []),
    ("2020-04", "DCC agreed to reissue the April 2020 PMR with revisions.", []),
    ("2020-04", "The SEC Panel will consider the paper on 15 May 2020.", []),
    ("2020-04", "The OPSG_33xx minutes were approved as a correct record.", []),
    ("2020-04", "The Chair thanked members; the next meeting is on 3 March.", []),
    (
        "2020-04",
        "CPM1 has been below target since January 2019.",
        [("status", "CPM1", "DCC", "agrees"), ("run_start", "CPM1", "DCC", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 has been below target since March 2019.",
        [("status", "CPM1", "DCC", "agrees"), ("run_start", "CPM1", "DCC", "disagrees")],
    ),
    (
        "2020-04",
        "CPM1 was below target for 16 consecutive months.",
        [("status", "CPM1", "DCC", "agrees"), ("run", "CPM1", "DCC", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 was below target in 16 of the last 17 months.",
        [("window", "CPM1", "DCC", "agrees")],  # "below target in 16 of ...": the window's verb, no status
    ),
    (
        "2020-04",
        "CPM1 was below target in 12 of the last 17 months.",
        [("window", "CPM1", "DCC", "disagrees")],
    ),
    (
        "2020-04",
        "DSP1.2 was below target for the first time since October 2018.",
        [("status", "DSP1.2", "DSP", "agrees"), ("previous_miss", "DSP1.2", "DSP", "agrees")],
    ),
    (
        "2020-04",
        "CH1.3 in CSP N fell below target at 97.23%, from 99.43% the month before.",
        [
            ("status", "CH1.3", "CSP N", "agrees"),
            ("value", "CH1.3", "CSP N", "agrees"),
            ("value", "CH1.3", "CSP N", "agrees"),
        ],
    ),
    ("2019-11", "PM4.3 achieved 100% in CSP N in November 2019.", [("value", "PM4.3", "CSP N", "agrees")]),
    (
        "2019-11",
        "The 100% achievement of PM4.3 was queried as inconsistent with the poor performance Service Users experienced.",
        [],
    ),
    (
        "2020-04",
        "CPM4 was at 100% and CPM5 at 95.35%.",
        [("value", "CPM4", "DCC", "agrees"), ("value", "CPM5", "DCC", "agrees")],
    ),
    ("2020-04", "CPM6 was below its Minimum Service Level.", [("status", "CPM6", "DCC", "disagrees")]),
    ("2020-04", "The April 2020 PMR showed CPM2 at 99.46%.", [("value", "CPM2", "DCC", "agrees")]),
    (
        "2020-04",
        "PM2 in CSP C&S was 99.37% and PM2 in CSP C was 99.36%.",
        [("value", "PM2", "CSP C&S", "agrees"), ("value", "PM2", "CSP C", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 overall was 98.32%; CPM1 in CSP N was 97.03%.",
        [("value", "CPM1", "DCC", "agrees"), ("value", "CPM1", "CSP N", "agrees")],
    ),
    (
        "2020-04",
        "Category 1 firmware payloads (PM2) in CSP N were below minimum.",
        [("status", "PM2", "CSP N", "agrees")],
    ),
    (
        "2020-04",
        "CPM1 was below target for the sixteenth month in succession.",
        [("status", "CPM1", "DCC", "agrees"), ("run", "CPM1", "DCC", "agrees")],
    ),
    ("2020-04", "Twenty-one Users were consuming services without an SR forecast, including four large suppliers.", []),
    ("2019-12", "CPM1 is not expected to be above service level in all CSP regions in December.", []),
    ("2019-10", "A large number of Key Incidents were caused by Production Proving.", []),
    (
        "2019-09",
        "RDP Incidents saw a spike in September 2019.",
        [("direction", "RDP incidents opened", "DCC", "agrees")],
    ),
]


def month_of(key: str) -> date:
    return date(*map(int, key.split("-")), 1)


@pytest.mark.parametrize("month, sentence, expected", CORPUS, ids=[f"{i:02d}" for i in range(len(CORPUS))])
def test_corpus_sentence_reads_and_judges_as_expected(sample_db, month, sentence, expected):
    checked = check_text(sample_db, sentence, month_of(month))
    got = [(v.claim.quantity, v.claim.measure, v.claim.provider, v.verdict) for v in checked.verdicts]
    assert got == expected


def test_the_corpus_is_large_and_varied_enough():
    assert len(CORPUS) >= 60
    assert sum(1 for *_, e in CORPUS if not e) >= 10  # sentences with no claim
    assert sum(1 for *_, e in CORPUS if len(e) >= 2) >= 15
    verdicts = {v for *_, e in CORPUS for *_, v in e}
    assert verdicts == {"agrees", "disagrees", "cannot check"}
    quantities = {q for *_, e in CORPUS for q, *_ in e}
    assert {
        "run",
        "window",
        "value",
        "status",
        "count",
        "direction",
        "cause",
        "run_start",
        "previous_miss",
    } <= quantities


def test_the_conflicting_cpm1_statements_of_the_minutes_are_caught(sample_db):
    october = check_text(sample_db, "CPM1 was again below target for the tenth month in succession.", date(2019, 10, 1))
    april = check_text(
        sample_db,
        "CPM1 has been below Target Service Level for the last ten months; with this being the 16th instance it "
        "has been below in 17 months.",
        date(2020, 4, 1),
    )
    assert [v.verdict for v in october.verdicts if v.claim.quantity == "run"] == ["agrees"]
    (run,) = [v for v in april.verdicts if v.claim.quantity == "run"]
    assert run.verdict == "disagrees" and run.recorded == 16
    assert (
        run.said == "the record has 16 consecutive months below target since January 2019 for CPM1 overall (April 2020)"
    )
    assert run.claim.text == "for the last ten months"
    (window,) = [v for v in april.verdicts if v.claim.quantity == "window"]
    assert (window.verdict, window.claim.claimed, window.claim.window) == ("agrees", 16, 17)


@pytest.mark.parametrize("month", ["2019-10", "2020-04", "2020-05", "2021-02", "2021-08"])
def test_every_statement_of_the_generated_summary_agrees_with_the_record(sample_db, month):
    _, content, _ = build.summary_document(sample_db, month_of(month), "txt")
    checked = check_text(sample_db, content.decode("utf-8"), month_of(month))
    assert len(checked.verdicts) >= 40
    assert [(v.claim.text, v.said) for v in checked.verdicts if v.verdict != "agrees"] == []
    quantities = {v.claim.quantity for v in checked.verdicts}
    assert {"value", "status", "run", "count"} <= quantities


@pytest.mark.parametrize(
    "true, false",
    [
        (
            "below target for the 16th month in succession (since January 2019)",
            "below target for the 12th month in succession (since January 2019)",
        ),
        ("at 98.32%", "at 98.62%"),
        ("RDP incidents: 7 opened", "RDP incidents: 9 opened"),
        ("204 changes were implemented", "240 changes were implemented"),
        ("(since January 2019)", "(since March 2019)"),
    ],
)
def test_a_summary_edited_to_say_something_false_is_caught(sample_db, true, false):
    _, content, _ = build.summary_document(sample_db, date(2020, 4, 1), "txt")
    text = content.decode("utf-8")
    assert true in text
    checked = check_text(sample_db, text.replace(true, false, 1), date(2020, 4, 1))
    assert any(false.split()[-1].strip("()") in v.claim.sentence for v in checked.disagrees)


def test_numbers_months_and_the_pmr_month_in_the_ways_opsg_writes_them():
    assert [number_value(w) for w in ("ten", "tenth", "16th", "sixteenth", "twenty-one", "21st", "1,256")] == [
        10,
        10,
        16,
        16,
        21,
        21,
        1256,
    ]
    assert number_value("OPSG") is None
    assert resolve_month("November", None, date(2019, 10, 1)) == date(2019, 11, 1)
    assert resolve_month("January", None, date(2020, 4, 1)) == date(2020, 1, 1)
    assert resolve_month("Sept", "2019", date(2020, 4, 1)) == date(2019, 9, 1)
    assert pmr_month_of("Members reviewed the April 2020 PMR.") == date(2020, 4, 1)
    assert pmr_month_of("the PMR for October 2019 was presented") == date(2019, 10, 1)
    assert pmr_month_of("The meeting on 7 January 2020 noted the update.") is None


def test_without_a_month_the_text_must_name_one(sample_db):
    with pytest.raises(OpsgError, match="choose the PMR month"):
        check_text(sample_db, "CPM1 was below target.")
    assert check_text(sample_db, "In the April 2020 PMR CPM1 was 98.32%.").month == date(2020, 4, 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_any_text_gives_verdicts_never_an_error(sample_db, text):
    checked = check_text(sample_db, text, date(2020, 4, 1))
    for v in checked.verdicts:
        assert v.verdict in ("agrees", "disagrees", "cannot check")
        assert 0 <= v.claim.span[0] < v.claim.span[1] <= len(v.claim.sentence)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            [
                "CPM1",
                "CPM 1",
                "PM2",
                "in CSP N",
                "overall",
                "below target",
                "met its target",
                "for the",
                "tenth",
                "16th",
                "month in succession",
                "since January 2019",
                "98.32%",
                "54.80%",
                "approximately",
                "76%",
                ";",
                ".",
                "OPSG 28/04",
                "INC000000526144",
                "on 7 January 2020",
                "211 changes",
                "RDP Incidents",
                "spike in",
                "September 2019",
                "lower",
                "than the previous month",
                "It",
                "This was impacted by the failure of",
            ]
        ),
        max_size=25,
    )
)
def test_generated_opsg_like_text_never_errs(sample_db, parts):
    text = " ".join(parts)
    for v in check_text(sample_db, text, date(2020, 4, 1)).verdicts:
        assert v.claim.text.strip() and v.said


def test_json_records_have_the_documented_fields(sample_db):
    records = as_records(check_text(sample_db, "CPM1 was 98.32% in April 2020.", date(2020, 4, 1)))
    assert {
        "sentence",
        "span",
        "measure",
        "provider",
        "month",
        "quantity",
        "claimed",
        "recorded",
        "verdict",
        "source",
    } <= set(records[0])
    assert records[0]["verdict"] == "agrees" and records[0]["month"] == "2020-04" and records[0]["recorded"] == 98.32


def word_file(*paragraphs: str) -> bytes:
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "CPM1", "98.32%"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_documents_are_read_as_text_or_refused_with_a_reason():
    assert read_document("a.md", "\ufeff# Minutes\n\nCPM1 was 98.32%.".encode()) == "# Minutes\n\nCPM1 was 98.32%."
    text = read_document("m.docx", word_file("CPM1 was below target.", "PM2 in CSP N was 54.80%."))
    assert "CPM1 was below target." in text and "PM2 in CSP N was 54.80%." in text and "CPM1 | 98.32%" in text
    for name, data, says in [
        ("m.docx", b"PK\x03\x04broken", "not a Word document"),
        ("m.txt", b"\xff\xfe\x00C\x00P", "binary"),
        ("m.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("m.pdf", b"%PDF-1.4", "not a text, Markdown or Word"),
        ("big.txt", b"a" * 5_000_001, "more than"),
    ]:
        with pytest.raises(OpsgError, match=says):
            read_document(name, data)


def test_command_exit_codes_text_and_json(sample_db_path, tmp_path):
    agree = tmp_path / "agree.md"
    agree.write_text("The April 2020 PMR: CPM1 was below target for the 16th month in succession.\n", encoding="utf-8")
    wrong = tmp_path / "wrong.docx"
    wrong.write_bytes(word_file("CPM1 has been below Target Service Level for the last ten months."))
    proc = cli_here("--db", sample_db_path, "check-minutes", agree, check=0)
    assert "2 claims: 2 agree, 0 disagree" in proc.stdout and "[[the 16th month in succession]]" in proc.stdout
    proc = cli_here("--db", sample_db_path, "check-minutes", agree, wrong, "--month", "2020-04", check=1)
    assert "DISAGREES: CPM1 has been below Target Service Level [[for the last ten months]]." in proc.stdout
    assert "the record has 16 consecutive months below target since January 2019" in proc.stdout
    proc = cli_here("--db", sample_db_path, "check-minutes", wrong, "--month", "2020-04", "--json", check=1)
    records = json.loads(proc.stdout)
    # The paragraph's two claims, then the Word table's row ("CPM1 | 98.32%"): tables are read too.
    assert [r["verdict"] for r in records] == ["agrees", "disagrees", "agrees"] and records[1]["claimed"] == 10
    assert records[2]["claimed"] == 98.32
    proc = cli_here("--db", sample_db_path, "check-minutes", tmp_path / "missing.txt", check=2)
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr
    no_month = tmp_path / "no-month.txt"
    no_month.write_text("CPM1 was below target.", encoding="utf-8")
    proc = cli_here("--db", sample_db_path, "check-minutes", no_month, check=2)
    assert "choose the PMR month" in proc.stderr
    cli_here("--db", sample_db_path, "check-minutes", "--month", "2020-13", agree, check=2)


def test_minutes_page_marks_each_claim_with_its_verdict(open_app):
    at = open_app("pages/minutes.py")  # opened from the Overview: its ?month= is not the text's PMR month
    assert not at.exception and at.selectbox[0].value == ""
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["PMR month"] == "Apr 2020" and metrics["✖ Disagrees"] == "1"
    text = " ".join(m.value for m in at.markdown)
    assert ":red-background[**for the last ten months**]" in text
    at.text_area[0].input("CPM1 was 98.32% in April 2020.").run()
    assert any("choose the PMR month" in w.value for w in at.warning)  # the text names no PMR month
    at.selectbox[0].set_value("2020-04").run()
    assert {m.label: m.value for m in at.metric}["✔ Agrees"] == "1"
    from opsg_metrics.app import requests

    request, warnings = requests.read_minutes({"pmr": ["2031-01"]}, ["2020-04"])
    assert request.month == "" and "has no figures here" in warnings[0]
    assert requests.read_minutes({"pmr": ["2020-04"]}, ["2020-04"]) == (requests.MinutesRequest("2020-04"), [])
    assert requests.read_minutes({"month": ["2020-04"]}, ["2020-04"]) == (requests.MinutesRequest(""), [])
    assert requests.minutes_params(requests.MinutesRequest("")) == {}


# True of the sample, in the ways a second reader wrote them: each may agree or be "cannot check", but a
# true statement is never judged to disagree (bounds, levels written before their word, gaps, ranges,
# months beside their figure, lists "respectively", asides, unknown regions, negations, conditionals,
# forecasts, relative months, averages, revisions, dashes Word types).
TRUE_OF_THE_SAMPLE = [
    ("2020-04", "CPM1 was below 99% in April."),
    ("2020-04", "PM2 in CSP N remained below 96%."),
    ("2020-04", "CPM1 fell short of 99%."),
    ("2020-04", "CPM1 was 98.32%, below its 99% target."),
    ("2020-04", "CPM1 was 98.32% against a 99% target."),
    ("2020-04", "The Target Service Level for CPM1 is 99% and the Minimum Service Level is 96%."),
    ("2020-04", "CPM1 was 98.32%, 0.68% below target."),
    ("2020-04", "CPM1 was between 98% and 99%."),
    ("2020-04", "CPM1 was 98-99%."),
    ("2020-04", "PM2 in CSP N remained below its minimum (54.80%) for the 18th month in succession."),
    ("2020-04", "PM2 in CSP N was at 54.8%, down from 57.42% in March."),
    ("2021-07", "PM2 in CSP N was 71.01%, up from 69.72% in June."),
    ("2020-04", "There were 180 changes in March and 204 changes in April."),
    ("2020-04", "Last month CPM1 was 98.45%."),
    ("2020-04", "A year ago CPM1 was 98.14%."),
    ("2020-04", "CPM7 and CPM8 both met their targets, at 99.13% and 99.66% respectively."),
    ("2020-04", "CPM1 and CPM2 were 98.32% and 99.46% respectively."),
    ("2020-04", "PM1.1 and PM1.2 in CSP N were 100% and 99.22%."),
    ("2020-04", "PM2, which feeds CPM1, was 54.80% in CSP N."),
    ("2020-04", "PM2 in Central and South was 99.37%."),
    ("2020-04", "CPM1 in CSP\u2013N was 97.03%."),
    ("2020-04", "CPM1 for Arqiva was 97.03%."),
    ("2020-04", "CPM1 excluding CSP N was 99.29%."),
    ("2020-04", "Neither CPM1 nor PM2 in CSP N met its target."),
    ("2020-04", "Members asked whether CPM1 met its target."),
    ("2020-04", "If PM2 in CSP N had met its target, CPM1 would have been at 99.1%."),
    ("2020-04", "There was no increase in Major Incidents in April."),
    ("2021-07", "PM2 in CSP N should reach 96% by the end of the year."),
    ("2020-04", "CPM3 was below target in 1 of the last 12 months."),
    ("2020-04", "PM2 in CSP N has been below its Minimum Service Level since November 2018."),
    ("2019-10", "In September CPM1 fell to 95.31%, recovering to 97.95% in October."),
    ("2020-04", "CPM1 rose from 98.45% in March to 98.32%."),
    ("2020-04", "CPM1 was 98.32%, an improvement of 0.2% on March."),
    ("2020-04", "CPM1 achieved 98,32%."),
    ("2020-04", "CPM1 was 98.32% in April (99.1% in the revised PMR)."),
    ("2020-04", "CPM1 averaged 97.9% over the last 12 months."),
    ("2020-04", "CPM1 for large suppliers was 98.9%."),
    ("2020-04", "Incidents in CSP N were lower in April."),
    ("2020-04", "There were 4 incidents raised in CSP S in April."),
    ("2019-10", "Category 2 Major Incidents were reviewed."),
    ("2019-10", "Members noted 3 changes to the Major Incident process."),
    ("2019-10", "DCC expects 20 changes next month."),
    ("2019-10", "Three Problem tickets were discussed in detail."),
    ("2019-10", "DCC will close 10 Problem tickets by December."),
    ("2019-10", "Only 4 of the 12 changes requested by members were agreed."),
    ("2020-04", "Two RDP Incidents remain open from 2019."),
]


@pytest.mark.parametrize(
    "month, sentence", TRUE_OF_THE_SAMPLE, ids=[f"{i:02d}" for i in range(len(TRUE_OF_THE_SAMPLE))]
)
def test_a_true_statement_is_never_judged_to_disagree(sample_db, month, sentence):
    checked = check_text(sample_db, sentence, month_of(month))
    assert [(v.claim.text, v.said) for v in checked.verdicts if v.verdict == "disagrees"] == []


@pytest.mark.parametrize(
    "text",
    [
        "CPM1 was below target for the " + "1" * 5000 + "th month in succession.",
        "CPM1 was below target in 5 of the last 700 months.",
        "CPM1 was below target " * 20000,
        " " * 400_000 + "CPM1 was 98.32%.",
        "\n" * 200_000,
        "the minutes " * 50_000,
        "(" * 5000 + "CPM1 was 98.32%" + ")" * 5000,
    ],
    ids=["long-ordinal", "window-700", "long-line", "spaces", "newlines", "reported-speech", "nested"],
)
def test_hostile_text_gives_verdicts_quickly_never_an_error(sample_db, text):
    checked = check_text(sample_db, text, date(2020, 4, 1))
    assert all(v.verdict in ("agrees", "cannot check") for v in checked.verdicts)


def test_damaged_and_oversized_word_files_are_refused_with_a_reason(tmp_path):
    import zipfile

    def zipped(members: dict) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buffer.getvalue()

    good = word_file("CPM1 was 98.32%.")
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    bomb = zipped({**parts, "word/media/zeros.bin": b"\0" * 60_000_000})
    laughs = zipped({**parts, "word/document.xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><l>&a;</l>'})
    broken = zipped({**parts, "word/document.xml": b"<w:document><unclosed>"})
    for data, says in [(bomb, "unpacks to more than"), (laughs, "declares XML entities"), (broken, "damaged")]:
        with pytest.raises(OpsgError, match=says):
            read_document("m.docx", data)
    assert read_document("pki.txt", b"PKI certificates: CPM1 was 98.32%.") == "PKI certificates: CPM1 was 98.32%."
    with pytest.raises(OpsgError, match="characters is more than the 1,000,000 a check reads"):
        read_document("long.txt", b"a" * 1_000_001)
