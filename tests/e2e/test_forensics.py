"""`--image` names the root cause of a user's upload that really failed in the lab.

A user's upload (not a canary: Glance makes its request id) is made to fail by a lab fault, then
`pytest checks/test_forensics.py --image <id>` runs against the lab; the fault is always reverted.
The image the `worker-killed` fault leaves in `saving` (its own user-style upload) is explained as
a worker crash, and so is the one `import-cut-by-restart` leaves in `importing` (a glance-direct
import whose glance-api restarted under it): one test for both, each verdict naming the uWSGI line
that cut the image and its timeline holding the restart's own lines, each with its role.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests

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


def _user_upload(conn, image_id: str, size: int = 2 << 20, store: str | None = None) -> int:
    """PUT the image's data as a user's client does: no request id of the suite's."""
    headers = {"Content-Type": "application/octet-stream", **({"X-Image-Meta-Store": store} if store else {})}
    headers["X-Auth-Token"] = conn.auth_token  # one request, as a user's client sends it: no retries
    return requests.put(f"{DIRECT}/v2/images/{image_id}/file", data=b"\0" * size, headers=headers,
                        timeout=60).status_code


def _explain(tmp_path, image_id: str, also: str = "", *extra: str) -> tuple[dict, list[dict]]:
    run = lab.run_suite(tmp_path, "-k", "test_image_upload_is_explained" + (f" or {also}" if also else ""),
                        "-p", "no:randomly", *extra, args=[*lab.LAB_ARGS, f"--image={image_id}"])
    cases = [c for c in run.health["checks"] if "test_image_upload_is_explained" in c["nodeid"]]
    assert len(cases) == 1, run.stdout[-3000:]
    return cases[0], run.health["checks"]


def _body(case: dict, title: str) -> str:
    return "\n".join(e["body"] for e in case["evidence"] if e["title"] == title)


@pytest.mark.parametrize("fault,root_cause,answer,store", [
    ("store-full", "store_full", 413, None),
    ("project-quota", "quota", 413, None),
    # the default store's dir taken from the worker user under a running glance-api
    ("store-permissions", "store_permissions", 503, None),
    # the cheap store's datadir a path glance cannot create: the store is disabled for adds
    ("store-dir-unusable", "store_config", 410, "cheap"),
])
def test_a_failed_user_upload_is_explained_by_its_cause(fault, root_cause, answer, store, conn, user_image,
                                                        tmp_path):
    lab.fault("inject", fault)
    try:
        assert _user_upload(conn, user_image, store=store) == answer
        case, _ = _explain(tmp_path, user_image)
    finally:
        lab.fault("revert", fault)
    assert case["outcome"] == "failed" and case["root_cause"] == root_cause, case
    verdict = _body(case, "verdict")
    assert verdict.startswith(f"image {user_image} queued; its data upload was answered HTTP {answer}"), verdict
    assert "controller1" in verdict, verdict  # the timeline names the host of the request


def test_a_user_upload_the_client_cut_is_an_interrupted_upload(conn, user_image, tmp_path):
    """The user's client hangs up half way (no lab fault: the cut is the client's own): Glance puts
    the image back to queued, and only its log says why."""
    said = lab.FAULTS_MODULE.raw_upload(user_image, conn.auth_token, 8 << 20, 2 << 20, "disconnect")
    assert said == "closed"
    record = canary.image_record(conn, user_image, timeout=30)
    for _ in range(20):  # the worker notices the cut at its next read
        if record.get("status") == "queued":
            break
        time.sleep(0.5)
        record = canary.image_record(conn, user_image, timeout=30)
    case, _ = _explain(tmp_path, user_image)
    assert case["outcome"] == "failed" and case["root_cause"] == "interrupted_upload", case
    verdict = _body(case, "verdict")
    assert verdict.startswith(f"image {user_image} queued"), verdict
    assert "controller1" in verdict, verdict


def test_an_active_image_whose_stored_data_was_corrupted_is_a_checksum_mismatch(conn, tmp_path):
    """Glance serves corrupt data without a word: only the download --image makes finds it."""
    lab.fault("inject", "corrupt-image")
    try:
        golden = [i for i in conn.image.images() if i.name == "hc-lab-golden" and i.status == "active"]
        assert golden, "the corrupt-image fault left no active hc-lab-golden image"
        case, _ = _explain(tmp_path, golden[-1].id)
    finally:
        lab.fault("revert", "corrupt-image")
    assert case["outcome"] == "failed" and case["root_cause"] == "checksum_mismatch", case
    verdict = _body(case, "verdict")
    assert verdict.startswith(f"image {golden[-1].id} active, but its stored data md5 "), verdict
    assert "differs from os_hash_value" in verdict, verdict
    assert "hashed as it streamed" in _body(case, "stored data"), case["evidence"]


@pytest.mark.parametrize("fault, prefix, status, cut_by, timeline", [
    # every worker SIGKILLed while a user's upload stalls: uWSGI says so and respawns them
    ("worker-killed", "hc-lab-stuck-saving", "saving", "died, killed by signal 9",
     ("[consequence]: Respawned uWSGI worker",)),
    # controller1's glance-api stopped (SIGTERM) and started again while a glance-direct import ran
    ("import-cut-by-restart", "hc-lab-stuck-importing", "importing", "SIGINT/SIGTERM received",
     ("POST /v2/images/{id}/import", "[consequence]: worker ", "[start-up warning]: *** Starting uWSGI")),
], ids=["killed-worker", "import-cut-by-restart"])
def test_an_image_left_half_way_is_a_worker_crash_and_names_what_cut_it(fault, prefix, status, cut_by, timeline,
                                                                        conn, tmp_path):
    if fault == "import-cut-by-restart" and not lab.labctl.profile().get("swift"):
        pytest.skip("the import goes to the lab's swift store: HC_LAB_SWIFT=1 make lab-up")
    lab.fault("inject", fault)
    try:
        stuck = [i for i in conn.image.images() if (i.name or "").startswith(prefix) and i.status == status]
        assert stuck, f"the {fault} fault left no image in {status}"
        image_id = stuck[-1].id
        # the same run's stuck sweep (stale after 1 s here) explains the image the same way
        case, checks = _explain(tmp_path, image_id, "stuck_in_transient", "--stale-age=1s")
    finally:
        lab.fault("revert", fault)
    assert case["outcome"] == "failed" and case["root_cause"] == "worker_crash", case
    verdict = _body(case, "verdict")
    head, _, cut = verdict.partition("; what cut it: ")
    assert head.startswith(f"image {image_id} left in {status}: worker_crash"), verdict
    # the line that cut it is glance-api's own, on controller1, after the image's last change
    assert " controller1 log /var/log/glance/glance-api-uwsgi.log [cause]: " in cut and cut_by in cut, verdict
    assert "after the image's last change at" in cut.splitlines()[0], verdict
    for line in timeline:
        assert line.format(id=image_id) in verdict, (line, verdict)
    if fault == "import-cut-by-restart":  # the record says where the import went; its task never ended
        assert "os_glance_importing_to_stores: swift" in _body(case, "image record"), case["evidence"]
        assert "api_image_import processing" in _body(case, "tasks"), case["evidence"]
    sweep = [c for c in checks if c["nodeid"].endswith(f"test_no_images_stuck_in_transient_status[{status}]")]
    assert sweep and sweep[0]["outcome"] == "failed", [c["nodeid"] for c in checks]
    explained = _body(sweep[0], f"{image_id}: verdict")
    assert explained.startswith(f"image {image_id} left in {status}: worker_crash") and cut_by in explained, explained
