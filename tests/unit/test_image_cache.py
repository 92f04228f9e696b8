"""The image cache checks on the probe's real answers from the lab (tests/tools/capture_cache.py:
healthy with the cache off, under the lab fault cache-over-size, and the same with a cron.d entry
running glance-cache-pruner; tests/data/cache/README.md)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from glance_hc import facts, image_cache
from glance_hc.hosts import parse_host
from glance_hc.probe import host_probe

DATA = Path(__file__).parent.parent / "data" / "cache"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = "/var/lib/glance/image-cache"
CACHED = ("a577dd4c-5d21-4eb2-93c1-654a6abed55e", "37250af2-1cb9-4524-9773-66300c0c83d6")


def host(label: str, node: str = "controller1") -> facts.HostFacts:
    found = facts.HostFacts(spec=parse_host(f"ssh://{node}"))
    facts.discover(found, facts.load_capture((DATA / label / f"{node}-discover.json").read_text()))
    facts.gather_stores_and_logs(found, facts.load_capture((DATA / label / f"{node}-stores.json").read_text()))
    return found


# ---------------------------------------------------------------- config, request and parse
def test_the_cache_options_are_read_only_where_the_flavor_turns_the_cache_on():
    off, on = host("healthy").config, host("cache-over-size").config
    assert (off.caching_enabled, off.image_cache, off.image_cache_max_size) == (False, None, 10 * 1024 ** 3)
    assert (on.caching_enabled, on.paste_flavor, on.image_cache.path) == (True, "keystone+cachemanagement", CACHE)
    assert (on.image_cache_max_size, on.image_cache_stall_time, on.image_cache_driver) == (1 << 20, 86400,
                                                                                           "centralized_db")


def test_the_probe_lists_the_cache_dir_and_reads_the_schedules_only_where_the_cache_is_on():
    off, on = facts.stores_request(host("healthy"), 60), facts.stores_request(host("cache-over-size"), 60)
    assert CACHE not in off["list_dirs"] and not off["pruner_schedule"]
    assert CACHE in on["list_dirs"] and CACHE in on["dirs"] and on["pruner_schedule"]
    assert host("healthy").pruner_schedule is None


def test_the_cache_listing_counts_what_the_pruner_counts():
    used = image_cache.usage(host("cache-over-size").dirs[CACHE].listing)
    assert (used.size, used.count, used.exact, used.other_size) == (1572864, 2, True, 0)
    assert {name for name, _, _ in used.largest} == set(CACHED)


def test_a_cron_entry_for_the_pruner_is_found_and_the_apt_timers_are_not():
    none = host("cache-over-size").pruner_schedule
    assert not none.found and none.looked and "/etc/crontab" not in none.unreadable
    assert "/etc/cron.d" in none.where_looked() and "/lib/systemd/system" in none.where_looked()
    cron = host("cache-over-size-cron-pruner").pruner_schedule
    assert cron.found and cron.cron_lines == [("/etc/cron.d/glance-cache-pruner",
                                               "*/30 * * * * glance /opt/glance-hc-lab/venv/bin/glance-cache-pruner")]


def test_the_schedule_reader_finds_a_timer_whose_service_runs_the_pruner(tmp_path, monkeypatch):
    units = tmp_path / "system"
    (units / "timers.target.wants").mkdir(parents=True)
    (units / "glance-prune.service").write_text("[Service]\nExecStart=/usr/bin/glance-cache-pruner\n")
    (units / "glance-prune.timer").write_text("[Timer]\nOnCalendar=hourly\n")
    (units / "other.timer").write_text("[Timer]\nUnit=apt.service\n")
    (units / "timers.target.wants" / "glance-prune.timer").symlink_to(units / "glance-prune.timer")
    monkeypatch.setattr(host_probe, "UNIT_DIRS", (str(units),))
    monkeypatch.setattr(host_probe, "CRON_FILES", ())
    monkeypatch.setattr(host_probe, "CRON_DIRS", ())
    monkeypatch.setattr(host_probe, "CRONTAB_DIRS", ())
    got = image_cache.parse_schedule(json.loads(json.dumps(host_probe.pruner_schedule())))
    assert got.timer_lines == [(str(units / "glance-prune.timer"), "ExecStart=/usr/bin/glance-cache-pruner", True)]


def test_garbage_schedules_are_dropped_not_raised():
    got = image_cache.parse_schedule({"looked": ["/etc/crontab", 3], "lines": [["a", "glance-cache-pruner"], ["b"], 7],
                                      "timers": "x", "unreadable": []})
    assert got.looked == ("/etc/crontab",) and got.lines == (("a", "glance-cache-pruner"),) and not got.timers
    assert image_cache.parse_schedule({"error": "boom"}).error == "boom" and image_cache.parse_schedule(3) is None


# ---------------------------------------------------------------- the checks (pytester, captured facts)
CONFTEST = """
from glance_hc import facts
from tests.unit import test_image_cache as here

