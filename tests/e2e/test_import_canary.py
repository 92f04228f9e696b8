"""The glance-direct import canary against the lab (checks/test_import_canary.py): on a healthy
lab both controllers' cases pass and leave no canary behind; with the default file store full
(lab fault store-full) the import's task fails and the canary says store_full. Only this check
runs (-k), with --import-canary: ~20 s together (18.5 s measured), not a fault-matrix row.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CHECK = "test_glance_direct_import_through_another_node_becomes_active"


def _run(tmp_path, label: str) -> lab.SuiteRun:
    run = lab.run_suite(tmp_path / label, "--import-canary", "-k", CHECK, "-p", "no:randomly")
    ran = {c["nodeid"].split("::")[-1] for c in run.health["checks"]}
    assert ran and all(n.startswith(CHECK) for n in ran), run.stdout[-3000:]
    assert not run.checks("skipped"), [(c["nodeid"], c["message"]) for c in run.checks("skipped")]
    return run


def _staged() -> set[str]:
    return {f for f in lab.store_files() if f.startswith("/var/lib/glance/staging/")}


def test_import_canary_passes_through_every_node_and_leaves_nothing(tmp_path):
    staged = _staged()
    run = _run(tmp_path, "healthy")
    passed = {c["target"] for c in run.checks("passed")}
    assert passed == set(lab.controllers()), [(c["nodeid"], c["message"]) for c in run.health["checks"]]
    names = {m["name"] for c in run.checks("passed") for m in c.get("metrics", [])}
    assert {"canary_stage_seconds", "canary_import_seconds_to_active"} <= names, names
    assert not lab.canary_images()
    assert _staged() <= staged, "the import canary left a file in the staging dir"


def test_import_canary_fails_under_store_full(tmp_path):
    lab.fault("inject", "store-full")
    try:
        run = _run(tmp_path, "store-full")
    finally:
        lab.fault("revert", "store-full")
    failed = run.checks("failed") + run.checks("error")
    assert failed, run.stdout[-3000:]
    assert {c["root_cause"] for c in failed} == {"store_full"}, [c["message"] for c in failed]
    assert all("task" in c["message"] for c in failed), [c["message"] for c in failed]
    assert not lab.canary_images()
