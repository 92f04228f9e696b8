"""Root cause 1, store backend full, ahead of time: no store reaches the alert level within the window.

The history of runs (`--history DIR`, ini `history_dir`) holds each store's usage
night after night; a least-squares line through it says when the store reaches
the alert level (`--store-usage-max`) at its growth rate. A store below the
alert level today that gets there within `--forecast-window` (ini
`forecast_window`, default 7d) fails, with the rate, the date and its spread.
One case per store and host of the newest run in the history that measured stores. Without a
history, or with too little of it (fewer than 4 runs, less than 6 hours), the
check skips and says so: a guess is not a forecast.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import time

import pytest

from glance_hc import forecast as fc
from glance_hc import history

pytestmark = [pytest.mark.host, pytest.mark.store_full]


def store_cases(config: pytest.Config) -> tuple[list, list[str]]:
    """(cases, ids) from the newest run that measured stores; one skipping case when there is none."""
    run = history.of(config)
    if not run.enabled:
        return [("no history: run with --history DIR (ini history_dir) to forecast store usage", None)], ["no-history"]
    last = run.previous()
    if run.error is not None:
        return [(f"the history in {run.settings.directory} cannot be read: {run.error}", None)], ["no-history"]
    if last is None:
        return [(f"the history in {run.settings.directory} holds no run yet", None)], ["no-history"]
    measured = run.newest_with(fc.store_series)
    if measured is None:
        return [(f"no run in {run.settings.directory} measured a store", None)], ["no-store"]
    keys = sorted(fc.store_series([measured]))
    ids = [f"{target}-{store}" for target, store, _ in keys]
    ids = [i if ids.count(i) == 1 else f"{i}-{path}" for i, (_, _, path) in zip(ids, keys, strict=True)]
    return [(None, key) for key in keys], ids


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_key" in metafunc.fixturenames:
        cases, ids = store_cases(metafunc.config)
        metafunc.parametrize("no_history, store_key", cases, ids=ids)


def test_store_will_not_cross_alert_level_within_window(no_history, store_key, pytestconfig, request, evidence):
    if store_key is None:
        pytest.skip(no_history)
    target, store, path = store_key
    request.node.user_properties += [("hc_target", target), ("hc_store", store)]
    run = history.of(pytestconfig)
    runs, forecasts, _ = run.forecast_objects(None)
    item = next(f for f in forecasts if (f.labels["target"], f.labels["store"], f.labels["path"]) == store_key)
    window = run.settings.window
    evidence.add(f"{store} store usage in the history ({path})", item.describe(),
                 command=f"{len(runs)} runs in {run.settings.directory}")
    if item.status == fc.TOO_LITTLE_DATA:
        pytest.skip(f"no forecast for store {store} on {target}: {item.reason}")
    if item.current >= item.alert_level:
        pytest.skip(f"store {store} on {target} is already at {fc.fmt_percent(item.current)} (alert level "
                    f"{fc.fmt_percent(item.alert_level)}): the usage check judges it, there is no crossing to foresee")
    if item.status == fc.NOT_GROWING:
        return
    assert not item.crosses_alert_within(window, time.time()), (
        f"store {store} ({path}) on {target} is at {fc.fmt_percent(item.current)} and grows "
        f"{100 * item.rate_per_day:.3f} points a day: it reaches the alert level "
        f"{fc.fmt_percent(item.alert_level)} on {item.alert_at} (between {item.alert_at_earliest} and "
        f"{item.alert_at_latest or 'never at the slowest plausible rate'}), within the "
        f"{window.total_seconds() / 86400:g}-day window; full on {item.full_at}")
