"""The run history: files, retention, and what changed since the last run."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from glance_hc import history

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data" / "history"


def doc(started: str, **outcomes: str) -> dict:
    checks = [{"nodeid": f"checks/test_x.py::{name}", "claim": name, "root_cause": "store_full",
               "target": "controller1", "store": None, "outcome": outcome,
               "message": None if outcome == "passed" else f"{name} {outcome}\nsecond line", "metrics": []}
              for name, outcome in outcomes.items()]
    return {"started": started, "verdict": "x", "summary": {}, "checks": checks}


def ids(entries) -> list[str]:
    return sorted(e["nodeid"].split("::")[1] for e in entries)


# --------------------------------------------------------------------------
# files


def test_save_names_by_time_private_and_whole(tmp_path):
    path = history.save(tmp_path / "h", doc("2026-12-01T02:00:00+00:00", a="passed"))
    assert path.name == "health-20261201T020000Z.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["checks"][0]["outcome"] == "passed"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    slim = path.parent / ".slim" / path.name
    assert stat.S_IMODE(slim.stat().st_mode) == 0o600


def test_two_runs_in_the_same_second_both_stay_and_keep_their_order(tmp_path):
    first = history.save(tmp_path, doc("2026-12-01T02:00:00+00:00", a="passed"))
    second = history.save(tmp_path, doc("2026-12-01T02:00:00+00:00", a="failed"))
    assert first != second and first.exists()
    assert history.history_files(tmp_path) == [first, second]


def test_timestamps_in_other_zones_name_the_utc_time(tmp_path):
    assert history.save(tmp_path, doc("2026-12-01T03:30:00+01:00")).name == "health-20261201T023000Z.json"


def test_prune_keeps_the_newest_runs_and_their_figures(tmp_path):
    for day in range(1, 8):
        history.save(tmp_path, doc(f"2026-12-0{day}T02:00:00+00:00", a="passed"), keep=5)
    names = [p.name for p in history.history_files(tmp_path)]
    assert names == [f"health-2026120{d}T020000Z.json" for d in range(3, 8)]
    assert sorted(os.listdir(tmp_path / ".slim")) == names
    (tmp_path / "notes.txt").write_text("kept")  # not a run: never touched
    assert history.prune(tmp_path, 2) == [tmp_path / n for n in names[:3]]
    assert (tmp_path / "notes.txt").exists() and len(history.history_files(tmp_path)) == 2


def test_unreadable_runs_are_named_not_fatal(tmp_path):
    history.save(tmp_path, doc("2026-12-01T02:00:00+00:00", a="passed"))
    (tmp_path / "health-20261202T020000Z.json").write_text("{half a docu")
    run = history.RunHistory(history.Settings(tmp_path, 10, history.parse_window("7d"), 0.8))
    assert len(run.runs()) == 1 and run.unreadable == ["health-20261202T020000Z.json"]
    assert run.previous()["started"] == "2026-12-01T02:00:00+00:00", "the newest readable run"


def test_figures_come_from_the_slim_file_or_the_run_itself(tmp_path):
    lab = json.loads((DATA / "lab-two-controllers.json").read_text())
    path = history.save(tmp_path, lab)
    slim = history.load_slim(path)
    assert slim == history.slim(lab)
    assert len(slim["checks"]) < len(lab["checks"]) / 2, "only the checks with figures"
    (tmp_path / ".slim" / path.name).unlink()
    assert history.load_slim(path) == slim


@pytest.mark.parametrize("text, seconds", [("7d", 7 * 86400), ("36h", 129600), ("90m", 5400), ("600", 600),
                                           ("2w", 14 * 86400)])
def test_parse_window(text, seconds):
    assert history.parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0d", "-1h", "soon"])
def test_parse_window_refuses_nonsense(text):
    with pytest.raises(ValueError):
        history.parse_window(text)


# --------------------------------------------------------------------------
# comparing


def test_first_run_has_nothing_to_compare_with():
    changes = history.compare(None, doc("2026-12-01T02:00:00+00:00", a="failed", b="passed"))
    assert changes["previous_run"] is None and "nothing to compare" in changes["note"]
    assert changes["failing_since"] == {"checks/test_x.py::a": "2026-12-01T02:00:00+00:00"}
    assert set(changes["counts"].values()) == {0}


def test_changes_between_two_runs():
    before = doc("2026-12-01T02:00:00+00:00", new="passed", still="failed", fixed="error", skip="passed",
                 gone="failed", was_skipped="skipped", unchanged="passed")
    before["changes"] = {"failing_since": {"checks/test_x.py::still": "2026-11-20T02:00:00+00:00"}}
    now = doc("2026-12-02T02:00:00+00:00", new="failed", still="error", fixed="passed", skip="skipped",
              was_skipped="skipped", unchanged="passed", added="skipped")
    changes = history.compare(before, now)
    assert changes["previous_run"] == "2026-12-01T02:00:00+00:00"
    assert ids(changes["new_failures"]) == ["new"]
    assert ids(changes["persisting"]) == ["still"]
    assert changes["persisting"][0]["since"] == "2026-11-20T02:00:00+00:00", "carried from the run before"
    assert ids(changes["resolved"]) == ["fixed"]
    assert ids(changes["new_skips"]) == ["added", "skip"]
    assert {e["nodeid"].split("::")[1]: e["before"] for e in changes["new_skips"]} == {"added": "not run",
                                                                                       "skip": "passed"}
    assert ids(changes["no_longer_run"]) == ["gone"]
    assert changes["failing_since"] == {"checks/test_x.py::new": "2026-12-02T02:00:00+00:00",
                                        "checks/test_x.py::still": "2026-11-20T02:00:00+00:00"}
    assert changes["counts"] == {"new_failures": 1, "resolved": 1, "persisting": 1, "new_skips": 2,
                                 "no_longer_run": 1}
    assert changes["new_failures"][0]["message"] == "new failed", "the first line only"


def test_failing_since_follows_a_run_of_failures_and_restarts_after_a_pass():
    runs = [doc(f"2026-12-0{d}T02:00:00+00:00", a=o) for d, o in
            enumerate(["passed", "failed", "failed", "failed", "passed", "failed"], start=1)]
    previous, since = None, []
    for run in runs:
        run["changes"] = history.compare(previous, run)
        since.append(run["changes"]["failing_since"].get("checks/test_x.py::a"))
        previous = run
    assert since == [None, "2026-12-02T02:00:00+00:00", "2026-12-02T02:00:00+00:00",
                     "2026-12-02T02:00:00+00:00", None, "2026-12-06T02:00:00+00:00"]


def test_a_previous_run_without_changes_block_dates_persisting_failures_from_itself():
    changes = history.compare(doc("2026-12-01T02:00:00+00:00", a="failed"), doc("2026-12-02T02:00:00+00:00", a="failed"))
    assert changes["persisting"][0]["since"] == "2026-12-01T02:00:00+00:00"


# --------------------------------------------------------------------------
# through pytest: the report plugin with --history

CONFTEST = """
pytest_plugins = ["glance_hc.fixtures.options", "glance_hc.fixtures.evidence", "glance_hc.report"]
"""

CHECKS = """
import os, pytest
pytestmark = [pytest.mark.host, pytest.mark.store_full]
STATE = os.environ["HC_TEST_STATE"]

