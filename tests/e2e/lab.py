"""Driving the lab from the suite's own tests: faults in, suite run, verdicts out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lab import ceph
from lab import common as labctl  # the lab's addresses, profile, controllers and namespaces
from lab import faults as FAULTS_MODULE  # the fault catalogue and what it breaks

ROOT = labctl.ROOT
LAB_DIR = labctl.LAB_DIR
STATE = labctl.STATE
LABCTL = labctl.lab_command()  # `python -m lab`: run with cwd=ROOT
# How the suite reaches the lab (the same as `make demo`).
LAB_ARGS = [*(f"--host={node}" for node in labctl.controllers()), f"--ssh-config={STATE}/ssh_config",
            "--os-cloud=hc-lab",
            "--largest-image=64MiB", "--slowest-client-rate=10MiB", "--canary-size=4MiB"]
SUITE_TIMEOUT = 300

FAULTS = {**FAULTS_MODULE.FAULTS, **FAULTS_MODULE.NODE_FAULTS,
          **(FAULTS_MODULE.CEPH_FAULTS if labctl.profile().get("ceph") else {}),
          **(FAULTS_MODULE.SWIFT_FAULTS if labctl.profile().get("swift") else {})}


def controllers() -> list[str]:
    """The glance-api nodes the running lab has (controller1, and controller2 in the default lab)."""
    return labctl.controllers()


def lab_env() -> dict:
    return {**os.environ, "OS_CLIENT_CONFIG_FILE": str(STATE / "clouds.yaml"), "HC_LAB_DIR": str(LAB_DIR)}


def lab_is_up() -> bool:
    out = subprocess.run([*LABCTL, "status"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    return "glance via VIP           HTTP 200" in out.stdout


def connect():
    """An openstacksdk connection to the running lab as its admin (fails the test when it is down)."""
    import openstack  # noqa: PLC0415 - the suite's venv has it; the lab helpers above do not need it
    import pytest  # noqa: PLC0415

    if not lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(STATE / "clouds.yaml")
    return openstack.connect(cloud="hc-lab")


def fault(action: str, name: str) -> None:
    """Inject or revert a lab fault; a failure fails the test with what the lab said."""
    import pytest  # noqa: PLC0415 - the suite's venv has it; the lab helpers above do not need it

    done = subprocess.run([*LABCTL, "fault", action, name], timeout=180, env=lab_env(),
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        pytest.fail(f"`lab fault {action} {name}` exited {done.returncode}: "
                    f"{(done.stdout + done.stderr).strip()[-1500:]}")


@dataclass
class SuiteRun:
    exit_code: int
    stdout: str
    health: dict
    outdir: Path

    @property
    def failing_root_causes(self) -> set[str]:
        return {c["root_cause"] for c in self.health["checks"] if c["outcome"] in ("failed", "error")}

    def checks(self, outcome: str) -> list[dict]:
        return [c for c in self.health["checks"] if c["outcome"] == outcome]


def run_suite(outdir: Path, *extra: str, args=None, timeout: int = SUITE_TIMEOUT,
              env: dict | None = None) -> SuiteRun:
    """`pytest checks/` against the lab in a child process, reports written to outdir."""
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "checks"), *(LAB_ARGS if args is None else args),
           f"--health-json={outdir}/health.json", f"--html={outdir}/health.html",
           f"--junitxml={outdir}/junit.xml", "-q", "-p", "no:cacheprovider", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**lab_env(), **(env or {})})
    health_file = outdir / "health.json"
    health = json.loads(health_file.read_text()) if health_file.exists() else {"checks": []}
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, health, outdir)


def canary_images() -> list[str]:
    """Names of hc-canary- images in the lab cloud, through the lab venv's openstacksdk."""
    code = ("import openstack; c = openstack.connect(cloud='hc-lab'); "
            "print('\\n'.join(i.name for i in c.image.images() if (i.name or '').startswith('hc-canary-')))")
    out = subprocess.run([str(LAB_DIR / "venv/bin/python"), "-c", code], capture_output=True, text=True,
                         timeout=60, env=lab_env(), check=True)
    return [line for line in out.stdout.splitlines() if line]


def store_files() -> list[str]:
    """Every file in the lab's store directories, seen inside controller1."""
    pid = (STATE / "run" / "ns.pid").read_text().strip()
    out = subprocess.run(["nsenter", "-t", pid, "-m", "--", "find", "/var/lib/glance/images",
                          "/var/lib/glance/cheap", "/var/lib/glance/staging", "/var/lib/glance/tasks",
                          "-type", "f"], capture_output=True, text=True, timeout=30)
    files = sorted(out.stdout.split())
    if labctl.profile().get("ceph"):  # the rbd store's images, listed by the cluster's admin
        listing = subprocess.run(["rbd", "-c", str(ceph.CONF), "--id", "admin", "--keyring",
                                  str(ceph.ADMIN_KEYRING), "-p", ceph.POOL, "ls"],
                                 capture_output=True, text=True, timeout=30, check=True)
        files += [f"rbd:{ceph.POOL}/{name}" for name in listing.stdout.split()]
    if labctl.profile().get("s3"):  # the s3 store's objects, listed by the cluster's admin
        from lab import radosgw  # noqa: PLC0415 - only with the s3 store

        objects = json.loads(radosgw.admin("bucket", "list", f"--bucket={radosgw.BUCKET}"))
        files += [f"s3:{radosgw.BUCKET}/{o['name']}" for o in objects]
    return files
