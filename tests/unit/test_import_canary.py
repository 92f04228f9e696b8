"""The glance-direct import canary's pure parts: the requests, the bounded waiter's messages, the
classification of a failed import (answers captured from the lab: tests/data/imports/README.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glance_hc import canary, canary_runs, classify
from glance_hc.canary import imports

DATA = Path(__file__).parent.parent / "data"
IMPORTS = DATA / "imports"


def load(case: str, name: str) -> dict:
    return json.loads((IMPORTS / case / f"{name}.json").read_text())


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.5)


def wait(records, tasks, deadline=10.0):
    """Run the waiter on a script of records (the last one repeats) and task lists."""
    clock, seen = Clock(), {"records": 0, "tasks": 0}

    def get(_):
        seen["records"] += 1
        return records[min(seen["records"], len(records)) - 1]

    def get_tasks(_):
        seen["tasks"] += 1
        return tasks[min(seen["tasks"], len(tasks)) - 1]

    return imports.wait_for_import(None, "img-1", deadline, interval=0.5, clock=clock, sleep=clock.sleep,
                                   get=get, get_tasks=get_tasks), seen


def test_import_body_is_glance_direct_to_the_default_store():
    assert canary.import_body() == {"method": {"name": "glance-direct"}}
    assert canary.import_body(stores=["fast"]) == {"method": {"name": "glance-direct"}, "stores": ["fast"]}


def test_stage_streams_like_the_upload_to_the_stage_path(monkeypatch):
    sent = {}

    def fake_stream(conn, endpoint, path, source, headers, timeout, hold_body=0.0):
        sent.update(path=path, headers=headers)
        for _ in source:
            pass
        return canary.Answer(method="PUT", path=path, global_request_id="req-x", status=204)

    monkeypatch.setattr("glance_hc.canary.transfer._stream_put", fake_stream)
    monkeypatch.setattr("glance_hc.canary.transfer._proxied", lambda url: False)
    conn = type("C", (), {"image": type("I", (), {"get_endpoint": staticmethod(lambda: "http://g:9292/v2")})()})()
    source = canary.PatternSource(3 << 20, seed=7)
    result = canary.stage(conn, "img-1", source, endpoint_override="http://node:9292/v2", timeout=5)
    assert sent["path"] == "/images/img-1/stage" and "X-Image-Meta-Store" not in sent["headers"]
    assert result.status == 204 and result.bytes == 3 << 20 and result.md5 == source.digest("md5")
    with pytest.raises(ValueError, match="file or stage"):
        canary.upload(conn, "img-1", source, target="import")


def test_waiter_returns_the_active_record():
    active = load("healthy", "record")
    record, seen = wait([{"status": "uploading"}, {"status": "importing"}, active],
                        [[{"id": "t", "status": "processing"}]])
    assert record is active and seen["records"] == 3


def test_failed_task_with_the_image_left_importing_fails_at_once_naming_the_task():
    """The lab's store-full: the task failed, the image stays importing with os_glance_failed_import."""
    record, tasks = load("store-full", "record"), load("store-full", "tasks")["tasks"]
    with pytest.raises(imports.ImportFailed) as info:
        wait([record], [tasks], deadline=100.0)
    message = str(info.value)
    assert "after 0.0s (its task failed)" in message and "image back to importing" in message, message
    assert f"task {tasks[0]['id']} failure: Task failed due to Internal Error" in message, message
    assert info.value.body == "Task failed due to Internal Error" and info.value.status == "importing"


def test_failed_store_waits_a_few_polls_for_its_task_to_say_why():
    record = load("store-full", "record")
    processing = [{"id": "t1", "status": "processing", "message": "Copied 0 MiB", "created_at": "1"}]
    done = [{"id": "t1", "status": "failure", "message": "Task failed due to Internal Error", "created_at": "1"}]
    with pytest.raises(imports.ImportFailed) as info:
        wait([record], [processing, processing, done])
    assert info.value.body == "Task failed due to Internal Error"
    with pytest.raises(imports.ImportFailed) as info:  # a task that never says: our words, still bounded
        wait([record], [processing])
    assert "os_glance_failed_import='fast'" in str(info.value) and "Copied 0 MiB" in str(info.value)


def test_an_import_that_never_finishes_times_out_saying_what_it_last_saw():
    task = [{"id": "t9", "status": "processing", "message": "", "created_at": "2"}]
    with pytest.raises(imports.ImportTimeout) as info:
        wait([{"status": "importing"}], [task], deadline=6.0)
    message = str(info.value)
    assert message.startswith("import of image img-1 did not become active within 6s: last status importing")
    assert "task t9 processing (no message)" in message, message
    assert info.value.last_status == "importing" and info.value.task == task[0]


def test_deleted_meanwhile_is_unexpected_not_a_timeout():
    with pytest.raises(canary.UnexpectedStatus, match="went to <gone>.*no task found"):
        wait([{"status": "importing"}, {"status": "<gone>"}], [None])


def test_latest_task_and_deadline():
    assert canary.latest_task([{"id": "a", "created_at": "2026-01-01"}, {"id": "b", "created_at": "2026-02-01"}])["id"] == "b"
    assert canary.latest_task(None) is None
    assert canary.import_deadline(300, 30) == 100 and canary.import_deadline(60, 30) == 90


def test_failed_import_from_the_lab_classifies_as_store_full_by_its_task_lines():
    case = json.loads((DATA / "api" / "import-task-store-full.json").read_text())
    tasks = load("store-full", "tasks")["tasks"]
    found = classify.classify(canary.TASK_FAILURE, tasks[0]["message"], load("store-full", "record"),
                              case["log_lines"])
    assert (found.root_cause, found.rules_matched[0]) == ("store_full", "import-task-disk-full")
    assert "Image storage media is full" in found.reason and found.remediation
    # without its lines the task's words say nothing of a cause
    bare = classify.classify(canary.TASK_FAILURE, tasks[0]["message"], load("store-full", "record"), [])
    assert bare.root_cause != "store_full"


def test_failure_carries_the_task_id_for_the_log_search():
    assert canary_runs._task_ids({"id": "t1"}) == ("t1",) and canary_runs._task_ids(None) == ()


def test_without_the_option_the_cases_are_deselected_and_the_context_says_why(tmp_path):
    """Opt-in: the default suite never runs (nor skips) the import canaries: without a cloud, the one
    glance-direct case, the two imports to every store, the copy-image and the web-download case."""
    root, out = Path(__file__).resolve().parents[2], tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "checks/test_import_canary.py", "-p", "no:cacheprovider", "-q",
         f"--health-json={out}/health.json", f"--html={out}/h.html", f"--junitxml={out}/j.xml"],
        cwd=root, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert "5 deselected" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]
    health = json.loads((out / "health.json").read_text())
    assert health["checks"] == [] and "--import-canary" in health["context"]["import canary"]
    assert "--web-download-canary" in health["context"]["web-download canary"]
