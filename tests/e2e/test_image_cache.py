"""The image cache checks against the lab's real fault (lab/faults.py CACHE_FAULTS): cache-over-size
turns the cache on on controller1 only and fills it past its 1 MiB max with no pruner; the suite runs
only the image cache checks, which must fail on controller1 alone under store_full with the cache's
evidence, the cache API must answer there; after the revert the cache is off again and the cases are
deselected (not skipped). Not in the fault matrices: ~30 s, not 30 s for the whole suite.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CHECKS = "image_cache"
SIZE = "test_image_cache_is_within_its_max_size"
PRUNED = "test_image_cache_is_pruned"
API = "test_image_cache_api_lists_the_cache"


def _name(check: dict) -> str:
    return check["nodeid"].split("::")[-1].split("[")[0]


def _failed(run: lab.SuiteRun) -> list[dict]:
    return run.checks("failed") + run.checks("error")


def test_an_over_size_cache_without_a_pruner_fails_on_controller1_only(tmp_path):
    lab.fault("inject", "cache-over-size")
    try:
        run = lab.run_suite(tmp_path / "faulty", "-k", CHECKS, "-p", "no:randomly")
    finally:
        lab.fault("revert", "cache-over-size")
    ran = {(_name(c), c["nodeid"].split("[")[-1].rstrip("]"), c["outcome"]) for c in run.health["checks"]}
    assert ran == {(SIZE, "controller1-image-cache", "failed"), (PRUNED, "controller1-image-cache", "failed"),
                   (API, "controller1-image-cache", "passed")}, run.stdout[-3000:]
    assert {c["target"] for c in _failed(run)} == {"controller1"}
    failed = _failed(run)
    assert {c["root_cause"] for c in failed} == {"store_full"}, [c["message"] for c in failed]
    size = next(c["message"] for c in failed if _name(c) == SIZE)
    assert "/var/lib/glance/image-cache on controller1 holds 1.5 MiB in 2 images, over image_cache_max_size 1 MiB" \
        in size, size
    pruned = next(c["message"] for c in failed if _name(c) == PRUNED)
    assert "no glance-cache-pruner was found in cron or systemd timers on controller1" in pruned, pruned
    if len(lab.controllers()) > 1:  # the other nodes' cache is off: their cases are deselected
        reasons = run.health["context"].get("not applicable", [])
        assert any(r.startswith(f"{SIZE} on controller2: the image cache is off") for r in reasons), reasons
    after = lab.run_suite(tmp_path / "reverted", "-k", CHECKS, "-p", "no:randomly")
    assert not after.health["checks"], [(c["nodeid"], c["outcome"]) for c in after.health["checks"]]
    reasons = after.health["context"].get("not applicable", [])
    for node in lab.controllers():
        for name in (SIZE, PRUNED, API):
            assert any(r.startswith(f"{name} on {node}: the image cache is off") for r in reasons), reasons
