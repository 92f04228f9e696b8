"""An upload that ended in `queued` without data is found by the stuck sweep.

A failed v2 upload goes back to queued (Glance's `_restore`), with no size and no checksum; the
v2 list never shows `killed`. Here an image is created and never given data, and the sweep runs
with a stale age of one second: the queued-without-data case fails and names it.
"""
from __future__ import annotations

import os
import time
import uuid

import openstack
import pytest

from glance_hc import canary
from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def queued_image():
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(lab.STATE / "clouds.yaml")
    conn = openstack.connect(cloud="hc-lab")
    answer, _ = canary.call(conn, "POST", "/images", json={
        "name": f"hc-lab-stuck-{uuid.uuid4().hex[:8]}", "disk_format": "raw", "container_format": "bare",
        "visibility": "private"}, timeout=30)
    assert answer.ok, answer.describe()
    image_id = answer.json["id"]
    try:
        time.sleep(2.0)
        yield image_id
    finally:
        assert canary.delete_and_confirm(conn, image_id, timeout=30).ok


def test_a_queued_image_without_data_older_than_the_stale_age_fails_the_sweep(queued_image, tmp_path):
    run = lab.run_suite(tmp_path, "-k", "stuck_in_transient", "--stale-age=1s", "-p", "no:randomly",
                        args=["--os-cloud=hc-lab"])
    cases = {c["nodeid"].split("[")[-1].rstrip("]"): c for c in run.health["checks"]}
    assert set(cases) == {"saving", "importing", "uploading", "queued-without-data"}, sorted(cases)
    queued = cases["queued-without-data"]
    assert queued["outcome"] == "failed" and queued["root_cause"] == "worker_crash", queued
    listed = " ".join(e["body"] for e in queued["evidence"] if e["title"].startswith("stale images"))
    assert queued_image in listed, listed
    assert "failed or was cut" in queued["message"]
