"""The staging store checks against the lab's real faults (lab/faults.py STAGING_FAULTS and
STAGING_NODE_FAULTS): each fault is injected, the suite runs only the two staging checks, the
failure must name its root cause and its hosts, and after the revert the same checks pass.
Not in the fault matrices: these runs take ~30 s together, not 30 s a fault for the whole suite.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CHECKS = ("test_staging_holds_no_leftover_files or "
          "test_staging_is_shared_or_each_node_has_its_own_self_reference_url")
LEFTOVER = "test_staging_holds_no_leftover_files"
SHARED = "test_staging_is_shared_or_each_node_has_its_own_self_reference_url"


def _failed(run: lab.SuiteRun) -> list[dict]:
    return run.checks("failed") + run.checks("error")


def _name(check: dict) -> str:
    return check["nodeid"].split("::")[-1].split("[")[0]


def _run(tmp_path, label: str) -> lab.SuiteRun:
    run = lab.run_suite(tmp_path / label, "-k", CHECKS, "-p", "no:randomly")
    ran = {_name(c) for c in run.health["checks"]}
    assert ran == {LEFTOVER, SHARED}, run.stdout[-3000:]
    assert not run.checks("skipped"), [(c["nodeid"], c["message"]) for c in run.checks("skipped")]
    return run


@pytest.fixture
def two_controllers():
    if len(lab.controllers()) < 2:
        pytest.skip("needs the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up")


def test_staging_leftovers_fail_on_the_nodes_that_see_them(two_controllers, tmp_path):
    lab.fault("inject", "staging-leftover")
    try:
        run = _run(tmp_path, "faulty")
    finally:
        lab.fault("revert", "staging-leftover")
    failed = _failed(run)
    # the lab's controllers share one staging dir: both see the leftovers
    assert {(_name(c), c["target"], c["root_cause"]) for c in failed} == {
        (LEFTOVER, node, "store_full") for node in lab.controllers()[:2]}, [c["message"] for c in failed]
    message = next(c["message"] for c in failed if c["target"] == "controller1")
    assert "2 leftover entries older than --stale-age" in message, message
    assert "does not exist (deleted)" in message and "import-debug-notes.txt (no image's file" in message, message
    assert "the same directory as controller2's" in message, message
    after = _run(tmp_path, "reverted")
    assert not _failed(after), [c["message"] for c in _failed(after)]


def test_unshared_staging_without_own_urls_fails_across_nodes(two_controllers, tmp_path):
    lab.fault("inject", "staging-not-shared-no-self-ref")
    try:
        run = _run(tmp_path, "faulty")
    finally:
        lab.fault("revert", "staging-not-shared-no-self-ref")
    failed = _failed(run)
    assert [(_name(c), c["target"], c["root_cause"]) for c in failed] == [(SHARED, "all hosts", "store_config")], \
        [c["message"] for c in failed]
    message = failed[0]["message"]
    assert "not shared (one kernel, another st_dev: two filesystems)" in message, message
    for node in ("controller1", "controller2"):
        assert f"{node}: worker_self_reference_url = http://127.0.0.10:9292 is the public endpoint" in message, message
    after = _run(tmp_path, "reverted")
    assert not _failed(after), [c["message"] for c in _failed(after)]
