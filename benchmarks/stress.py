"""Stress data set and stress database for the benchmarks (issue "Benchmarks and scale", part 1).

    python -m benchmarks.stress --out DIR --db PATH [--scale S] [--replace]

writes a large, valid, deterministic data set as CSV files in the normal file
formats (README, "File formats") into DIR, then builds a DuckDB database at
PATH from them through the normal ingest (`db.connect`, the bundled reference
data as `init` loads it, then `ingest_file` for every file, one transaction
and one source each), printing each file's rows and seconds and a summary.
Any file that does not load exactly as the generator expects (rejected, or
other new/revised counts) stops the build with the problems listed and exit
code 1. Importable: `build(out_dir, db_path, scale=1.0, progress=print)`
returns the counts and timings as a dict; `generate()` and `load()` are its two
halves.

What is written, at scale 1.0 (months, incidents and alert rows scale with S;
the series do not):

- `catalogue/catalogue-stress.csv` (kind catalogue, loaded first): 50 synthetic
  series STR1..STR10 x (CSP N, CSP C, CSP S, CSP C&S, DSP), unit percent,
  levels from 2000-01 (STR1, STR3 and STR7 change their levels part-way;
  STR8 has a target of 100 like CPM4; STR9 and STR10 are lower-is-better), so
  with the 63 bundled series there are 113. The bundled levels all start in
  2018-01, so this file also back-dates every bundled series: a row with the
  same target and minimum from 2000-01 to the bundled level's effective_from
  (name, unit, direction, description and feeds copied verbatim, so the
  measure definitions are unchanged; source says it is a stress back-dating,
  verified=false). Without it every month before 2018 would be no_data.
- `pmr/pmr-YYYY-MM.csv`: one PMR per month, 300 months (2001-01 .. 2025-12),
  113 figures each, source "Stress PMR <Month YYYY> issue 1", issued on the
  20th of the next month. Values in hundredths: mostly met, runs of 3-20
  months below target (about a third of them dipping below minimum), some
  single misses; each month one figure is status=null with no value, and a
  few are unreliable or inferred (with a note). CPM1-3, PM2, STR1 and STR2
  carry numerator/denominator that agree with the value.
- `pmr/pmr-YYYY-MM-issue2.csv`: for the first month and about 15% of the
  others, a reissue ("... issue 2", issued on the 8th two months after the
  month's issue 1, and loaded in issue-date order) restating about 5% of the
  month's figures with changed values (some withdrawn as null, nulls
  restated with a value): revisions.
- `incidents.csv` (50,000), `alerts.csv` (1,000,000 rows: per month up to
  1,112 codes x CSP N/C/S, first_time_devices <= devices <= volume, 2% with
  no device counts), `ops.csv` (installations and CHs installed, cumulative
  and increasing, and exceptions for each CSP; changes, change success rate,
  open problem tickets for DCC; RDP incidents), `annotations.csv` (three a
  year: event, series rebase, planned).
- `manifest.csv`: file, kind, source, classification, issued, rows, in load
  order (a bootstrap-style manifest: other tools can load the same files).

Every source is loaded with is_sample=True: the data is made up, and the app
shows its "illustrative sample data" banner for it.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from opsg_metrics import sample, words

SEED = "opsg-metrics-stress-v1"
FIRST_YEAR = 2001
BASE_MONTHS = 300
BASE_ALERT_ROWS = 1_000_000
BASE_INCIDENTS = 50_000
MAX_SCALE = 1.0  # 300 months, 2001-01 .. 2025-12: ingest refuses months after the one following today
LEVELS_FROM = "2000-01"  # every level written here starts before the first stress month
REVISED_MONTH_SHARE = 0.15
REVISED_FIGURE_SHARE = 0.05

CSPS = ["CSP N", "CSP C", "CSP S"]
EXTRA_PROVIDERS = ["CSP N", "CSP C", "CSP S", "CSP C&S", "DSP"]
# id, name, direction, levels [(effective_from, target, minimum)]
EXTRA_MEASURES = [
    ("STR1", "Stress: service requests within TRT", "higher", [(LEVELS_FROM, 99, 96), ("2013-01", 99.5, 97)]),
    ("STR2", "Stress: scheduled reads delivered on time", "higher", [(LEVELS_FROM, 99, 96)]),
    ("STR3", "Stress: device commands completed", "higher", [(LEVELS_FROM, 98, 95), ("2010-07", 98.5, 95.5)]),
    ("STR4", "Stress: WAN coverage confirmations", "higher", [(LEVELS_FROM, 97, 93)]),
    ("STR5", "Stress: service availability", "higher", [(LEVELS_FROM, 99.5, 98)]),
    ("STR6", "Stress: problem records closed in time", "higher", [(LEVELS_FROM, 95, 90)]),
    ("STR7", "Stress: firmware images distributed", "higher", [(LEVELS_FROM, 99, 97), ("2019-01", 99.2, 97)]),
    ("STR8", "Stress: major incidents resolved in time", "higher", [(LEVELS_FROM, 100, 85)]),
    ("STR9", "Stress: failed service requests", "lower", [(LEVELS_FROM, 2, 5)]),
    ("STR10", "Stress: duplicate alerts", "lower", [(LEVELS_FROM, 1, 3)]),
]
EXTRA_SOURCE = "benchmarks/stress.py: synthetic stress series, not a real measure"
BACKDATE_SOURCE = (
    "benchmarks/stress.py: stress back-dating of the bundled level from {start} "
    "so that earlier stress months can be judged; synthetic, not a real level"
)
COUNTED_MEASURES = {"CPM1", "CPM2", "CPM3", "PM2", "STR1", "STR2"}
BASE_DENOMINATOR = {
    "DCC": 2_000_000,
    "DSP": 1_900_000,
    "CSP N": 700_000,
    "CSP C&S": 1_300_000,
    "CSP C": 700_000,
    "CSP S": 600_000,
}

MONTH_NAMES = list(words.MONTH_NAMES)

CATALOGUE_COLUMNS = [
    "measure",
    "provider",
    "name",
    "unit",
    "direction",
    "target",
    "minimum",
    "effective_from",
    "effective_to",
    "source",
    "verified",
    "description",
    "feeds",
]
MEASURE_COLUMNS = ["month", "measure", "provider", "value", "status", "numerator", "denominator", "note"]
INCIDENT_COLUMNS = ["incident_id", "opened", "resolved", "category", "provider", "major", "title", "root_cause"]
ALERT_COLUMNS = ["month", "alert_code", "provider", "volume", "devices", "first_time_devices"]
OPS_COLUMNS = ["month", "metric", "provider", "value", "unit", "note"]
ANNOTATION_COLUMNS = ["date", "text", "scope", "measure", "provider", "kind"]
MANIFEST_COLUMNS = ["file", "kind", "source", "classification", "issued", "rows"]
KINDS = ("catalogue", "measures", "incidents", "alerts", "ops", "annotations")


class StressError(Exception):
    """The stress build failed: a file was not loaded as generated, or a count does not match."""


def rng_for(*parts: object) -> random.Random:
    # A str seed is hashed (SHA-512) by random.seed: stable across runs, platforms and scales.
    return random.Random(":".join((SEED, *map(str, parts))))


# ---------------------------------------------------------------------------- months


def month_list(count: int) -> list[str]:
    return [f"{FIRST_YEAR + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def add_months(month: str, months: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    total = year * 12 + number - 1 + months
    return f"{total // 12}-{total % 12 + 1:02d}"


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTH_NAMES[int(number) - 1]} {year}"


def scaled(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def spread(total: int, parts: int) -> list[int]:
    """total split into `parts` whole numbers differing by at most one, the larger first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# ---------------------------------------------------------------------------- catalogue


