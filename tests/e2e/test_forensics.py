"""`--image` names the root cause of a user's upload that really failed in the lab.

A user's upload (not a canary: Glance makes its request id) is made to fail by a lab fault, then
`pytest checks/test_forensics.py --image <id>` runs against the lab; the fault is always reverted.
The image the `worker-killed` fault leaves in `saving` (its own user-style upload) is explained as
a worker crash, and so is the one `import-cut-by-restart` leaves in `importing` (a glance-direct
import whose glance-api restarted under it). A healthy image passes with its record as evidence.
"""
from __future__ import annotations

import uuid

import pytest

from glance_hc import canary
from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

DIRECT = lab.FAULTS_MODULE.GLANCE_DIRECT  # controller1's own glance-api: the node the fault breaks


@pytest.fixture
def conn():
    return lab.connect()


@pytest.fixture
def user_image(conn):
    """A user's image, created empty; deleted whatever happens."""
    image = conn.image.create_image(name=f"hc-forensics-{uuid.uuid4().hex[:8]}", disk_format="raw",
                                    container_format="bare", allow_duplicates=True, wait=False, timeout=60)
    yield image.id
    canary.delete_and_confirm(conn, image.id, timeout=30)


def _user_upload(conn, image_id: str, size: int = 2 << 20) -> int:
    """PUT the image's data as a user's client does: no request id of the suite's."""
    answer = conn.image.put(f"{DIRECT}/v2/images/{image_id}/file", data=b"\0" * size, raise_exc=False,
                            headers={"Content-Type": "application/octet-stream"})
    return answer.status_code


def _explain(tmp_path, image_id: str, also: str = "", *extra: str) -> tuple[dict, list[dict]]:
    run = lab.run_suite(tmp_path, "-k", "test_image_upload_is_explained" + (f" or {also}" if also else ""),
                        "-p", "no:randomly", *extra, args=[*lab.LAB_ARGS, f"--image={image_id}"])
    cases = [c for c in run.health["checks"] if "test_image_upload_is_explained" in c["nodeid"]]
    assert len(cases) == 1, run.stdout[-3000:]
    return cases[0], run.health["checks"]


def _body(case: dict, title: str) -> str:
    return "\n".join(e["body"] for e in case["evidence"] if e["title"] == title)


@pytest.mark.parametrize("fault,root_cause,answer", [("store-full", "store_full", 413),
                                                     ("project-quota", "quota", 413)])
def test_a_failed_user_upload_is_explained_by_its_cause(fault, root_cause, answer, conn, user_image, tmp_path):
    lab.fault("inject", fault)
    try:
        assert _user_upload(conn, user_image) == answer
        case, _ = _explain(tmp_path, user_image)
    finally:
        lab.fault("revert", fault)
    assert case["outcome"] == "failed" and case["root_cause"] == root_cause, case
    verdict = _body(case, "verdict")
    assert verdict.startswith(f"image {user_image} queued; its data upload was answered HTTP {answer}"), verdict
    assert "controller1" in verdict, verdict  # the timeline names the host of the request


def test_an_image_left_in_saving_by_a_killed_worker_is_a_worker_crash(conn, tmp_path):
    lab.fault("inject", "worker-killed")
    try:
        stuck = [i for i in conn.image.images() if (i.name or "").startswith("hc-lab-stuck-saving")
                 and i.status == "saving"]
        assert stuck, "the worker-killed fault left no image in saving"
        image_id = stuck[-1].id
        # the same run's stuck sweep (stale after 1 s here) explains the image the same way
        case, checks = _explain(tmp_path, image_id, "stuck_in_transient", "--stale-age=1s")
    finally:
        lab.fault("revert", "worker-killed")
    assert case["outcome"] == "failed" and case["root_cause"] == "worker_crash", case
    verdict = _body(case, "verdict")
    assert "left in saving" in verdict and "killed by signal 9" in verdict, verdict
    sweep = [c for c in checks if c["nodeid"].endswith("test_no_images_stuck_in_transient_status[saving]")]
    assert sweep and sweep[0]["outcome"] == "failed", [c["nodeid"] for c in checks]
    explained = _body(sweep[0], f"{image_id}: verdict")
    assert explained.startswith(f"image {image_id} left in saving: worker_crash"), explained


def test_an_image_left_in_importing_by_a_restart_is_a_worker_crash(conn, tmp_path):
    if not lab.labctl.profile().get("swift"):
        pytest.skip("the import goes to the lab's swift store: HC_LAB_SWIFT=1 make lab-up")
    lab.fault("inject", "import-cut-by-restart")
    try:
        stuck = [i for i in conn.image.images() if (i.name or "").startswith("hc-lab-stuck-importing")
                 and i.status == "importing"]
        assert stuck, "the import-cut-by-restart case left no image in importing"
        image_id = stuck[-1].id
        case, checks = _explain(tmp_path, image_id, "stuck_in_transient", "--stale-age=1s")
    finally:
        lab.fault("revert", "import-cut-by-restart")
    assert case["outcome"] == "failed" and case["root_cause"] == "worker_crash", case
    verdict = _body(case, "verdict")
    assert verdict.startswith(f"image {image_id} left in importing: worker_crash"), verdict
    assert f"POST /v2/images/{image_id}/import" in verdict, verdict  # the timeline holds the import request
    # the record says where the import was going and which task holds it; the task never ended
    record = _body(case, "image record")
    assert "os_glance_importing_to_stores: swift" in record, record
    assert "api_image_import processing" in _body(case, "tasks"), case["evidence"]
    sweep = [c for c in checks if c["nodeid"].endswith("test_no_images_stuck_in_transient_status[importing]")]
    assert sweep and sweep[0]["outcome"] == "failed", [c["nodeid"] for c in checks]
    explained = _body(sweep[0], f"{image_id}: verdict")
    assert explained.startswith(f"image {image_id} left in importing: worker_crash"), explained
