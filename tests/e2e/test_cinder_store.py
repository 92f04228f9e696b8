"""The cinder store's checks and canary against the lab's real Cinder faults (lab/faults.py
CINDER_FAULTS): the suite runs only what names cinder (its checks and the canary through the
cinder store); each fault fails on its own root cause and nothing else, and the healthy lab passes.
Needs the lab's Cinder (HC_LAB_CINDER=1 python3 -m lab up). Not in the fault matrices.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CANARY = "test_canary_upload_roundtrip"
CHECKS = {"test_cinder_store_options_are_coherent", "test_cinder_volume_type_exists_for_store_project",
          "test_cinder_project_quota_has_room_for_largest_image", "test_cinder_store_has_no_leftover_volumes",
          "test_worker_user_may_start_privsep_through_glance_rootwrap", "test_worker_user_can_read_cinder_keyring",
          CANARY}


@pytest.fixture(autouse=True)
def cinder_lab():
    if not lab.lab_is_up():
        pytest.skip("the lab is not running")
    from lab import common  # noqa: PLC0415

    if not common.profile().get("cinder"):
        pytest.skip("needs the lab's Cinder: HC_LAB_CINDER=1 python3 -m lab up")


def _name(check: dict) -> str:
    return check["nodeid"].split("::")[-1].split("[")[0]


def _run(tmp_path, label: str) -> lab.SuiteRun:
    run = lab.run_suite(tmp_path / label, "-k", "cinder", "-p", "no:randomly")
    assert {_name(c) for c in run.health["checks"]} == CHECKS, run.stdout[-3000:]
    return run


def _failed(run: lab.SuiteRun) -> list[tuple[str, str]]:
    return sorted({(_name(c), c["root_cause"]) for c in run.checks("failed") + run.checks("error")})


def test_healthy_cinder_store_passes(tmp_path):
    run = _run(tmp_path, "healthy")
    assert not _failed(run), [c["message"] for c in run.checks("failed")]
    assert not run.checks("skipped"), [(c["nodeid"], c["message"]) for c in run.checks("skipped")]


@pytest.mark.parametrize(("fault", "expected"), [
    ("cinder-volume-quota", [(CANARY, "store_full"), ("test_cinder_project_quota_has_room_for_largest_image",
                                                      "store_full")]),
    ("cinder-type-missing", [(CANARY, "store_config"), ("test_cinder_volume_type_exists_for_store_project",
                                                       "store_config")]),
    # the upload waits cinder_state_transition_timeout (10 s in the lab) for a volume nobody creates
    ("cinder-volume-stopped", [(CANARY, "store_config")]),
])
def test_cinder_fault_is_blamed_on_its_cause(tmp_path, fault, expected):
    lab.fault("inject", fault)
    try:
        run = _run(tmp_path, fault)
    finally:
        lab.fault("revert", fault)
    failed = _failed(run)
    shown = [(c["nodeid"], c["root_cause"], c["message"][:300]) for c in run.checks("failed")]
    # a failed upload may leave its volume in error (the scheduler's "no valid host"), and that
    # volume is a real leftover against the quota when the leftover check runs after the canary
    extra = {("test_cinder_store_has_no_leftover_volumes", "store_full")}
    assert set(expected) <= set(failed) <= set(expected) | extra, shown


@pytest.mark.parametrize(("fault", "check"), [
    ("cinder-sudoers-missing", "test_worker_user_may_start_privsep_through_glance_rootwrap"),
    ("cinder-keyring-missing", "test_worker_user_can_read_cinder_keyring"),
])
def test_cinder_node_fault_is_blamed_on_that_controller(tmp_path, fault, check):
    if len(lab.controllers()) < 2:
        pytest.skip("needs the two-controller lab")
    lab.fault("inject", fault)
    try:
        run = _run(tmp_path, fault)
    finally:
        lab.fault("revert", fault)
    failed = run.checks("failed") + run.checks("error")
    shown = [(c["nodeid"], c["target"], c["root_cause"], c["message"][:300]) for c in failed]
    assert {(_name(c), c["target"], c["root_cause"]) for c in failed if _name(c) != CANARY} == {
        (check, "controller2", "store_permissions")}, shown
    # the canary through the load balancer fails only when it lands on controller2, then on the same cause
    assert all(c["root_cause"] == "store_permissions" for c in failed if _name(c) == CANARY), shown
