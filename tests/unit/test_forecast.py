"""Forecast math: the line, the dates, the spread, and the honesty about too little data."""
from __future__ import annotations

import datetime
import json
import math
import random
from pathlib import Path

import pytest

from glance_hc import forecast as fc

DATA = Path(__file__).resolve().parents[1] / "data" / "history"
DAY = 86400.0
T0 = datetime.datetime(2026, 1, 1, 2, tzinfo=datetime.UTC).timestamp()
WEEK = datetime.timedelta(days=7)


def line(start: float, per_day: float, days: int, noise: float = 0.0, seed: int = 1):
    rng = random.Random(seed)
    return [(T0 + d * DAY, start + per_day * d + rng.gauss(0, noise)) for d in range(days)]


def test_least_squares_recovers_an_exact_line():
    fit = fc.least_squares(line(0.30, 0.01, 10))
    assert math.isclose(fit.slope * DAY, 0.01, rel_tol=1e-9)
    assert fit.residual_sd < 1e-12 and fit.slope_se < 1e-15
    assert math.isclose(fit.at(T0), 0.30, abs_tol=1e-12)


def test_exact_growth_gives_exact_dates_with_no_spread():
    # 30% on day 0, +1 point a day: 80% on day 50, full on day 70
    f = fc.forecast(line(0.30, 0.01, 10), 0.8, window=WEEK)
    assert f.status == fc.OK
    assert f.alert_at == fc.iso(T0 + 50 * DAY) == f.alert_at_earliest == f.alert_at_latest
    assert f.full_at == fc.iso(T0 + 70 * DAY)
    assert math.isclose(f.rate_per_day, 0.01, rel_tol=1e-9)
    assert f.current == pytest.approx(0.39)
    # the drawn trend runs from the first run to the end of the window after the last
    assert f.line[0][0] == T0 and f.line[-1][0] == T0 + 9 * DAY + WEEK.total_seconds()


def test_noisy_growth_states_its_spread():
    f = fc.forecast(line(0.30, 0.01, 30, noise=0.02), 0.8)
    assert f.status == fc.OK and f.residual_sd == pytest.approx(0.02, rel=0.5)
    earliest, central, latest = (fc.parse_time(x) for x in (f.alert_at_earliest, f.alert_at, f.alert_at_latest))
    assert earliest < central < latest
    assert "+/-" in f.describe() and "residual error" in f.describe()


def test_growth_within_noise_has_a_date_but_no_latest_one():
    # +0.7 points a day under +/- 3 points of noise: the slowest plausible rate is no growth at all
    ys = [0.30, 0.42, 0.28, 0.36, 0.31, 0.40]
    f = fc.forecast([(T0 + d * DAY, y) for d, y in enumerate(ys)], 0.8)
    assert f.status == fc.OK and 0 < f.rate_per_day < 2 * f.rate_se_per_day
    assert f.alert_at and f.alert_at_earliest < f.alert_at
    assert f.alert_at_latest is None
    assert "never (at the slowest plausible rate)" in f.describe()


@pytest.mark.parametrize("points, reason", [
    (line(0.3, 0.01, 3), "3 runs recorded, 4 needed"),
    ([(T0 + h * 1800, 0.3 + 0.01 * h) for h in range(6)], "the runs span 2.5 h, 6 h needed"),
    ([], "0 runs recorded, 4 needed"),
], ids=["three-runs", "short-span", "none"])
def test_too_little_data_gives_no_forecast_and_says_why(points, reason):
    f = fc.forecast(points, 0.8)
    assert f.status == fc.TOO_LITTLE_DATA and f.reason == reason
    assert f.alert_at is None and f.full_at is None and f.rate_per_day is None
    assert not f.crosses_alert_within(WEEK, T0)


@pytest.mark.parametrize("per_day, word", [(0.0, "flat"), (-0.01, "shrinking")])
def test_flat_or_negative_growth_never_crosses(per_day, word):
    f = fc.forecast(line(0.5, per_day, 10), 0.8)
    assert f.status == fc.NOT_GROWING and word in f.reason
    assert f.alert_at is None and f.full_at is None
    assert not f.crosses_alert_within(datetime.timedelta(days=3650), T0)


def test_a_trend_already_past_the_level_crosses_now_not_in_the_past():
    points = line(0.70, 0.02, 10)  # the line is at 88% on the last run
    f = fc.forecast(points, 0.8)
    assert f.alert_at == fc.iso(points[-1][0])
    assert f.crosses_alert_within(WEEK, points[-1][0])


def test_a_level_the_last_run_measured_is_reached_now_whatever_the_line_says():
    points = line(0.20, 0.01, 10) + [(T0 + 10 * DAY, 1.0)]  # a store filled overnight
    f = fc.forecast(points, 0.8)
    assert f.full_at == f.alert_at == f.full_at_latest == fc.iso(points[-1][0])
    flat = fc.forecast(line(0.9, 0.0, 10), 0.8)
    assert flat.status == fc.NOT_GROWING and flat.alert_at == fc.iso(T0 + 9 * DAY) and flat.full_at is None


def test_crossing_within_the_window_is_measured_from_now():
    points = line(0.30, 0.01, 45)  # alert level on day 50: five days after the last run
    f = fc.forecast(points, 0.8)
    last = points[-1][0]
    assert f.crosses_alert_within(WEEK, last)
    assert not f.crosses_alert_within(datetime.timedelta(days=4), last)
    assert f.seconds_to("alert", last) == pytest.approx(6 * DAY)


def test_a_crossing_beyond_the_horizon_is_not_a_date():
    f = fc.forecast(line(0.10, 1e-7, 30), 0.8)
    assert f.status == fc.OK and f.alert_at is None and "not reaching" in f.reason


def test_series_from_the_lab_document():
    doc = json.loads((DATA / "lab-two-controllers.json").read_text())
    stores = fc.store_series([doc])
    # every store of both controllers, file, rbd and swift, one point each
    assert ("controller1", "fast", "/var/lib/glance/images") in stores
    assert ("controller2", "rbd", "rbd:images") in stores
    assert any(store == "swift" and target == "controller1" for target, store, _ in stores)
    assert all(len(points) == 1 for points in stores.values())
    quotas = fc.quota_series([doc])
    assert quotas["image_size_total"]["limit"] == 8192 and quotas["image_size_total"]["unit"] == "MiB"
    assert set(quotas) >= {"image_size_total", "image_count_total"}
    canary = fc.canary_series([doc])
    assert set(canary[("api", "rbd")]) == set(fc.CANARY_METRICS)
    assert ("controller1", "fast") in canary


def test_quota_without_a_limit_is_not_a_series():
    check = {"nodeid": "checks/test_quota.py::test_project_quota_has_headroom[image_size_total]",
             "evidence": [{"title": "image_size_total of project p", "body": "usage 10 MiB, limit -1 MiB"}],
             "metrics": []}
    assert fc.quota_sample(check) is None
