"""The Kolla-style controller (lab/kolla.py): the host checks on a real glance_api container.

Two ways in, as an operator has them: --host=podman://glance_api (testinfra runs the probe in
the container; `podman inspect` runs beside it) and --host=local:// as root on the container's
host (inspect, exec and logs through podman). For each: the healthy container is green, and each
real fault (store filled, store chowned to root, a uWSGI worker SIGKILLed, the container's main
process SIGKILLed so podman restarts it) fails its own root cause and nothing else, then is
reverted and green again. `down` leaves no process, mount or volume behind.

Needs root, podman and debootstrap (`make deps`); starts the container when it is not running
(cold: a debootstrap of about a minute, cached under $HC_LAB_DIR/kolla) and stops it again at the
end only if it started it.
"""
from __future__ import annotations

import os
import shutil

import pytest

from lab import kolla
from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.kolla, pytest.mark.slow]

VIEWS = {"podman": ["--host=podman://glance_api"], "local": ["--host=local://"]}
SUITE_ARGS = ["-m", "host", "--largest-image=64MiB"]
# What the healthy container cannot show, and only that, may be skipped.
ALLOWED_SKIPS = {
    "test_upload_options_match_across_controllers",  # one host: nothing to compare
    "test_staging_is_shared_or_each_node_has_its_own_self_reference_url",  # one node: nothing to share
    "test_haproxy_sends_uploads_only_to_running_glance_nodes",  # no HAProxy in front of it
    "test_kernel_has_not_oom_killed_glance",         # podman://: the container's user cannot read dmesg
}
# The check that must fail for each fault (besides its root cause being the only one failing).
FAILING_CHECK = {
    "kolla-store-full": "test_file_store_has_room_for_largest_image",
    "kolla-store-permissions": "test_worker_user_can_write_store_directory",
    "kolla-worker-killed": "test_no_worker_killed_in_service_logs",
    "kolla-container-restart": "test_service_has_not_restarted_by_itself",
}


@pytest.fixture(scope="module", autouse=True)
def glance_api():
    if os.geteuid() != 0:
        pytest.skip("the Kolla controller needs root (rootful podman)")
    missing = [tool for tool in ("podman", "debootstrap") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: `make deps` installs them")
    started_here = not kolla.running()
    kolla.up()
    yield
    if started_here:
        kolla.down()


def check_name(nodeid: str) -> str:
    return nodeid.split("::")[-1].split("[")[0]


def failures(run: lab.SuiteRun) -> list[str]:
    return [f"{c['nodeid']}: {c['message'][:200]}" for c in run.checks("failed") + run.checks("error")]


def run_checks(outdir, view: str) -> lab.SuiteRun:
    return lab.run_suite(outdir, *SUITE_ARGS, args=VIEWS[view], timeout=180)


@pytest.mark.parametrize("view", list(VIEWS))
def test_healthy_container_is_green(view, tmp_path):
    run = run_checks(tmp_path, view)
    assert not failures(run), "\n".join(failures(run))
    assert run.exit_code == 0, run.stdout[-2000:]
    host = next(iter(run.health["context"]["hosts"].values()))
    assert host["deployment"].startswith("podman container glance_api: running, health healthy, restarts 0"), host
    skipped = {check_name(c["nodeid"]) for c in run.checks("skipped")}
    assert skipped <= ALLOWED_SKIPS, skipped - ALLOWED_SKIPS
    ran = {check_name(c["nodeid"]) for c in run.checks("passed")}
    # the checks that matter for a container ran and judged it (none silently skipped)
    assert {"test_worker_user_can_write_store_directory", "test_service_has_not_restarted_by_itself",
            "test_file_store_has_room_for_largest_image", "test_no_worker_killed_in_service_logs"} <= ran


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("name", list(kolla.FAULTS))
def test_fault_is_blamed_on_its_root_cause_only(name, view, tmp_path):
    fault = kolla.FAULTS[name]
    expected = {fault.root_cause, *fault.also}
    fault.inject()
    try:
        run = run_checks(tmp_path / "faulty", view)
    finally:
        fault.revert()
    assert run.failing_root_causes == expected, "\n".join(failures(run)) or run.stdout[-3000:]
    failed = {check_name(c["nodeid"]) for c in run.checks("failed")}
    assert FAILING_CHECK[name] in failed, failed
    assert run.exit_code == 1, "a failing check must make pytest exit 1"

    after = run_checks(tmp_path / "reverted", view)
    assert not failures(after), f"after reverting {name}: " + "\n".join(failures(after))


def test_down_leaves_nothing_and_a_warm_start_is_quick():
    kolla.down()
    assert kolla.inspect() is None
    assert kolla.leftovers() == []
    timings = kolla.up()
    assert not timings["cold_rootfs"] and not timings["built_image"]
    assert timings["total"] < 60, timings
