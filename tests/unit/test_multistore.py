"""Imports to several stores judged on what the lab answered (tests/data/imports/multistore-*: every
record polled from the import call on, captured by tests/tools/capture_multistore.py, healthy and with
lab fault cheap-store-full)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from glance_hc.canary import multistore

DATA = Path(__file__).parent.parent / "data" / "imports"
KINDS = ("must-succeed-true", "must-succeed-false", "copy-image")


def load(lab: str, kind: str) -> dict:
    return json.loads((DATA / lab / kind / "polls.json").read_text())


def replay(case: dict, deadline: float = 30.0):
    """wait_for_stores over the captured polls, on a fake clock (each poll at its captured time)."""
    polls, at = case["polls"], {"i": 0}

    def get(_):
        return polls[min(at["i"], len(polls) - 1)]["record"]

    def tasks(_):
        task = polls[min(at["i"], len(polls) - 1)]["task"]
        return [task] if task else []

    def clock():
        return polls[min(at["i"], len(polls) - 1)]["t"]

    def sleep(_):
        at["i"] += 1

    return multistore.wait_for_stores(None, "id", case["wanted"], case["must_succeed"], deadline, get=get,
                                      get_tasks=tasks, clock=clock, sleep=sleep), at["i"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_healthy_import_lands_in_every_store(kind):
    out, _ = replay(load("multistore-healthy", kind))
    assert out.ok, out.describe()
    assert out.landed == out.wanted and not out.failed


@pytest.mark.parametrize("kind", KINDS)
def test_a_full_store_is_named_whatever_all_stores_must_succeed_says(kind):
    out, _ = replay(load("multistore-cheap-full", kind))
    assert not out.ok
    assert out.blamed == ["cheap"], out.describe()
    assert "cheap failed" in out.describe()


def test_must_succeed_true_fails_the_task_and_keeps_the_image_out_of_active():
    out, _ = replay(load("multistore-cheap-full", "must-succeed-true"))
    assert out.status != "active" and out.task["status"] == "failure"
    # the stores Glance did not get to are not blamed: the note says what it did as it promised
    assert out.problems == ["store(s) cheap failed (os_glance_failed_import='cheap')"], out.problems
    assert any("left untried" in n for n in out.notes)


def test_must_succeed_false_leaves_the_image_active_on_the_stores_that_worked():
    out, _ = replay(load("multistore-cheap-full", "must-succeed-false"))
    assert out.status == "active"
    assert set(out.landed) == set(out.wanted) - {"cheap"}
    assert any("active on" in n for n in out.notes)


def test_an_image_active_although_a_store_failed_breaks_the_must_succeed_promise():
    case = load("multistore-cheap-full", "must-succeed-true")
    record = {**case["polls"][-1]["record"], "status": "active"}
    out = multistore.judge(record, case["wanted"], True, case["polls"][-1]["task"])
    assert any("active although a store failed" in p for p in out.problems)


def test_copy_image_is_not_done_before_its_task_marks_the_stores():
    """The lab answered the copy-image call before its task listed any store as importing."""
    case = load("multistore-healthy", "copy-image")
    first = case["polls"][0]
    assert not multistore.store_list(first["record"].get("os_glance_importing_to_stores"))
    assert not multistore.settled(first["record"], first["task"], case["wanted"], None)
    _, polls = replay(case)
    assert polls > 0


def test_a_store_still_importing_at_the_deadline_is_named():
    case = load("multistore-cheap-full", "must-succeed-true")
    record = {**case["polls"][-1]["record"], "os_glance_failed_import": ""}
    with pytest.raises(multistore.StoresTimeout) as caught:
        multistore.wait_for_stores(None, "id", case["wanted"], True, 2.0, get=lambda _: record,
                                   get_tasks=lambda _: [], clock=iter([0, 1, 2, 3]).__next__, sleep=lambda _: None)
    assert "rbd,s3,swift" in str(caught.value) or "rbd" in caught.value.outcome.describe()
    assert caught.value.outcome.importing


def test_the_properties_read_are_said():
    case = load("multistore-cheap-full", "copy-image")
    said = multistore.read_properties(case["polls"][-1]["record"])
    for name in ("stores", "os_glance_importing_to_stores", "os_glance_failed_import"):
        assert name in said


def test_the_import_calls_task_is_picked_by_its_request_id():
    tasks = [{"id": "import", "created_at": "2026-12-02T17:55:54", "request_id": "req-a"},
             {"id": "copy", "created_at": "2026-12-02T17:55:54", "request_id": "req-b"}]
    assert multistore.task_of(tasks, ("req-b",))["id"] == "copy"
    assert multistore.task_of(tasks, ("req-a",))["id"] == "import"