@pytest.fixture
def on_controller1(request):
    request.node.user_properties.append(("hc_target", "controller1"))

def test_store_usage(on_controller1, evidence):
    evidence.metric("store_used_ratio", 0.5, "ratio", {"store": "fast", "path": "/var/lib/glance/images"})
    assert STATE != "broken", "fast store is 95% full"

def test_other(on_controller1):
    if STATE == "broken":
        pytest.skip("ssh: connect to host controller1 port 22: Connection refused")
"""

INI = "[pytest]\nmarkers =\n" + "".join(f"    {m}: marker\n" for m in (
    "host", "api", "canary", "gate", "availability", "store_full", "store_config", "store_permissions",
    "worker_crash", "interrupted_upload", "checksum_mismatch", "quota", "upgrade"))


@pytest.fixture
def suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    return pytester


def run(suite, monkeypatch, state: str, *extra: str):
    monkeypatch.setenv("HC_TEST_STATE", state)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "--history=hist",
                                        "--health-json=out/health.json", "--prom-textfile=out/hc.prom",
                                        "--html=out/report.html", "--self-contained-html", *extra)
    health = json.loads((suite.path / "out" / "health.json").read_text())
    return result, health, (suite.path / "out" / "hc.prom").read_text(), (suite.path / "out" / "report.html").read_text()


def test_runs_with_history_report_what_changed(suite, monkeypatch):
    _, first, prom, page = run(suite, monkeypatch, "ok")
    assert first["changes"]["previous_run"] is None
    assert 'id="hc-history"' in page and "nothing to compare" in page
    assert "glance_hc_check_failing_since_seconds{" not in prom
    assert "glance_hc_store_alert_level_ratio 0.8" in prom

    _, second, prom, page = run(suite, monkeypatch, "broken")
    changes = second["changes"]
    assert changes["previous_run"] == first["started"]
    assert ids(changes["new_failures"]) == ["test_store_usage"]
    assert ids(changes["new_skips"]) == ["test_other"]
    assert 'glance_hc_changes{change="new_failures"} 1' in prom
    since = [line for line in prom.splitlines() if line.startswith("glance_hc_check_failing_since_seconds{")]
    assert len(since) == 1 and 'check="test_checks.py::test_store_usage"' in since[0]
    assert 'data-change="new_failures"' in page and "New failures (1)" in page

    _, third, _, _ = run(suite, monkeypatch, "broken")
    assert ids(third["changes"]["persisting"]) == ["test_store_usage"]
    assert third["changes"]["persisting"][0]["since"] == second["started"]

    files = history.history_files(suite.path / "hist")
    assert len(files) == 3 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert third["forecasts"]["runs"] == 3
    assert third["forecasts"]["stores"][0]["status"] == "too little data"


def test_history_keep_bounds_the_directory(suite, monkeypatch):
    for _ in range(3):
        run(suite, monkeypatch, "ok", "--history-keep=2")
    assert len(history.history_files(suite.path / "hist")) == 2


def test_without_history_the_report_says_so_and_draws_this_run(suite, monkeypatch):
    monkeypatch.setenv("HC_TEST_STATE", "ok")
    suite.runpytest_subprocess("-p", "no:cacheprovider", "--health-json=out/health.json",
                               "--html=out/report.html", "--self-contained-html")
    health = json.loads((suite.path / "out" / "health.json").read_text())
    assert "changes" not in health and "forecasts" not in health
    page = (suite.path / "out" / "report.html").read_text()
    assert "keeps no history" in page
    assert 'data-chart="store-usage"' in page, "this run's store usage is drawn all the same"


def test_a_history_that_cannot_be_used_costs_the_run_nothing_but_says_so(suite, monkeypatch):
    (suite.path / "hist").write_text("a file where the directory should be")
    result, health, prom, page = run(suite, monkeypatch, "ok")
    assert result.ret == 0
    assert "NotADirectoryError" in health["history_error"] and "could not be read" in page
    assert "could not be kept in the history" in result.stdout.str()
    assert "glance_hc_store_alert_level_ratio" in prom


def test_ini_history_dir_is_relative_to_the_ini_file(suite, monkeypatch):
    suite.makeini(INI + "history_dir = kept\nhistory_keep = 5\n")
    monkeypatch.setenv("HC_TEST_STATE", "ok")
    sub = suite.path / "elsewhere"
    sub.mkdir()
    monkeypatch.chdir(sub)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", f"--rootdir={suite.path}",
                                        f"-c={suite.path / 'tox.ini'}", str(suite.path / "test_checks.py"),
                                        "--health-json=")
    assert result.ret == 0, result.stdout.str()
    assert len(history.history_files(suite.path / "kept")) == 1



def test_a_check_moved_by_the_one_module_per_cause_release_keeps_its_failing_since():
    old = {"started": "2026-12-01T02:00:00Z", "checks": [
        {"nodeid": "checks/test_store_capacity.py::test_file_store_has_room_for_largest_image[c1-fast]",
         "outcome": "failed"}],
        "changes": {"failing_since": {
            "checks/test_store_capacity.py::test_file_store_has_room_for_largest_image[c1-fast]": "2026-11-30T02:00:00Z"}}}
    new = {"started": "2026-12-02T02:00:00Z", "checks": [
        {"nodeid": "checks/test_store_full.py::test_file_store_has_room_for_largest_image[c1-fast]",
         "outcome": "failed"}]}
    changes = history.compare(old, new)
    assert [e["since"] for e in changes["persisting"]] == ["2026-11-30T02:00:00Z"]
    assert changes["new_failures"] == [] and changes["no_longer_run"] == []
    assert history.current_id("checks/test_api_health.py::test_project_quota_has_headroom[image_size_total]") == \
        "checks/test_quota.py::test_project_quota_has_headroom[image_size_total]"
