"""Statistical process control (XmR charts, NHS England "Making Data Count"), adapted to two service levels.

No plotting here: `analyse` turns a series into limits, special-cause flags and assurance; `charts.spc_chart`
draws them. The method follows the NHS-R community's NHSRplotthedots package (checked against its own
test data in tests/test_spc_oracle.py); where this module differs, docs/spc.md says how and why.

For one series (a measure for one provider, month by month), in each segment between rebase dates:

- mean of the values; moving ranges |x(i) - x(i-1)| inside the segment (the segment's first point has
  none); average moving range (AMR), recomputed once without the moving ranges of 3.267 x AMR or more
  (outlier screening, as the reference does by default);
- process limits mean +/- 2.66 x AMR; the "2-sigma" lines mean +/- (2/3) x 2.66 x AMR;
- special causes, each point taking the first that applies: outside the limits; part of a trend of 7
  points each strictly higher (or lower) than the last; 2 of 3 consecutive points between the 2-sigma line
  and the limit, all three on one side of the mean (only those 2 flagged); part of a run of 7 on one side
  of the mean (a point on the mean breaks it). A flag is an improvement or a concern by the measure's
  direction (neutral high/low for a measure with none);
- assurance, separately against the target and the minimum, from the last segment's limits: "pass"
  (consistently met) when the level lies beyond the limit on the bad side, "fail" (consistently missed)
  beyond the limit on the good side, "hit_and_miss" between them (see `assurance`).

Null and inferred months are skipped (not zero, not reported): the series is the reported figures in
month order. A segment with fewer than `min_points` figures gets no limits, and the reason says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

LIMIT = 2.66  # 3 / 1.128 (d2 for moving ranges of 2)
NEAR = 2 * LIMIT / 3  # the 2-sigma lines
SCREEN = 3.267  # moving ranges at or above SCREEN x AMR are left out of the AMR
RUN = 7  # points on one side of the mean
TREND = 7  # points each strictly above (below) the last
MIN_POINTS = 12  # fewer figures in a segment: no limits
DEFAULT_MONTHS = 36  # the SPC reading on the overview and in the summary: 36 months to the month

DIRECTIONS = {"higher": 1, "increase": 1, "lower": -1, "decrease": -1, "neutral": 0}

# Point types (as in NHSRplotthedots, without the special_cause_ prefix)
COMMON, IMPROVEMENT, CONCERN, NEUTRAL_HIGH, NEUTRAL_LOW = (
    "common_cause",
    "improvement",
    "concern",
    "neutral_high",
    "neutral_low",
)
# Assurance against one level
PASS, FAIL, HIT_AND_MISS = "pass", "fail", "hit_and_miss"

RULE_TEXT = {
    "outside": "outside the process limits",
    "trend": f"part of a trend of {TREND} points rising or falling",
    "two_in_three": "2 of 3 points beyond 2 sigma on one side",
    "shift": f"part of a run of {RUN} points on one side of the mean",
}
VARIATION_TEXT = {
    COMMON: "common cause",
    IMPROVEMENT: "special cause: improvement",
    CONCERN: "special cause: concern",
    NEUTRAL_HIGH: "special cause: high",
    NEUTRAL_LOW: "special cause: low",
}
ASSURANCE_TEXT = {PASS: "consistently met", FAIL: "consistently missed", HIT_AND_MISS: "hit and miss"}


@dataclass(frozen=True)
class Segment:
    """One stretch of the series between rebase dates, with its own limits (or the reason it has none)."""

    start: int  # index of its first point in SpcResult.points
    stop: int  # one past its last point
    first_month: date | None
    last_month: date | None
    n: int  # figures in it
    baseline_n: int  # figures the limits are computed from (n unless a baseline is set)
    mean: float | None
    amr: float | None
    lpl: float | None
    upl: float | None
    lower_near: float | None
    upper_near: float | None
    reason: str | None = None  # why there are no limits

    @property
    def has_limits(self) -> bool:
        return self.mean is not None and self.lpl is not None


@dataclass
class SpcResult:
    points: pd.DataFrame  # one row per figure used (see analyse)
    segments: list[Segment]
    direction: int
    target: float | None
    minimum: float | None
    skipped: list[date] = field(default_factory=list)  # null or inferred months left out
    assurance_target: str | None = None
    assurance_minimum: str | None = None

    @property
    def last_segment(self) -> Segment | None:
        return self.segments[-1] if self.segments else None

    @property
    def has_limits(self) -> bool:
        return bool(self.segments) and self.segments[-1].has_limits

    @property
    def variation(self) -> str | None:
        """The latest point's type (the variation icon), or None when its segment has no limits."""
        if self.points.empty or not self.has_limits:
            return None
        return self.points["point_type"].iloc[-1]

    @property
    def reason(self) -> str | None:
        """Why there is no SPC reading (no figures, or too few since the last rebase)."""
        if self.points.empty:
            return "no reported figures"
        return self.segments[-1].reason

    @property
    def special_causes(self) -> int:
        """Special-cause points in the last segment."""
        seg = self.last_segment
        if seg is None or not seg.has_limits:
            return 0
        return int((self.points["point_type"].iloc[seg.start : seg.stop] != COMMON).sum())


