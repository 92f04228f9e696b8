"""The import task checks' reading of GET /v2/tasks, on answers captured from the lab.

tests/data/tasks/ was written by tests/tools/capture_tasks.py (its docstring says how): a
glance-direct import cut by a restart (`lab fault inject import-cut-by-restart`), before and after
the revert deleted its image, and a glance-direct import that failed because its staging file was
removed, before and after its image was deleted.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest

from glance_hc.canary import tasks
from glance_hc.canary.api import Answer
from glance_hc.causes.worker_crash import IMPORT_LOCK_EXPIRY_MINUTES, IMPORT_TASK_REMEDIATION
from glance_hc.classify import cause_of_message
from glance_hc.redact import redact

DATA = Path(__file__).resolve().parent.parent / "data" / "tasks"


def captured(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text())["answers"]


class Response:
    def __init__(self, status, payload):
        self.status_code, self._payload = status, payload
        self.text = json.dumps(payload) if payload is not None else ""
        self.headers = {"content-type": "application/json"} if payload else {}

    def json(self):
        return self._payload


class Replay:
    """An image API that answers each GET with the captured answer of that path (query ignored), or
    with `pages` for the listing, keyed by marker."""

    def __init__(self, answers, pages=None, status=None):
        self.by_path = {urlsplit(a["request"].split(" ", 1)[1]).path.removeprefix("/v2"): a for a in answers}
        self.pages, self.status, self.calls = pages, status, []

    def request(self, path, method, **kwargs):
        params = kwargs.get("params") or {}
        self.calls.append((method, path, dict(params)))
        if self.status:
            return Response(self.status, {"message": "403 Forbidden: You are not authorized"})
        if path == "/tasks" and self.pages is not None:
            return Response(200, self.pages[params.get("marker")])
        got = self.by_path[path]
        return Response(got["status"], got["json"])


def conn(replay):
    return SimpleNamespace(image=replay)


def _answer(got: dict) -> Answer:
    return Answer("GET", got["request"].split(" ", 1)[1], status=got["status"], json=got["json"])


def test_the_lab_lists_a_cut_import_as_a_processing_stub_without_image_id():
    listing, task, image = captured("processing-image-importing.json")
    stub = listing["json"]["tasks"][0]
    assert stub["type"] == tasks.IMPORT_TYPE and stub["status"] == "processing"
    assert "image_id" not in stub and "message" not in stub  # only GET /v2/tasks/ID has them
    assert task["json"]["image_id"] == image["json"]["id"]


def test_a_cut_import_holds_its_image_with_the_lock_and_says_so():
    _, task, image = captured("processing-image-importing.json")
    d = tasks.detail_of(task["json"], image["json"], _answer(image), age=timedelta(hours=3))
    assert d.holds_image and not d.image_gone and d.lock == task["json"]["id"]
    text = d.describe()
    for part in (task["json"]["id"], image["json"]["id"], "status=importing", "age=3:00:00",
                 f"os_glance_import_task='{task['json']['id']}'", "os_glance_importing_to_stores='swift'"):
        assert part in text, (part, text)


def test_a_processing_task_whose_image_is_gone_holds_nothing():
    _, task, image = captured("processing-image-deleted.json")
    assert task["json"]["status"] == "processing" and image["status"] == 404  # Glance never ends it
    d = tasks.detail_of(task["json"], None, _answer(image))
    assert d.image_gone and not d.holds_image
    assert d.describe().endswith("deleted (GET answered 404)")


def test_detail_reads_the_task_then_its_image():
    listing, task, image = captured("processing-image-importing.json")
    replay = Replay([listing, task, image])
    d = tasks.detail(conn(replay), listing["json"]["tasks"][0], timeout=5)
    assert [c[1] for c in replay.calls] == [f"/tasks/{task['json']['id']}", f"/images/{image['json']['id']}"]
    assert d.holds_image


def test_stale_is_judged_on_updated_at():
    listing, *_ = captured("processing-image-importing.json")
    stub = listing["json"]["tasks"][0]
    changed = datetime.fromisoformat(stub["updated_at"].replace("Z", "+00:00"))
    assert tasks.older_than([stub], changed + timedelta(minutes=5), timedelta(hours=2)) == []
    assert [t for t, _ in tasks.older_than([stub], changed + timedelta(hours=3), timedelta(hours=2))] == [stub]


def test_a_failed_import_keeps_its_message_and_its_image_is_judged_by_a_get():
    listing, task, by_image, image, after = captured("failure-staging-gone.json")
    assert listing["json"]["tasks"][0]["status"] == "failure"
    assert task["json"]["message"] == "Task failed due to Internal Error"
    live = tasks.detail_of(task["json"], image["json"], _answer(image))
    assert not live.image_gone and live.message == "Task failed due to Internal Error"
    assert "os_glance_failed_import='fast'" in live.describe()
    gone = tasks.detail_of(task["json"], None, _answer(after))
    assert gone.image_gone  # Tempest's failed imports of deleted images look like this: not counted
    assert cause_of_message(live.message) is None  # Glance's generic words name no cause


@pytest.mark.parametrize("message, cause", [
    ("Expired lock preempted", "worker_crash"),  # glance/api/v2/images.py _bust_import_lock
    ("Image storage media is full", "store_full"),
    ("Task failed due to Internal Error", None),
])
def test_a_task_message_names_a_cause_through_the_rules(message, cause):
    got = cause_of_message(message)
    assert (got[0] if got else None) == cause


def _stub(i: int, when: str) -> dict:
    return {"id": f"00000000-0000-0000-0000-{i:012d}", "type": tasks.IMPORT_TYPE, "status": "failure",
            "updated_at": when}


def test_listing_follows_next_at_most_max_pages_and_says_it_stopped():
    first, *_ = captured("failure-staging-gone.json")
    stub = first["json"]["tasks"][0]
    pages = {None: {**first["json"], "next": "/v2/tasks?status=failure&sort_key=updated_at&sort_dir=desc"
                                             "&limit=1000&marker=m1"}}
    for n in range(1, tasks.MAX_PAGES + 2):
        pages[f"m{n}"] = {"tasks": [stub], "next": f"/v2/tasks?status=failure&marker=m{n + 1}"}
    replay = Replay([], pages=pages)
    got = tasks.list_tasks(conn(replay), "failure", timeout=5)
    assert got.pages == tasks.MAX_PAGES and got.truncated and len(got.tasks) == tasks.MAX_PAGES
    assert replay.calls[0][2] == {"status": "failure", "sort_key": "updated_at", "sort_dir": "desc", "limit": 1000}
    assert redact(got.command) == got.command and "sort_key updated_at" in got.command
    assert dict(parse_qsl(urlsplit(pages[None]["next"]).query))["marker"] == replay.calls[1][2]["marker"]


def test_listing_stops_at_the_first_task_older_than_since():
    pages = {None: {"tasks": [_stub(1, "2026-12-02T12:00:00Z"), _stub(2, "2026-12-02T10:00:00Z")],
                    "next": "/v2/tasks?marker=m1"}}
    replay = Replay([], pages=pages)
    got = tasks.list_tasks(conn(replay), "failure", timeout=5, since=datetime(2026, 12, 2, 11, 0, tzinfo=UTC))
    assert [t["id"][-1] for t in got.tasks] == ["1"] and got.pages == 1 and not got.truncated


def test_a_forbidden_listing_is_told_apart():
    with pytest.raises(tasks.TasksForbidden, match="403"):
        tasks.list_tasks(conn(Replay([], status=403)), "processing", timeout=5)


def test_remediation_quotes_glances_own_lock_expiry():
    # glance/api/v2/images.py _enforce_import_lock: expiry = datetime.timedelta(minutes=60)
    assert IMPORT_LOCK_EXPIRY_MINUTES == 60
    assert any("60 minutes" in line and "_enforce_import_lock" in line for line in IMPORT_TASK_REMEDIATION)


# ------------------------------------------------------------------ the checks themselves (pytester)
def _lab_answers(*names: str):
    """Every GET answered as the lab answered it (tests/data/tasks), an empty listing for other
    statuses, and an image list for the run's API probe."""
    answers = [a for name in names for a in captured(name)]
    by_path = {}
    for a in answers:  # the first capture of a path wins: the image as it was during the fault
        by_path.setdefault(urlsplit(a["request"].split(" ", 1)[1]).path.removeprefix("/v2"), a)
    listings = {a["json"]["tasks"][0]["status"]: a for a in answers if "/tasks?" in a["request"]}

    def answer(method, path, params=None):
        from tests.unit.test_api_health_fact import Response as HTMLResponse  # noqa: PLC0415

        if path == "/images":
            return HTMLResponse(200, {"images": [], "first": "/v2/images"})
        if path == "/tasks":
            got = listings.get((params or {}).get("status"))
            return HTMLResponse(200, got["json"] if got else {"tasks": [], "first": "/v2/tasks"})
        got = by_path.get(path)
        return HTMLResponse(got["status"], got["json"]) if got else HTMLResponse(404, text="404 Not Found")
    return answer


