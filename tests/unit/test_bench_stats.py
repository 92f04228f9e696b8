"""The benchmarks' own arithmetic: medians, pair-by-pair ratios, targets and the printed verdict."""
import math

import pytest

from bench.stats import MIB, Target, compare, fmt, median, mib_per_s, paired_differences, paired_ratios, verdict


@pytest.mark.parametrize(("values", "expected"), [
    ([3.0], 3.0),
    ([5, 1, 3], 3.0),
    ([4, 1, 3, 2], 2.5),
    ([1.0, 1.0, 100.0], 1.0),  # one slow moment does not move the figure
])
def test_median(values, expected):
    assert median(values) == expected


@pytest.mark.parametrize("values", [[], [1.0, math.nan], [math.inf], [True, 1.0], ["1"]])
def test_median_refuses_what_is_not_a_figure(values):
    with pytest.raises(ValueError):
        median(values)


def test_ratios_pair_by_pair_in_the_order_measured():
    assert paired_ratios([90, 100, 50], [100, 100, 100]) == [0.9, 1.0, 0.5]


def test_paired_ratio_is_not_the_ratio_of_medians():
    # the machine slowed down for the middle pair: both sides suffer, the pair ratio does not
    subject, baseline = [95, 38, 96], [100, 40, 100]
    cmp_ = compare(subject, baseline)
    assert cmp_.ratio == pytest.approx(0.95)
    assert cmp_.subject_median / cmp_.baseline_median == pytest.approx(0.95)
    noisy = compare([95, 38, 60], [100, 40, 100])  # the third subject ran in a slow moment, alone
    assert noisy.ratio == pytest.approx(0.95)  # median of 0.95, 0.95, 0.6
    assert noisy.subject_median / noisy.baseline_median == pytest.approx(0.6)


@pytest.mark.parametrize(("subject", "baseline"), [([1, 2], [1]), ([], []), ([1.0], [0.0])])
def test_ratios_need_pairs_and_a_baseline(subject, baseline):
    with pytest.raises(ValueError):
        paired_ratios(subject, baseline)


def test_paired_differences():
    assert paired_differences([110, 95.5], [100, 90]) == [10, 5.5]
    with pytest.raises(ValueError):
        paired_differences([1], [])


def test_comparison_as_dict_rounds_and_keeps_samples():
    d = compare([1.23456, 2.0, 3.0], [1.0, 2.0, 4.0]).as_dict()
    assert d["subject_values"] == [1.2346, 2.0, 3.0] and d["baseline_values"] == [1.0, 2.0, 4.0]
    assert d["pair_ratios"] == [1.2346, 1.0, 0.75]
    assert d["ratio"] == 1.0
    assert d["subject_median"] == 2.0 and d["baseline_median"] == 2.0


def test_mib_per_s():
    assert mib_per_s(64 * MIB, 0.5) == 128.0
    with pytest.raises(ValueError):
        mib_per_s(MIB, 0)


@pytest.mark.parametrize(("op", "value", "measured", "met"), [
    (">=", 0.95, 0.95, True),
    (">=", 0.95, 0.9499, False),
    ("<", 30, 29.9, True),
    ("<", 30, 30, False),
    ("<=", 2, 2.0, True),
    ("==", 0, 0, True),
    ("==", 0, 1, False),
    (">=", 0.95, None, False),  # not measured is never met
])
def test_target(op, value, measured, met):
    assert Target("x", op, value).met(measured) is met


def test_target_refuses_unknown_comparison():
    with pytest.raises(ValueError):
        Target("x", "~", 1)


def test_verdict_text():
    assert verdict([(Target("ratio", ">=", 0.95), 0.98)]) == "(target >= 0.95: met)"
    assert verdict([(Target("difference", "<", 30, "MiB"), 31.0)]) == "(target < 30 MiB: missed)"
    assert verdict([(Target("checks seconds", "<", 5, "s"), 3.2), (Target("per-image requests", "==", 0), 2)]) == \
        "(targets checks seconds < 5 s: met; per-image requests == 0: missed)"
    assert verdict([]) == ""


def test_target_as_dict():
    assert Target("ratio", ">=", 0.95).as_dict(0.981234) == {
        "what": "ratio", "op": ">=", "value": 0.95, "unit": "", "measured": 0.9812, "met": True}


@pytest.mark.parametrize(("value", "text"), [(80.123, "80.1"), (0.984, "0.98"), (1234.5, "1234"), (3, "3"),
                                             (None, "-")])
def test_fmt(value, text):
    assert fmt(value) == text


def test_line_format_of_the_brief():
    cmp_ = compare([80.1], [82.0])
    line = (f"P1 upload 64MiB: canary {fmt(cmp_.subject_median)} MiB/s, curl {fmt(cmp_.baseline_median)} MiB/s, "
            f"ratio {cmp_.ratio:.2f} {verdict([(Target('ratio', '>=', 0.95), cmp_.ratio)])}")
    assert line == "P1 upload 64MiB: canary 80.1 MiB/s, curl 82.0 MiB/s, ratio 0.98 (target >= 0.95: met)"
