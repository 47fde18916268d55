"""The committed sample data (data/sample/) is reproducible and keeps its promises.

These tests read the CSV files directly, without the database: the generator
must reproduce them byte for byte, the figures quoted in OPSG minutes must be
there with their exact value and a `Reported figure: <source>` note, and the
internal arithmetic (counts, C&S = C + S, RDP open counts) must hold.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from opsg_metrics.sample import generate  # noqa: E402

SAMPLE = REPO_ROOT / "data" / "sample"
CATALOGUE = REPO_ROOT / "data" / "catalogue" / "measures.csv"
MONTHS = [f"{year}-{month:02d}" for year in range(2018, 2022) for month in range(1, 13)]
COUNTED = {"CPM1", "CPM2", "CPM3", "PM2"}

# Figures quoted in OPSG minutes: a copy of the shared domain file, committed
# as reference data so the project stands alone (test_reference_copy checks it).
REPORTED_FIGURES_FILE = REPO_ROOT / "data" / "reference" / "reported-figures.csv"
# metric in the minutes -> metric in ops.csv, where the wording differs
OPS_METRIC = {
    "RDP incidents resolved in month": "RDP incidents resolved",
    "Users consuming services without a CSR forecast": "users without a CSR forecast",
    "Users consuming services without an SR forecast": "users without an SR forecast",
}
REAL_INCIDENTS = {
    # id: provider, months it may have been opened in, source
    "INC000000478818": ("DSP", {"2019-09"}, "OPSG_25 minutes (1 Oct 2019)"),
    "INC000000479406": ("DSP", {"2019-09"}, "OPSG_25 minutes (1 Oct 2019)"),
    "INC000000503961": ("DCC", {"2019-11", "2019-12"}, "OPSG_28 minutes (7 Jan 2020)"),
    "INC000000526144": ("CSP N", {"2019-11", "2019-12"}, "OPSG_28 minutes (7 Jan 2020)"),
}


def read(relative: str) -> list[dict[str, str]]:
    with open(SAMPLE / relative, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def manifest() -> list[dict[str, str]]:
    return read("manifest.csv")


def measure_files() -> list[str]:
    return [entry["file"] for entry in manifest() if entry["kind"] == "measures"]


def current_measures() -> dict[tuple[str, str, str], dict[str, str]]:
    """(month, measure, provider) -> row, later files in load order replacing earlier."""
    current = {}
    for relative in measure_files():
        for row in read(relative):
            current[(row["month"], row["measure"], row["provider"])] = row
    return current


def all_measure_rows() -> list[tuple[str, dict[str, str]]]:
    return [(relative, row) for relative in measure_files() for row in read(relative)]


def catalogue_series() -> set[tuple[str, str]]:
    with open(CATALOGUE, newline="", encoding="utf-8") as handle:
        return {(row["measure"], row["provider"]) for row in csv.DictReader(handle)}


def ops() -> dict[tuple[str, str, str], dict[str, str]]:
    rows = read("ops.csv")
    keyed = {(row["month"], row["metric"], row["provider"]): row for row in rows}
    assert len(keyed) == len(rows), "duplicate (month, metric, provider) in ops.csv"
    return keyed


def files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def test_generator_reproduces_the_committed_files(tmp_path):
    generate(tmp_path)
    committed, regenerated = files_under(SAMPLE), files_under(tmp_path)
    assert regenerated == committed
    # 48 PMRs + reissue + incidents, alerts, ops, annotations, manifest, README; the record: meetings, an
    # actions list for each of four meetings, decisions, commentary
    assert len(committed) == 62
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (SAMPLE / relative).read_bytes(), relative


def test_sample_is_small_and_plain():
    sizes = {relative: (SAMPLE / relative).stat().st_size for relative in files_under(SAMPLE)}
    assert sum(sizes.values()) < 2_000_000
    for relative in sizes:
        data = (SAMPLE / relative).read_bytes()
        assert b"\r" not in data, relative
        data.decode("utf-8")


def reported_figures(kind: str = "figure") -> list[dict[str, str]]:
    with open(REPORTED_FIGURES_FILE, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["kind"] == kind]


SHARED_FILES = ("reported-figures.csv", "reported-figures-added.csv")


def all_reported_rows() -> list[dict[str, str]]:
    with open(REPORTED_FIGURES_FILE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", SHARED_FILES)
def test_the_reference_copy_holds_every_row_of_the_shared_files(name):
    shared = REPO_ROOT.parent / "shared" / "domain" / name
    if not shared.exists():
        pytest.skip("no shared/ folder beside this checkout to compare with")
    with open(shared, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ours = all_reported_rows()
    assert rows and all(row in ours for row in rows)  # row by row: the shared files may later be merged


def test_every_kind_of_statement_is_covered():
    kinds = Counter(row["kind"] for row in all_reported_rows())
    assert kinds == {"figure": 21, "statement": 3, "forecast": 2, "incident": 7, "direction": 7, "event": 5}


def check_figure(figure: dict[str, str]) -> None:
    """A figure the minutes quote is in the current data, with its exact value and a Reported figure note."""
    expected_note = f"Reported figure: {figure['source']}" + (f"; {figure['note']}" if figure["note"] else "")
    month, provider, metric = figure["month"], figure["provider"], figure["metric"]
    if metric == "Category 2 major incidents":
        majors = [
            row
            for row in read("incidents.csv")
            if row["opened"].startswith(month) and row["category"] == "2" and row["major"] == "true"
        ]
        assert len(majors) == int(figure["value"])
        assert all(row["root_cause"].endswith(f"Source: {figure['source']}") for row in majors)
        return
    if metric == "PM2":
        row = current_measures()[(month, "PM2", provider)]
    else:
        row = ops()[(month, OPS_METRIC.get(metric, metric), provider)]
    assert float(row["value"]) == float(figure["value"])
    assert row["note"].startswith(expected_note)


def test_april_2020_pm2_csp_n_stays_unreliable_in_both_issues():
    for relative in ("pmr/pmr-2020-04.csv", "pmr/pmr-2020-04-issue2.csv"):
        row = next(r for r in read(relative) if (r["measure"], r["provider"]) == ("PM2", "CSP N"))
        assert (row["value"], row["status"]) == ("54.80", "unreliable")
    forecast = current_measures()[("2021-08", "PM2", "CSP N")]
    assert 75.5 <= float(forecast["value"]) <= 76.5  # "approximately 76%" forecast at OPSG_56


def test_april_2020_reissue_corrects_only_csp_n():
    issue1 = {(r["measure"], r["provider"]): r for r in read("pmr/pmr-2020-04.csv")}
    issue2 = {(r["measure"], r["provider"]): r for r in read("pmr/pmr-2020-04-issue2.csv")}
    assert issue1.keys() == issue2.keys()
    changed = {key for key in issue1 if issue1[key] != issue2[key]}
    csp_n = {key for key in issue1 if key[1] == "CSP N"}
    assert changed == csp_n - {("PM2", "CSP N")}
    for key in csp_n:
        assert issue1[key]["status"] == "unreliable"
        assert "possibly unreliable (reporting tool); PMR to be reissued" in issue1[key]["note"]
        assert issue1[key]["note"].count("PMR to be reissued") == 1
    for key in changed:
        assert issue2[key]["status"] == "reported"
        assert issue2[key]["value"] != issue1[key]["value"]


def test_august_2021_major_incidents_are_five_category_2():
    majors = [row for row in read("incidents.csv") if row["opened"].startswith("2021-08") and row["major"] == "true"]
    assert [row["category"] for row in majors] == ["2"] * 5
    assert sum("SMETS2" in row["title"] for row in majors) == 2
    assert sum("SMETS1" in row["title"] for row in majors) == 3


def test_real_incidents_are_present():
    incidents = {row["incident_id"]: row for row in read("incidents.csv")}
    for incident_id, (provider, months, source) in REAL_INCIDENTS.items():
        row = incidents[incident_id]
        assert row["provider"] == provider
        assert row["opened"][:7] in months
        assert (row["category"], row["major"]) == ("2", "true")
        assert row["root_cause"].endswith(f"Source: {source}")


def test_incident_log_is_well_formed():
    rows = read("incidents.csv")
    for prefix, width in (("INC", 12), ("SAMPLE-", 9)):  # real ones (from the minutes), made-up ones
        ids = [int(row["incident_id"][len(prefix) :]) for row in rows if row["incident_id"].startswith(prefix)]
        assert all(
            len(row["incident_id"]) == len(prefix) + width for row in rows if row["incident_id"].startswith(prefix)
        )
        assert ids and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(row["incident_id"].startswith(("INC", "SAMPLE-")) for row in rows)
    assert [row["opened"] for row in rows] == sorted(row["opened"] for row in rows)
    for row in rows:
        assert row["major"] == ("true" if row["category"] in ("1", "2") else "false")
        assert row["provider"] in {"DCC", "DSP", "CSP N", "CSP C", "CSP S", "RDP"}
        assert not row["resolved"] or row["resolved"] >= row["opened"]
    still_open = [row for row in rows if not row["resolved"]]
    assert 1 <= len(still_open) <= 12
    per_month = Counter(row["opened"][:7] for row in rows)
    assert set(per_month) == set(MONTHS)
    assert all(15 <= count <= 30 for count in per_month.values())


def test_rdp_still_open_follows_opened_and_resolved():
    figures = ops()
    previous = 0
    for month in MONTHS:
        opened = int(figures[(month, "RDP incidents opened", "RDP")]["value"])
        resolved = int(figures[(month, "RDP incidents resolved", "RDP")]["value"])
        still_open = int(figures[(month, "RDP incidents still open", "RDP")]["value"])
        assert still_open == previous + opened - resolved, month
        assert min(opened, resolved, still_open) >= 0
        previous = still_open


def test_installation_growth_agrees_with_reported_growth():
    figures = ops()

    def installed(month: str, csps: list[str]) -> int:
        return sum(int(figures[(month, "installations", csp)]["value"]) for csp in csps)

    for csps, reported in ((["CSP N"], 4), (["CSP C", "CSP S"], 3)):
        growth = installed("2021-08", csps) / installed("2021-07", csps) - 1
        assert round(growth * 100) == reported
    for csp in ("CSP N", "CSP C", "CSP S"):
        for metric in ("installations", "CHs installed"):
            series = [int(figures[(month, metric, csp)]["value"]) for month in MONTHS]
            assert series == sorted(series), (metric, csp)  # cumulative


def test_numerators_and_denominators_agree_with_values():
    checked = 0
    for relative, row in all_measure_rows():
        has_counts = bool(row["numerator"]) or bool(row["denominator"])
        if row["status"] == "null":
            assert (row["value"], row["numerator"], row["denominator"]) == ("", "", ""), (relative, row)
            continue
        assert has_counts == (row["measure"] in COUNTED), (relative, row)
        if has_counts:
            numerator, denominator = int(row["numerator"]), int(row["denominator"])
            assert 0 <= numerator <= denominator
            assert abs(numerator / denominator * 100 - float(row["value"])) <= 0.005 + 1e-9, (relative, row)
            checked += 1
    assert checked > 48 * 10


def test_csp_cs_combines_csp_c_and_csp_s():
    counted = 0
    for relative in measure_files():
        rows = {(r["measure"], r["provider"]): r for r in read(relative)}
        for (measure, provider), combined in rows.items():
            if provider != "CSP C&S" or not measure.startswith(("PM", "CH")):
                continue
            central, south = rows[(measure, "CSP C")], rows[(measure, "CSP S")]
            if combined["numerator"]:
                assert int(combined["numerator"]) == int(central["numerator"]) + int(south["numerator"])
                assert int(combined["denominator"]) == int(central["denominator"]) + int(south["denominator"])
                counted += 1
            elif combined["value"]:
                low, high = sorted((float(central["value"]), float(south["value"])))
                assert low <= float(combined["value"]) <= high, (relative, measure)
            else:
                assert not central["value"] or not south["value"]
    assert counted >= 49  # PM2 in every PMR file


def test_every_catalogue_series_in_every_month():
    series = catalogue_series()
    for month in MONTHS:
        rows = read(f"pmr/pmr-{month}.csv")
        assert {row["month"] for row in rows} == {month}
        keys = [(row["measure"], row["provider"]) for row in rows]
        assert len(keys) == len(set(keys)) and set(keys) == series, month
        for row in rows:
            assert row["status"] in {"reported", "null", "unreliable"}
            assert (row["value"] == "") == (row["status"] == "null")
            if row["value"]:
                assert 0 <= float(row["value"]) <= 100 and len(row["value"].split(".")[1]) == 2


def test_cpm1_statements_from_the_minutes():
    current = current_measures()

    def below_target(month: str, provider: str = "DCC") -> bool:
        row = current[(month, "CPM1", provider)]
        return row["status"] == "reported" and float(row["value"]) < 99

    assert not below_target("2018-12") and float(current[("2018-12", "CPM1", "DCC")]["value"]) >= 99
    run = MONTHS[MONTHS.index("2019-01") : MONTHS.index("2019-10") + 1]
    assert len(run) == 10 and all(below_target(month) for month in run)  # "tenth month in succession"
    window = MONTHS[MONTHS.index("2018-12") : MONTHS.index("2020-04") + 1]
    assert len(window) == 17 and sum(below_target(month) for month in window) == 16  # "16th in 17 months"
    for relative in ("pmr/pmr-2020-04.csv", "pmr/pmr-2020-04-issue2.csv"):
        row = next(r for r in read(relative) if (r["measure"], r["provider"]) == ("CPM1", "DCC"))
        assert row["status"] == "reported" and float(row["value"]) < 99
    withdrawn = current[("2020-06", "CPM1", "DCC")]
    assert (withdrawn["value"], withdrawn["status"]) == ("", "null")
    assert withdrawn["note"] == "Withdrawn as incorrect by DCC; not restated"
    assert all(float(current[(m, "CPM1", "DCC")]["value"]) >= 99 for m in ("2021-10", "2021-11", "2021-12"))
    assert all(below_target(m, "CSP C&S") for m in MONTHS if "2019-01" <= m <= "2020-02")
    assert all(float(current[(m, "CPM1", "CSP C&S")]["value"]) >= 99 for m in MONTHS if m >= "2020-03")
    assert all(float(current[(m, "CPM1", "CSP N")]["value"]) < 99 for m in MONTHS if m >= "2019-01")
    assert all(float(current[(m, "PM2", "CSP N")]["value"]) < 96 for m in MONTHS if m >= "2018-11")


def test_alert_counts_are_ordered_and_show_the_storm():
    rows = read("alerts.csv")
    for row in rows:
        assert len(row["alert_code"]) == 4 and row["alert_code"] == row["alert_code"].upper()
        int(row["alert_code"], 16)
        assert 0 <= int(row["first_time_devices"]) <= int(row["devices"]) <= int(row["volume"])
    codes = {row["alert_code"] for row in rows}
    assert {"8F3E", "8F12", "8014", "8015"} <= codes and len(codes) == 8
    storm = {r["provider"]: int(r["volume"]) for r in rows if (r["month"], r["alert_code"]) == ("2019-12", "8F3E")}
    before = {r["provider"]: int(r["volume"]) for r in rows if (r["month"], r["alert_code"]) == ("2019-10", "8F3E")}
    assert all(storm[csp] > 3 * before[csp] for csp in ("CSP N", "CSP C"))


def test_manifest_lists_every_data_file_once():
    entries = manifest()
    listed = [entry["file"] for entry in entries]
    data_files = [name for name in files_under(SAMPLE) if name.endswith(".csv") and name != "manifest.csv"]
    assert sorted(listed) == sorted(data_files) and len(listed) == len(set(listed))
    assert all((SAMPLE / name).is_file() for name in listed)
    assert listed.index("pmr/pmr-2020-04-issue2.csv") == listed.index("pmr/pmr-2020-07.csv") + 1
    record = [entry["file"] for entry in entries if entry["file"].startswith("record/")]
    assert listed[-11:-7] == ["incidents.csv", "alerts.csv", "ops.csv", "annotations.csv"]
    assert listed[-7:] == record and record[0] == "record/meetings.csv" and record[-1] == "record/commentary.csv"
    for entry in entries:
        expected = "white-no-publish" if entry["kind"] in ("incidents", "alerts") else "white"
        assert entry["classification"] == expected
        assert entry["kind"] in {
            "measures",
            "incidents",
            "alerts",
            "ops",
            "annotations",
            "meetings",
            "actions",
            "decisions",
            "commentary",
        }


# ---------------------------------------------------------------- every row of the minutes, every kind
# Each row of the reference copy is checked against the sample by what it says (its kind and metric); a row
# that no check knows fails, so a new statement of the minutes cannot go unchecked.


def ops_value(month: str, metric: str, provider: str = "DCC") -> float:
    return float(ops()[(month, metric, provider)]["value"])


def installed_in(month: str) -> int:
    """Meters installed in the month, every region (the rise of the cumulative installations)."""
    before = MONTHS[MONTHS.index(month) - 1]
    return sum(ops_value(month, "installations", c) - ops_value(before, "installations", c) for c in CSPS)


CSPS = ("CSP N", "CSP C", "CSP S")


def incidents_opened(month: str, *, major: bool = False) -> int:
    return sum(
        1 for r in read("incidents.csv") if r["opened"].startswith(month) and (not major or r["major"] == "true")
    )


def alert_total(month: str, code: str | None = None) -> int:
    return sum(int(r["volume"]) for r in read("alerts.csv") if r["month"] == month and code in (None, r["alert_code"]))


def annotations_in(month: str) -> list[dict[str, str]]:
    return [row for row in read("annotations.csv") if row["date"].startswith(month)]


def status_row(sample_db, month: str, measure: str, provider: str, window: int = 12):
    from datetime import date

    from opsg_metrics.rules.status import status_for_month

    rows = status_for_month(sample_db, date(int(month[:4]), int(month[5:]), 1), window=window)
    return rows[(rows["measure"] == measure) & (rows["provider"] == provider)].iloc[0]


def check_direction(row) -> None:
    month, metric, value = row["month"], row["metric"], row["value"]
    before = MONTHS[MONTHS.index(month) - 1]
    if metric == "alerts in month":  # November and December 2019 each higher; 8F3E rising most
        after = MONTHS[MONTHS.index(month) + 1]
        assert alert_total(before) < alert_total(month) < alert_total(after)
        rises = {
            code: alert_total(after, code) - alert_total(before, code)
            for code in {r["alert_code"] for r in read("alerts.csv")}
        }
        assert max(rises, key=rises.get) == "8F3E"
    elif metric == "installations in month":
        assert value == "lower" and installed_in(month) < installed_in(before)
    elif metric in ("devices decommissioned",):
        assert value == "increase" and ops_value(month, metric) > ops_value(before, metric)
    elif metric == "major incidents":  # above the monthly average of October-December 2020
        end_of_2020 = [incidents_opened(m, major=True) for m in ("2020-10", "2020-11", "2020-12")]
        assert value == "increase" and incidents_opened(month, major=True) > sum(end_of_2020) / 3
    elif metric == "open problem tickets":
        assert value == "stable" and abs(ops_value(month, metric) - ops_value(before, metric)) <= 0.1 * ops_value(
            before, metric
        )
    elif metric == "changes implemented":
        assert value == "reduced" and ops_value(before, metric) > ops_value(month, metric) == 211
    elif metric == "incidents opened":
        assert value == "increase" and incidents_opened(month) > incidents_opened(before)
    else:
        raise AssertionError(f"no check for the direction {metric!r}")


def check_event(row, sample_db) -> None:
    month, metric, source = row["month"], row["metric"], row["source"]
    if metric == "RDP incidents opened":  # the spike of September 2019
        opened = {m: ops_value(m, metric, "RDP") for m in MONTHS}
        i = MONTHS.index(month)
        assert all(opened[MONTHS[i - k]] < opened[month] for k in (1, 2, 3))
        assert all(opened[MONTHS[i + k]] < opened[month] for k in (1, 2))
    elif metric == "CPM1 below target because PM2 below minimum":
        assert status_row(sample_db, month, "PM2", row["provider"])["status"] == "below_minimum"
        assert status_row(sample_db, month, "CPM1", row["provider"])["status"] in ("below_target", "below_minimum")
        with open(CATALOGUE, newline="", encoding="utf-8") as handle:
            feeds = {(r["measure"], r["provider"]): r["feeds"] for r in csv.DictReader(handle)}
        assert "CPM1" in feeds[("PM2", row["provider"])].split(";")
    elif metric == "CPM1 fix":  # planned for December, delayed to February; never said to be deployed
        for planned in (month, "2020-02"):
            notes = [a for a in annotations_in(planned) if a["measure"] == "CPM1" and a["provider"] == "CSP C&S"]
            assert notes and all(a["kind"] == "planned" and source in a["text"] for a in notes)
        assert not [a for a in read("annotations.csv") if "CPM1 fix" in a["text"] and "deployed" in a["text"]]
    elif metric == "PM2 reporting tool fix":  # not yet made on 22 June 2020
        notes = [a for a in annotations_in(month) if a["provider"] == row["provider"]]
        assert notes and all("not yet" in a["text"] and source in a["text"] for a in notes)
        assert not [a for a in read("annotations.csv") if a["date"] <= "2020-06-22" and "corrected" in a["text"]]
    elif metric == "Key incidents caused by Production Proving":
        assert any("Production Proving" in a["text"] and source in a["text"] for a in annotations_in(month))
    else:
        raise AssertionError(f"no check for the event {metric!r}")


def check_incident(row) -> None:
    found = [r for r in read("incidents.csv") if r["incident_id"] == row["metric"]]
    assert len(found) == 1, row["metric"]
    incident = found[0]
    assert incident["provider"] == row["provider"] and row["source"] in incident["root_cause"]
    if row["value"] == "Major":
        assert incident["major"] == "true"
    elif row["value"].startswith("closed by "):
        assert incident["resolved"] and incident["resolved"][:10] <= "2020-06-22"
    elif row["value"].startswith("open on "):
        assert incident["opened"][:10] <= "2020-06-22" and (
            not incident["resolved"] or incident["resolved"][:10] > "2020-06-22"
        )
    else:
        raise AssertionError(f"no check for the incident {row['value']!r}")


def check_statement(row, sample_db) -> None:
    month, metric, value = row["month"], row["metric"], row["value"]
    if metric == "CPM1 months in succession below target":
        run = int(status_row(sample_db, month, "CPM1", row["provider"])["run_below_target"])
        assert run == int(value) if value.isdigit() else run >= int(value.split()[-1])
    elif metric == "CPM1 months below target in last 17":
        assert int(status_row(sample_db, month, "CPM1", row["provider"], window=17)["misses_in_window"]) == int(value)
    else:
        raise AssertionError(f"no check for the statement {metric!r}")


def check_forecast(row, sample_db) -> None:
    month, metric = row["month"], row["metric"]
    if metric == "PM2":  # "approximately 76%"
        assert abs(float(current_measures()[(month, "PM2", row["provider"])]["value"]) - float(row["value"])) <= 2
    elif metric == "CPM1" and row["value"] == "below":
        for provider in row["provider"].split(";"):
            assert status_row(sample_db, month, "CPM1", provider)["status"] in ("below_target", "below_minimum")
    else:
        raise AssertionError(f"no check for the forecast {metric!r}")


def check_added_figure(row) -> bool:
    """The figures of the added statements that are not a row of their own in the sample; False for others."""
    month, metric = row["month"], row["metric"]
    if metric == "PM4.3":  # 100% in one or more CSP regions, marked reported
        hits = [r for (m, measure, _), r in current_measures().items() if (m, measure) == (month, "PM4.3")]
        reported = [r for r in hits if float(r["value"] or 0) == float(row["value"])]
        assert reported and all(r["note"].startswith(f"Reported figure: {row['source']}") for r in reported)
        return True
    if metric == "installations in month as share of pre-Covid":  # "up to 25%": 20-30% of February 2020's
        assert 0.20 <= installed_in(month) / installed_in("2020-02") <= 0.30
        return True
    return False


@pytest.mark.parametrize(
    "row", all_reported_rows(), ids=lambda r: f"{r['kind']}:{r['month'] or '-'}:{r['provider']}:{r['metric']}"[:90]
)
def test_every_statement_of_the_minutes_agrees_with_the_sample(row, sample_db):
    kind = row["kind"]
    if kind == "figure":
        if not check_added_figure(row):
            check_figure(row)
    elif kind == "direction":
        check_direction(row)
    elif kind == "event":
        check_event(row, sample_db)
    elif kind == "incident":
        check_incident(row)
    elif kind == "statement":
        check_statement(row, sample_db)
    elif kind == "forecast":
        check_forecast(row, sample_db)
    else:
        raise AssertionError(f"no check for the kind {kind!r}")


def test_every_annotation_cites_the_minutes():
    for row in read("annotations.csv"):
        assert " minutes (" in row["text"], row["text"]


def test_no_made_up_incident_can_pass_for_a_real_one():
    real = {row["metric"] for row in all_reported_rows() if row["kind"] == "incident"}
    for row in read("incidents.csv"):
        assert row["incident_id"] in real or row["incident_id"].startswith("SAMPLE-"), row["incident_id"]