# ------------------------------------------------------------------------------------------ the rules


def run_on_one_side(side: np.ndarray, length: int = RUN) -> np.ndarray:
    """Points that are part of `length` or more consecutive points with the same non-zero side."""
    flags = np.zeros(len(side), dtype=bool)
    for end in range(length - 1, len(side)):
        window = side[end - length + 1 : end + 1]
        if window[0] != 0 and np.all(window == window[0]):
            flags[end - length + 1 : end + 1] = True
    return flags


def trend(values: np.ndarray, length: int = TREND) -> np.ndarray:
    """+1 / -1 for points in a rising / falling trend of `length` points (each strictly beyond the last), else 0.

    A point in a trend takes the direction of its step to the next point when that point is in a trend
    too, else of its step from the previous one (as the reference does: the top of a rising trend that a
    falling trend starts from counts as falling)."""
    n = len(values)
    part = np.zeros(n, dtype=bool)
    steps = np.sign(np.diff(values)) if n > 1 else np.zeros(0)
    for end in range(length - 1, n):
        window = steps[end - length + 1 : end]
        if np.all(window > 0) or np.all(window < 0):
            part[end - length + 1 : end + 1] = True
    direction = np.zeros(n, dtype=int)
    for i in np.flatnonzero(part):
        if i + 1 < n and part[i + 1]:
            direction[i] = int(steps[i])
        else:
            direction[i] = int(steps[i - 1])
    return direction


