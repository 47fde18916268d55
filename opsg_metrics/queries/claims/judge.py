"""Each claim judged against the record: agrees (the record's figure, its source and issue), disagrees
(what the record has instead, in OPSG's words) or cannot check (saying why). A claim is never judged on a
figure the record does not hold: no figure, a null, no level in force, a comparison not read: cannot check.

Status, runs and windows are the status rules' (rules/status.py), read through the same status table as
every page; counts and directions are the operational figures, incidents and alerts of queries/context.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.claims.grammar import Claim
from opsg_metrics.rules.status import DEFAULT_WINDOW, latest_month, status_table
from opsg_metrics.store.catalogue import PROVIDER_PARTS
from opsg_metrics.store.errors import OpsgError

AGREES, DISAGREES, CANNOT = "agrees", "disagrees", "cannot check"
STABLE_WITHIN = 0.10  # "stable": within 10% of the month before
COMPARE = {
    "=": lambda r, c, t: abs(r - c) <= t + 1e-9,
    "~": lambda r, c, t: abs(r - c) <= t + 1e-9,
    "<=": lambda r, c, t: r <= c + t,
    "<": lambda r, c, t: r < c,
    ">=": lambda r, c, t: r >= c - t,
    ">": lambda r, c, t: r > c,
}


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str
    recorded: object  # the record's figure (None when it cannot be checked)
    said: str  # in OPSG's words: what the record has, or why it cannot be checked
    source: str | None = None


def _source(row: pd.Series) -> str | None:
    if not isinstance(row.get("source"), str):
        return None
    issued = row.get("source_issued_on")
    return row["source"] + (f" (issued {words.day_label(pd.Timestamp(issued).date())})" if pd.notna(issued) else "")


class Judge:
    """Judges claims against one database (the status table read once per month and window)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.latest = latest_month(con)
        self._tables: dict[tuple[date, int], pd.DataFrame] = {}
        self.feeds = {
            (m, p): frozenset(f.strip() for f in text.replace("|", ",").split(",") if f.strip())
            for m, p, text in con.execute("SELECT measure, provider, feeds FROM measures").fetchall()
        }

    def row(self, claim: Claim, window: int = DEFAULT_WINDOW) -> pd.Series | None:
        key = (claim.month, window)
        if key not in self._tables:
            until = max(claim.month, self.latest) if self.latest else claim.month
            table = status_table(self.con, window=window, until=until, month=claim.month)
            self._tables[key] = table.set_index(["measure", "provider"], drop=False)
        table = self._tables[key]
        return table.loc[(claim.measure, claim.provider)] if (claim.measure, claim.provider) in table.index else None

    def judge(self, claim: Claim) -> Verdict:
        """The claim's verdict; never an error: what cannot be read or looked up is "cannot check"."""
        if claim.detail.get("unread"):
            return Verdict(claim, CANNOT, None, claim.detail["unread"])
        try:
            return self._judge(claim)
        except OpsgError as exc:  # a window or month the record cannot count over
            return Verdict(claim, CANNOT, None, str(exc))

    def _judge(self, claim: Claim) -> Verdict:
        if self.latest is None:
            return Verdict(claim, CANNOT, None, "no figures are loaded")
        if claim.quantity == "count":
            return self._count(claim)
        if claim.quantity == "direction":
            return self._direction(claim)
        if claim.provider is None:
            return Verdict(claim, CANNOT, None, f"which provider's {claim.measure} it speaks of is not clear")
        row = self.row(claim, claim.window or DEFAULT_WINDOW)
        who = words.who(claim.measure, claim.provider) if claim.measure and claim.provider else "it"
        when = words.month_label(claim.month)
        if row is None:
            return Verdict(claim, CANNOT, None, f"{claim.measure} is not reported for {claim.provider}")
        if row["figure_status"] == "absent":
            return Verdict(claim, CANNOT, None, f"no figure for {who} in {when} is loaded")
        source = _source(row)
        if claim.quantity in ("target", "minimum"):
            level = row[claim.quantity]
            if pd.isna(level):
                return Verdict(claim, CANNOT, None, f"no {claim.quantity} level is in force for {who} in {when}")
            agrees = abs(float(level) - float(claim.claimed)) < 1e-9
            return Verdict(
                claim,
                AGREES if agrees else DISAGREES,
                float(level),
                f"the {claim.quantity} in force is {words.level_text(level, row['unit'])}",
                row["level_source"] or None,
            )
        if row["figure_status"] == "null":
            return Verdict(claim, CANNOT, None, f"{who} was not reported in {when}", source)
        if claim.quantity == "value":
            value = float(row["value"])
            agrees = COMPARE[claim.comparison](value, float(claim.claimed), claim.tolerance or 0.0)
            flags = (
                " (flagged as unreliable)"
                if row["unreliable"]
                else " (inferred, not reported)"
                if row["inferred"]
                else ""
            )
            return Verdict(
                claim,
                AGREES if agrees else DISAGREES,
                value,
                f"the record has {words.value_text(value, row['unit'])}{flags} for {who} in {when}",
                source,
            )
        if claim.quantity == "status":
            status = row["status"]
            if status == "no_data":
                return Verdict(claim, CANNOT, None, f"{who} has no status in {when}", source)
            agrees = status == claim.claimed or (claim.claimed == "below_target" and status == "below_minimum")
            return Verdict(
                claim,
                AGREES if agrees else DISAGREES,
                status,
                f"the record has {who} {words.STATUS_LABELS[status].lower()} in {when}",
                source,
            )
        if claim.quantity == "cause":
            return self._cause(claim, row)
        return self._run(claim, row, who, when, source)

    def _run(self, claim: Claim, row: pd.Series, who: str, when: str, source: str | None) -> Verdict:
        run, start = int(row["run_below_target"]), row["run_start"]
        start_month = pd.Timestamp(start).date() if pd.notna(start) else None
        in_record = words.run_phrase(run, start_month, int(row["run_gap_months"]), int(row["run_below_minimum"]))
        if claim.quantity == "run":
            recorded, agrees = run, run == claim.claimed
        elif claim.quantity == "run_minimum":
            recorded = int(row["run_below_minimum"])
            agrees = recorded == claim.claimed
            in_record = f"{words.months(recorded)} in succession below minimum" if recorded else "not below minimum"
        elif claim.quantity == "run_start":
            recorded, agrees = start_month, start_month == claim.claimed
        elif claim.quantity == "run_minimum_start":
            minimum_start = row["run_below_minimum_start"]
            recorded = pd.Timestamp(minimum_start).date() if pd.notna(minimum_start) else None
            agrees = recorded == claim.claimed
            in_record = f"below minimum since {words.month_label(recorded)}" if recorded else "not below minimum"
        elif claim.quantity == "previous_miss":
            previous = row["previous_miss_month"]
            recorded = pd.Timestamp(previous).date() if pd.notna(previous) else None
            agrees = run == 1 and recorded == claim.claimed
            if run == 1:
                in_record = (
                    f"the last month below target before it was {words.month_label(recorded)}"
                    if recorded
                    else "no earlier month below target"
                )
        else:  # window
            recorded, reported = int(row["misses_in_window"]), int(row["window_months"])
            agrees = recorded == claim.claimed
            in_record = f"{words.window_phrase(recorded, reported, int(claim.window))} months below target"
            if not agrees and recorded < int(claim.claimed) <= recorded + int(claim.window) - reported:
                # the months without figures could hold the misses the claim counts
                said = f"only {reported} of the {claim.window} months have figures"
                return Verdict(claim, CANNOT, recorded, said, source)
        return Verdict(
            claim, AGREES if agrees else DISAGREES, recorded, f"the record has {in_record} for {who} ({when})", source
        )

    def _cause(self, claim: Claim, cpm: pd.Series) -> Verdict:
        feeder, region = claim.claimed, claim.detail.get("feeder_provider")
        if claim.measure not in self.feeds.get((feeder, region), frozenset()):
            return Verdict(
                claim,
                CANNOT,
                None,
                f"the catalogue does not record {words.who(feeder, region)} feeding {claim.measure}",
            )
        if claim.provider not in ("DCC", region) and region not in PROVIDER_PARTS.get(claim.provider, ()):
            return Verdict(
                claim,
                CANNOT,
                None,
                f"{words.who(feeder, region)} does not feed {words.who(claim.measure, claim.provider)}",
            )
        fed = self.row(Claim(claim.sentence, claim.span, "status", None, claim.month, feeder, region))
        if fed is None or fed["status"] == "no_data" or cpm["status"] == "no_data":
            return Verdict(
                claim,
                CANNOT,
                None,
                f"no figure for {words.who(feeder, region)} or {claim.measure} in {words.month_label(claim.month)}",
            )
        missed = ("below_target", "below_minimum")
        if cpm["status"] not in missed and fed["status"] in missed:
            # the CPM met its target: "impacted by" may mean less than held below it
            return Verdict(claim, CANNOT, None, f"{words.who(claim.measure, claim.provider)} met its target")
        agrees = cpm["status"] in missed and fed["status"] in missed
        said = (
            f"the record has {words.who(claim.measure, claim.provider)} {words.STATUS_LABELS[cpm['status']].lower()} and "
            f"{words.who(feeder, region)} {words.STATUS_LABELS[fed['status']].lower()} "
            f"({words.value_text(fed['value'], fed['unit'])}) in {words.month_label(claim.month)}"
        )
        return Verdict(claim, AGREES if agrees else DISAGREES, fed["status"], said, _source(fed))

    # ---------------------------------------------------------------- counts and directions

    def series_value(self, metric: str, month: date, detail: dict | None = None) -> tuple[float | None, str | None]:
        """A counted figure of a month: an operational figure, incidents or alerts (None if none is loaded)."""
        con = self.con
        if metric == "major incidents" or metric == "incidents opened":
            where = " AND major" if metric == "major incidents" else ""
            params = [month, month]
            if detail and detail.get("category"):
                where += " AND category = ?"
                params.append(detail["category"])
            if not con.execute("SELECT count(*) FROM current_incidents").fetchone()[0]:
                return None, None
            n = con.execute(
                f"SELECT count(*) FROM current_incidents WHERE opened >= ? AND opened < ?::DATE + INTERVAL 1 MONTH{where}",
                params,
            ).fetchone()[0]
            return float(n), "the incident log"
        if metric == "alerts in month":
            n, label = con.execute(
                "SELECT sum(volume), any_value(s.label) FROM current_alerts JOIN sources AS s USING (source_id) WHERE month = ?",
                [month],
            ).fetchone()
            return (None if n is None else float(n)), label
        if metric == "installations in month":
            rows = con.execute(
                "SELECT month, sum(value) FROM current_ops_figures WHERE metric = 'installations' AND provider IN ('CSP N', 'CSP C', 'CSP S') AND month IN (?, ?) GROUP BY month",
                [month, words.previous_month(month)],
            ).fetchall()
            if len(rows) < 2:
                return None, None
            by = {pd.Timestamp(m).date(): v for m, v in rows}
            return float(by[month] - by[words.previous_month(month)]), "operational figures (installations, cumulative)"
        provider = "RDP" if metric.startswith("RDP") else "DCC"
        found = con.execute(
            "SELECT o.value, s.label FROM current_ops_figures AS o JOIN sources AS s USING (source_id) WHERE o.metric = ? AND o.provider = ? AND o.month = ?",
            [metric, provider, month],
        ).fetchone()
        return (None, None) if found is None else (float(found[0]), found[1])

    def _count(self, claim: Claim) -> Verdict:
        value, source = self.series_value(claim.measure, claim.month, claim.detail)
        what = claim.measure + (f" (Category {claim.detail['category']})" if claim.detail.get("category") else "")
        when = words.month_label(claim.month)
        if value is None:
            return Verdict(claim, CANNOT, None, f"no figure for {what} in {when} is loaded")
        agrees = abs(value - float(claim.claimed)) <= (claim.tolerance or 0) + 1e-9
        shown = f"{value:.1f}%" if claim.measure == "change success rate" else words.count(value)
        return Verdict(
            claim, AGREES if agrees else DISAGREES, value, f"the record has {shown} {what} in {when}", source
        )

    def _direction(self, claim: Claim) -> Verdict:
        month, metric = claim.month, claim.measure
        if claim.detail.get("unread"):
            return Verdict(claim, CANNOT, None, claim.detail["unread"])
        against = claim.detail.get("against") or words.previous_month(month)
        now, source = self.series_value(metric, month)
        before, _ = self.series_value(metric, against)
        when = words.month_label(month)
        if now is None or before is None:
            return Verdict(claim, CANNOT, None, f"no figures for {metric} in {when} and the month before")
        if claim.claimed == "spike":
            earlier = [self.series_value(metric, words.months_back(month, k))[0] for k in (1, 2, 3)]
            later = [self.series_value(metric, words.months_back(month, -k))[0] for k in (1, 2)]
            if None in earlier or None in later:
                return Verdict(claim, CANNOT, None, f"no figures for {metric} around {when}")
            agrees = all(now > e for e in earlier) and all(x < now for x in later)
            said = f"the record has {words.count(now)} {metric} in {when}, against {', '.join(words.count(e) for e in earlier)} in the three months before and {', '.join(words.count(x) for x in later)} after"
            return Verdict(claim, AGREES if agrees else DISAGREES, now, said, source)
        change = (now - before) / before if before else None
        if claim.claimed == "stable":
            agrees = change is not None and abs(change) <= STABLE_WITHIN
        elif claim.claimed == "higher":
            agrees = now > before
        else:
            agrees = now < before
        then = "the month before" if against == words.previous_month(month) else f"in {words.month_label(against)}"
        said = f"the record has {words.count(now)} {metric} in {when} against {words.count(before)} {then}"
        return Verdict(claim, AGREES if agrees else DISAGREES, now, said, source)