def _checks(health) -> dict:
    return {c["nodeid"].split("::")[-1]: c for c in health["checks"] if "import_task" in c["nodeid"]}


def test_the_cut_import_fails_under_worker_crash_and_the_old_failure_of_a_deleted_image_does_not(pytester):
    from tests.unit.test_api_health_fact import run_api_checks  # noqa: PLC0415

    health, _ = run_api_checks(pytester, _lab_answers("processing-image-importing.json", "failure-staging-gone.json"),
                               "-k", "import_task", "--stale-age=1s", "--since=100000h")
    checks = _checks(health)
    cut = checks["test_no_import_task_left_processing"]
    assert cut["outcome"] == "failed" and cut["root_cause"] == "worker_crash", cut
    assert "b8bf7736-b290-44bf-9075-0bfd3f5ef999" in cut["message"] and "6c8dcabd" in cut["message"]
    failed = checks["test_no_import_task_failed_within_window"]
    # the failure's image answers 200 in the first capture of its path: it exists, and the message is quoted
    assert failed["outcome"] == "failed" and failed["root_cause"] == "availability", failed
    assert "'Task failed due to Internal Error' -> no cause rule matches" in failed["message"], failed["message"]


def test_after_the_revert_nothing_fails(pytester):
    from tests.unit.test_api_health_fact import run_api_checks  # noqa: PLC0415

    deleted = captured("failure-staging-gone.json")
    answers = _lab_answers("processing-image-deleted.json")

    def answer(method, path, params=None):
        from tests.unit.test_api_health_fact import Response as HTMLResponse  # noqa: PLC0415

        if path == "/tasks" and (params or {}).get("status") == "failure":
            return HTMLResponse(200, deleted[0]["json"])
        if path == f"/tasks/{deleted[1]['json']['id']}":
            return HTMLResponse(200, deleted[1]["json"])
        if path == f"/images/{deleted[1]['json']['image_id']}":
            return HTMLResponse(404, text="404 Not Found")  # deleted[-1]: its image after deletion
        return answers(method, path, params)

    health, _ = run_api_checks(pytester, answer, "-k", "import_task", "--stale-age=1s", "--since=100000h")
    assert {name: c["outcome"] for name, c in _checks(health).items()} == {
        "test_no_import_task_left_processing": "passed", "test_no_import_task_failed_within_window": "passed"}


def test_a_cloud_user_that_may_not_list_tasks_skips_saying_so(pytester):
    from tests.unit.test_api_health_fact import Response as HTMLResponse  # noqa: PLC0415
    from tests.unit.test_api_health_fact import run_api_checks  # noqa: PLC0415

    def answer(method, path, params=None):
        if path == "/tasks":  # Glance's tasks_api_access policy for a non-admin
            return HTMLResponse(403, text="403 Forbidden\n\nYou are not authorized to complete tasks_api_access action.")
        return HTMLResponse(200, {"images": [], "first": "/v2/images"})

    health, _ = run_api_checks(pytester, answer, "-k", "import_task")
    for c in _checks(health).values():
        assert c["outcome"] == "skipped", c
        assert "GET /v2/tasks is forbidden to this cloud user" in c["message"] and "HTTP 403" in c["message"]
        assert "tasks_api_access policy allows only admins by default" in c["message"]