def two_in_three(near: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Points near a limit (between the 2-sigma line and the limit) that are 2 of 3 consecutive such
    points with all three on one side of the mean. Only the near points are flagged."""
    n = len(near)
    flags = np.zeros(n, dtype=bool)
    for start in range(0, n - 2):
        window = slice(start, start + 3)
        if near[window].sum() >= 2 and abs(int(side[window].sum())) == 3:
            flags[window] |= near[window]
    return flags


def _limits(values: np.ndarray, screen: bool) -> tuple[float, float]:
    """Mean and average moving range (screened once for outlying moving ranges)."""
    mean = float(np.mean(values))
    ranges = np.abs(np.diff(values))
    if len(ranges) == 0:
        return mean, math.nan
    amr = float(np.mean(ranges))
    if screen:
        kept = ranges[ranges < SCREEN * amr]
        amr = float(np.mean(kept)) if len(kept) else amr
    return mean, amr


def _segment_points(values: np.ndarray, direction: int, mean: float, amr: float) -> dict:
    lpl, upl = mean - LIMIT * amr, mean + LIMIT * amr
    lower_near, upper_near = mean - NEAR * amr, mean + NEAR * amr
    side = np.sign(values - mean).astype(int)
    outside = (values > upl) | (values < lpl)
    near = ~outside & ((values < lower_near) | (values > upper_near))
    rising_falling = trend(values)
    in_two_of_three = two_in_three(near, side)
    in_run = run_on_one_side(side)
    rules, signs = [], []
    for i in range(len(values)):
        if outside[i]:
            rule, sign = "outside", (1 if side[i] == 1 else -1)
        elif rising_falling[i] != 0:
            rule, sign = "trend", int(rising_falling[i])
        elif in_two_of_three[i]:
            rule, sign = "two_in_three", int(side[i])
        elif in_run[i]:
            rule, sign = "shift", int(side[i])
        else:
            rule, sign = None, 0
        rules.append(rule)
        signs.append(sign)
    types = [_point_type(sign, direction) for sign in signs]
    return {
        "rule": rules,
        "point_type": types,
        "signal": signs,
        "side": side,
        "outside": outside,
        "near": near,
        "lpl": lpl,
        "upl": upl,
        "lower_near": lower_near,
        "upper_near": upper_near,
    }


def _point_type(sign: int, direction: int) -> str:
    if sign == 0:
        return COMMON
    if direction == 0:
        return NEUTRAL_HIGH if sign > 0 else NEUTRAL_LOW
    return IMPROVEMENT if sign * direction > 0 else CONCERN


def assurance(level: float | None, segment: Segment | None, direction: int) -> str | None:
    """Whether a process can meet a level (target or minimum), from its limits.

    pass: the level lies beyond the limit on the bad side (below the lower limit when higher is
    better), so every figure the process gives meets it; fail: beyond the limit on the good side, so
    none will; hit_and_miss: between the limits (or on one), so the process meets and misses it by
    chance. None without a level, limits or a direction."""
    if level is None or (isinstance(level, float) and math.isnan(level)) or direction == 0:
        return None
    if segment is None or not segment.has_limits:
        return None
    if level > segment.upl:
        return FAIL if direction > 0 else PASS
    if level < segment.lpl:
        return PASS if direction > 0 else FAIL
    return HIT_AND_MISS


# ---------------------------------------------------------------------------------------- the analysis


def _month(value) -> date | None:
    if value is None:
        return None
    return pd.Timestamp(value).date()


def analyse(
    values: Sequence[float | None],
    months: Sequence | None = None,
    *,
    direction: str | int = "higher",
    target: float | None = None,
    minimum: float | None = None,
    rebase: tuple | list = (),
    baseline: int | None = None,
    min_points: int = MIN_POINTS,
    screen_outliers: bool = True,
) -> SpcResult:
    """XmR analysis of one series.

    values: the figures in month order; None or NaN (a null or inferred month) is skipped.
    months: the month of each value (default: positions 0, 1, 2, ...).
    rebase: months (or positions, without months) from which limits are recomputed: a segment starts
        at the first figure on or after each (one before the first figure or after the last is ignored).
    baseline: limits from the first `baseline` figures of each segment only, then held (None: all).
    min_points: a segment with fewer figures gets no limits (and no flags); its reason says so.
    """
    sign = DIRECTIONS[direction] if isinstance(direction, str) else int(direction)
    raw = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
    keys = list(range(len(raw))) if months is None else [_month(m) for m in months]
    if len(keys) != len(raw):
        raise ValueError("values and months differ in length")
    if len(set(keys)) != len(keys):
        raise ValueError("a month appears twice in the series")
    skipped = [k for k, v in zip(keys, raw) if v is None and months is not None]
    kept = [(k, v) for k, v in zip(keys, raw) if v is not None]
    order = sorted(range(len(kept)), key=lambda i: kept[i][0])
    kept = [kept[i] for i in order]
    series_keys = [k for k, _ in kept]
    y = np.array([v for _, v in kept], dtype=float)

    starts = {0} if len(y) else set()
    for when in rebase:
        when = _month(when) if months is not None else int(when)
        first = next((i for i, k in enumerate(series_keys) if k >= when), None)
        if first is not None and first > 0 and series_keys[0] < when:
            starts.add(first)
    bounds = sorted(starts) + [len(y)]

    columns = {
        name: []
        for name in (
            "segment",
            "mean",
            "lpl",
            "upl",
            "lower_near",
            "upper_near",
            "moving_range",
            "rule",
            "point_type",
            "signal",
            "side",
            "outside",
            "near",
        )
    }
    segments = []
    for number, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        part = y[start:stop]
        used = part if baseline is None else part[:baseline]
        mr = np.concatenate([[np.nan], np.abs(np.diff(part))])
        first_month, last_month = series_keys[start], series_keys[stop - 1]
        reason = None
        if len(part) < min_points:
            since = f" since the rebase in {_label(first_month)}" if number > 0 else ""
            reason = (
                f"only {len(part)} figure{'s' if len(part) != 1 else ''}{since}; "
                f"process limits need at least {min_points}"
            )
        elif baseline is not None and baseline < min_points:
            reason = f"a baseline needs at least {min_points} figures (it was set to {baseline})"
        if reason is None:
            mean, amr = _limits(used, screen_outliers)
            if amr == 0 and screen_outliers:
                # Screening can leave nothing but zero moving ranges (100% month after month, one dip):
                # limits on the mean would call every month a special cause. Use the unscreened AMR.
                mean, amr = _limits(used, False)
            if amr == 0:
                reason = "the figures do not vary (every moving range is 0), so there are no process limits"
        if reason is None:
            detail = _segment_points(part, sign, mean, amr)
            segment = Segment(
                start,
                stop,
                first_month,
                last_month,
                len(part),
                len(used),
                mean,
                amr,
                detail["lpl"],
                detail["upl"],
                detail["lower_near"],
                detail["upper_near"],
            )
            for name in ("rule", "point_type", "signal", "side", "outside", "near"):
                columns[name].extend(list(detail[name]))
            for name in ("mean", "lpl", "upl", "lower_near", "upper_near"):
                columns[name].extend([getattr(segment, name)] * len(part))
        else:
            segment = Segment(
                start, stop, first_month, last_month, len(part), len(used), None, None, None, None, None, None, reason
            )
            columns["rule"].extend([None] * len(part))
            columns["point_type"].extend([None] * len(part))
            columns["side"].extend([0] * len(part))
            columns["signal"].extend([0] * len(part))
            columns["outside"].extend([False] * len(part))
            columns["near"].extend([False] * len(part))
            for name in ("mean", "lpl", "upl", "lower_near", "upper_near"):
                columns[name].extend([math.nan] * len(part))
        columns["segment"].extend([number] * len(part))
        columns["moving_range"].extend(list(mr))
        segments.append(segment)

    points = pd.DataFrame({"month": series_keys, "value": y, **columns})
    last = segments[-1] if segments else None
    return SpcResult(
        points, segments, sign, target, minimum, skipped, assurance(target, last, sign), assurance(minimum, last, sign)
    )


def _label(month) -> str:
    if isinstance(month, date):
        return month.strftime("%B %Y")
    return f"point {int(month) + 1}"


# ------------------------------------------------------------------------------------- reading it out


def _format(value: float, unit: str) -> str:
    return f"{value:.2f}%" if unit == "percent" else f"{value:,.2f}"


def level_clause(result: SpcResult, which: str, unit: str = "percent") -> str | None:
    """'cannot consistently meet its target: the target (99.00%) lies above the upper process limit (97.10%)'."""
    level = result.target if which == "target" else result.minimum
    verdict = result.assurance_target if which == "target" else result.assurance_minimum
    seg = result.last_segment
    if verdict is None or seg is None:
        return None
    shown = _format(level, unit)
    if verdict == HIT_AND_MISS:
        return (
            f"will meet and miss its {which} by chance: the {which} ({shown}) lies within the process "
            f"limits ({_format(seg.lpl, unit)} to {_format(seg.upl, unit)})"
        )
    above = level > seg.upl
    limit = f"{'upper' if above else 'lower'} process limit ({_format(seg.upl if above else seg.lpl, unit)})"
    where = f"the {which} ({shown}) lies {'above' if above else 'below'} the {limit}"
    if verdict == FAIL:
        return f"cannot consistently meet its {which}: {where}"
    return f"consistently meets its {which}: {where}"


def reading(result: SpcResult, unit: str = "percent") -> str:
    """One sentence: is the process stable, and can it meet its target (and minimum)?"""
    if not result.has_limits:
        return f"No SPC reading: {result.reason}."
    latest = result.points.iloc[-1]
    special = result.special_causes
    if result.variation == COMMON:
        state = (
            "The process is stable"
            if special == 0
            else (
                f"The latest figure shows common-cause variation ({special} special-cause "
                f"point{'s' if special != 1 else ''} earlier in the period)"
            )
        )
    else:
        state = (
            f"The latest figure ({_label(latest['month'])}) is a special cause of "
            f"{'improvement' if result.variation == IMPROVEMENT else 'concern' if result.variation == CONCERN else 'note'}"
            f" ({RULE_TEXT[latest['rule']]})"
        )
    clauses = [c for c in (level_clause(result, "target", unit), level_clause(result, "minimum", unit)) if c]
    if not clauses:
        return state + "."
    if state == "The process is stable":
        joiner = " and " if result.assurance_target in (PASS, None) else " but "
        return state + joiner + "; it ".join(clauses) + "."
    return state + "; the process " + "; it ".join(clauses) + "."


def badges(result: SpcResult) -> dict[str, str]:
    """Short text badges (letters as in the Making Data Count icons) and their meanings."""
    variation = result.variation
    if variation is None:
        return {
            "variation": "–",
            "variation_title": f"No SPC reading: {result.reason}",
            "target": "",
            "minimum": "",
            "target_title": "",
            "minimum_title": "",
        }
    signal = result.points["signal"].iloc[-1]
    letter = "~" if variation == COMMON else ("H" if signal > 0 else "L")
    rule = result.points["rule"].iloc[-1]
    out = {
        "variation": letter,
        "variation_title": VARIATION_TEXT[variation] + (f" ({RULE_TEXT[rule]})" if isinstance(rule, str) else ""),
    }
    for which, verdict in (("target", result.assurance_target), ("minimum", result.assurance_minimum)):
        out[which] = {PASS: "P", FAIL: "F", HIT_AND_MISS: "?", None: ""}[verdict]
        out[f"{which}_title"] = f"{which.capitalize()}: {ASSURANCE_TEXT[verdict]}" if verdict else ""
    return out


def badge_text(badge: dict) -> str:
    """'SPC ~ T:F M:P' from a badges() dict ('' without a variation letter)."""
    if not badge.get("variation"):
        return ""
    parts = [f"SPC {badge['variation']}"]
    parts += [f"{short}:{badge[which]}" for short, which in (("T", "target"), ("M", "minimum")) if badge.get(which)]
    return " ".join(parts)