pytest_plugins = ["glance_hc.plugin"]


def _gather(spec, testinfra_host, window, timeout=60):
    return here.host(here.LABEL["now"], spec.name)


facts.gather = _gather
"""
LABEL = {"now": "healthy"}


def run_cache_checks(pytester, label: str, *args: str) -> tuple[dict, object]:
    LABEL["now"] = label
    pytester.syspathinsert(REPO_ROOT)
    pytester.makeini((REPO_ROOT / "pytest.ini").read_text().replace(
        "addopts = ", "addopts = -p no:randomly ").replace("--html=reports/health.html", "")
        .replace("--self-contained-html", "").replace("--junitxml=reports/junit.xml", ""))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_store_full=(REPO_ROOT / "checks" / "test_store_full.py").read_text())
    result = pytester.runpytest_inprocess("--health-json=out/health.json", "--host=ssh://controller1",
                                          "-m", "host", "-k", "image_cache", *args)
    return json.loads((pytester.path / "out" / "health.json").read_text()), result


def _outcomes(health: dict) -> dict[str, dict]:
    return {c["nodeid"].split("::")[-1].split("[")[0]: c for c in health["checks"]}


def test_an_over_size_cache_without_a_pruner_fails_both_checks_naming_it(pytester):
    health, _ = run_cache_checks(pytester, "cache-over-size")
    checks = _outcomes(health)
    assert set(checks) == {"test_image_cache_is_within_its_max_size", "test_image_cache_is_pruned"}, checks
    size, pruned = checks["test_image_cache_is_within_its_max_size"], checks["test_image_cache_is_pruned"]
    for c in (size, pruned):
        assert (c["outcome"], c["root_cause"], c["target"]) == ("failed", "store_full", "controller1"), c
    assert "holds 1.5 MiB in 2 images, over image_cache_max_size 1 MiB by 512 KiB" in size["message"], size["message"]
    assert CACHED[0] in size["message"] and "glance-cache-pruner" in size["message"]
    assert "no glance-cache-pruner was found in cron or systemd timers on controller1" in pruned["message"]
    assert "files read under" in pruned["message"] and "/etc/cron.d" in pruned["message"], pruned["message"]


def test_a_scheduled_pruner_passes_the_pruned_check_while_the_size_still_fails(pytester):
    health, _ = run_cache_checks(pytester, "cache-over-size-cron-pruner")
    checks = _outcomes(health)
    assert checks["test_image_cache_is_pruned"]["outcome"] == "passed", checks["test_image_cache_is_pruned"]
    assert checks["test_image_cache_is_within_its_max_size"]["outcome"] == "failed"


def test_a_cache_within_its_max_passes_both(monkeypatch, pytester):
    real = host

    def roomy(label, node="controller1"):
        found = real(label, node)
        found.config = dataclasses.replace(found.config, image_cache_max_size=2 << 20)
        return found
    monkeypatch.setattr("tests.unit.test_image_cache.host", roomy)
    health, _ = run_cache_checks(pytester, "cache-over-size")
    assert {n: c["outcome"] for n, c in _outcomes(health).items()} == {
        "test_image_cache_is_within_its_max_size": "passed", "test_image_cache_is_pruned": "passed"}


def test_where_the_cache_is_off_the_cases_are_deselected_not_skipped(pytester):
    health, result = run_cache_checks(pytester, "healthy")
    assert not health["checks"], health["checks"]
    assert health["summary"]["skipped"] == 0 and "deselected" in result.stdout.str()
    assert sorted(health["context"]["not applicable"]) == [
        f"{name} on controller1: the image cache is off ([paste_deploy] flavor has no caching or cachemanagement, "
        "or image_cache_dir is unset)" for name in ("test_image_cache_is_pruned",
                                                    "test_image_cache_is_within_its_max_size")]
