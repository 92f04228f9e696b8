"""--shard I/N deals the hosts round robin; the merge judges shards' health.json files again."""
from __future__ import annotations

import json

import pytest

from glance_hc.report import merge
from glance_hc.shard import Shard, ShardError, parse_shard


@pytest.mark.parametrize(("value", "expected"), [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), (" 3 / 3 ", Shard(3, 3)),
                                                 (None, None), ("", None)])
def test_shard_values_that_name_a_shard(value, expected):
    assert parse_shard(value) == expected


@pytest.mark.parametrize("value", ["0/2", "3/2", "1/0", "two/4", "1", "-1/2", "1/2/3"])
def test_shard_values_that_name_none_are_refused(value):
    with pytest.raises(ShardError, match="--shard"):
        parse_shard(value)


@pytest.mark.parametrize(("shard", "expected"), [(Shard(1, 3), ["c1", "c4"]), (Shard(2, 3), ["c2", "c5"]),
                                                 (Shard(3, 3), ["c3"]), (Shard(1, 1), ["c1", "c2", "c3", "c4", "c5"])])
def test_hosts_are_dealt_round_robin_in_the_order_given(shard, expected):
    assert shard.hosts(["c1", "c2", "c3", "c4", "c5"]) == expected


def _check(nodeid, outcome, target="api"):
    return {"nodeid": nodeid, "outcome": outcome, "root_cause": "store_full", "root_cause_title": "Store full",
            "runbook_step": "x", "scope": "api", "target": target, "store": None, "claim": nodeid,
            "message": None if outcome == "passed" else f"{outcome} here", "duration": 0.1, "evidence": [],
            "metrics": [], "remediation": []}


def _doc(tmp_path, name, checks, verdict="healthy", started="2026-12-02T04:20:00+00:00", duration=10.0,
         hosts=None):
    doc = {"verdict": verdict, "started": started, "duration": duration, "exit_status": 0,
           "context": {"hosts": hosts or {}}, "summary": {"total": len(checks)}, "checks": checks}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def test_merged_verdict_is_judged_from_every_check(tmp_path):
    one = _doc(tmp_path, "s1", [_check("a", "passed"), _check("b", "passed")], hosts={"c1": {}})
    two = _doc(tmp_path, "s2", [_check("c", "failed", "c2")], verdict="unhealthy",
               started="2026-12-02T04:20:05+00:00", duration=20.0, hosts={"c2": {}})
    run = merge.merge_files([one, two], tmp_path / "out")
    written = json.loads((tmp_path / "out" / "health.json").read_text())
    assert written["verdict"] == run.verdict == "unhealthy"
    assert written["summary"] == {"total": 3, "passed": 2, "failed": 1, "skipped": 0, "error": 0}
    assert written["duration"] == 25.0  # from the first start to the last end
    assert set(written["context"]["hosts"]) == {"c1", "c2"} and len(written["context"]["shards"]) == 2
    assert "glance_hc_verdict{verdict=\"unhealthy\"} 1" in (tmp_path / "out" / "health.prom").read_text()
    page = (tmp_path / "out" / "health.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Glance upload health: UNHEALTHY" in page


def test_a_check_in_two_shards_keeps_its_worst_outcome(tmp_path):
    one = _doc(tmp_path, "s1", [_check("a", "passed")])
    two = _doc(tmp_path, "s2", [_check("a", "skipped")])
    run = merge.merge_files([one, two], tmp_path / "out")
    [check] = run.check_dicts()
    assert check["outcome"] == "skipped" and check["merged_from"] == [str(one), str(two)]
    assert run.verdict == "degraded"


def test_a_shard_cut_short_makes_the_whole_unknown(tmp_path):
    one = _doc(tmp_path, "s1", [_check("a", "passed")])
    two = _doc(tmp_path, "s2", [_check("b", "passed")], verdict="unknown")
    assert merge.merge_files([one, two], tmp_path / "out").verdict == "unknown"


@pytest.mark.parametrize(("text", "says"), [("not json", "cannot read it as JSON"), ("[]", "not a health.json"),
                                             ('{"verdict": "healthy", "checks": [{"outcome": "odd"}]}', "nodeid"),
                                             ('{"verdict": "healthy", "checks": [], "started": "later"}', "not a time")])
def test_a_file_that_is_not_a_health_json_is_named(tmp_path, capsys, text, says):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert merge.main(["--out", str(tmp_path / "out"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and says in err and "Traceback" not in err
