"""SPC against the reference method: the NHS-R community's NHSRplotthedots package (and its Python port).

tests/data/spc_oracle.json holds the reference's own worked numbers: series decoded from its
integration-test snapshots (exact R doubles), printed snapshot values, vignette figures and unit-test
vectors, each case naming its source. Values a case marks `expected_derived` were worked out from the
reference's formulas on its inputs (no reference test states them); they are checked in a separate test
so that a failure says which kind of evidence disagrees. The oracle is run with min_points=2 (the
reference draws limits for any series; OPSG Metrics draws none below 12, see docs/spc.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from opsg_metrics.rules import spc

CASES = json.loads((Path(__file__).parent / "data" / "spc_oracle.json").read_text(encoding="utf-8"))
SERIES = [c for c in CASES if c["kind"] == "series"]
RULES = [c for c in CASES if c["kind"] == "rule"]

POINT_TYPES = {
    "common_cause": spc.COMMON,
    "special_cause_improvement": spc.IMPROVEMENT,
    "special_cause_concern": spc.CONCERN,
    "special_cause_neutral_high": spc.NEUTRAL_HIGH,
    "special_cause_neutral_low": spc.NEUTRAL_LOW,
}
ASSURANCE = {"consistent_pass": spc.PASS, "consistent_fail": spc.FAIL, "inconsistent": spc.HIT_AND_MISS}
LIMIT_FIELDS = {"mean": "mean", "lpl": "lpl", "upl": "upl", "lower_2sigma": "lower_near", "upper_2sigma": "upper_near"}


def run(case: dict) -> spc.SpcResult:
    return spc.analyse(
        case["values"],
        direction=case.get("improvement_direction", "increase"),
        target=case.get("target"),
        rebase=case.get("rebase_at_index") or (),
        baseline=case.get("fix_after_n_points"),
        screen_outliers=case.get("screen_outliers", True),
        min_points=2,
    )


def tolerance(case: dict, name: str) -> dict:
    given = (case.get("tolerance") or {}).get(name) or {"rel": 1e-12}
    return {"rel": given.get("rel", 0), "abs": given.get("abs", 0)} if isinstance(given, dict) else {"rel": given}


def check(case: dict, result: spc.SpcResult, expected: dict) -> int:
    """Compare every field the case gives; return how many were compared."""
    points = result.points
    compared = 0
    for name, column in LIMIT_FIELDS.items():
        if name not in expected:
            continue
        want = expected[name]
        got = list(points[column]) if isinstance(want, list) else points[column].iloc[0]
        assert got == pytest.approx(want, **tolerance(case, name)), f"{case['name']}: {name}"
        compared += 1
    if "point_type" in expected:
        assert list(points["point_type"]) == [POINT_TYPES[t] for t in expected["point_type"]], case["name"]
        compared += 1
    if "point_type_last_2" in expected:
        assert list(points["point_type"])[-2:] == [POINT_TYPES[t] for t in expected["point_type_last_2"]]
        compared += 1
    if "outside_limits" in expected:
        assert list(points["outside"]) == expected["outside_limits"], case["name"]
        compared += 1
    if "close_to_limits" in expected:
        assert list(points["near"]) == expected["close_to_limits"], case["name"]
        compared += 1
    if "relative_to_mean" in expected:
        assert list(points["side"]) == expected["relative_to_mean"], case["name"]
        compared += 1
    if "relative_to_mean_prefix" in expected:
        prefix = expected["relative_to_mean_prefix"]
        assert list(points["side"])[: len(prefix)] == prefix, case["name"]
        compared += 1
    if "special_cause_flag" in expected:
        assert list(points["point_type"] != spc.COMMON) == expected["special_cause_flag"], case["name"]
        compared += 1
    if "seven_point_trend" in expected:
        # The reference marks the last point of each 7-point trend; every point of it is part of it.
        assert list(spc.trend(np.array(case["values"], dtype=float)) != 0) == part_of(expected["seven_point_trend"])
        compared += 1
    if "assurance" in expected:
        assert result.assurance_target == ASSURANCE[expected["assurance"]], case["name"]
        compared += 1
    if "last_lpl" in expected:
        seg = result.last_segment
        assert (seg.lpl, seg.upl) == pytest.approx((expected["last_lpl"], expected["last_upl"]), rel=1e-12)
        compared += 1
    if "assurance_if_no_rebase" in expected:
        plain = spc.analyse(
            case["values"], direction=case["improvement_direction"], target=case["target"], min_points=2
        )
        assert plain.assurance_target == ASSURANCE[expected["assurance_if_no_rebase"]]
        compared += 1
    return compared


def part_of(ends: list[int], length: int = 7) -> list[bool]:
    """R's ptd_part_of_seven_trend: a point is part of a run if it or any of the next 6 ends one."""
    return [any(abs(v) == 1 for v in ends[i : i + length]) for i in range(len(ends))]


@pytest.mark.parametrize("case", [c for c in SERIES if c.get("expected")], ids=lambda c: c["name"])
def test_series_agree_with_the_reference(case):
    assert check(case, run(case), case["expected"]) > 0


