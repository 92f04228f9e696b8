"""When the Image API itself fails, one cause, not five.

Glance's database is made unusable for the glance user (its grants on the MariaDB database both
controllers share revoked, its connections killed: lab.mariadb.lock_out): every Image API call that
touches the database answers 500 at once, on both nodes and through HAProxy. The API checks then
fail under availability only: the image list check fails with the answer, every other API check
skips pointing at it, instead of filing the 500s under worker_crash, quota, checksum_mismatch or
store_config. Reverted afterwards (grants restored, logs rotated so later runs do not read the
incident).
"""
from __future__ import annotations

import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from lab import mariadb
from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

def list_status(base: str) -> int | str:
    try:
        with urllib.request.urlopen(f"{base}/v2/images?limit=1", timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return repr(exc)


@contextmanager
def database_unreadable():
    mariadb.lock_out("glance")
    try:
        yield
    finally:
        mariadb.let_in("glance")
        lab.FAULTS_MODULE.inner("rotate-logs")
    vip = f"http://{lab.labctl.ADDR['vip']}:9292"
    assert list_status(vip) in (401, 200), "the API did not come back after the revert"


def test_an_api_answering_500_fails_availability_only(tmp_path):
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    with database_unreadable():
        run = lab.run_suite(tmp_path, "-m", "api", "-p", "no:randomly")
    failed = run.checks("failed") + run.checks("error")
    assert run.failing_root_causes == {"availability"}, "\n".join(
        f"{c['nodeid']} [{c['root_cause']}]: {c['message'][:200]}" for c in failed)
    names = {c["nodeid"].split("::")[-1] for c in failed}
    assert "test_image_api_lists_images" in names, names
    listing = next(c for c in failed if c["nodeid"].endswith("test_image_api_lists_images"))
    assert "HTTP 500" in listing["message"], listing["message"]
    # the failure says why in glance-api's own words, read from the hosts' logs
    assert "Access denied for user" in listing["message"], listing["message"]
    pointing = {c["nodeid"].split("::")[-1].split("[")[0] for c in run.checks("skipped")
                if "test_image_api_lists_images" in (c["message"] or "")}
    assert {"test_no_images_stuck_in_transient_status", "test_project_quota_has_headroom",
            "test_active_images_can_be_verified", "test_canary_upload_roundtrip",
            "test_no_canary_images_left_from_earlier_runs"} <= pointing, pointing
    assert lab.canary_images() == [], "a skipped canary wrote nothing"
