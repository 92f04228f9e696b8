"""The forecast checks (in checks/test_store_full.py and checks/test_quota.py) on real-shaped histories.

Each history is the lab's own health.json of two controllers, night after night,
with the figures set to a known trend, saved the way `--history` saves runs.
"""
from __future__ import annotations

import copy
import datetime
import json
import subprocess
import sys
from pathlib import Path

from glance_hc import forecast as fc
from glance_hc import history

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = json.loads((REPO_ROOT / "tests" / "data" / "history" / "lab-two-controllers.json").read_text())
STORE_CHECK = "checks/test_store_full.py::test_store_will_not_cross_alert_level_within_window"
QUOTA_CHECK = "checks/test_quota.py::test_project_quota_will_not_cross_alert_level_within_window"
FORECASTS = "will_not_cross_alert_level_within_window"  # the modules' other checks need hosts and a cloud


def nights(directory: Path, count: int, usage, quota_used) -> None:
    """`count` runs, the last one last night; usage(store, night) and quota_used(resource, night)."""
    last = datetime.datetime.now(datetime.UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    if last > datetime.datetime.now(datetime.UTC):
        last -= datetime.timedelta(days=1)
    for night in range(count):
        doc = copy.deepcopy(LAB)
        doc["started"] = (last - datetime.timedelta(days=count - 1 - night)).isoformat()
        for check in doc["checks"]:
            for metric in check["metrics"]:
                if metric["name"] == fc.STORE_METRIC:
                    metric["value"] = usage(metric["labels"]["store"], night)
            for entry in check["evidence"] if fc.QUOTA_CHECK in check["nodeid"] else []:
                match = fc.QUOTA_BODY.match(entry["body"])
                resource = entry["title"].split(" ", 1)[0]
                if match:
                    limit = int(match["limit"])
                    entry["body"] = f"usage {int(quota_used(resource, night) * limit)} {match['unit']}, " \
                                    f"limit {limit} {match['unit']}"
        history.save(directory, doc)


def run_checks(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_store_full.py", "checks/test_quota.py", "-k", FORECASTS,
         "-p", "no:cacheprovider", "-p", "no:randomly", "-q", f"--health-json={out}/health.json",
         f"--html={out}/h.html", f"--junitxml={out}/j.xml", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {c["nodeid"]: c for c in json.loads((out / "health.json").read_text())["checks"]}


def growing_fast(store, night):
    # fast fills 4 points a night from 30%: 66% on the last night, 80% three and a half days later
    return 0.30 + 0.04 * night if store == "fast" else {"cheap": 0.5 - 0.01 * night, "rbd": 0.2}.get(store, 0.05)


def growing_size(resource, night):
    return 0.30 + 0.05 * night if resource == "image_size_total" else 0.1  # 75% on the last night


def test_a_store_that_reaches_the_alert_level_within_the_window_fails(tmp_path):
    nights(tmp_path / "hist", 10, growing_fast, growing_size)
    checks = run_checks(tmp_path, f"--history={tmp_path / 'hist'}")
    fast = checks[f"{STORE_CHECK}[controller1-fast]"]
    assert fast["outcome"] == "failed", fast
    assert fast["target"] == "controller1" and fast["store"] == "fast" and fast["root_cause"] == "store_full"
    assert "is at 66.0%" in fast["message"] and "4.000 points a day" in fast["message"]
    assert "within the 7-day window" in fast["message"]
    assert "10 runs over 216.0 h" in fast["evidence"][0]["body"]
    assert checks[f"{STORE_CHECK}[controller2-fast]"]["outcome"] == "failed"
    # shrinking, flat and slow stores pass; every store of the newest run has its case
    for case in ("controller1-cheap", "controller1-rbd", "controller2-staging", "controller1-swift"):
        assert checks[f"{STORE_CHECK}[{case}]"]["outcome"] == "passed", case
    assert checks[f"{QUOTA_CHECK}[image_size_total]"]["outcome"] == "failed"
    assert checks[f"{QUOTA_CHECK}[image_count_total]"]["outcome"] == "passed"
    assert checks[f"{QUOTA_CHECK}[image_size_total]"]["root_cause"] == "quota"


def test_a_longer_window_or_a_higher_alert_level_is_the_operators_call(tmp_path):
    nights(tmp_path / "hist", 10, growing_fast, growing_size)
    checks = run_checks(tmp_path, f"--history={tmp_path / 'hist'}", "--forecast-window=1d")
    assert checks[f"{STORE_CHECK}[controller1-fast]"]["outcome"] == "passed"


def test_too_little_history_skips_and_says_why(tmp_path):
    nights(tmp_path / "hist", 3, growing_fast, growing_size)
    checks = run_checks(tmp_path, f"--history={tmp_path / 'hist'}")
    fast = checks[f"{STORE_CHECK}[controller1-fast]"]
    assert fast["outcome"] == "skipped" and "3 runs recorded, 4 needed" in fast["message"]
    assert "3 runs recorded, 4 needed" in checks[f"{QUOTA_CHECK}[image_size_total]"]["message"]


def test_a_store_already_above_the_alert_level_is_left_to_the_usage_check(tmp_path):
    nights(tmp_path / "hist", 6, lambda store, night: 0.85 + 0.01 * night, lambda r, n: 0.1)
    check = run_checks(tmp_path, f"--history={tmp_path / 'hist'}")[f"{STORE_CHECK}[controller1-fast]"]
    assert check["outcome"] == "skipped" and "already at 90.0%" in check["message"]


def test_without_history_the_checks_do_not_apply_and_the_context_says_so(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_store_full.py", "checks/test_quota.py", "-k", FORECASTS,
         "-p", "no:cacheprovider", "-q", f"--health-json={out}/health.json", f"--html={out}/h.html",
         f"--junitxml={out}/j.xml"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    # -k leaves only the two forecasts; without a history they are deselected too, not skipped
    assert "deselected" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]
    health = json.loads((out / "health.json").read_text())
    assert health["checks"] == [] and "no history" in health["context"]["forecasts"]


def test_an_empty_history_skips_and_says_why(tmp_path):
    checks = run_checks(tmp_path, f"--history={tmp_path / 'empty'}")
    assert [c["outcome"] for c in checks.values()] == ["skipped", "skipped"]
    assert all("holds no run yet" in c["message"] for c in checks.values()), checks


def test_a_history_without_unified_limits_says_so(tmp_path):
    doc = copy.deepcopy(LAB)
    doc["checks"] = [c for c in doc["checks"] if fc.QUOTA_CHECK not in c["nodeid"]]
    history.save(tmp_path / "hist", doc)
    checks = run_checks(tmp_path, f"--history={tmp_path / 'hist'}")
    quota = checks[f"{QUOTA_CHECK}[no-quota]"]
    assert quota["outcome"] == "skipped" and "recorded unified-limit usage" in quota["message"]


def test_a_partial_last_run_does_not_hide_the_stores(tmp_path):
    nights(tmp_path / "hist", 5, growing_fast, growing_size)
    partial = copy.deepcopy(LAB)  # `-m api` last: no store measured
    partial["checks"] = [c for c in partial["checks"] if c["target"] == "api"]
    history.save(tmp_path / "hist", partial)
    checks = run_checks(tmp_path, f"--history={tmp_path / 'hist'}")
    assert f"{STORE_CHECK}[controller1-fast]" in checks and f"{STORE_CHECK}[controller2-rbd]" in checks
