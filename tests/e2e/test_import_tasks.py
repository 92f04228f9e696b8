"""An import cut by a glance-api restart fails the import task check as a worker crash, and only until
its image is deleted.

`import-cut-by-restart` leaves a glance-direct import's image in importing, its lock naming a task that
stays processing. The suite, restricted to the import task checks (stale after 1 s here), must fail
test_no_import_task_left_processing under worker_crash naming the task and the image; after the revert
(which deletes the image) the same task is still processing, now harmless, and the check passes.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SELECT = "test_no_import_task_left_processing or test_no_import_task_failed_within_window"


def _run(tmp_path, name: str) -> dict:
    run = lab.run_suite(tmp_path / name, "-k", SELECT, "-p", "no:randomly", "--stale-age=1s")
    cases = {c["nodeid"].split("::")[-1]: c for c in run.health["checks"]}
    assert set(cases) == {"test_no_import_task_left_processing", "test_no_import_task_failed_within_window"}, \
        run.stdout[-3000:]
    return cases


def _body(case: dict, title: str) -> str:
    return "\n".join(e["body"] if isinstance(e["body"], str) else "\n".join(e["body"])
                     for e in case["evidence"] if e["title"] == title)


def test_an_import_cut_by_a_restart_fails_as_a_worker_crash_until_its_image_is_gone(tmp_path):
    if not lab.labctl.profile().get("swift"):
        pytest.skip("the import goes to the lab's swift store: HC_LAB_SWIFT=1 make lab-up")
    conn = lab.connect()
    lab.fault("inject", "import-cut-by-restart")
    try:
        stuck = [i for i in conn.image.images() if (i.name or "").startswith("hc-lab-stuck-importing")
                 and i.status == "importing"]
        assert stuck, "the fault left no image in importing"
        image_id = stuck[-1].id
        task_id = conn.image.get(f"/images/{image_id}").json().get("os_glance_import_task")
        assert task_id, "the cut import's image holds no import lock"
        during = _run(tmp_path, "during")
    finally:
        lab.fault("revert", "import-cut-by-restart")
    case = during["test_no_import_task_left_processing"]
    assert case["outcome"] == "failed" and case["root_cause"] == "worker_crash", case
    assert task_id in case["message"] and image_id in case["message"], case["message"]
    held = _body(case, "stale processing tasks holding their image")
    assert f"task {task_id} processing" in held and "status=importing" in held, held
    assert f"os_glance_import_task='{task_id}'" in held and "os_glance_importing_to_stores='swift'" in held, held
    assert "60 minutes" in _body(case, "what to do"), case["evidence"]
    assert during["test_no_import_task_failed_within_window"]["outcome"] == "passed", during

    after = _run(tmp_path, "after")
    case = after["test_no_import_task_left_processing"]
    assert case["outcome"] == "passed", case
    harmless = _body(case, "stale processing tasks that hold nothing (harmless: image gone or no longer waiting)")
    assert f"task {task_id} processing" in harmless and "deleted (GET answered 404)" in harmless, case["evidence"]
    assert after["test_no_import_task_failed_within_window"]["outcome"] == "passed", after
