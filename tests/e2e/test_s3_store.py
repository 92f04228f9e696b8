"""The s3 store's checks and canary against the lab's radosgw (lab/faults.py S3_FAULTS): healthy, the
s3 checks and the canary of store s3 pass; each real fault fails the check that owns its claim, with
evidence, and the canary's 500 is classified under the same cause from the s3 driver's log line;
after the reverts all passes again. Only the s3 cases run (`-k s3`): ~8 s a run, not the whole suite.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CANARY = "test_canary_upload_roundtrip"
KEYS = "test_s3_store_keys_are_accepted"
BUCKET = "test_s3_store_bucket_exists"
ACCESS = "test_s3_store_keys_may_use_the_bucket"
QUOTA = "test_s3_bucket_quota_has_room_for_largest_image"
MEMORY = "test_s3_single_part_upload_fits_worker_memory"

# fault -> (root cause, the host check that must fail on every controller, words its message must say,
#           words the canary's classified failure must say)
FAULTS = {
    "s3-bucket-missing": ("store_config", BUCKET, "bucket glance does not exist", "s3 store's bucket does not exist"),
    "s3-wrong-secret": ("store_config", KEYS, "SignatureDoesNotMatch", "S3 server answered 403"),
    "s3-bucket-quota": ("store_full", QUOTA, "before a quota refuses", "quota is reached"),
}


def _name(check: dict) -> str:
    return check["nodeid"].split("::")[-1].split("[")[0]


def _case(check: dict) -> str:
    return check["nodeid"].split("[")[-1].rstrip("]")


@pytest.fixture(scope="module", autouse=True)
def s3_lab():
    if not lab.labctl.profile().get("s3"):
        pytest.skip("the lab runs without its s3 store (HC_LAB_S3=0 or HC_LAB_CEPH=0)")


def _run(tmp_path, label: str) -> lab.SuiteRun:
    return lab.run_suite(tmp_path / label, "-k", "s3", "-p", "no:randomly")


def _assert_healthy(run: lab.SuiteRun) -> None:
    outcomes = {(_name(c), _case(c)): c["outcome"] for c in run.health["checks"]}
    nodes = lab.controllers()
    expected = {(CANARY, "store-s3")} | {(name, f"{node}-s3") for name in (KEYS, BUCKET, ACCESS, QUOTA, MEMORY)
                                          for node in nodes}
    assert set(outcomes) == expected, run.stdout[-3000:]
    assert set(outcomes.values()) == {"passed"}, {k: v for k, v in outcomes.items() if v != "passed"}


def test_healthy_s3_store_passes(tmp_path):
    _assert_healthy(_run(tmp_path, "healthy"))


@pytest.mark.parametrize("fault", FAULTS)
def test_s3_fault_is_blamed_on_its_cause(fault, tmp_path):
    cause, check, words, canary_words = FAULTS[fault]
    lab.fault("inject", fault)
    try:
        run = _run(tmp_path, fault)
    finally:
        lab.fault("revert", fault)
    failed = run.checks("failed") + run.checks("error")
    assert run.failing_root_causes == {cause}, [(c["nodeid"], c["root_cause"], c["message"][:200]) for c in failed]
    host_failures = {_case(c): c for c in failed if _name(c) == check}
    assert set(host_failures) == {f"{node}-s3" for node in lab.controllers()}, [c["nodeid"] for c in failed]
    for c in host_failures.values():
        assert words in c["message"], c["message"]
        assert c["evidence"], c["nodeid"]
        assert c["remediation"], c["nodeid"]
    canary = next((c for c in failed if _name(c) == CANARY and _case(c) == "store-s3"), None)
    assert canary is not None, [c["nodeid"] for c in failed]
    assert canary["root_cause"] == cause, canary["message"]
    assert canary_words in canary["message"], canary["message"]
    # only the s3 claims fail: the memory check, and the other stores' canaries, are not this fault's
    assert {_name(c) for c in failed} <= {check, CANARY}, [c["nodeid"] for c in failed]


def test_s3_store_is_healthy_after_the_reverts(tmp_path):
    _assert_healthy(_run(tmp_path, "reverted"))
