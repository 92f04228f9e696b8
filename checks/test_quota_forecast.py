"""Bonus root cause, project quota, ahead of time: no unified limit is reached within the window.

From the history of runs (`--history DIR`), each unified-limit resource the
quota check read from `/v2/info/usage` (usage and limit, in its evidence) is
forecast as a fraction of its limit, like the stores: a resource below the
alert level that reaches it within `--forecast-window` fails. Without
unified-limit figures in the history (limits off: /v2/info/usage answers 404;
or unlimited resources) the check skips and says so.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import time

import pytest

from glance_hc import forecast as fc
from glance_hc import history

pytestmark = [pytest.mark.api, pytest.mark.quota]


def quota_cases(config: pytest.Config) -> tuple[list, list[str]]:
    run = history.of(config)
    if not run.enabled:
        return [("no history: run with --history DIR (ini history_dir) to forecast quota usage", None)], ["no-history"]
    last = run.previous()
    if run.error is not None:
        return [(f"the history in {run.settings.directory} cannot be read: {run.error}", None)], ["no-history"]
    if last is None:
        return [(f"the history in {run.settings.directory} holds no run yet", None)], ["no-history"]
    measured = run.newest_with(fc.quota_series)
    if measured is None:
        return [(f"no run in {run.settings.directory} recorded unified-limit usage with a limit (unified "
                 "limits off, or every resource unlimited)", None)], ["no-quota"]
    resources = sorted(fc.quota_series([measured]))
    return [(None, resource) for resource in resources], resources


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "resource" in metafunc.fixturenames:
        cases, ids = quota_cases(metafunc.config)
        metafunc.parametrize("no_history, resource", cases, ids=ids)


def test_project_quota_will_not_cross_alert_level_within_window(no_history, resource, pytestconfig, evidence):
    if resource is None:
        pytest.skip(no_history)
    run = history.of(pytestconfig)
    runs, _, forecasts = run.forecast_objects(None)
    item = next(f for f in forecasts if f.labels["resource"] == resource)
    window = run.settings.window
    evidence.add(f"{resource} usage in the history (limit {item.labels['limit']})", item.describe(),
                 command=f"{len(runs)} runs in {run.settings.directory}")
    if item.status == fc.TOO_LITTLE_DATA:
        pytest.skip(f"no forecast for {resource}: {item.reason}")
    if item.current >= item.alert_level:
        pytest.skip(f"{resource} is already at {fc.fmt_percent(item.current)} of its limit: the headroom check "
                    "judges it, there is no crossing to foresee")
    if item.status == fc.NOT_GROWING:
        return
    assert not item.crosses_alert_within(window, time.time()), (
        f"{resource} is at {fc.fmt_percent(item.current)} of its limit ({item.labels['limit']}) and grows "
        f"{100 * item.rate_per_day:.3f} points a day: it reaches {fc.fmt_percent(item.alert_level)} on "
        f"{item.alert_at} (between {item.alert_at_earliest} and {item.alert_at_latest or 'never'}), within the "
        f"{window.total_seconds() / 86400:g}-day window; the limit itself on {item.full_at}")