@pytest.mark.parametrize("case", [c for c in SERIES if c.get("expected_derived")], ids=lambda c: c["name"])
def test_series_agree_with_values_worked_from_the_reference_formulas(case):
    assert check(case, run(case), case["expected_derived"]) > 0


def test_the_oracle_covers_every_rule_both_directions_assurance_rebase_and_baseline():
    # The cases must exercise what they are meant to: otherwise agreement proves little.
    rules, types, verdicts = set(), set(), set()
    for case in SERIES:
        result = run(case)
        rules |= {r for r in result.points["rule"] if isinstance(r, str)}
        types |= set(result.points["point_type"].dropna())
        verdicts.add(result.assurance_target)
    assert rules == {"outside", "trend", "two_in_three", "shift"}
    assert {spc.COMMON, spc.IMPROVEMENT, spc.CONCERN} <= types and types & {spc.NEUTRAL_HIGH, spc.NEUTRAL_LOW}
    assert {spc.PASS, spc.FAIL, spc.HIT_AND_MISS} <= verdicts
    assert any(c.get("rebase_at_index") for c in SERIES) and any(c.get("fix_after_n_points") for c in SERIES)
    assert len([c for c in SERIES if c.get("expected")]) >= 20


# ------------------------------------------------------------------ the reference's rule-level unit tests


def rule_cases(function: str) -> list[dict]:
    return [c for c in RULES if c["function"] == function]


@pytest.mark.parametrize("case", rule_cases("ptd_seven_point_one_side_mean"), ids=lambda c: c["name"])
def test_run_on_one_side_of_the_mean(case):
    side = np.array(case["args"]["relative_to_mean"], dtype=int)
    assert list(spc.run_on_one_side(side)) == part_of(case["expected"])


@pytest.mark.parametrize("case", rule_cases("ptd_seven_point_trend"), ids=lambda c: c["name"])
def test_trend(case):
    got = spc.trend(np.array(case["args"]["y"], dtype=float))
    assert list(got != 0) == part_of(case["expected"])
    # Where every trend a point belongs to runs one way, the point takes that direction.
    for i, direction in enumerate(got):
        covering = {v for v in case["expected"][i : i + 7] if v != 0}
        if len(covering) == 1:
            assert direction == covering.pop()


@pytest.mark.parametrize("case", rule_cases("ptd_two_in_three"), ids=lambda c: c["name"])
def test_two_in_three(case):
    near = np.array(case["args"]["close_to_limits"], dtype=bool)
    side = np.array(case["args"]["relative_to_mean"], dtype=int)
    # The reference marks every point of a qualifying window, then keeps only the points near a limit.
    assert list(spc.two_in_three(near, side)) == [bool(e) and bool(n) for e, n in zip(case["expected"], near)]


@pytest.mark.parametrize(
    "case", rule_cases("ptd_part_of_two_in_three(ptd_two_in_three(close, rtm), close)"), ids=lambda c: c["name"]
)
def test_two_in_three_flags_only_the_points_near_a_limit(case):
    args = case["args"]
    near = np.array(args.get("close_to_limits", args.get("close")), dtype=bool)
    side = np.array(args.get("relative_to_mean", args.get("rtm")), dtype=int)
    assert list(spc.two_in_three(near, side).astype(int)) == case["expected"]


@pytest.mark.parametrize("case", rule_cases("ptd_calculate_assurance_type"), ids=lambda c: c["name"])
def test_assurance(case):
    args = case["args"]
    # The reference judges the target against the last row's limits: with rebasing, the last segment's.
    rows = args.get("rows_in_date_order") or [{"lpl": args.get("lpl", 0), "upl": args.get("upl", 1)}]
    segments = [
        spc.Segment(i, i + 1, None, None, 1, 1, (r["lpl"] + r["upl"]) / 2, 1.0, r["lpl"], r["upl"], None, None)
        for i, r in enumerate(rows)
    ]
    result = spc.SpcResult(
        spc.analyse([]).points, segments, spc.DIRECTIONS[args["improvement_direction"]], args.get("target"), None
    )
    got = spc.assurance(result.target, result.last_segment, result.direction)
    expected = case["expected"]
    assert got == (None if expected is None else ASSURANCE[expected])


@pytest.mark.parametrize("case", rule_cases("ptd_add_short_group_warnings"), ids=lambda c: c["name"])
def test_short_segments_get_no_limits(case):
    # The reference warns (trial limits) below its threshold; OPSG Metrics draws no limits there.
    threshold = case["args"]["warning_threshold"]
    for size, short in zip(case["args"]["group_sizes"], case["expected"]["short_group_warning"]):
        result = spc.analyse(list(np.sin(np.arange(size))), min_points=threshold)
        assert result.has_limits is (not short)
        assert (result.reason is not None) is short


@pytest.mark.parametrize("case", rule_cases("ptd_part_of_seven_trend"), ids=lambda c: c["name"])
def test_the_part_of_a_run_helper_used_above_agrees_with_the_reference(case):
    assert part_of(case["args"]["v"]) == [bool(e) for e in case["expected"]]
