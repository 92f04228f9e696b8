"""glance-direct import: the stage call, the import call, and a bounded wait that says what it saw.

What Glance 33 answers (glance/api/v2/image_data.py stage, images.py import_image): the stage
PUT /v2/images/ID/stage answers 204 and leaves the image `uploading` (the data in the node's
staging dir); POST /v2/images/ID/import with {"method": {"name": "glance-direct"}} answers 202
(409 when the image is not `uploading`, or another import holds `os_glance_import_task`) and runs
a task (api_image_import) that moves the image to `importing`, then `active`. A failed task does
not kill the image: it may go back to `uploading` (staged data kept) or `queued`, or stay
`importing` (the lab's store-full: tests/data/imports/store-full), the failed stores are listed in
`os_glance_failed_import`, and only the task (GET /v2/images/ID/tasks) says why, in general terms
("Task failed due to Internal Error"): the cause is in the log lines that carry the task's id.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from glance_hc.canary.api import Answer, call
from glance_hc.canary.images import image_record
from glance_hc.canary.source import PatternSource
from glance_hc.canary.transfer import upload
from glance_hc.canary.waiters import UnexpectedStatus, WaitTimeout

GLANCE_DIRECT = "glance-direct"
# Where a failed import leaves the image: back where an import can start again.
FALLBACK_STATUSES = ("uploading", "queued")
TASK_EVERY = 5  # polls between two reads of the task while the image says `importing`
SETTLE_POLLS = 4  # polls a failed store may wait for its task to say failure


def import_body(method: str = GLANCE_DIRECT, stores: list[str] | None = None) -> dict:
    """The import call's body; no `stores`: Glance imports to its default store."""
    body: dict = {"method": {"name": method}}
    if stores:
        body["stores"] = list(stores)
    return body


def stage(conn, image_id: str, source: PatternSource, **kwargs):
    """PUT /v2/images/ID/stage, streamed like the upload (transfer.upload)."""
    return upload(conn, image_id, source, None, target="stage", **kwargs)


def start_import(conn, image_id: str, *, endpoint_override: str | None = None,
                 timeout: float | None = None, stores: list[str] | None = None, body: dict | None = None) -> Answer:
    """POST /v2/images/ID/import: glance-direct to `stores` (default store: none), or `body` as given."""
    answer, _ = call(conn, "POST", f"/images/{image_id}/import", json=body or import_body(stores=stores),
                     endpoint_override=endpoint_override, timeout=timeout)
    return answer


def image_tasks(conn, image_id: str, *, endpoint_override: str | None = None,
                timeout: float | None = None) -> list[dict] | None:
    """The image's tasks (GET /v2/images/ID/tasks, Glance >= 23), None when unreadable."""
    answer, _ = call(conn, "GET", f"/images/{image_id}/tasks", endpoint_override=endpoint_override,
                     timeout=timeout)
    if not answer.ok or answer.json is None:
        return None
    return list(answer.json.get("tasks") or [])


def latest_task(tasks: list[dict] | None) -> dict | None:
    """The newest task (by created_at; Glance lists them oldest first)."""
    if not tasks:
        return None
    return max(tasks, key=lambda t: str(t.get("created_at") or ""))


def describe_task(task: dict | None) -> str:
    if task is None:
        return "no task found (GET /v2/images/ID/tasks)"
    message = str(task.get("message") or "").strip()
    return f"task {task.get('id')} {task.get('status')}" + (f": {message}" if message else " (no message)")


class ImportFailed(UnexpectedStatus):
    """The import ended without `active`: the task failed, or the image fell back to uploading/queued."""

    def __init__(self, message: str, status: str | None, task: dict | None):
        super().__init__(message, status)
        self.task = task

    @property
    def body(self) -> str:
        """What classification reads: the task's message (Glance's own words), else ours."""
        return str((self.task or {}).get("message") or "") or str(self)


class ImportTimeout(WaitTimeout):
    def __init__(self, message: str, last_status: str | None, held_seconds: float, task: dict | None):
        super().__init__(message, last_status, held_seconds)
        self.task = task


