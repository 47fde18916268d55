"""SPC rules on small constructed series: each rule fires exactly where it should, and never across a rebase."""

from __future__ import annotations

from datetime import date

import pytest

from opsg_metrics.rules import spc


def noise(n: int, amplitude: float = 0.5, start_high: bool = True) -> list[float]:
    """+a, -a, +a, ...: no trend, no run, moving ranges 2a."""
    sign = 1 if start_high else -1
    return [amplitude * sign * (-1) ** i for i in range(n)]


def flagged(result: spc.SpcResult, rule: str) -> list[int]:
    return [i for i, r in enumerate(result.points["rule"]) if r == rule]


def special(result: spc.SpcResult) -> list[int]:
    return [i for i, t in enumerate(result.points["point_type"]) if t != spc.COMMON]


def months(n: int, first: date = date(2020, 1, 1)) -> list[date]:
    return [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def test_common_cause_only():
    result = spc.analyse(noise(20))
    assert special(result) == [] and result.variation == spc.COMMON
    seg = result.last_segment
    assert seg.mean == pytest.approx(0) and seg.amr == pytest.approx(1.0)
    assert (seg.lpl, seg.upl) == pytest.approx((-2.66, 2.66))
    assert (seg.lower_near, seg.upper_near) == pytest.approx((-2.66 * 2 / 3, 2.66 * 2 / 3))


@pytest.mark.parametrize(
    "direction, expected", [("higher", spc.IMPROVEMENT), ("lower", spc.CONCERN), ("neutral", spc.NEUTRAL_HIGH)]
)
def test_a_point_outside_the_limits(direction, expected):
    values = noise(20)
    values[9] = 6.0
    result = spc.analyse(values, direction=direction)
    assert flagged(result, "outside") == [9] and special(result) == [9]
    assert result.points["point_type"][9] == expected
    # Screening: the two moving ranges around the outlier (6.5 and 6.5) are left out of the average.
    assert result.last_segment.amr == pytest.approx(1.0)


def test_a_run_of_seven_on_one_side_and_not_six():
    # noise(12) ends below the mean and noise(.., start_high=False) starts below it: the run is exactly 7.
    values = noise(12) + [0.3] * 7 + noise(12, start_high=False)
    result = spc.analyse(values, direction="lower")
    assert flagged(result, "shift") == list(range(12, 19)) and special(result) == list(range(12, 19))
    assert {result.points["point_type"][i] for i in range(12, 19)} == {spc.CONCERN}
    six = spc.analyse(noise(12) + [0.3] * 6 + noise(13, start_high=False))
    assert special(six) == []


def test_a_point_on_the_mean_breaks_a_run():
    tail = [-0.25] * 6 + noise(6)
    broken = noise(20) + [0.25] * 3 + [0.0] + [0.25] * 3 + tail
    result = spc.analyse(broken)
    assert result.last_segment.mean == 0.0 and result.points["side"][23] == 0
    assert special(result) == []
    unbroken = spc.analyse(noise(20) + [0.25] * 7 + tail)
    assert flagged(unbroken, "shift") == list(range(20, 27))


def test_a_trend_of_seven_rising_points_and_an_equal_pair_breaks_it():
    rising = [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9]
    values = noise(12) + rising + noise(12, start_high=False)
    result = spc.analyse(values)
    assert flagged(result, "trend") == list(range(12, 19))
    assert set(result.points["signal"][12:19]) == {1}
    flat = [-0.9, -0.6, -0.3, -0.3, 0.3, 0.6, 0.9]
    assert flagged(spc.analyse(noise(12) + flat + noise(12, start_high=False)), "trend") == []


def test_a_falling_trend_is_a_concern_when_higher_is_better():
    falling = [0.9, 0.6, 0.3, 0.0, -0.3, -0.6, -0.9]
    result = spc.analyse(noise(12, start_high=False) + falling + noise(12), direction="higher")
    assert flagged(result, "trend") == list(range(12, 19))
    assert set(result.points["point_type"][12:19]) == {spc.CONCERN}


def test_two_of_three_beyond_two_sigma_on_one_side_flags_only_those_two():
    values = noise(15) + [2.6, 0.3, 2.7] + noise(15, start_high=False)
    result = spc.analyse(values)
    seg = result.last_segment
    assert seg.upper_near < 2.6 < 2.7 < seg.upl and 0.3 > seg.mean  # the construction holds
    assert flagged(result, "two_in_three") == [15, 17] and special(result) == [15, 17]


def test_two_of_three_needs_all_three_on_one_side():
    values = noise(15) + [2.6, -0.3, 2.7] + noise(15, start_high=False)
    result = spc.analyse(values)
    assert result.points["side"][16] == -1
    assert special(result) == []


def test_rules_take_precedence_outside_then_trend_then_two_in_three_then_run():
    rising = [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 8.0]  # the last point of the trend is also outside
    result = spc.analyse(noise(12) + rising + noise(12, start_high=False))
    assert result.points["rule"][18] == "outside"
    assert flagged(result, "trend") == list(range(12, 18))


def test_no_rule_runs_across_a_rebase():
    # 4 points above the mean before the rebase and 3 after: 7 in a row without it, none with it.
    values = noise(12) + [0.3] * 7 + noise(12, start_high=False)
    when = months(len(values))
    plain = spc.analyse(values, when)
    assert flagged(plain, "shift") == list(range(12, 19))
    rebased = spc.analyse(values, when, rebase=[when[16]])
    assert [s.n for s in rebased.segments] == [16, 15]
    assert special(rebased) == []
    # A trend split by a rebase is not a trend either.
    rising = [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9]
    values = noise(12) + rising + noise(12, start_high=False)
    when = months(len(values))
    assert flagged(spc.analyse(values, when, rebase=[when[15]]), "trend") == []


def test_each_segment_has_its_own_limits_and_the_first_point_no_moving_range():
    values = noise(14) + [v + 10 for v in noise(14)]
    when = months(28)
    result = spc.analyse(values, when, rebase=[when[14]])
    first, second = result.segments
    assert (first.mean, second.mean) == pytest.approx((0.0, 10.0))
    assert first.amr == pytest.approx(1.0) and second.amr == pytest.approx(1.0)
    assert pd_isna(result.points["moving_range"][14]) and special(result) == []
    # Without the rebase, the step is a run on each side and the limits are wide.
    assert special(spc.analyse(values, when)) != []


def pd_isna(value) -> bool:
    return value != value


def test_a_rebase_on_a_null_month_starts_at_the_next_figure_and_outside_the_data_is_ignored():
    values = noise(14) + [None] + [v + 10 for v in noise(14)]
    when = months(29)
    result = spc.analyse(values, when, rebase=[when[14], date(2010, 1, 1), date(2040, 1, 1)])
    assert [(s.first_month, s.n) for s in result.segments] == [(when[0], 14), (when[15], 14)]


def test_null_months_are_skipped_not_zero():
    values = noise(14)
    values[5] = None
    values[9] = float("nan")
    when = months(14)
    result = spc.analyse(values, when)
    assert result.skipped == [when[5], when[9]]
    assert len(result.points) == 12 and 0.0 not in list(result.points["value"])
    assert result.last_segment.mean == pytest.approx(sum(v for v in values if v is not None and v == v) / 12)
    # The moving range spans the gap: between the figures either side of it.
    assert result.points["moving_range"][5] == pytest.approx(abs(values[6] - values[4]))


def test_too_few_points_draw_no_limits_and_say_why():
    result = spc.analyse(noise(11), target=1.0)
    assert not result.has_limits and result.variation is None and result.assurance_target is None
    assert result.reason == "only 11 figures; process limits need at least 12"
    assert "No SPC reading: only 11 figures" in spc.reading(result)
    assert spc.analyse(noise(12)).has_limits
    when = months(20)
    short_tail = spc.analyse(noise(20), when, rebase=[when[15]])
    assert short_tail.segments[0].has_limits and not short_tail.has_limits
    assert short_tail.reason == "only 5 figures since the rebase in April 2021; process limits need at least 12"


def test_baseline_holds_the_limits_from_the_first_figures():
    values = noise(12) + [2.0] * 8
    result = spc.analyse(values, baseline=12)
    seg = result.last_segment
    assert (seg.mean, seg.amr, seg.baseline_n) == pytest.approx((0.0, 1.0, 12))
    assert flagged(result, "two_in_three") + flagged(result, "shift") == list(range(12, 20))
    assert spc.analyse(values).last_segment.mean == pytest.approx(0.8)


@pytest.mark.parametrize(
    "direction, level, expected",
    [
        ("higher", 5.0, spc.FAIL),
        ("higher", -5.0, spc.PASS),
        ("higher", 1.0, spc.HIT_AND_MISS),
        ("lower", 5.0, spc.PASS),
        ("lower", -5.0, spc.FAIL),
        ("lower", 1.0, spc.HIT_AND_MISS),
        ("higher", 2.66, spc.HIT_AND_MISS),  # on a limit: not beyond it
        ("neutral", 5.0, None),
        ("higher", None, None),
    ],
)
def test_assurance_against_the_target_and_separately_the_minimum(direction, level, expected):
    # Limits of noise(20): -2.66 to 2.66.
    result = spc.analyse(noise(20), direction=direction, target=level, minimum=level)
    assert result.assurance_target == expected and result.assurance_minimum == expected


def test_target_and_minimum_can_differ():
    result = spc.analyse([v + 95 for v in noise(20)], direction="higher", target=99.0, minimum=90.0)
    assert (result.assurance_target, result.assurance_minimum) == (spc.FAIL, spc.PASS)
    assert spc.reading(result) == (
        "The process is stable but cannot consistently meet its target: the target (99.00%) lies above the upper "
        "process limit (97.66%); it consistently meets its minimum: the minimum (90.00%) lies below the lower "
        "process limit (92.34%)."
    )
    badges = spc.badges(result)
    assert (badges["variation"], badges["target"], badges["minimum"]) == ("~", "F", "P")


def test_assurance_uses_the_last_segment():
    values = [v + 90 for v in noise(14)] + [v + 99 for v in noise(14)]
    when = months(28)
    result = spc.analyse(values, when, target=95.0, rebase=[when[14]])
    assert result.assurance_target == spc.PASS
    assert spc.analyse(values, when, target=95.0).assurance_target == spc.HIT_AND_MISS


def test_reading_of_a_special_cause_names_the_rule():
    values = noise(20)
    values[-1] = -6.0
    result = spc.analyse(values, months(20), direction="higher", target=1.0)
    assert result.variation == spc.CONCERN
    assert spc.reading(result).startswith(
        "The latest figure (August 2021) is a special cause of concern (outside the process limits); "
        "the process will meet and miss its target by chance"
    )
    assert spc.badges(result)["variation"] == "L"


def test_a_baseline_shorter_than_the_minimum_draws_no_limits():
    result = spc.analyse(noise(20), baseline=6)
    assert not result.has_limits
    assert result.reason == "a baseline needs at least 12 figures (it was set to 6)"


def test_a_flat_series_with_one_dip_is_not_all_special_causes():
    # 100% month after month: screening alone would leave an average moving range of 0 and limits on the
    # mean, making every month a special cause. The unscreened average is used instead.
    values = [100.0] * 15 + [99.0] + [100.0] * 4
    result = spc.analyse(values, target=100.0)
    seg = result.last_segment
    assert seg.amr == pytest.approx(2 / 19) and seg.upl > 100.0
    assert flagged(result, "outside") == [15]
    flat = spc.analyse([100.0] * 15)
    assert not flat.has_limits and "do not vary" in flat.reason


def test_a_month_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        spc.analyse([1.0, 2.0], [date(2020, 1, 1), date(2020, 1, 1)])
