"""Imports to several stores (glance-direct to a list, copy-image to the others): what the image's
properties say of each store, and a bounded wait until Glance is done with every one of them.

What Glance 33 does (glance/api/v2/images.py import_image, glance/async_/flows/api_image_import.py):
the import call sets `os_glance_importing_to_stores` to the stores asked for; each store leaves that
list when its copy is done, for `stores` when it worked or `os_glance_failed_import` when it did not.
`all_stores_must_succeed` (default true) makes a failed store fail the task: the stores already done
are reverted and the image stays out of `active`; false lets the task succeed with the stores that
worked. copy-image (admin, an active image) leaves the image active whatever happens. The task's
message is general; its log lines (by task id) say why a store failed.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from glance_hc.canary.images import image_record
from glance_hc.canary.imports import image_tasks, latest_task

COPY_IMAGE = "copy-image"
PROPERTIES = ("status", "stores", "os_glance_importing_to_stores", "os_glance_failed_import",
              "os_glance_import_task")


def store_list(value) -> list[str]:
    """A comma-separated store property (Glance writes "" for none) as a list, order kept."""
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [s.strip() for s in str(value or "").split(",") if s.strip()]


def multi_body(method: str, stores: list[str], must_succeed: bool, uri: str | None = None) -> dict:
    """The import call's body for an import to `stores` (web-download's `uri` in the method)."""
    body: dict = {"method": {"name": method}, "stores": list(stores), "all_stores_must_succeed": bool(must_succeed)}
    if uri is not None:
        body["method"]["uri"] = uri
    return body


def read_properties(record: dict | None) -> str:
    """What the canary read, for the evidence: the properties that say where the image is."""
    record = record or {}
    return ", ".join(f"{k}={record.get(k)!r}" for k in PROPERTIES if k in record) or "(record unreadable)"


@dataclass
class Outcome:
    """Each store asked for, once Glance is done: where it landed, where it failed, what is unsettled."""

    wanted: list[str]
    status: str | None
    stores: list[str]
    importing: list[str]
    failed: list[str]
    must_succeed: bool | None  # None: copy-image (the image stays active either way)
    task: dict | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what Glance did as it promised, around a problem

    @property
    def landed(self) -> list[str]:
        return [s for s in self.wanted if s in self.stores]

    @property
    def missing(self) -> list[str]:
        """Asked for, neither in `stores` nor named as failed (still importing, or lost)."""
        return [s for s in self.wanted if s not in self.stores and s not in self.failed]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def blamed(self) -> list[str]:
        """The stores a failure names: those that failed, else those that never arrived."""
        return [s for s in self.wanted if s in self.failed] or self.missing

    def describe(self) -> str:
        asked = ("copy-image" if self.must_succeed is None else
                 f"all_stores_must_succeed={str(self.must_succeed).lower()}")
        said = (f"asked for {', '.join(self.wanted)} ({asked}); status {self.status}; in stores: "
                f"{', '.join(self.landed) or '(none)'}; failed: {', '.join(self.failed) or '(none)'}; still importing: "
                f"{', '.join(self.importing) or '(none)'}")
        task = self.task
        if task is not None:
            said += f"; task {task.get('id')} {task.get('status')}" + (
                f": {task.get('message')}" if task.get("message") else "")
        said += "; " + "; ".join(self.problems) if self.problems else "; every store as promised"
        return said + "".join(f"; {note}" for note in self.notes)


def judge(record: dict | None, wanted: list[str], must_succeed: bool | None, task: dict | None = None) -> Outcome:
    """The stores' outcome against what Glance promises for `must_succeed` (None: copy-image).

    A problem is a store that failed or never arrived, or an image whose status breaks the promise:
    with must_succeed true a failed store must keep it out of `active`; with false (and copy-image)
    the stores that worked must be there and the image `active`."""
    record = record or {}
    out = Outcome(wanted=list(wanted), status=record.get("status"), stores=store_list(record.get("stores")),
                  importing=store_list(record.get("os_glance_importing_to_stores")),
                  failed=store_list(record.get("os_glance_failed_import")), must_succeed=must_succeed, task=task)
    failed = [s for s in out.wanted if s in out.failed]
    task_failed = (task or {}).get("status") == "failure"
    if failed:
        out.problems.append(f"store(s) {', '.join(failed)} failed (os_glance_failed_import="
                            f"{record.get('os_glance_failed_import')!r})")
    lost = [s for s in out.missing if s not in out.importing]
    if must_succeed and failed and task_failed:
        # as promised: the task stops at the failed store, reverts the ones done, leaves the rest listed
        # in os_glance_importing_to_stores (seen in the lab: tests/data/imports/multistore-cheap-full)
        out.notes.append(f"as all_stores_must_succeed=true promises, the task failed: "
                         f"{', '.join(lost) or 'no store'} reverted, {', '.join(out.importing) or 'none'} left "
                         f"untried in os_glance_importing_to_stores")
    else:
        if out.importing:
            out.problems.append(f"store(s) {', '.join(out.importing)} still importing "
                                f"(os_glance_importing_to_stores={record.get('os_glance_importing_to_stores')!r})")
        if lost:
            out.problems.append(f"store(s) {', '.join(lost)} neither in stores nor in os_glance_failed_import")
    if must_succeed and failed and out.status == "active":
        out.problems.append("the image is active although a store failed and all_stores_must_succeed is true")
    if (must_succeed is False or must_succeed is None) and not out.importing and out.status != "active":
        out.problems.append(f"the image is {out.status}, not active, although "
                            + ("all_stores_must_succeed is false" if must_succeed is False else
                               "copy-image leaves an active image active"))
    if not failed and not out.importing and not lost and out.status != "active" and must_succeed:
        out.problems.append(f"every store arrived but the image is {out.status}")
    if must_succeed is False and failed and out.status == "active" and not lost and not out.importing:
        out.notes.append(f"as all_stores_must_succeed=false promises, active on {', '.join(out.landed)}")
    return out


def settled(record: dict | None, task: dict | None, wanted: list[str], must_succeed: bool | None) -> bool:
    """Glance is done with the import: every store asked for is in `stores` or
    `os_glance_failed_import`, none left importing and (but for copy-image, whose image stays active)
    the image out of `importing`; or the task ended. A copy-image call is answered before its task
    marks the stores importing (seen in the lab: 0.5 s after the 202, the record still without them)."""
    record = record or {}
    if task is not None and task.get("status") in ("success", "failure"):
        return True
    done = set(store_list(record.get("stores"))) | set(store_list(record.get("os_glance_failed_import")))
    if not set(wanted) <= done or store_list(record.get("os_glance_importing_to_stores")):
        return False
    return must_succeed is None or record.get("status") != "importing"


def task_of(tasks: list[dict] | None, request_ids: tuple[str, ...] = ()) -> dict | None:
    """The task the import call made (its request_id is one the call sent or got back), else the newest."""
    mine = [t for t in tasks or [] if t.get("request_id") and t.get("request_id") in request_ids]
    return latest_task(mine) or latest_task(tasks)


class StoresTimeout(AssertionError):
    def __init__(self, message: str, outcome: Outcome):
        super().__init__(message)
        self.outcome = outcome


def wait_for_stores(conn, image_id: str, wanted: list[str], must_succeed: bool | None, deadline: float, *,
                    request_ids: tuple[str, ...] = (), interval: float = 0.5, request_timeout: float | None = None,
                    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                    get: Callable[[str], dict | None] | None = None,
                    get_tasks: Callable[[str], list[dict] | None] | None = None) -> Outcome:
    """Poll the image (and the import call's task: `request_ids`, the ids the call sent and got) until
    Glance is done with every store, for at most `deadline` seconds; the Outcome, or StoresTimeout
    naming the stores still importing."""
    fetch = get or (lambda iid: image_record(conn, iid, timeout=request_timeout))
    tasks = get_tasks or (lambda iid: image_tasks(conn, iid, timeout=request_timeout))
    start = clock()
    while True:
        record = fetch(image_id)
        task = task_of(tasks(image_id), request_ids)
        now = clock()
        if (record or {}).get("status") in ("<gone>", "killed", "deleted"):
            out = judge(record, wanted, must_succeed, task)
            out.problems.insert(0, f"the image went to {record.get('status')}")
            return out
        if record is not None and settled(record, task, wanted, must_succeed):
            return judge(record, wanted, must_succeed, task)
        if now - start >= deadline:
            out = judge(record, wanted, must_succeed, task)
            raise StoresTimeout(f"image {image_id}: Glance was not done with stores {', '.join(wanted)} within "
                                f"{deadline:g}s: {read_properties(record)}", out)
        sleep(max(0.0, min(interval, deadline - (now - start))))
