"""Deterministic generator of the ILLUSTRATIVE sample data in data/sample/.

The sample lets the dashboard, the command line and the tests run without real
PMR files. It is made up, with two exceptions: the figures OPSG minutes actually
reported (PM2 CSP N 54.80% in April 2020 and 71.01% in July 2021, the RDP
incident counts, the DCC change and problem figures of August 2021, the alert
shares, the installation growth, the four named major incidents, ...) appear
with exactly their reported value, and every row carrying one has a note that
starts with ``Reported figure: <source>``. The rest is shaped to tell the story
the minutes tell (CPM1 below target from January 2019, CSP N's PM2 trouble, the
December 2019 8F3E alert storm, the April 2020 reissue) but is not real.

Run ``python -m opsg_metrics.sample [--out DIR]`` to (re)write the files; the
default DIR is data/sample in this repository. Output is byte-for-byte
reproducible: standard library only, fixed seeds (one random stream per series,
so that adding a catalogue series does not reshuffle the others) and integer
arithmetic for every printed figure.

Files written (all CSV, UTF-8, ``\\n`` line endings):
  pmr/pmr-YYYY-MM.csv        measures, January 2018 - December 2021
  pmr/pmr-2020-04-issue2.csv the reissued April 2020 PMR
  incidents.csv, alerts.csv, ops.csv, annotations.csv, manifest.csv, README.md
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from opsg_metrics import words
from opsg_metrics.words import reported_note

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "sample"
CATALOGUE_FILE = REPO_ROOT / "data" / "catalogue" / "measures.csv"

SEED = "opsg-metrics-sample-v1"

MONTHS = [f"{year}-{month:02d}" for year in range(2018, 2022) for month in range(1, 13)]
MONTH_NAMES = list(words.MONTH_NAMES)
END_OF_DATA = datetime(2021, 12, 31, 23, 59)

CSPS = ["CSP N", "CSP C", "CSP S"]
COUNTED_MEASURES = {"CPM1", "CPM2", "CPM3", "PM2"}

SRC_25 = "OPSG_25 minutes (1 Oct 2019)"
SRC_28 = "OPSG_28 minutes (7 Jan 2020)"
SRC_33 = "OPSG_33xx minutes (22 Jun 2020)"
SRC_56 = "OPSG_56 minutes (7 Sep 2021)"

REISSUED_MONTH = "2020-04"
REISSUE_DATE = "2020-07-08"
UNRELIABLE_CSP_N_NOTE = "CSP N figures possibly unreliable (reporting tool); PMR to be reissued"
RESTATED_NOTE = "Restated in issue 2 after the CSP N reporting tool was corrected"
WITHDRAWN_NOTE = "Withdrawn as incorrect by DCC; not restated"

MEASURE_COLUMNS = ["month", "measure", "provider", "value", "status", "numerator", "denominator", "note"]
INCIDENT_COLUMNS = ["incident_id", "opened", "resolved", "category", "provider", "major", "title", "root_cause"]
ALERT_COLUMNS = ["month", "alert_code", "provider", "volume", "devices", "first_time_devices"]
OPS_COLUMNS = ["month", "metric", "provider", "value", "unit", "note"]
ANNOTATION_COLUMNS = ["date", "text", "scope", "measure", "provider", "kind"]
MANIFEST_COLUMNS = ["file", "kind", "source", "classification", "issued"]


def series_rng(*parts: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random.seed: stable across runs and platforms.
    return random.Random(":".join((SEED, *parts)))


def month_index(month: str) -> int:
    return MONTHS.index(month)


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTH_NAMES[int(number) - 1]} {year}"


def next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    return [m for m in MONTHS if first <= m <= last]


# ---------------------------------------------------------------------------
# Figures are held in hundredths of a percentage point, so that what is printed
# is exactly what was decided, and numerator/denominator can be made to agree.


def fmt_hundredths(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def to_hundredths(percent: float) -> int:
    return int(round(percent * 100))


def counts_for(value: int, denominator: int) -> tuple[int, int]:
    """Event counts whose percentage rounds to `value` hundredths, never on a half.

    Starts at `denominator` and moves up until such a numerator exists, so the
    printed value and numerator/denominator agree to within 0.005 points.
    """
    den = max(denominator, 1)
    while True:
        num = (value * den + 5000) // 10000
        if 0 <= num <= den:
            rounded, twice_rest = hundredths_of(num, den)
            if rounded == value and twice_rest != den:
                return num, den
        den += 1


def hundredths_of(numerator: int, denominator: int) -> tuple[int, int]:
    """num/den as a percentage in hundredths, rounded half-up; also 2 x remainder."""
    quotient, rest = divmod(numerator * 10000, denominator)
    if 2 * rest >= denominator:
        quotient += 1
    return quotient, 2 * rest


@dataclass(frozen=True)
class Figure:
    value: int | None  # hundredths; None when status is null
    status: str = "reported"
    numerator: int | None = None
    denominator: int | None = None
    note: str = ""

    def cells(self, month: str, measure: str, provider: str) -> list[str]:
        return [
            month,
            measure,
            provider,
            "" if self.value is None else fmt_hundredths(self.value),
            self.status,
            "" if self.numerator is None else str(self.numerator),
            "" if self.denominator is None else str(self.denominator),
            self.note,
        ]


def counted(value: int, denominator: int, **fields) -> Figure:
    num, den = counts_for(value, denominator)
    return Figure(value, numerator=num, denominator=den, **fields)


# ---------------------------------------------------------------------------
# Catalogue


@dataclass(frozen=True)
class Level:
    target: int  # hundredths
    minimum: int
    direction: str
    unit: str
    effective_from: str  # YYYY-MM
    effective_to: str  # YYYY-MM, exclusive; "" when open


def read_catalogue(path: Path = CATALOGUE_FILE) -> tuple[list[tuple[str, str]], dict[tuple[str, str], list[Level]]]:
    """The catalogue's series, in file order, and their service levels."""
    series: list[tuple[str, str]] = []
    levels: dict[tuple[str, str], list[Level]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            row = {key.strip().lower(): (text or "").strip() for key, text in row.items()}
            key = (row["measure"], row["provider"])
            if key not in levels:
                series.append(key)
                levels[key] = []
            levels[key].append(
                Level(
                    target=to_hundredths(float(row["target"])),
                    minimum=to_hundredths(float(row["minimum"])),
                    direction=row.get("direction") or "higher",
                    unit=row.get("unit") or "percent",
                    effective_from=(row.get("effective_from") or "2000-01")[:7],
                    effective_to=(row.get("effective_to") or "")[:7],
                )
            )
    return series, levels


def level_in_force(levels: list[Level], month: str) -> Level | None:
    in_force = [
        level
        for level in levels
        if level.effective_from <= month and (not level.effective_to or month < level.effective_to)
    ]
    return max(in_force, key=lambda level: level.effective_from) if in_force else None


# ---------------------------------------------------------------------------
# Operational context first: installations size the event counts of the PMR.

GROWTH_BY_YEAR = {"2018": 0.095, "2019": 0.066, "2020": 0.045, "2021": 0.0345}
GROWTH_OVERRIDES = {  # COVID-19 restrictions paused most installations in spring 2020
    "2020-01": 0.052,
    "2020-02": 0.051,
    "2020-03": 0.038,
    "2020-04": 0.008,
    "2020-05": 0.013,
    "2020-06": 0.027,
    "2021-07": 0.045,  # a strong July: OPSG_56 says August's installations were lower than July's
}
REGION_GROWTH_FACTOR = {  # from 2021 CSP N installs faster than Central and South
    "CSP N": {"2018": 1.0, "2019": 1.0, "2020": 1.05, "2021": 1.16},
    "CSP C": {"2018": 1.02, "2019": 1.0, "2020": 0.98, "2021": 0.9},
    "CSP S": {"2018": 0.98, "2019": 1.0, "2020": 0.98, "2021": 0.9},
}
INSTALLED_BEFORE_2018 = {"CSP N": 168_000, "CSP C": 254_000, "CSP S": 231_000}
METERS_PER_HUB = 1.82  # most premises have an electricity and a gas meter on one hub
AUGUST_2021_GROWTH = {"CSP N": 0.0401, "CSP C": 0.0301, "CSP S": 0.0301}  # reported: 4% and 3%


@dataclass
class Context:
    installs: dict[str, dict[str, int]]  # month -> CSP -> cumulative meters installed
    additions: dict[str, dict[str, int]]  # month -> CSP -> meters installed in the month
    alert_volume: dict[str, dict[str, int]]  # month -> CSP -> volume over the listed codes


def installation_series() -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    rng = series_rng("installations")
    installs: dict[str, dict[str, int]] = {}
    additions: dict[str, dict[str, int]] = {}
    stock = dict(INSTALLED_BEFORE_2018)
    for month in MONTHS:
        year = month[:4]
        installs[month], additions[month] = {}, {}
        for csp in CSPS:
            if month == "2021-08":
                growth = AUGUST_2021_GROWTH[csp]
            else:
                base = GROWTH_OVERRIDES.get(month, GROWTH_BY_YEAR[year])
                growth = base * REGION_GROWTH_FACTOR[csp][year] * rng.uniform(0.95, 1.05)
            added = round(stock[csp] * growth)
            stock[csp] += added
            installs[month][csp] = stock[csp]
            additions[month][csp] = added
    return installs, additions


def installation_growth(installs: dict[str, dict[str, int]], month: str, csps: list[str]) -> float:
    before = sum(installs[MONTHS[month_index(month) - 1]][csp] for csp in csps)
    return sum(installs[month][csp] for csp in csps) / before - 1


# ---------------------------------------------------------------------------
# Alerts

ALERT_RATES = {  # alerts a month per installed meter, before any storm
    "8F3E": 0.0090,  # unauthorised communication access attempted
    "8F12": 0.0055,
    "8014": 0.0180,  # power factor threshold below
    "8015": 0.0172,  # power factor threshold OK
    "8F1C": 0.0031,
    "8F35": 0.0044,
    "8F66": 0.0019,
    "8F84": 0.0026,
}
ALERT_STORMS = {  # (code, month) -> CSP -> multiplier: the 8F3E storm of winter 2019
    ("8F3E", "2019-11"): {"CSP N": 2.6, "CSP C": 2.2, "CSP S": 1.3},
    ("8F3E", "2019-12"): {"CSP N": 14.0, "CSP C": 11.0, "CSP S": 3.2},
    ("8F3E", "2020-01"): {"CSP N": 4.1, "CSP C": 3.4, "CSP S": 1.5},
    ("8F12", "2019-12"): {"CSP N": 2.4, "CSP C": 2.8, "CSP S": 2.6},
}


def alert_rows(installs: dict[str, dict[str, int]]) -> tuple[list[list[str]], dict[str, dict[str, int]]]:
    rows: list[list[str]] = []
    volumes: dict[str, dict[str, int]] = {month: {csp: 0 for csp in CSPS} for month in MONTHS}
    for code, rate in ALERT_RATES.items():
        rng = series_rng("alerts", code)
        for month in MONTHS:
            for csp in CSPS:
                storm = ALERT_STORMS.get((code, month), {}).get(csp, 1.0)
                volume = round(installs[month][csp] * rate * storm * rng.uniform(0.85, 1.15))
                # devices in a storm repeat the alert many times
                per_device = rng.uniform(5.5, 8.5) if storm > 2 else rng.uniform(1.3, 3.0)
                devices = min(volume, round(volume / per_device))
                first_time = min(devices, round(devices * rng.uniform(0.12, 0.45)))
                volumes[month][csp] += volume
                rows.append([month, code, csp, str(volume), str(devices), str(first_time)])
    rows.sort(key=lambda row: (row[0], list(ALERT_RATES).index(row[1]), CSPS.index(row[2])))
    return rows, volumes


# ---------------------------------------------------------------------------
# PMR measures

# PM2 CSP N (Category 1 firmware payloads within TRT): the measure that kept CPM1
# below target. Exact values are the reported ones; the rest get a little noise.
PM2_CSP_N_PLAN = {
    "2018-09": 98.40,
    "2018-10": 97.10,
    "2018-11": 89.50,
    "2018-12": 81.20,
    "2019-01": 69.00,
    "2019-02": 66.20,
    "2019-03": 63.50,
    "2019-04": 61.00,
    "2019-05": 58.40,
    "2019-06": 60.20,
    "2019-07": 63.10,
    "2019-08": 61.40,
    "2019-09": 57.30,
    "2019-10": 59.20,
    "2019-11": 62.00,
    "2019-12": 60.40,
    "2020-01": 58.10,
    "2020-02": 56.30,
    "2020-03": 57.20,
    "2020-04": 54.80,
    "2020-05": 58.30,
    "2020-06": 61.00,
    "2020-07": 63.80,
    "2020-08": 65.90,
    "2020-09": 63.20,
    "2020-10": 65.10,
    "2020-11": 67.00,
    "2020-12": 64.30,
    "2021-01": 63.20,
    "2021-02": 64.10,
    "2021-03": 65.80,
    "2021-04": 67.00,
    "2021-05": 68.20,
    "2021-06": 69.60,
    "2021-07": 71.01,
    "2021-08": 76.00,
    "2021-09": 79.40,
    "2021-10": 82.90,
    "2021-11": 86.60,
    "2021-12": 90.20,
}
PM2_CSP_N_EXACT = {
    "2020-04": (
        5480,
        reported_note(
            SRC_33,
            "below minimum service level; CSP N figures flagged as possibly unreliable (reporting tool); PMR to be reissued",
        ),
    ),
    "2021-07": (7101, reported_note(SRC_56, "ahead of the remediation plan")),
}
PM2_CSP_N_NOTES = {
    "2018-11": "Below minimum: backlog of Category 1 firmware payloads in CSP N; remediation plan requested",
    "2021-08": "In line with the forecast of approximately 76% given at " + SRC_56,
}

# CPM1 (on-demand Service Responses within TRT) story, as OPSG discussed it.
CPM1_DIPS = {"2018-06": 80, "2019-09": 250, "2020-02": 260}  # hundredths lost in N and C&S
CPM1_DCC_NOTES = {
    "2018-06": "Below target: DSP processing delays after a release",
    "2019-09": "Below minimum: DSP service request timeouts (INC000000478818, INC000000479406)",
    "2020-02": "Below minimum: CSP N firmware payload backlog on top of a DSP capacity constraint",
}
CPM1_REGION_NOTES = {
    ("CSP N", "2019-01"): "Below target: CSP N Category 1 firmware payloads (PM2) outside Target Response Time",
    ("CSP C&S", "2019-12"): "Below target: CSP C&S fix slipped to February 2020",
    ("CSP C&S", "2020-03"): "Met: CSP C&S fix deployed in February 2020",
}

# CPM3 (Alerts within TRT) in the 8F3E alert storm.
CPM3_STORM = {"DCC": 9762, "CSP N": 9715, "CSP C&S": 9796}
CPM3_STORM_NOTE = "Below target: 8F3E alert storm (ESME joining PPMID) loaded the DSP"

# Gaps and doubts in other series, each with the reason.
NULL_FIGURES = {
    ("2018-03", "CPM8", "DCC"): "Not reported: SMKI repository logs incomplete for the month",
    (
        "2018-09",
        "CH2.1",
        "CSP N",
    ): "Not reported: returned Communications Hubs still awaiting analysis at the PMR deadline",
    (
        "2020-11",
        "DSP-AVAIL",
        "DSP",
    ): "Withdrawn as incorrect by DCC: planned maintenance counted as outage; not restated",
    ("2021-02", "PM4.3", "CSP S"): "Not reported: CSP S test round-trip data lost in a reporting outage",
}
UNRELIABLE_FIGURES = {
    (
        "2019-03",
        "CPM5",
        "DCC",
    ): "Flagged unreliable: incident resolution times being re-validated after a service desk tool migration",
    ("2020-09", "DSP1.3", "DSP"): "Flagged unreliable: clock drift on a DSP reporting server",
    ("2021-05", "PM12.2", "CSP N"): "Flagged unreliable: duplicate power restoration alerts counted",
}


# Figures the minutes state for an ordinary series (value in hundredths, note).
REPORTED_ORDINARY = {
    ("2019-11", "PM4.3", "CSP N"): (
        10000,
        reported_note(
            SRC_33,
            "the 100% achievement of PM4.3 (action OPSG 28x/05), queried as inconsistent with the service Users "
            "experienced; the region and month are illustrative",
        ),
    ),
}


def band(value: int, low: int, high: int, rng: random.Random) -> int:
    """Pull a planned value into [low, high], a little inside the violated edge."""
    inset = min(25, max(0, (high - low) // 4))
    if value > high:
        value = high - rng.randint(0, inset)
    elif value < low:
        value = low + rng.randint(0, inset)
    return value


def generic_value(level: Level, rng: random.Random) -> int:
    """A month's figure for a series with no story: mostly met, ~5% misses."""
    target, minimum = level.target / 100, level.minimum / 100
    draw = rng.random()
    if level.direction == "lower":
        if draw < 0.005:
            percent = minimum * rng.uniform(1.01, 1.2)
        elif draw < 0.05:
            percent = target + (minimum - target) * rng.uniform(0.05, 0.95)
        else:
            percent = target * rng.uniform(0.55, 0.98)
        return max(0, to_hundredths(percent))
    if target >= 100:  # e.g. CPM4: a handful of incidents, so a miss is a fraction
        if draw < 0.05:
            count = rng.randint(5, 12)
            missed = 2 if draw < 0.006 else 1
            return to_hundredths((count - missed) * 100 / count)
        return 10000
    if draw < 0.005:
        percent = minimum - rng.uniform(0.1, 2.5)
    elif draw < 0.05:
        percent = target - (target - minimum) * (0.05 + 0.9 * rng.random() ** 1.5)
    else:
        spread = 0.8 if target >= 95 else 0.55
        percent = target + (100 - target) * (0.1 + spread * rng.random())
    value = max(0, to_hundredths(percent))
    return min(value, 10000) if level.unit == "percent" else value


class PmrBuilder:
    """All measure figures, month by month, as first issued."""

    def __init__(self, catalogue_file: Path, context: Context):
        self.series, self.levels = read_catalogue(catalogue_file)
        self.context = context
        self.rngs: dict[tuple[str, ...], random.Random] = {}

    def rng(self, *key: str) -> random.Random:
        if key not in self.rngs:
            self.rngs[key] = series_rng("pmr", *key)
        return self.rngs[key]

    def level(self, measure: str, provider: str, month: str) -> Level | None:
        return level_in_force(self.levels[(measure, provider)], month)

    # -- denominators -----------------------------------------------------
    def installed(self, month: str, provider: str) -> int:
        cumulative = self.context.installs[month]
        if provider in cumulative:
            return cumulative[provider]
        if provider == "CSP C&S":
            return cumulative["CSP C"] + cumulative["CSP S"]
        return sum(cumulative.values())

    def denominator(self, measure: str, provider: str, month: str, rng: random.Random) -> int:
        if measure == "CPM3":  # alerts delivered: all alerts, of which the listed codes are most
            volumes = self.context.alert_volume[month]
            group = {"CSP N": ["CSP N"], "CSP C&S": ["CSP C", "CSP S"]}.get(provider, CSPS)
            base = sum(volumes[csp] for csp in group) * 1.6
        elif measure == "PM2":  # Category 1 firmware payloads
            base = max(1500, self.installed(month, provider) * 0.011)
        else:  # on-demand and future-dated Service Responses
            base = self.installed(month, provider) * (0.84 if measure == "CPM1" else 0.21)
        return round(base * rng.uniform(0.93, 1.07))

    # -- the months ---------------------------------------------------------
    def month(self, month: str) -> dict[tuple[str, str], Figure]:
        figures: dict[tuple[str, str], Figure] = {}
        cpm1 = self.cpm1(month)
        deferred = []
        for measure, provider in self.series:
            level = self.level(measure, provider, month)
            if level is None:
                continue
            key = (measure, provider)
            if provider == "CSP C&S" and measure.startswith(("PM", "CH")) and self.has_parts(measure):
                deferred.append(key)
                continue
            if measure == "CPM1" and provider in cpm1:
                figures[key] = cpm1[provider]
            elif key == ("PM2", "CSP N"):
                figures[key] = self.pm2_csp_n(month)
            else:
                figures[key] = self.ordinary(month, measure, provider, level)
        for measure, provider in deferred:
            figures[(measure, provider)] = self.combined(month, measure, figures)
        return figures

    def has_parts(self, measure: str) -> bool:
        return (measure, "CSP C") in self.levels and (measure, "CSP S") in self.levels

    def ordinary(self, month: str, measure: str, provider: str, level: Level) -> Figure:
        rng = self.rng(measure, provider)
        value = generic_value(level, rng)
        note = ""
        if (month, measure, provider) in REPORTED_ORDINARY:  # drawn first, so nothing else moves
            value, note = REPORTED_ORDINARY[(month, measure, provider)]
        if measure == "CPM3" and month == "2019-12" and provider in CPM3_STORM:
            value = CPM3_STORM[provider] + rng.randint(-8, 8)
            note = CPM3_STORM_NOTE
        denominator = self.denominator(measure, provider, month, rng) if measure in COUNTED_MEASURES else None
        key = (month, measure, provider)
        if key in NULL_FIGURES:
            return Figure(None, "null", note=NULL_FIGURES[key])
        status = "unreliable" if key in UNRELIABLE_FIGURES else "reported"
        note = UNRELIABLE_FIGURES.get(key, note)
        if denominator is not None:
            return counted(value, denominator, status=status, note=note)
        return Figure(value, status, note=note)

    def combined(self, month: str, measure: str, figures: dict[tuple[str, str], Figure]) -> Figure:
        """CSP C&S from CSP C and CSP S: summed counts, else an install-weighted mean."""
        central, south = figures.get((measure, "CSP C")), figures.get((measure, "CSP S"))
        if central is None or south is None or central.value is None or south.value is None:
            missing = "CSP C" if central is None or central.value is None else "CSP S"
            return Figure(None, "null", note=f"Not reported: no {missing} figure to combine")
        status, note = "reported", ""
        if "unreliable" in (central.status, south.status):
            status, note = "unreliable", "Combined from an unreliable CSP C or CSP S figure"
        if central.denominator is not None and south.denominator is not None:
            num = central.numerator + south.numerator
            den = central.denominator + south.denominator
            value, _ = hundredths_of(num, den)
            return Figure(value, status, num, den, note)
        weight_c = self.context.installs[month]["CSP C"] / self.installed(month, "CSP C&S")
        value = round(weight_c * central.value + (1 - weight_c) * south.value)
        return Figure(value, status, note=note)

    def pm2_csp_n(self, month: str) -> Figure:
        rng = self.rng("PM2", "CSP N")
        level = self.level("PM2", "CSP N", month)
        denominator = self.denominator("PM2", "CSP N", month, rng)
        if month in PM2_CSP_N_EXACT:
            value, note = PM2_CSP_N_EXACT[month]
            return counted(value, denominator, note=note)
        if month not in PM2_CSP_N_PLAN:
            return counted(generic_value(level, rng), denominator)
        spread = 35 if month == "2021-08" else 60
        value = to_hundredths(PM2_CSP_N_PLAN[month]) + rng.randint(-spread, spread)
        if month == "2021-08":
            value = band(value, 7551, 7649, rng)
        elif month >= "2018-11":
            value = band(value, 0, level.minimum - 1, rng)
        return counted(value, denominator, note=PM2_CSP_N_NOTES.get(month, ""))

    def pm2_csp_n_planned(self, month: str) -> float:
        if month in PM2_CSP_N_EXACT:
            return PM2_CSP_N_EXACT[month][0] / 100
        return PM2_CSP_N_PLAN.get(month, 99.5)

    def cpm1(self, month: str) -> dict[str, Figure]:
        """CPM1 overall and by region, kept to the statements in the minutes."""
        rng = self.rng("CPM1", "story")
        providers = [p for p in ("DCC", "CSP N", "CSP C&S") if ("CPM1", p) in self.levels]
        levels = {p: self.level("CPM1", p, month) for p in providers}
        if any(level is None for level in levels.values()) or len(providers) < 3:
            return {}
        dip = CPM1_DIPS.get(month, 0)

        # CSP N tracks its PM2 trouble once the firmware roll-out is large (2019 on).
        weight = 0.02 if month < "2019-01" else 0.06
        north = to_hundredths(99.55 - (100 - self.pm2_csp_n_planned(month)) * weight) + rng.randint(-12, 12) - dip
        t, m = levels["CSP N"].target, levels["CSP N"].minimum
        if month < "2019-01" and month != "2018-06":
            north = band(north, t, 9995, rng)
        else:
            north = band(north, m - 500, t - 1, rng)

        t, m = levels["CSP C&S"].target, levels["CSP C&S"].minimum
        if month < "2019-01" or month >= "2020-03":
            central_south = 9945 + rng.randint(-20, 25) - dip
            central_south = (
                band(central_south, m, t - 1, rng) if month == "2018-06" else band(central_south, t, 9990, rng)
            )
        else:  # below target until the fix, slipped to February 2020
            central_south = 9845 + rng.randint(-30, 30) - dip
            central_south = band(central_south, m - 300, t - 1, rng)

        overall = round(0.38 * north + 0.62 * central_south) + rng.randint(-4, 4)
        t, m = levels["DCC"].target, levels["DCC"].minimum
        if month in ("2019-09", "2020-02"):
            overall = band(overall, m - 300, m - 1, rng)
        elif month == "2018-06" or "2019-01" <= month <= "2021-09":
            overall = band(overall, m, t - 1, rng)
        else:
            overall = band(overall, t, 9995, rng)

        figures = {}
        for provider, value in (("DCC", overall), ("CSP N", north), ("CSP C&S", central_south)):
            denominator = self.denominator("CPM1", provider, month, rng)
            if provider == "DCC":
                note = CPM1_DCC_NOTES.get(month, "")
            else:
                note = CPM1_REGION_NOTES.get((provider, month), "")
            figures[provider] = counted(value, denominator, note=note)
        if month == "2020-06":
            figures["DCC"] = Figure(None, "null", note=WITHDRAWN_NOTE)
        return figures


def flag_csp_n_unreliable(figures: dict[tuple[str, str], Figure]) -> dict[tuple[str, str], Figure]:
    """April 2020 issue 1: every CSP N figure doubted (reporting tool)."""
    flagged = dict(figures)
    for (measure, provider), figure in figures.items():
        if provider == "CSP N" and figure.value is not None:
            # A note that already says so (PM2's reported figure) is not told twice.
            if "possibly unreliable" in figure.note:
                note = figure.note
            else:
                note = f"{figure.note}; {UNRELIABLE_CSP_N_NOTE}" if figure.note else UNRELIABLE_CSP_N_NOTE
            flagged[(measure, provider)] = replace(figure, status="unreliable", note=note)
    return flagged


def reissue(builder: PmrBuilder, issue1: dict[tuple[str, str], Figure], month: str) -> dict[tuple[str, str], Figure]:
    """April 2020 issue 2: CSP N figures other than PM2 corrected and confirmed."""
    rng = series_rng("pmr", "reissue", month)
    issue2 = dict(issue1)
    for (measure, provider), figure in issue1.items():
        if provider != "CSP N" or measure == "PM2" or figure.value is None:
            continue
        step = rng.randint(6, 35)
        value = figure.value - step if figure.value + step > 10000 or rng.random() < 0.5 else figure.value + step
        level = builder.level(measure, provider, month)
        if figure.value < level.target <= value:  # a correction must not turn a miss into a pass
            value = figure.value - step
        if figure.denominator is not None:
            issue2[(measure, provider)] = counted(value, figure.denominator, note=RESTATED_NOTE)
        else:
            issue2[(measure, provider)] = Figure(value, note=RESTATED_NOTE)
    return issue2


def check_cpm1_story(current: dict[str, dict[tuple[str, str], Figure]]) -> None:
    """The statements OPSG minutes make about CPM1 must hold in the sample."""

    def state(month: str, provider: str) -> str:
        figure = current[month][("CPM1", provider)]
        if figure.status == "null":
            return "null"
        if figure.value >= 9900:
            return "met"
        return "below_minimum" if figure.value < 9600 else "below_target"

    problems = []
    for month in MONTHS:
        dcc = state(month, "DCC")
        if month == "2020-06":
            expected = {"null"}
        elif month in ("2019-09", "2020-02"):
            expected = {"below_minimum"}
        elif month == "2018-06" or "2019-01" <= month <= "2021-09":
            expected = {"below_target"}
        else:
            expected = {"met"}
        if dcc not in expected or (
            "2019-01" <= month <= "2020-04" and current[month][("CPM1", "DCC")].status != "reported"
        ):
            problems.append(f"CPM1 DCC {month}: {dcc}")
        if month >= "2019-01" and state(month, "CSP N") == "met":
            problems.append(f"CPM1 CSP N {month} met")
        cs = state(month, "CSP C&S")
        if month >= "2019-01" and ("2019-01" <= month <= "2020-02") == (cs == "met"):
            problems.append(f"CPM1 CSP C&S {month}: {cs}")
        pm2 = current[month][("PM2", "CSP N")].value
        if month >= "2018-11" and pm2 >= 9600:
            problems.append(f"PM2 CSP N {month} not below minimum")
    if problems:
        raise AssertionError("sample data breaks the CPM1 story: " + "; ".join(problems))


# ---------------------------------------------------------------------------
# Incidents

# Id ranges seen in the minutes: ticket numbers are shared with other records,
# so they rise ~3,000-4,000 a month but much faster in autumn 2019.
REAL_INCIDENTS = [
    # id, opened, hours to resolve, provider, title, root cause, source
    (
        "INC000000478818",
        datetime(2019, 9, 10, 2, 14),
        19.5,
        "DSP",
        "Service requests timed out and had to be resubmitted",
        "Caused by a provider change; initial category too low",
        SRC_25,
    ),
    (
        "INC000000479406",
        datetime(2019, 9, 12, 9, 41),
        7.2,
        "DSP",
        "DSP service failure: hardware single point of failure",
        "Hardware single point of failure",
        SRC_25,
    ),
    (
        "INC000000503961",
        datetime(2019, 11, 21, 14, 5),
        11.8,
        "DCC",
        "Major incident with review report published to all SEC Parties",
        "Set out in the review report published to all SEC Parties",
        SRC_28,
    ),
    (
        "INC000000526144",
        datetime(2019, 12, 17, 1, 37),
        5.4,
        "CSP N",
        "Overnight service failure after a change was applied",
        "Human error applying a change; overnight",
        SRC_28,
    ),
]
# RDP incidents the minutes of 22 June 2020 name, reported open in the May 2020 report: (id, opened, resolved
# or None, title, what the minutes say). Opened and resolved times are illustrative within what they say.
REAL_RDP_INCIDENTS = [
    (
        "INC000000585301",
        datetime(2020, 5, 6, 10, 20),
        datetime(2020, 6, 9, 15, 5),
        "RDP Data Issue",
        "reported open in the May 2020 report and since closed",
    ),
    (
        "INC000000587439",
        datetime(2020, 5, 14, 8, 45),
        datetime(2020, 7, 2, 11, 30),
        "Daily Electricity Registration Update File Not Received",
        "open on 22 Jun 2020; escalated via Service Management",
    ),
    (
        "INC000000588191",
        datetime(2020, 5, 19, 13, 10),
        datetime(2020, 6, 16, 9, 40),
        "TOC Application Issue",
        "reported open in the May 2020 report and since closed",
    ),
]
# Incidents made up for the sample are numbered so that they can never be taken for real ones.
INVENTED_PREFIX = "SAMPLE-"

ID_ANCHORS = (
    [(datetime(2018, 1, 1), 405_000)]
    + [(opened, int(incident_id[3:])) for incident_id, opened, *_ in REAL_INCIDENTS]
    + [(datetime(2022, 1, 1), 600_000)]
)

AUGUST_2021_MAJORS = [
    # day, hour, minute, hours to resolve, provider, title, root cause
    (
        3,
        7,
        12,
        9.5,
        "DSP",
        "SMETS2 prepayment top-up service requests delayed",
        "Message queue capacity exhausted after a configuration change",
    ),
    (
        9,
        16,
        48,
        14.2,
        "DCC",
        "SMETS1 service requests failing for migrated meters",
        "Defect in a SMETS1 service provider release",
    ),
    (14, 1, 5, 6.1, "DCC", "SMETS1 devices not receiving tariff updates", ""),
    (
        19,
        11,
        30,
        21.7,
        "CSP N",
        "SMETS2 devices in CSP N region not responding to service requests",
        "Cellular network fault at a CSP N site",
    ),
    (26, 22, 17, 12.4, "DCC", "SMETS1 migration batches rejected", "Certificate mismatch in a migration batch"),
]
AUGUST_2021_SOURCE_NOTE = (
    "Illustrative incident; the count of 5 Category 2 major incidents (2 SMETS2, 3 SMETS1) is a reported figure. "
    f"Source: {SRC_56}"
)

INCIDENT_TITLES = {
    "DCC": [
        "Registration data not updated for some MPANs",
        "Service desk ticketing tool unavailable",
        "Install and commission notifications delayed",
        "Certificate update requests rejected for one User",
        "Self-Service Interface showing out-of-date incident data",
        "Device pre-notification files not processed",
    ],
    "DSP": [
        "Service requests delayed in DSP processing",
        "DUIS interface intermittently unavailable for some Users",
        "Alerts delayed between DSP and Users",
        "Self-Service Interface slow to respond",
        "Future-dated service requests not executed on time",
        "SMKI repository access failures",
        "Increased service request failure rate after a release",
    ],
    "CSP": [
        "Devices in {region} not responding to service requests",
        "Communications Hubs in {region} not connecting to the WAN",
        "Firmware payload deliveries delayed in {region}",
        "Loss of WAN coverage for a cluster of sites in {region}",
        "Power outage alerts delayed from {region}",
        "Increased Communications Hub reboots in {region}",
    ],
}
ROOT_CAUSES = [
    "Configuration error in a release",
    "Capacity limit reached on a message queue",
    "Third-party telecoms network outage",
    "Hardware failure",
    "Software defect in the firmware distribution service",
    "Certificate not renewed before expiry",
    "Human error during planned maintenance",
    "Data correction job overran into the business day",
    "Database failover did not complete",
]
REGION_NAMES = {"CSP N": "the North region", "CSP C": "the Central region", "CSP S": "the South region"}
HOURS_TO_RESOLVE = {1: (0.75, 5.0), 2: (2.0, 20.0), 3: (6.0, 72.0), 4: (24.0, 168.0), 5: (72.0, 480.0)}
CATEGORY_WEIGHTS = {1: 1, 2: 4, 3: 25, 4: 38, 5: 32}
PROVIDER_WEIGHTS = {"DCC": 20, "DSP": 30, "CSP N": 20, "CSP C": 15, "CSP S": 15}


def ticket_number(moment: datetime) -> float:
    for (start, low), (end, high) in zip(ID_ANCHORS, ID_ANCHORS[1:]):
        if start <= moment <= end:
            return low + (high - low) * (moment - start) / (end - start)
    raise ValueError(f"no ticket range for {moment}")


def incident_rows() -> list[list[str]]:
    rng = series_rng("incidents")
    incidents = []  # (opened, fixed id or None, category, provider, title, root cause, hours)
    for month in MONTHS:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1)
        minutes_in_month = int(
            (datetime(*(int(p) for p in next_month(month).split("-")), 1) - start).total_seconds() // 60
        )
        specials = [i for i in REAL_INCIDENTS if i[1].strftime("%Y-%m") == month]
        for incident_id, opened, hours, provider, title, cause, source in specials:
            incidents.append((opened, incident_id, 2, provider, title, f"{cause}. Source: {source}", hours))
        for incident_id, opened, resolved, title, said in REAL_RDP_INCIDENTS:
            if opened.strftime("%Y-%m") == month:
                hours = (resolved - opened).total_seconds() / 3600
                cause = f"Category and times illustrative; {said}. Source: {SRC_33}"
                incidents.append((opened, incident_id, 3, "RDP", title, cause, hours))
        if month == "2021-08":
            for day, hour, minute, hours, provider, title, cause in AUGUST_2021_MAJORS:
                root = f"{cause}. {AUGUST_2021_SOURCE_NOTE}" if cause else AUGUST_2021_SOURCE_NOTE
                incidents.append((datetime(2021, 8, day, hour, minute), None, 2, provider, title, root, hours))
            specials = AUGUST_2021_MAJORS
        for _ in range(rng.randint(15, 30) - len(specials)):
            opened = start + timedelta(minutes=rng.randrange(minutes_in_month))
            category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
            if month == "2021-08":  # the month's majors are exactly the five reported
                category = rng.choice([3, 4, 5])
            provider = rng.choices(list(PROVIDER_WEIGHTS), weights=list(PROVIDER_WEIGHTS.values()))[0]
            pool = INCIDENT_TITLES["CSP" if provider.startswith("CSP") else provider]
            title = rng.choice(pool).format(region=REGION_NAMES.get(provider, ""))
            cause = rng.choice(ROOT_CAUSES) if rng.random() < 0.65 else ""
            hours = rng.uniform(*HOURS_TO_RESOLVE[category])
            incidents.append((opened, None, category, provider, title, cause, hours))
    incidents.sort(key=lambda incident: incident[0])

    rows, previous, invented = [], 0, 0
    for opened, fixed_id, category, provider, title, cause, hours in incidents:
        if fixed_id:
            number = int(fixed_id[3:])
            if number <= previous:
                raise AssertionError(f"incident ids out of order at {fixed_id}")
            previous, identifier = number, fixed_id
        else:
            invented = max(invented + 1, int(ticket_number(opened)))
            identifier = f"{INVENTED_PREFIX}{invented:09d}"
        resolved = opened + timedelta(minutes=round(hours * 60))
        still_open = resolved > END_OF_DATA
        rows.append(
            [
                identifier,
                opened.strftime("%Y-%m-%d %H:%M"),
                "" if still_open else resolved.strftime("%Y-%m-%d %H:%M"),
                str(category),
                provider,
                "true" if category <= 2 else "false",
                title,
                "" if still_open and not fixed_id else cause,
            ]
        )
    return rows


# ---------------------------------------------------------------------------
# Operational figures


def tenths_percent(part: int, whole: int) -> str:
    tenths = (part * 2000 + whole) // (2 * whole)
    return f"{tenths // 10}.{tenths % 10}"


def ops_rows(installs: dict[str, dict[str, int]], additions: dict[str, dict[str, int]]) -> list[list[str]]:
    rng = series_rng("ops")
    rows: list[list[str]] = []
    hubs = {csp: round(INSTALLED_BEFORE_2018[csp] / METERS_PER_HUB) for csp in CSPS}
    problems = 74
    rdp_open = 0
    rdp_still_open_targets = {"2019-10": 8, "2020-04": 3}
    rdp_exact = {"2019-11": (None, 9, 6), "2020-05": (5, 3, 5)}  # opened, resolved, still open
    rdp_notes = {
        ("2019-11", "RDP incidents resolved"): reported_note(SRC_28),
        ("2019-11", "RDP incidents still open"): reported_note(SRC_28),
        ("2020-05", "RDP incidents opened"): reported_note(SRC_33),
        ("2020-05", "RDP incidents resolved"): reported_note(SRC_33),
        ("2020-05", "RDP incidents still open"): reported_note(SRC_33),
    }
    covid_note = "Low growth: most installations paused under COVID-19 restrictions"
    for month in MONTHS:
        for csp in CSPS:
            note = covid_note if month == "2020-04" else ""
            rows.append([month, "installations", csp, str(installs[month][csp]), "count", note])
        for csp in CSPS:
            hubs[csp] += round(additions[month][csp] / METERS_PER_HUB * rng.uniform(0.97, 1.03))
            rows.append([month, "CHs installed", csp, str(hubs[csp]), "count", ""])
        for csp in CSPS:
            exceptions = round(additions[month][csp] * rng.uniform(0.008, 0.016))
            rows.append([month, "exceptions", csp, str(exceptions), "count", ""])

        if month == "2021-08":
            changes, failed, problems = 211, 7, 90
            notes = (
                reported_note(SRC_56, "one with adverse impact"),
                reported_note(SRC_56),
                reported_note(SRC_56, "77 pending"),
            )
        else:
            changes, failed = rng.randint(118, 236), rng.randint(1, 11)
            problems = min(130, max(58, problems + rng.randint(-7, 7)))
            notes = ("", "", "")
            if month == "2021-07":  # OPSG_56: "the volume of change has reduced" to 211; problems "stable"
                changes, problems = max(changes, 232), 86
        rows.append([month, "changes implemented", "DCC", str(changes), "count", notes[0]])
        rows.append(
            [month, "change success rate", "DCC", tenths_percent(changes - failed, changes), "percent", notes[1]]
        )
        rows.append([month, "open problem tickets", "DCC", str(problems), "count", notes[2]])

        if month in rdp_exact:
            opened, resolved, still_open = rdp_exact[month]
            if opened is None:
                opened = still_open + resolved - rdp_open
            if opened < 0 or rdp_open + opened - resolved != still_open:
                raise AssertionError(f"RDP figures for {month} cannot be reached")
        else:
            opened = rng.randint(1, 8) + RDP_SPIKE.get(month, 0)
            if month in rdp_still_open_targets:
                still_open = rdp_still_open_targets[month]
                resolved = rdp_open + opened - still_open
                if resolved < 0:
                    opened, resolved = opened - resolved, 0
            else:
                available = rdp_open + opened
                resolved = rng.randint(max(0, available - 10), max(0, available - 1))
            still_open = rdp_open + opened - resolved
        rdp_open = still_open
        for metric, value in (
            ("RDP incidents opened", opened),
            ("RDP incidents resolved", resolved),
            ("RDP incidents still open", still_open),
        ):
            rows.append([month, metric, "RDP", str(value), "count", rdp_notes.get((month, metric), "")])

        rows.extend(ONE_OFF_OPS.get(month, []))
    return rows


RDP_SPIKE = {"2019-09": 8}  # OPSG_28: "a spike in September 2019" in RDP incidents raised

ONE_OFF_OPS = {
    "2019-12": [
        [
            "2019-12",
            "share of 8F3E alerts (ESME joining PPMID) unfixable or under investigation",
            "CSP N",
            "86.4",
            "percent",
            reported_note(SRC_28),
        ],
        [
            "2019-12",
            "share of 8F3E alerts (ESME joining PPMID) unfixable or under investigation",
            "CSP C&S",
            "74.6",
            "percent",
            reported_note(SRC_28),
        ],
        ["2019-12", "share of 8F12 alerts from one installing supplier", "DCC", "90", "percent", reported_note(SRC_28)],
    ],
    "2020-05": [
        [
            "2020-05",
            "users without a CSR forecast",
            "DCC",
            "16",
            "count",
            reported_note(SRC_33, "incl. 5 large suppliers"),
        ],
        [
            "2020-05",
            "users without an SR forecast",
            "DCC",
            "21",
            "count",
            reported_note(SRC_33, "incl. 4 large suppliers"),
        ],
    ],
    "2021-07": [
        [
            "2021-07",
            "devices decommissioned",
            "DCC",
            "8412",
            "count",
            "Illustrative; OPSG_56 says the number rose in August",
        ],
    ],
    "2021-08": [
        ["2021-08", "installation growth on previous month", "CSP N", "4", "percent", reported_note(SRC_56)],
        ["2021-08", "installation growth on previous month", "CSP C&S", "3", "percent", reported_note(SRC_56)],
        [
            "2021-08",
            "changes with adverse impact",
            "DCC",
            "1",
            "count",
            reported_note(SRC_56, '"This achieved a 96.7% success rate with one adverse impact"'),
        ],
        [
            "2021-08",
            "devices decommissioned",
            "DCC",
            "9735",
            "count",
            f"Illustrative figure; that it increased is from the {SRC_56}",
        ],
    ],
}


# ---------------------------------------------------------------------------
# Annotations: dated events (something that happened, or did not) and planned
# dates (a promise) to mark on the charts, only where OPSG minutes say so, each
# citing them: the CSP C&S CPM1 fix planned for December 2019 and delayed to
# February 2020 (the minutes never say when it was deployed), the increase in
# 8F3E alerts, COVID-19, the CSP N reporting tool not yet fixed on 22 June 2020
# and the April 2020 reissue.

ANNOTATIONS = [
    # date, text, scope, measure, provider, kind: only what the minutes support, each citing them
    [
        "2019-10-01",
        f"Production Proving caused a large number of Key Incidents (October 2019 PMR; action OPSG 28/03) ({SRC_28})",
        "all",
        "",
        "",
        "event",
    ],
    ["2019-12-01", f"CSP C&S CPM1 fix planned for December 2019 ({SRC_28})", "series", "CPM1", "CSP C&S", "planned"],
    ["2019-12-01", f"Increase in alerts, particularly 8F3E ({SRC_28})", "all", "", "", "event"],
    [
        "2020-02-01",
        f"CSP C&S CPM1 fix: delayed from December 2019 to February 2020 ({SRC_28})",
        "series",
        "CPM1",
        "CSP C&S",
        "planned",
    ],
    [
        "2020-03-23",
        f"COVID-19 restrictions: installations fell (by May 2020 up to 25% of pre-Covid) ({SRC_33})",
        "all",
        "",
        "",
        "event",
    ],
    [
        "2020-06-22",
        f"CSP N reporting tool: fix raised but not yet made; April 2020 PMR to be reissued ({SRC_33})",
        "provider",
        "",
        "CSP N",
        "event",
    ],
    [
        "2020-07-08",
        f"April 2020 PMR reissued (issue 2) with corrected CSP N figures, as asked at OPSG ({SRC_33})",
        "all",
        "",
        "",
        "event",
    ],
]


def annotation_rows() -> list[list[str]]:
    return sorted(ANNOTATIONS, key=lambda row: (row[0], row[1]))


# ---------------------------------------------------------------------------
# Writing


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def pmr_file(month: str) -> str:
    return f"pmr/pmr-{month}.csv"


REISSUE_FILE = f"pmr/pmr-{REISSUED_MONTH}-issue2.csv"


def issued_on(month: str) -> str:
    return f"{next_month(month)}-20"


README = """\
# Sample data (ILLUSTRATIVE)

Everything in this folder is illustrative sample data, generated by
`python -m opsg_metrics.sample` (deterministic: running it again gives the same
bytes). It is not DCC's data: the figures are made up to follow the story told
in OPSG minutes for 2018-2021. The exceptions are the figures OPSG minutes
actually reported (for example PM2 CSP N at 54.80% in April 2020 and 71.01% in
July 2021, the RDP incident counts, the August 2021 change and problem figures,
the four named major incidents): those rows carry exactly the reported value,
and their note starts with `Reported figure: <source>`. Do not quote any other
figure here as real.

Files, in the load order of `manifest.csv` (file, kind, source, classification,
issued): `pmr/pmr-YYYY-MM.csv`, one Performance Measurement Report per month
from January 2018 to December 2021 (kind `measures`); `pmr/pmr-2020-04-issue2.csv`,
the reissued April 2020 PMR, which corrects the CSP N figures flagged unreliable
in issue 1; `incidents.csv` (incident log); `alerts.csv` (alert volumes by code
and CSP region); `ops.csv` (installations, Communications Hubs, exceptions,
changes, problem tickets, RDP incidents and one-off figures from the minutes);
`annotations.csv` (dated events and planned dates to mark on the charts, only
where OPSG minutes support them, each citing them: the CSP C&S CPM1 fix planned
for December 2019 and delayed to February 2020, the CSP N reporting tool not yet
fixed on 22 June 2020, the April 2020 reissue); `record/` (the review record: the
meetings the minutes name, the actions outstanding as listed at each meeting (one
file per meeting, issued on its day: a target date moved between meetings is a
revision), decisions and commentary; the minutes' words are quoted with their
source, action ids, dates and commentary they do not give are marked illustrative).

Incidents made up for the sample are numbered `SAMPLE-…`, so that none can be
taken for a real one; the incidents the minutes name keep their `INC…` numbers
and cite the minutes in their root cause.
"""


# ---------------------------------------------------------------------------
# The review record (ILLUSTRATIVE): the meetings the minutes name, the actions as SECAS would list them at
# each meeting (one file per meeting, issued on its day, so a target date moved between meetings is a
# revision set on the meeting's day), decisions and commentary. What the minutes say is quoted with its
# source; action ids and dates the minutes do not give are marked illustrative.

O28 = "OPSG_28 minutes (7 Jan 2020)"
O33 = "OPSG_33xx minutes (22 Jun 2020)"
O56 = "OPSG_56 minutes (7 Sep 2021)"
MEETING_COLUMNS = ["meeting_id", "date", "kind", "pmr_month"]
MEETINGS = [
    ["OPSG_25", "2019-10-01", "main", "2019-08"],
    ["OPSG_28", "2020-01-07", "main", "2019-10"],
    ["OPSG_28x", "2020-01-27", "reporting", "2019-11"],
    ["OPSG_33xx", "2020-06-22", "reporting", "2020-04"],
    ["OPSG_56", "2021-09-07", "main", "2021-07"],
]
ACTION_COLUMNS = [
    "action_id",
    "text",
    "owner",
    "raised_meeting",
    "raised_on",
    "target_date",
    "status",
    "closed_on",
    "measure",
    "provider",
    "note",
]
_A2803 = ["OPSG 28/03", f"DCC to report on the Key Incidents caused by Production Proving ({O28})", "DCC", "OPSG_28"]
_A2804 = [
    "OPSG 28/04",
    "DCC to bring a remediation plan for CPM1 with the date Green will be achieved (illustrative action)",
    "DCC",
    "OPSG_28",
]
_A2805 = [
    "OPSG 28x/05",
    f"DCC to explain the 100% achievement of PM4.3, queried as inconsistent with the poor performance Service "
    f"Users experienced ({O33})",
    "DCC",
    "OPSG_28x",
]
_A3303 = [
    "OPSG 33xx/03",
    f"DCC to reissue the April 2020 PMR with the CSP N figures corrected ({O33})",
    "DCC",
    "OPSG_33xx",
]
_A3304 = [
    "OPSG 33xx/04",
    f"DCC to fix the CSP N reporting tool (a Change Request raised, not yet addressed on 22 Jun 2020) ({O33})",
    "DCC",
    "OPSG_33xx",
]
# meeting -> its actions list: (action, raised on, target date, status, closed on, measures, provider, note)
ACTION_LISTS = {
    "OPSG_28": [
        [*_A2803, "2020-01-07", "2020-01-27", "open", "", "", "", "target date illustrative"],
        [*_A2804, "2020-01-07", "2020-03-03", "open", "", "CPM1", "", "target date illustrative"],
    ],
    "OPSG_28x": [
        [*_A2803, "2020-01-07", "2020-01-27", "closed", "2020-01-27", "", "", "closed at OPSG_28x (illustrative)"],
        [*_A2804, "2020-01-07", "2020-03-03", "open", "", "CPM1", "", "target date illustrative"],
        [*_A2805, "2020-01-27", "2020-02-25", "open", "", "PM4.3", "", "target date illustrative"],
    ],
    "OPSG_33xx": [
        [*_A2804, "2020-01-07", "2020-07-28", "open", "", "CPM1", "", "plan not yet brought (illustrative)"],
        [*_A2805, "2020-01-27", "2020-07-28", "open", "", "PM4.3", "", "still queried at OPSG_33xx (illustrative)"],
        [*_A3303, "2020-06-22", "2020-07-08", "open", "", "PM2; CPM1", "CSP N", "target date illustrative"],
        [*_A3304, "2020-06-22", "2020-09-01", "open", "", "PM2", "CSP N", "target date illustrative"],
    ],
    "OPSG_56": [
        [*_A2804, "2020-01-07", "2021-12-07", "open", "", "CPM1", "", "revised again (illustrative)"],
        [*_A2805, "2020-01-27", "2020-07-28", "closed", "2020-09-08", "PM4.3", "", "closed (illustrative)"],
        [*_A3303, "2020-06-22", "2020-07-08", "closed", "2020-07-08", "PM2; CPM1", "CSP N", "April 2020 PMR reissued"],
        [
            *_A3304,
            "2020-06-22",
            "2021-12-07",
            "open",
            "",
            "PM2",
            "CSP N",
            "PM2 ahead of the remediation plan in July 2021 (" + O56 + "); fix date illustrative",
        ],
    ],
}
DECISION_COLUMNS = ["meeting_id", "item", "verb", "text", "measure", "provider", "action_id"]
DECISIONS = [
    [
        "OPSG_28",
        "PMR",
        "NOTED",
        f"CPM1 was again below target for the tenth month in succession ({O28})",
        "CPM1",
        "DCC",
        "",
    ],
    [
        "OPSG_28",
        "PMR",
        "IDENTIFIED",
        f"a large number of Key Incidents were caused by Production Proving ({O28})",
        "",
        "",
        "OPSG 28/03",
    ],
    [
        "OPSG_28",
        "PMR",
        "AGREED",
        "DCC to bring a remediation plan for CPM1 with the date Green will be achieved (illustrative)",
        "CPM1",
        "DCC",
        "OPSG 28/04",
    ],
    ["OPSG_28x", "PMR", "DISCUSSED", "the 100% achievement of PM4.3 (illustrative wording)", "", "", "OPSG 28x/05"],
    [
        "OPSG_33xx",
        "PMR",
        "NOTED",
        "CPM1 has been below Target Service Level for the last ten months; this is the "
        f"16th instance it has been below in 17 months ({O33})",
        "CPM1",
        "DCC",
        "",
    ],
    ["OPSG_33xx", "PMR", "AGREED", f"DCC to reissue the April 2020 PMR ({O33})", "PM2", "CSP N", "OPSG 33xx/03"],
    [
        "OPSG_56",
        "PMR",
        "NOTED",
        f"CSP N achieved 71.01% against PM2 in July, ahead of the remediation plan ({O56})",
        "PM2",
        "CSP N",
        "OPSG 33xx/04",
    ],
]
COMMENTARY_COLUMNS = ["month", "text", "measure", "provider", "author"]
COMMENTARY = [
    [
        "2019-10",
        "CPM1 below target for the tenth month in succession; DCC asked for a remediation plan (action "
        "OPSG 28/04). Illustrative commentary.",
        "",
        "",
        "SECAS (illustrative)",
    ],
    [
        "2020-03",
        "CPM1 remains below target; the remediation plan due at OPSG_33xx. Illustrative commentary.",
        "",
        "",
        "SECAS (illustrative)",
    ],
    [
        "2020-04",
        "CPM1 below target again. The CSP N figures are flagged as possibly unreliable and the PMR is to be "
        "reissued (action OPSG 33xx/03). Illustrative commentary.",
        "",
        "",
        "SECAS (illustrative)",
    ],
    [
        "2020-04",
        f"Below its minimum at 54.80%; CSP N figures flagged as possibly unreliable (reporting tool) ({O33}).",
        "PM2",
        "CSP N",
        "SECAS (illustrative)",
    ],
]


def record_files(out: Path) -> list[list[str]]:
    """Write the review record's sample files; their manifest rows."""
    manifest = [["record/meetings.csv", "meetings", "OPSG meetings (illustrative)", "white", "2021-09-07"]]
    write_csv(out / "record" / "meetings.csv", MEETING_COLUMNS, MEETINGS)
    days = {m[0]: m[1] for m in MEETINGS}
    for meeting, rows in ACTION_LISTS.items():
        name = f"record/actions-{meeting}.csv"
        write_csv(out / name, ACTION_COLUMNS, rows)
        manifest.append([name, "actions", f"Actions outstanding at {meeting} (illustrative)", "white", days[meeting]])
    write_csv(out / "record" / "decisions.csv", DECISION_COLUMNS, DECISIONS)
    manifest.append(["record/decisions.csv", "decisions", "OPSG decisions (illustrative)", "white", "2021-09-07"])
    write_csv(out / "record" / "commentary.csv", COMMENTARY_COLUMNS, COMMENTARY)
    manifest.append(["record/commentary.csv", "commentary", "PMR commentary (illustrative)", "white", "2021-09-07"])
    return manifest


def generate(out_dir: Path | str = DEFAULT_OUT, catalogue_file: Path | str = CATALOGUE_FILE) -> list[str]:
    """Write every sample file under out_dir; return their paths relative to it."""
    out = Path(out_dir)
    installs, additions = installation_series()
    for csps, expected in ((["CSP N"], 4), (["CSP C", "CSP S"], 3)):
        if round(100 * installation_growth(installs, "2021-08", csps)) != expected:
            raise AssertionError(f"installation growth for {csps} does not round to the reported {expected}%")
    alerts, alert_volume = alert_rows(installs)
    builder = PmrBuilder(Path(catalogue_file), Context(installs, additions, alert_volume))

    issue1 = {month: builder.month(month) for month in MONTHS}
    issue1[REISSUED_MONTH] = flag_csp_n_unreliable(issue1[REISSUED_MONTH])
    issue2 = reissue(builder, issue1[REISSUED_MONTH], REISSUED_MONTH)
    check_cpm1_story({**issue1, REISSUED_MONTH: issue2})

    def measure_rows(month: str, figures: dict[tuple[str, str], Figure]) -> list[list[str]]:
        return [figures[key].cells(month, *key) for key in builder.series if key in figures]

    manifest: list[list[str]] = []
    for month in MONTHS:
        write_csv(out / pmr_file(month), MEASURE_COLUMNS, measure_rows(month, issue1[month]))
        manifest.append([pmr_file(month), "measures", f"PMR {month_label(month)} issue 1", "white", issued_on(month)])
        if month == "2020-07":  # the reissue came out after the July PMR in load order
            write_csv(out / REISSUE_FILE, MEASURE_COLUMNS, measure_rows(REISSUED_MONTH, issue2))
            manifest.append(
                [REISSUE_FILE, "measures", f"PMR {month_label(REISSUED_MONTH)} issue 2", "white", REISSUE_DATE]
            )

    write_csv(out / "incidents.csv", INCIDENT_COLUMNS, incident_rows())
    manifest.append(["incidents.csv", "incidents", "Incident log (illustrative)", "white-no-publish", "2022-01-20"])
    write_csv(out / "alerts.csv", ALERT_COLUMNS, alerts)
    manifest.append(["alerts.csv", "alerts", "Alert volumes (illustrative)", "white-no-publish", "2022-01-20"])
    write_csv(out / "ops.csv", OPS_COLUMNS, ops_rows(installs, additions))
    manifest.append(["ops.csv", "ops", "Operational figures (illustrative)", "white", "2022-01-20"])
    write_csv(out / "annotations.csv", ANNOTATION_COLUMNS, annotation_rows())
    manifest.append(["annotations.csv", "annotations", "Annotations (illustrative)", "white", "2022-01-20"])
    manifest += record_files(out)

    write_csv(out / "manifest.csv", MANIFEST_COLUMNS, manifest)
    (out / "README.md").write_bytes(README.encode("utf-8"))
    return [row[0] for row in manifest] + ["manifest.csv", "README.md"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m opsg_metrics.sample",
        description="Write the illustrative (made-up, deterministic) sample data set.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output folder (default: {DEFAULT_OUT}; with --events, data/events-sample)",
    )
    parser.add_argument(
        "--events", action="store_true", help="write synthetic request records instead (sample_events.py)"
    )
    parser.add_argument(
        "--scale", default="1M", help="with --events: how many rows in all (1000000, 1M, 100M, 1B; default 1M)"
    )
    parser.add_argument("--months", metavar="FROM..TO", help="with --events: only these months (2020-04..2020-04)")
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=("parquet", "csv"),
        default="parquet",
        help="with --events: the files' format",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="with --events: the database whose PMR figures the records give (default: $OPSG_DB, else data/opsg.duckdb)",
    )
    args = parser.parse_args(argv)
    if args.events:
        return _events(args, parser)
    out = args.out or DEFAULT_OUT
    written = generate(out)
    print(f"wrote {len(written)} files to {out}")
    return 0


def _events(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from opsg_metrics import sample_events
    from opsg_metrics.store import snapshots
    from opsg_metrics.store.errors import OpsgError

    try:
        scale = sample_events.parse_scale(args.scale)
        months = None
        if args.months:
            first, _, last = args.months.partition("..")
            months = (date.fromisoformat(first + "-01"), date.fromisoformat((last or first) + "-01"))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        con, _ = snapshots.reader(args.db)
    except OpsgError as exc:
        print(f"error: {exc}; make the database first (make run, or python -m opsg_metrics init --sample)")
        return 1
    out = args.out or REPO_ROOT / "data" / "events-sample"
    with con:
        written = sample_events.generate(con, out, scale, months=months, file_format=args.file_format)
    print(f"wrote {len(written)} files of request records to {out} (illustrative, made up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
