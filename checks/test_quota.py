"""Bonus root cause, project image quota: no limit in glance-api.conf stops the largest upload.

Through the API: `/v2/info/usage` leaves room for the largest image, a few more images and
one more upload.

Ahead of time: From the history of runs (`--history DIR`), each unified-limit resource the
quota check read from `/v2/info/usage` (usage and limit, in its evidence) is
forecast as a fraction of its limit, like the stores: a resource below the
alert level that reaches it within `--forecast-window` fails. Without
unified-limit figures in the history (limits off: /v2/info/usage answers 404;
or unlimited resources) the check skips and says so.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

import math
import time

import pytest

from glance_hc import canary, history
from glance_hc import forecast as fc
from glance_hc.sizes import human

pytestmark = [pytest.mark.quota]


@pytest.mark.host
@pytest.mark.parametrize("option", ["image_size_cap", "user_storage_quota"])
def test_config_limit_allows_largest_image(configured_host, option, thresholds, evidence):
    config = configured_host.config
    value = getattr(config, option)
    evidence.add(option, f"{human(value)} ({value if len(str(value)) <= 24 else 'a huge number of'} bytes; "
                         f"{config.where('DEFAULT', option)})")
    evidence.add("files read", config.sources)
    error = config.limit_errors.get(option)
    assert error is None, f"{option} on {configured_host.name} cannot be used by glance: {error}"
    if option == "user_storage_quota" and (value == 0 or config.use_keystone_limits):
        return  # unlimited, or superseded by Keystone unified limits (checked through the API)
    assert value >= thresholds.largest_image, (
        f"{option} = {human(value)} on {configured_host.name} ({config.where('DEFAULT', option)}) is below "
        f"the largest expected image ({human(thresholds.largest_image)}): such uploads end in 413")


@pytest.mark.host
def test_no_quota_rejections_in_logs(quiet_logs):
    quiet_logs("quota", "quota rejections")


MIB = 1024 * 1024

# resource: (unit, what is needed given the thresholds, how the need reads)
QUOTA_NEEDS = {
    "image_size_total": ("MiB", lambda t: math.ceil(t.largest_image / MIB), "the largest image"),
    "image_stage_total": ("MiB", lambda t: math.ceil(t.largest_image / MIB), "the largest image"),
    "image_count_total": ("images", lambda t: 5, "5 more images"),
    "image_count_uploading": ("uploads", lambda t: 1, "1 more upload at a time"),
}


@pytest.mark.api
@pytest.mark.parametrize("resource", list(QUOTA_NEEDS))
def test_project_quota_has_headroom(resource, image_api, image_api_info, thresholds, evidence):
    usage = image_api_info.get("usage") or {}
    if "error" in usage:
        pytest.fail(f"/v2/info/usage could not be read: {usage['error']}", pytrace=False)
    if usage.get("status") == 404:
        pytest.skip("unified limits are off (/v2/info/usage answers 404; use_keystone_limits = false): "
                    "per-project usage is not available from the API")
    if usage.get("status") != 200 or not isinstance(usage.get("json"), dict):
        pytest.fail(f"/v2/info/usage answered HTTP {usage.get('status')}: {canary.body_message(usage.get('text', ''))}",
                    pytrace=False)
    entry = (usage["json"].get("usage") or {}).get(resource)
    if entry is None:
        pytest.skip(f"/v2/info/usage reports no {resource}")
    unit, need_of, need_text = QUOTA_NEEDS[resource]
    limit, used = int(entry.get("limit", -1)), int(entry.get("usage", 0))
    project = getattr(image_api, "current_project_id", None) or "the cloud's project"
    evidence.add(f"{resource} of project {project}", f"usage {used} {unit}, limit "
                 f"{'unlimited' if limit < 0 else f'{limit} {unit}'}", command="GET /v2/info/usage")
    if limit < 0:
        return
    need, headroom = need_of(thresholds), limit - used
    evidence.metric("quota_headroom", headroom, unit, {"resource": resource})
    if resource in ("image_size_total", "image_stage_total"):
        need_text = f"{need_text} ({human(thresholds.largest_image)})"
    assert headroom >= need, (
        f"project {project} has {max(headroom, 0)} {unit} of {resource} left (limit {limit}, used {used}): "
        f"not enough for {need_text}")


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
    if "no_history" in metafunc.fixturenames:  # the forecast (the headroom check has its own resources)
        cases, ids = quota_cases(metafunc.config)
        metafunc.parametrize("no_history, resource", cases, ids=ids)


@pytest.mark.api
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
