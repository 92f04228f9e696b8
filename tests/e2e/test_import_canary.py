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


# ---------------------------------------------------------------- several stores, web-download (issue #19)
STORES = "several_stores or copy_image"
STORE_CHECKS = ("test_import_to_several_stores_keeps_the_all_stores_must_succeed_promise",
                "test_copy_image_reaches_every_other_store")


def _stores_run(tmp_path, label: str, *extra: str, k: str = STORES) -> lab.SuiteRun:
    run = lab.run_suite(tmp_path / label, "--import-canary", "-k", k, "-p", "no:randomly", *extra)
    assert run.health["checks"], run.stdout[-3000:]
    return run


def test_store_imports_land_in_every_store_and_leave_nothing(tmp_path):
    """Healthy: glance-direct to every store (both all_stores_must_succeed) and copy-image to the others."""
    run = _stores_run(tmp_path, "stores-healthy")
    ran = {c["nodeid"].split("::")[-1].split("[")[0] for c in run.health["checks"]}
    assert ran == set(STORE_CHECKS), ran
    assert len(run.checks("passed")) == 3, [(c["nodeid"], c["message"]) for c in run.health["checks"]]
    for check in run.checks("passed"):
        said = " ".join(str(e.get("body")) for e in check.get("evidence", []) if e.get("title") == "stores")
        assert "every store as promised" in said, said
    assert not lab.canary_images()


def test_a_full_store_is_named_and_blamed_by_every_store_import(tmp_path):
    lab.fault("inject", "cheap-store-full")
    try:
        run = _stores_run(tmp_path, "cheap-store-full")
    finally:
        lab.fault("revert", "cheap-store-full")
    failed = run.checks("failed") + run.checks("error")
    assert len(failed) == 3, [(c["nodeid"], c["message"]) for c in run.health["checks"]]
    assert {c["root_cause"] for c in failed} == {"store_full"}, [c["message"] for c in failed]
    assert all("[failed: store cheap]" in c["message"] for c in failed), [c["message"] for c in failed]
    assert not lab.canary_images()


def test_staging_full_fails_the_import_but_not_the_upload(tmp_path):
    lab.fault("inject", "staging-full")
    try:
        run = _stores_run(tmp_path, "staging-full", k=f"{CHECK} or (test_canary_upload_roundtrip and store-fast)")
    finally:
        lab.fault("revert", "staging-full")
    imports = [c for c in run.health["checks"] if CHECK in c["nodeid"]]
    uploads = [c for c in run.health["checks"] if "test_canary_upload_roundtrip" in c["nodeid"]]
    assert imports and uploads, [c["nodeid"] for c in run.health["checks"]]
    assert all(c["outcome"] == "failed" and c["root_cause"] == "store_full" for c in imports), \
        [(c["nodeid"], c["outcome"], c["root_cause"], c["message"]) for c in imports]
    assert all("staging" in c["message"] for c in imports), [c["message"] for c in imports]
    assert all(c["outcome"] == "passed" for c in uploads), [(c["nodeid"], c["message"]) for c in uploads]
    assert not lab.canary_images()


def test_a_web_download_url_the_filter_refuses_is_configuration(tmp_path):
    """[import_filtering_opts] allowed_schemes = https: the suite's http URL is refused (400), store_config."""
    lab.fault("inject", "web-download-refused")
    try:
        run = _stores_run(tmp_path, "web-download-refused", "--web-download-canary",
                          k="test_web_download_import_becomes_active")
    finally:
        lab.fault("revert", "web-download-refused")
    failed = run.checks("failed")
    assert len(failed) == 1 and failed[0]["root_cause"] == "store_config", \
        [(c["nodeid"], c["outcome"], c["message"]) for c in run.health["checks"]]
    said = " ".join(str(e.get("body")) for e in failed[0].get("evidence", []))
    assert "allowed_schemes = https" in said and "scheme 'http' not allowed" in said, said[-2000:]
    assert not lab.canary_images()