def failed(record: dict | None, task: dict | None, settled: bool = True) -> str | None:
    """Why the import is over without `active`, or None while it may still finish.

    A store lands in os_glance_failed_import a moment before the task says failure (seen in the
    lab: the task still `processing`, "Copied 0 MiB"): until `settled`, only the task's word counts,
    so the failure carries the task's own message."""
    if task is not None and task.get("status") == "failure":
        return "its task failed"
    record = record or {}
    if record.get("os_glance_failed_import") and settled:
        return f"os_glance_failed_import={record.get('os_glance_failed_import')!r}"
    if record.get("status") in FALLBACK_STATUSES and task is not None and task.get("status") == "success":
        return f"its task succeeded but the image is {record.get('status')}"
    return None


def timeout_message(image_id: str, deadline: float, last_status: str | None, held: float, polls: int,
                    task: dict | None) -> str:
    return (f"import of image {image_id} did not become active within {deadline:g}s: last status "
            f"{last_status!s} (held for {held:.1f}s, {polls} polls); {describe_task(task)}")


def failed_message(image_id: str, why: str, status: str | None, elapsed: float, task: dict | None) -> str:
    return (f"import of image {image_id} failed after {elapsed:.1f}s ({why}): image back to "
            f"{status!s}; {describe_task(task)}")


def wait_for_import(conn, image_id: str, deadline: float, *, endpoint_override: str | None = None,
                    interval: float = 1.0, request_timeout: float | None = None,
                    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                    get: Callable[[str], dict | None] | None = None,
                    get_tasks: Callable[[str], list[dict] | None] | None = None) -> dict:
    """Poll until the image is active, for at most `deadline` seconds; returns the record.

    Raises ImportFailed as soon as the task fails or the image falls back (its message names the
    status and the task's status and message), ImportTimeout naming the last status seen and the
    task at the deadline, UnexpectedStatus for killed/deleted/gone. The task is read only when the
    image is not `importing`, once it names a failed store, and every TASK_EVERY polls: a failed
    import leaves the image `importing` (seen in the lab: os_glance_failed_import set, task failure).
    """
    fetch = get or (lambda iid: image_record(conn, iid, endpoint_override=endpoint_override,
                                             timeout=request_timeout))
    tasks = get_tasks or (lambda iid: image_tasks(conn, iid, endpoint_override=endpoint_override,
                                                  timeout=request_timeout))
    start = clock()
    last_status, since, polls, task, marked = None, start, 0, None, 0
    while True:
        record = fetch(image_id)
        polls += 1
        now = clock()
        status = record.get("status") if record is not None else "<unreadable>"
        if status != last_status:
            last_status, since = status, now
        if status == "active":
            return record
        if status in ("killed", "deleted", "pending_delete", "<gone>"):
            task = latest_task(tasks(image_id))
            raise UnexpectedStatus(f"image {image_id} went to {status} after {now - start:.1f}s while "
                                   f"importing; {describe_task(task)}", status)
        timed_out = now - start >= deadline
        if status != "importing" or timed_out or (record or {}).get("os_glance_failed_import") \
                or polls % TASK_EVERY == 0:
            task = latest_task(tasks(image_id)) or task
            marked += 1 if (record or {}).get("os_glance_failed_import") else 0
            why = failed(record, task, settled=timed_out or marked > SETTLE_POLLS)
            if why:
                raise ImportFailed(failed_message(image_id, why, status, now - start, task), status, task)
        if timed_out:
            raise ImportTimeout(timeout_message(image_id, deadline, last_status, now - since, polls, task),
                                last_status, now - since, task)
        sleep(max(0.0, min(interval, deadline - (now - start))))


def import_deadline(canary_timeout: float, api_timeout: float) -> float:
    """How long the import may take: well below canary_timeout (a stage of the canary's size is
    done; what is left is one copy from staging to the store), at least a few API round trips."""
    return max(3 * api_timeout, canary_timeout / 3)

