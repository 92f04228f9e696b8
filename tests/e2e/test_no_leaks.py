"""A canary interrupted by Ctrl-C or SIGTERM still deletes its image and leaves no data in the stores."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import openstack
import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def conn():
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(lab.STATE / "clouds.yaml")
    return openstack.connect(cloud="hc-lab")


def canaries(conn) -> list:
    return [i for i in conn.image.images() if (i.name or "").startswith("hc-canary-")]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never saw {what} within {timeout}s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("moment", ["image-created", "mid-stream"])
def test_interrupted_canary_leaves_nothing_behind(conn, tmp_path, sig, moment):
    files_before = lab.store_files()
    assert canaries(conn) == []
    cmd = [sys.executable, "-m", "pytest", str(lab.ROOT / "checks" / "test_canary.py"), *lab.LAB_ARGS,
           "--canary-size=768MiB", "-k", "store-fast", "-p", "no:cacheprovider", "-q",
           f"--health-json={tmp_path}/health.json", f"--html={tmp_path}/h.html", f"--junitxml={tmp_path}/j.xml"]
    proc = subprocess.Popen(cmd, cwd=lab.ROOT, env=lab.lab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        if moment == "image-created":
            wait_until(lambda: canaries(conn), 60, "the canary image")
        else:
            wait_until(lambda: [i for i in canaries(conn) if i.status == "saving"], 60, "the canary saving")
            time.sleep(1.0)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
    wait_until(lambda: not canaries(conn), 30, "the canary image deleted")
    assert lab.store_files() == files_before, "canary data left in a store"
