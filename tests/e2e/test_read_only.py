"""A run without the canary changes nothing: images, store contents and the hosts' files are compared."""
from __future__ import annotations

import subprocess

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab]

WATCHED = ["/etc", "/var/lib/glance", "/usr/local"]


def host_files() -> list[str]:
    """Path, size, mode, owner and mtime of every file under the watched dirs of controller1."""
    pid = (lab.STATE / "run" / "ns.pid").read_text().strip()
    out = subprocess.run(["nsenter", "-t", pid, "-m", "--", "find", *WATCHED, "-xdev",
                          "-printf", "%p %s %m %u:%g %T@\\n"], capture_output=True, text=True, timeout=60)
    return sorted(out.stdout.splitlines())


def image_records() -> list[str]:
    code = ("import openstack; c = openstack.connect(cloud='hc-lab'); "
            "print('\\n'.join(f'{i.id} {i.status} {i.updated_at} {i.size}' for i in c.image.images()))")
    out = subprocess.run([str(lab.LAB_DIR / "venv/bin/python"), "-c", code], capture_output=True, text=True,
                         timeout=60, env=lab.lab_env(), check=True)
    return sorted(out.stdout.splitlines())


def test_run_without_canary_changes_nothing(tmp_path):
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    before = (host_files(), lab.store_files(), image_records())
    result = lab.run_suite(tmp_path, "-m", "not canary", "--deep-verify=2")
    after = (host_files(), lab.store_files(), image_records())
    assert result.health["checks"], result.stdout[-2000:]
    for name, old, new in zip(("host files", "store files", "images"), before, after, strict=True):
        changed = sorted(set(old) ^ set(new))
        assert not changed, f"{name} changed during a read-only run: {changed[:10]}"