@dataclass
class Series:
    measure: str
    provider: str
    name: str
    unit: str
    direction: str
    description: str
    feeds: str
    levels: list[tuple[str, str, int, int]] = field(
        default_factory=list
    )  # from, to ('' open), target, min (hundredths)

    def level(self, month: str) -> tuple[int, int]:
        in_force = [lv for lv in self.levels if lv[0] <= month and (not lv[1] or month < lv[1])]
        start, _, target, minimum = max(in_force)
        return target, minimum


def hundredths(number: float) -> int:
    return int(round(number * 100))


fmt_hundredths = sample.fmt_hundredths


def fmt_level(value: int) -> str:
    return f"{value / 100:g}"


def read_bundled_catalogue() -> list[dict]:
    from opsg_metrics.store.catalogue import MEASURES_FILE

    with open(MEASURES_FILE, newline="", encoding="utf-8") as handle:
        return [{k.strip().lower(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def catalogue_plan(first_month: str) -> tuple[list[Series], list[list[str]]]:
    """Every series (bundled then synthetic) with its levels, and the rows of the stress catalogue file."""
    series: dict[tuple[str, str], Series] = {}
    for row in read_bundled_catalogue():
        key = (row["measure"], row["provider"])
        if key not in series:
            series[key] = Series(
                row["measure"],
                row["provider"],
                row["name"],
                row["unit"] or "percent",
                row["direction"] or "higher",
                row.get("description", ""),
                row.get("feeds", ""),
            )
        series[key].levels.append(
            (
                row["effective_from"][:7],
                (row.get("effective_to") or "")[:7],
                hundredths(float(row["target"])),
                hundredths(float(row["minimum"])),
            )
        )
    rows: list[list[str]] = []
    for s in series.values():
        earliest = min(s.levels)
        if earliest[0] > first_month:
            start, _, target, minimum = earliest
            rows.append(
                [
                    s.measure,
                    s.provider,
                    s.name,
                    s.unit,
                    s.direction,
                    fmt_level(target),
                    fmt_level(minimum),
                    LEVELS_FROM,
                    start,
                    BACKDATE_SOURCE.format(start=start),
                    "false",
                    s.description,
                    s.feeds,
                ]
            )
            s.levels.append((LEVELS_FROM, start, target, minimum))
    for measure, name, direction, levels in EXTRA_MEASURES:
        for provider in EXTRA_PROVIDERS:
            description = (
                f"Synthetic {direction}-is-better percentage for the stress benchmark "
                f"(benchmarks/stress.py); not a real measure."
            )
            s = Series(measure, provider, name, "percent", direction, description, "")
            for start, target, minimum in levels:
                s.levels.append((start, "", hundredths(target), hundredths(minimum)))
                rows.append(
                    [
                        measure,
                        provider,
                        name,
                        "percent",
                        direction,
                        f"{target:g}",
                        f"{minimum:g}",
                        start,
                        "",
                        EXTRA_SOURCE,
                        "false",
                        description,
                        "",
                    ]
                )
            series[(measure, provider)] = s
    return list(series.values()), rows


# ---------------------------------------------------------------------------- measures


# One measures row, as the sample data writes it.
Figure = sample.Figure


def ratio_hundredths(numerator: int, denominator: int) -> int:
    """numerator/denominator as a percentage in hundredths, rounded half up (so within 0.005 of exact)."""
    return (numerator * 20000 + denominator) // (2 * denominator)


def counted(value: int, denominator: int, status: str = "reported", note: str = "") -> Figure:
    numerator = min(denominator, max(0, round(value * denominator / 10000)))
    return Figure(ratio_hundredths(numerator, denominator), status, numerator, denominator, note)


def draw_value(s: Series, target: int, minimum: int, kind: str, rng: random.Random) -> int:
    """A value in hundredths that is met, below target ('miss') or below minimum ('severe')."""
    cap = 10000 if s.unit == "percent" else 10**9
    if s.direction == "lower":
        if kind == "met":
            return rng.randint(target // 10, target)
        if kind == "miss":
            return rng.randint(target + 1, max(target + 1, minimum))
        return min(cap, rng.randint(minimum + 1, minimum + 800))
    if kind == "met":
        top = cap if s.unit == "percent" else target + max(100, target // 5)
        # Most months comfortably above target, skewed towards the top.
        return top - int((top - target) * rng.random() ** 1.6)
    if kind == "miss":
        return rng.randint(minimum, max(minimum, target - 1))
    return max(0, rng.randint(minimum - 800, minimum - 1))


def issue1_figures(series: list[Series], months: list[str]) -> dict[str, list[Figure]]:
    """Every month's figures as first issued, in series order."""
    by_series: list[list[Figure]] = []
    for s in series:
        rng = rng_for("pmr", s.measure, s.provider)
        bad_left, severe = 0, False
        if rng.random() < 0.12:  # some series start inside a run, so even a few months show misses
            bad_left, severe = rng.randint(3, 20), rng.random() < 0.35
        figures = []
        for index, month in enumerate(months):
            target, minimum = s.level(month)
            if bad_left == 0 and rng.random() < 0.012:
                bad_left, severe = rng.randint(3, 20), rng.random() < 0.35
            if bad_left:
                kind = "severe" if severe and rng.random() < 0.5 else "miss"
                bad_left -= 1
            else:
                kind = "miss" if rng.random() < 0.02 else "met"
            value = draw_value(s, target, minimum, kind, rng)
            status, note = "reported", ""
            draw = rng.random()
            if draw < 0.004:
                status, note = "unreliable", "Flagged unreliable (stress data): reporting tool under review"
            elif draw < 0.005:
                status, note = "inferred", "Inferred (stress data): deduced from a statement in the minutes"
            if s.measure in COUNTED_MEASURES:
                base = BASE_DENOMINATOR.get(s.provider, 500_000) * (0.01 if s.measure == "PM2" else 1)
                denominator = max(50, round(base * (0.2 + 0.8 * index / BASE_MONTHS) * rng.uniform(0.93, 1.07)))
                figures.append(counted(value, denominator, status, note))
            else:
                figures.append(Figure(value, status, note=note))
        by_series.append(figures)
    result = {}
    for index, month in enumerate(months):
        row = [figures[index] for figures in by_series]
        rng = rng_for("nulls", month)
        for position in rng.sample(range(len(series)), max(1, round(0.006 * len(series)))):
            row[position] = Figure(None, "null", note="Not reported (stress data): source data incomplete")
        result[month] = row
    return result


def restate(s: Series, month: str, figure: Figure, rng: random.Random) -> Figure:
    """A changed figure for a reissue: a value restated, a null filled in, or a value withdrawn."""
    target, minimum = s.level(month)
    if figure.value is None:
        value = draw_value(s, target, minimum, "met" if rng.random() < 0.8 else "miss", rng)
        note = "Restated in issue 2 (stress data): figure now available"
        if figure.denominator is not None or s.measure in COUNTED_MEASURES:
            denominator = figure.denominator or BASE_DENOMINATOR.get(s.provider, 500_000)
            return counted(value, denominator, note=note)
        return Figure(value, note=note)
    if rng.random() < 0.1:
        return Figure(None, "null", note="Withdrawn in issue 2 as incorrect (stress data); not restated")
    note = "Restated in issue 2 (stress data) after a correction"
    cap = 10000 if s.unit == "percent" else 10**9
    step = rng.randint(5, 150) * (1 if rng.random() < 0.5 else -1)
    for attempt in (step, -step, 1, -1):
        value = min(cap, max(0, figure.value + attempt))
        new = counted(value, figure.denominator, note=note) if figure.denominator else Figure(value, note=note)
        if new.value != figure.value:
            return new
    raise AssertionError("no changed value found")  # unreachable: a step of 1 either way changes the value


# ---------------------------------------------------------------------------- context


def installations(months: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Cumulative meters installed per CSP at each month end, and the meters added in the month."""
    rng = rng_for("installations")
    stock = {"CSP N": 60_000, "CSP C": 90_000, "CSP S": 80_000}
    installs, added = {}, {}
    for index, month in enumerate(months):
        installs[month], added[month] = {}, {}
        for csp in CSPS:
            growth = (0.005 + 0.03 * math.exp(-index / 72)) * rng.uniform(0.9, 1.1)
            more = max(1, round(stock[csp] * growth))
            stock[csp] += more
            installs[month][csp], added[month][csp] = stock[csp], more
    return installs, added


def ops_rows(months: list[str], installs, added) -> list[list[str]]:
    rng = rng_for("ops")
    hubs = {csp: round(installs[months[0]][csp] / 1.82) for csp in CSPS}
    problems, rdp_open = 70, 0
    rows: list[list[str]] = []
    for month in months:
        for csp in CSPS:
            rows.append([month, "installations", csp, str(installs[month][csp]), "count", ""])
        for csp in CSPS:
            hubs[csp] += max(1, round(added[month][csp] / 1.82 * rng.uniform(0.97, 1.03)))
            rows.append([month, "CHs installed", csp, str(hubs[csp]), "count", ""])
        for csp in CSPS:
            rows.append(
                [month, "exceptions", csp, str(round(added[month][csp] * rng.uniform(0.008, 0.016))), "count", ""]
            )
        changes, failed = rng.randint(80, 240), rng.randint(0, 10)
        tenths = ((changes - failed) * 2000 + changes) // (2 * changes)
        problems = min(140, max(40, problems + rng.randint(-7, 7)))
        rows.append([month, "changes implemented", "DCC", str(changes), "count", ""])
        rows.append([month, "change success rate", "DCC", f"{tenths // 10}.{tenths % 10}", "percent", ""])
        rows.append([month, "open problem tickets", "DCC", str(problems), "count", ""])
        opened = rng.randint(0, 8)
        resolved = rng.randint(max(0, rdp_open + opened - 10), rdp_open + opened)
        rdp_open = rdp_open + opened - resolved
        for metric, value in (
            ("RDP incidents opened", opened),
            ("RDP incidents resolved", resolved),
            ("RDP incidents still open", rdp_open),
        ):
            rows.append([month, metric, "RDP", str(value), "count", ""])
    return rows


SAMPLE_CODES = ["8F3E", "8F12", "8014", "8015", "8F1C", "8F35", "8F66", "8F84"]


def alert_codes(count: int) -> list[str]:
    codes = list(SAMPLE_CODES[:count])
    number = 0x8000
    while len(codes) < count:
        code = f"{number:04X}"
        if code not in SAMPLE_CODES:
            codes.append(code)
        number += 1
        if number > 0xFFFF:
            raise StressError(f"{count} alert codes do not fit in four hex digits from 8000")
    return codes


def write_alerts(files: dict[str, list[str]], total: int, installs) -> int:
    """Alert rows for each month, `total` in all, into the files named for each month. Returns rows written."""
    months = [m for names in files.values() for m in names]
    per_month = spread(total, len(months))
    codes = alert_codes(math.ceil(per_month[0] / len(CSPS)))
    rng = rng_for("alerts")
    rates = [10 ** rng.uniform(-5.0, -2.3) for _ in codes]
    written = 0
    counts = iter(per_month)
    for path, file_months in files.items():
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(ALERT_COLUMNS)
            random_ = rng.random
            for month in file_months:
                wanted = next(counts)
                meters = installs[month]
                for position in range(wanted):
                    code_index, csp_index = divmod(position, len(CSPS))
                    csp = CSPS[csp_index]
                    volume = int(meters[csp] * rates[code_index] * (0.7 + 0.6 * random_()))
                    if random_() < 0.001:  # an alert storm
                        volume *= 5 + int(10 * random_())
                    if random_() < 0.02:
                        devices = first_time = ""
                    else:
                        count = int(volume / (1.2 + 5 * random_()))
                        devices, first_time = str(count), str(int(count * (0.05 + 0.45 * random_())))
                    writer.writerow((month, codes[code_index], csp, volume, devices, first_time))
                written += wanted
    return written


PROVIDER_WEIGHTS = {"DCC": 18, "DSP": 28, "CSP N": 20, "CSP C": 15, "CSP S": 15, "RDP": 4}
CATEGORY_WEIGHTS = {1: 1, 2: 4, 3: 25, 4: 38, 5: 32}
HOURS_TO_RESOLVE = {1: (0.75, 5.0), 2: (2.0, 20.0), 3: (6.0, 72.0), 4: (24.0, 168.0), 5: (72.0, 480.0)}
REGIONS = {"CSP N": "the North", "CSP C": "the Central region", "CSP S": "the South"}
TITLES = {
    "DCC": [
        "Service desk ticketing tool unavailable",
        "Self-Service Interface slow to respond",
        "Install and commission notifications delayed",
        "Certificate update requests rejected for one User",
    ],
    "DSP": [
        "Service Requests queued in the DSP",
        "DSP processing delays after a release",
        "Intermittent rejections of Service Requests",
        "Scheduled reads delivered late",
    ],
    "CSP": [
        "WAN outage affecting Communications Hubs in {region}",
        "Firmware payloads delayed in {region}",
        "Alerts delayed from {region}",
        "Communications Hubs not responding in {region}",
    ],
    "RDP": ["Registration data file not received", "Registration data file rejected"],
}
ROOT_CAUSES = [
    "Configuration error in a release",
    "Capacity limit reached on a message queue",
    "Third-party telecoms network outage",
    "Hardware failure",
    "Certificate not renewed before expiry",
    "Human error during planned maintenance",
    "Software defect in a message adaptor",
]


def incident_rows(months: list[str], total: int) -> list[list[str]]:
    rng = rng_for("incidents")
    end_of_data = datetime.strptime(add_months(months[-1], 1), "%Y-%m") - timedelta(minutes=1)
    providers, provider_weights = list(PROVIDER_WEIGHTS), list(PROVIDER_WEIGHTS.values())
    categories, category_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    incidents = []
    for month, count in zip(months, spread(total, len(months))):
        start = datetime.strptime(month, "%Y-%m")
        minutes = int((datetime.strptime(add_months(month, 1), "%Y-%m") - start).total_seconds() // 60)
        for _ in range(count):
            opened = start + timedelta(minutes=rng.randrange(minutes))
            category = rng.choices(categories, category_weights)[0]
            provider = rng.choices(providers, provider_weights)[0]
            title = rng.choice(TITLES["CSP" if provider.startswith("CSP") else provider]).format(
                region=REGIONS.get(provider, "")
            )
            cause = rng.choice(ROOT_CAUSES) if rng.random() < 0.65 else ""
            hours = rng.uniform(*HOURS_TO_RESOLVE[category])
            if rng.random() < 0.002:  # left open for good
                hours = 10**7
            incidents.append((opened, category, provider, title, cause, hours))
    incidents.sort(key=lambda incident: incident[0])
    rows = []
    for number, (opened, category, provider, title, cause, hours) in enumerate(incidents, start=1):
        resolved = opened + timedelta(minutes=round(hours * 60)) if hours < 10**6 else None
        still_open = resolved is None or resolved > end_of_data
        rows.append(
            [
                f"INC{700_000_000 + number:012d}",
                opened.strftime("%Y-%m-%d %H:%M"),
                "" if still_open else resolved.strftime("%Y-%m-%d %H:%M"),
                str(category),
                provider,
                "true" if category <= 2 else "false",
                title,
                cause,
            ]
        )
    return rows


def annotation_rows(months: list[str], series: list[Series]) -> list[list[str]]:
    rng = rng_for("annotations")
    last_day = (datetime.strptime(add_months(months[-1], 1), "%Y-%m") - timedelta(days=1)).strftime("%Y-%m-%d")
    rows = []
    for year in sorted({int(m[:4]) for m in months}):
        chosen = rng.choice(series)
        planned = rng.choice(series)
        for row in (
            [f"{year}-03-15", f"Stress: release {year}.1 deployed", "all", "", "", "event"],
            [
                f"{year}-07-01",
                f"Stress: methodology change for {chosen.measure} ({chosen.provider}); SPC limits recomputed",
                "series",
                chosen.measure,
                chosen.provider,
                "rebase",
            ],
            [
                f"{year}-11-30",
                f"Stress: remediation of {planned.measure} planned",
                "measure",
                planned.measure,
                "",
                "planned",
            ],
        ):
            if row[0] <= last_day:
                rows.append(row)
    return rows


# ---------------------------------------------------------------------------- writing


write_csv = sample.write_csv


def check_scale(scale: float) -> float:
    if not (isinstance(scale, (int, float)) and 0 < scale <= MAX_SCALE):
        raise StressError(f"scale must be above 0 and at most {MAX_SCALE:g}, not {scale!r}")
    return float(scale)


def generate(out_dir: Path | str, scale: float = 1.0, *, alert_files: str = "one") -> dict:
    """Write the stress files and manifest.csv into out_dir; return what was written.

    alert_files: 'one' (a single alerts.csv, the default) or 'yearly' (alerts/alerts-YYYY.csv).
    """
    scale = check_scale(scale)
    if alert_files not in ("one", "yearly"):
        raise StressError(f"alert_files must be 'one' or 'yearly', not {alert_files!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    months = month_list(scaled(BASE_MONTHS, scale))
    series, catalogue_rows = catalogue_plan(months[0])
    manifest: list[list[str]] = []
    written = {
        "months": len(months),
        "series": len(series),
        "catalogue_rows": len(catalogue_rows),
        "figures": 0,
        "issue1_figures": 0,
        "revisions": 0,
        "nulls_issue1": 0,
        "revised_months": 0,
    }

    write_csv(out / "catalogue" / "catalogue-stress.csv", CATALOGUE_COLUMNS, catalogue_rows)
    manifest.append(
        [
            "catalogue/catalogue-stress.csv",
            "catalogue",
            "Stress catalogue (synthetic series and back-dated levels)",
            "white",
            f"{months[0]}-01",
            str(len(catalogue_rows)),
        ]
    )

    figures = issue1_figures(series, months)
    revision_rng = rng_for("reissues")
    pmr_entries = []  # (issued, file, source, rows)
    for index, month in enumerate(months):
        rows = [figure.cells(month, s.measure, s.provider) for s, figure in zip(series, figures[month])]
        name = f"pmr/pmr-{month}.csv"
        write_csv(out / name, MEASURE_COLUMNS, rows)
        pmr_entries.append((f"{add_months(month, 1)}-20", name, f"Stress PMR {month_label(month)} issue 1", len(rows)))
        written["issue1_figures"] += len(rows)
        written["nulls_issue1"] += sum(1 for figure in figures[month] if figure.status == "null")
        if index == 0 or revision_rng.random() < REVISED_MONTH_SHARE:
            rng = rng_for("reissue", month)
            picks = sorted(rng.sample(range(len(series)), max(2, round(REVISED_FIGURE_SHARE * len(series)))))
            restated = [
                restate(series[i], month, figures[month][i], rng).cells(month, series[i].measure, series[i].provider)
                for i in picks
            ]
            name = f"pmr/pmr-{month}-issue2.csv"
            write_csv(out / name, MEASURE_COLUMNS, restated)
            pmr_entries.append(
                (f"{add_months(month, 2)}-08", name, f"Stress PMR {month_label(month)} issue 2", len(restated))
            )
            written["revisions"] += len(restated)
            written["revised_months"] += 1
    written["figures"] = written["issue1_figures"] + written["revisions"]
    for issued, name, source, rows in sorted(pmr_entries):
        manifest.append([name, "measures", source, "white", issued, str(rows)])

    data_issued = f"{add_months(months[-1], 1)}-20"
    incidents = incident_rows(months, scaled(BASE_INCIDENTS, scale))
    write_csv(out / "incidents.csv", INCIDENT_COLUMNS, incidents)
    manifest.append(
        ["incidents.csv", "incidents", "Stress incident log", "white-no-publish", data_issued, str(len(incidents))]
    )
    written["incidents"] = len(incidents)

    installs, added = installations(months)
    alert_total = scaled(BASE_ALERT_ROWS, scale)
    if alert_files == "one":
        plan = {out / "alerts.csv": months}
    else:
        (out / "alerts").mkdir(parents=True, exist_ok=True)
        plan = {}
        for month in months:
            plan.setdefault(out / "alerts" / f"alerts-{month[:4]}.csv", []).append(month)
    per_month = dict(zip(months, spread(alert_total, len(months))))
    written["alert_rows"] = write_alerts({str(p): ms for p, ms in plan.items()}, alert_total, installs)
    for path, file_months in plan.items():
        name = path.relative_to(out).as_posix()
        label = "Stress alert volumes" + ("" if alert_files == "one" else f" {file_months[0][:4]}")
        manifest.append(
            [name, "alerts", label, "white-no-publish", data_issued, str(sum(per_month[m] for m in file_months))]
        )

    ops = ops_rows(months, installs, added)
    write_csv(out / "ops.csv", OPS_COLUMNS, ops)
    manifest.append(["ops.csv", "ops", "Stress operational figures", "white", data_issued, str(len(ops))])
    written["ops_rows"] = len(ops)

    annotations = annotation_rows(months, series)
    write_csv(out / "annotations.csv", ANNOTATION_COLUMNS, annotations)
    manifest.append(
        ["annotations.csv", "annotations", "Stress annotations", "white", data_issued, str(len(annotations))]
    )
    written["annotations"] = len(annotations)

    write_csv(out / "manifest.csv", MANIFEST_COLUMNS, manifest)
    files_bytes = {kind: 0 for kind in KINDS}
    for entry in manifest:
        files_bytes[entry[1]] += (out / entry[0]).stat().st_size
    written["files"] = len(manifest)
    written["files_bytes"] = files_bytes
    written["first_month"], written["last_month"] = months[0], months[-1]
    return written


# ---------------------------------------------------------------------------- loading


def read_manifest(out_dir: Path | str) -> list[dict]:
    with open(Path(out_dir) / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _problems_text(result, limit: int = 100) -> str:
    lines = [str(problem) for problem in result.problems[:limit]]
    if len(result.problems) > limit:
        lines.append(f"... and {len(result.problems) - limit} more problems")
    return "\n".join(lines) or result.message


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _prepare_db_path(db_path: Path, replace: bool) -> None:
    if not db_path.exists():
        return
    if not replace:
        raise StressError(f"{db_path} exists; the stress build makes a new database (use --replace to overwrite it)")
    with open(db_path, "rb") as handle:
        if db_path.stat().st_size and handle.read(12)[8:12] != b"DUCK":
            raise StressError(f"{db_path} is not a DuckDB file; not replacing it")
    db_path.unlink()
    wal = db_path.with_name(db_path.name + ".wal")
    if wal.exists():
        wal.unlink()


def load(
    out_dir: Path | str, db_path: Path | str, *, progress: Callable[[str], None] | None = print, replace: bool = False
) -> dict:
    """Build a new database at db_path from the files in out_dir (manifest order) through the normal ingest."""
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.ingest.load import ingest_file
    from opsg_metrics.store import connect as db
    from opsg_metrics.store import parse

    say = progress or (lambda _text: None)
    out, path = Path(out_dir), Path(db_path)
    entries = read_manifest(out)
    _prepare_db_path(path, replace)
    seconds = {"reference": 0.0, "ingest": {kind: 0.0 for kind in KINDS}}
    files = {kind: 0 for kind in KINDS}
    per_file = []
    start = time.perf_counter()
    con = db.connect(path)
    try:
        bootstrap.load_reference_data(con)
        seconds["reference"] = time.perf_counter() - start
        say(f"reference data (providers, bundled catalogue): {seconds['reference']:.2f}s")
        for number, entry in enumerate(entries, start=1):
            kind, rows = entry["kind"], int(entry["rows"])
            began = time.perf_counter()
            result = ingest_file(
                con,
                out / entry["file"],
                kind=kind,
                source=entry["source"],
                classification=entry["classification"],
                issued=parse.parse_date(entry["issued"]),
                is_sample=True,
            )
            took = time.perf_counter() - began
            seconds["ingest"][kind] += took
            files[kind] += 1
            per_file.append(
                {
                    "file": entry["file"],
                    "kind": kind,
                    "rows": result.rows_read,
                    "seconds": took,
                    "outcome": result.outcome,
                    "new": result.new,
                    "revised": result.revised,
                }
            )
            say(
                f"[{number}/{len(entries)}] {entry['file']} ({kind}): {result.rows_read} rows, {took:.2f}s, "
                f"{result.outcome} ({result.new} new, {result.revised} revised)"
            )
            if result.outcome != "loaded":
                raise StressError(f"{entry['file']} was {result.outcome}, not loaded:\n{_problems_text(result)}")
            reissue = kind == "measures" and entry["source"].endswith("issue 2")
            # A reissue revises every row it has; any other file's rows are all new (the catalogue's
            # back-dated levels must not change a bundled measure's definition: revised 0).
            expected = {"new": 0, "revised": rows} if reissue else {"new": rows, "revised": 0}
            got = {"new": result.new, "revised": result.revised}
            if result.rows_read != rows or got != expected:
                raise StressError(
                    f"{entry['file']}: the generator wrote {rows} rows expecting {expected}, but ingest "
                    f"read {result.rows_read} and loaded {result.message!r}"
                )
        began = time.perf_counter()
        con.execute("CHECKPOINT")
        seconds["checkpoint"] = time.perf_counter() - began
        counts = database_counts(con)
    finally:
        con.close()
    seconds["ingest_total"] = sum(seconds["ingest"].values())
    seconds["load_total"] = time.perf_counter() - start
    counts["db_bytes"] = path.stat().st_size
    return {
        "counts": counts,
        "seconds": seconds,
        "files_by_kind": files,
        "per_file": per_file,
        "peak_rss_mb": peak_rss_mb(),
    }


def database_counts(con) -> dict:
    query = {
        "months": "SELECT count(DISTINCT month) FROM measure_values",
        "series": "SELECT count(*) FROM measures",
        "series_with_figures": "SELECT count(*) FROM (SELECT DISTINCT measure, provider FROM measure_values)",
        "service_levels": "SELECT count(*) FROM service_levels",
        "figures": "SELECT count(*) FROM measure_values",
        "current_figures": "SELECT count(*) FROM current_measure_values",
        "revised_figures": "SELECT count(*) FROM current_measure_values WHERE revision_count > 1",
        "null_figures": "SELECT count(*) FROM current_measure_values WHERE status = 'null'",
        "incidents": "SELECT count(*) FROM current_incidents",
        "alert_rows": "SELECT count(*) FROM current_alerts",
        "ops_rows": "SELECT count(*) FROM current_ops_figures",
        "annotations": "SELECT count(*) FROM current_annotations",
        "sources": "SELECT count(*) FROM sources",
    }
    return {name: con.execute(sql).fetchall()[0][0] for name, sql in query.items()}


def build(
    out_dir: Path | str,
    db_path: Path | str,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = print,
    *,
    replace: bool = False,
    alert_files: str = "one",
) -> dict:
    """Generate the stress files into out_dir and build a new database at db_path from them.

    Returns {'scale', 'out_dir', 'db_path', 'generated': {...rows written...},
    'counts': {...from the database...}, 'seconds': {'generate', 'reference', 'ingest': {kind: s},
    'ingest_total', 'checkpoint', 'load_total', 'total'}, 'files_by_kind', 'per_file', 'peak_rss_mb'}.
    Raises StressError if a file is not loaded as generated or the database does not hold what was written.
    """
    say = progress or (lambda _text: None)
    start = time.perf_counter()
    path = Path(db_path)
    if path.exists() and not replace:  # refuse before spending minutes on the files
        raise StressError(f"{path} exists; the stress build makes a new database (use --replace to overwrite it)")
    generated = generate(out_dir, scale, alert_files=alert_files)
    generate_seconds = time.perf_counter() - start
    generate_rss = peak_rss_mb()
    say(
        f"generated {generated['files']} files in {out_dir} in {generate_seconds:.1f}s "
        f"({sum(generated['files_bytes'].values()) / 1e6:.1f} MB)"
    )
    loaded = load(out_dir, db_path, progress=progress, replace=replace)
    counts = loaded["counts"]
    expected = {
        "months": generated["months"],
        "series": generated["series"],
        "figures": generated["figures"],
        "incidents": generated["incidents"],
        "alert_rows": generated["alert_rows"],
        "ops_rows": generated["ops_rows"],
        "annotations": generated["annotations"],
    }
    wrong = {name: (value, counts[name]) for name, value in expected.items() if counts[name] != value}
    if wrong:
        raise StressError(
            "the database does not hold what was generated (written, in the database): "
            + ", ".join(f"{name} {a} vs {b}" for name, (a, b) in wrong.items())
        )
    seconds = {"generate": generate_seconds, **loaded["seconds"], "total": time.perf_counter() - start}
    return {
        "scale": scale,
        "out_dir": str(out_dir),
        "db_path": str(db_path),
        "generated": generated,
        **loaded,
        "seconds": seconds,
        "peak_rss_mb_after_generate": generate_rss,
    }


def summary_text(report: dict) -> str:
    g, c, s = report["generated"], report["counts"], report["seconds"]
    mb = 1e6
    lines = [
        f"Stress build at scale {report['scale']:g}: {report['db_path']}",
        f"  months           {c['months']} ({g['first_month']} .. {g['last_month']})",
        f"  series           {c['series']} in the catalogue, {c['series_with_figures']} with figures; "
        f"{c['service_levels']} service levels",
        f"  figures          {c['figures']} rows ({c['current_figures']} current; {c['revised_figures']} revised in "
        f"{g['revised_months']} reissues; {c['null_figures']} null)",
        f"  incidents        {c['incidents']}",
        f"  alert rows       {c['alert_rows']}",
        f"  ops rows         {c['ops_rows']}",
        f"  annotations      {c['annotations']}",
        f"  sources          {c['sources']}",
        f"  files            {g['files']}, {sum(g['files_bytes'].values()) / mb:.1f} MB ("
        + ", ".join(f"{kind} {size / mb:.1f} MB" for kind, size in g["files_bytes"].items())
        + ")",
        f"  database         {c['db_bytes'] / mb:.1f} MB",
        f"  seconds          generate {s['generate']:.1f}, reference {s['reference']:.1f}, ingest "
        + ", ".join(
            f"{kind} {value:.1f} ({report['files_by_kind'][kind]} files)" for kind, value in s["ingest"].items()
        )
        + f", checkpoint {s['checkpoint']:.1f}",
        f"  total            {s['total']:.1f}s; peak RSS {report['peak_rss_mb']:.0f} MB "
        f"({report['peak_rss_mb_after_generate']:.0f} MB after generating the files)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stress",
        description="Write a large valid stress data set (CSV) and build a database from it through the normal "
        "ingest, printing each file's rows and seconds and a summary.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the CSV files")
    parser.add_argument("--db", required=True, type=Path, metavar="PATH", help="the database file to build")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="S",
        help=f"months, incidents and alert rows as a share of 300 months, 50,000 incidents and "
        f"1,000,000 alert rows (default 1.0; at most {MAX_SCALE:g})",
    )
    parser.add_argument("--replace", action="store_true", help="overwrite the database file if it exists")
    parser.add_argument(
        "--alert-files", choices=("one", "yearly"), default="one", help="one alerts.csv (default) or one file per year"
    )
    parser.add_argument("--generate-only", action="store_true", help="write the files only; build no database")
    args = parser.parse_args(argv)
    try:
        if args.generate_only:
            generated = generate(args.out, args.scale, alert_files=args.alert_files)
            print(
                f"wrote {generated['files']} files to {args.out} "
                f"({sum(generated['files_bytes'].values()) / 1e6:.1f} MB)"
            )
            return 0
        report = build(
            args.out,
            args.db,
            args.scale,
            progress=lambda text: print(text, flush=True),
            replace=args.replace,
            alert_files=args.alert_files,
        )
    except StressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
