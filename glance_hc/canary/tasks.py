"""Glance's import tasks through the Image API (GET /v2/tasks), bounded, and what a task means.

What Glance 33 offers (glance/api/v2/tasks.py, glance/db/sqlalchemy/api.py): the listing is behind
the `tasks_api_access` policy (admin only by default: 403 otherwise); it filters by `status`
(pending, processing, success, failure) and refuses any `type` but the legacy `import` (so
api_image_import is picked here, not by the server); it sorts by `updated_at` and pages by
`marker` (`next`), at most api_limit_max (1000) a page. A listed task is a stub without
`image_id` or `message`: only GET /v2/tasks/ID has them, so the few tasks that matter are read
one by one (at most MAX_DETAILED). A finished task gets expires_at (task_time_to_live, 48 h) and
then vanishes; a processing one never expires, so leftovers of dead workers pile up, newest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from glance_hc.canary.api import Answer, call
from glance_hc.canary.listings import age_of, parse_time

IMPORT_TYPE = "api_image_import"
PAGE_SIZE = 1000  # Glance's api_limit_max: a larger limit is cut to it anyway
# Pages per listing: 3000 tasks of one status is more than a healthy cloud holds within the stale
# age or the log window, and each page is one bounded request; the rest is said, not read.
MAX_PAGES = 3
# Tasks read one by one (GET /v2/tasks/ID, then GET /v2/images/ID): the newest that matter.
MAX_DETAILED = 20
IMAGE_PROPERTIES = ("os_glance_import_task", "os_glance_importing_to_stores", "os_glance_failed_import")
WAITING_STATUSES = ("importing", "uploading", "saving")  # an image that still waits on its import


class TasksForbidden(Exception):
    """The cloud user may not list tasks (Glance's tasks_api_access policy)."""


@dataclass
class Listing:
    tasks: list[dict] = field(default_factory=list)
    pages: int = 0
    truncated: bool = False  # more pages were there than MAX_PAGES
    command: str = ""


def list_tasks(conn, status: str, *, timeout: float, since: datetime | None = None,
               max_pages: int = MAX_PAGES, page_size: int = PAGE_SIZE) -> Listing:
    """Tasks in `status`, newest change first; stops at the first one changed before `since`.

    Raises TasksForbidden on 403 and RuntimeError with the answer when a page cannot be read.
    """
    params = {"status": status, "sort_key": "updated_at", "sort_dir": "desc", "limit": page_size}
    # said without "sort_key=": the one rule for a secret (glance_hc.redact) hides any key=value
    out = Listing(command="GET /v2/tasks?" + "&".join(f"{k}={v}" for k, v in params.items() if k != "sort_key")
                  + " with sort_key updated_at")
    while True:
        answer, _ = call(conn, "GET", "/tasks", params=params, timeout=timeout)
        out.pages += 1
        if answer.status == 403:
            raise TasksForbidden(answer.describe())
        if not answer.ok or answer.json is None:
            raise RuntimeError(f"listing tasks failed: {answer.describe()}")
        page = answer.json.get("tasks", [])
        for task in page:
            changed = parse_time(task.get("updated_at"))
            if since is not None and changed is not None and (changed if changed.tzinfo else
                                                               changed.replace(tzinfo=UTC)) < since:
                return out
            out.tasks.append(task)
        nxt = answer.json.get("next")
        if not nxt or not page:
            return out
        if out.pages >= max_pages:
            out.truncated = True
            return out
        params = dict(parse_qsl(urlsplit(nxt).query, keep_blank_values=True))


def imports(tasks: list[dict]) -> list[dict]:
    return [t for t in tasks if t.get("type") == IMPORT_TYPE]


def older_than(tasks: list[dict], now: datetime, age: timedelta) -> list[tuple[dict, timedelta | None]]:
    """(task, age) of the tasks unchanged for longer than `age` (an unreadable time counts as old)."""
    found = []
    for task in tasks:
        seen = age_of(task, now, "updated_at")
        if seen is None or seen > age:
            found.append((task, seen))
    return found


@dataclass
class Detail:
    """One task read in full, and its image as the API shows it now."""

    task: dict
    image_id: str | None
    image: dict | None          # the record; None when gone or unreadable
    image_answer: Answer | None
    age: timedelta | None = None

    @property
    def image_gone(self) -> bool:
        return self.image_answer is not None and self.image_answer.status == 404

    @property
    def lock(self) -> str | None:
        return (self.image or {}).get("os_glance_import_task") or None

    @property
    def holds_image(self) -> bool:
        """The image still waits on this task: its lock names it, or it sits in a transient status."""
        if self.image is None:
            return False
        return self.lock == self.task.get("id") or self.image.get("status") in WAITING_STATUSES

    def describe(self) -> str:
        age = str(self.age).split(".")[0] if self.age is not None else "unknown"
        head = f"task {self.task.get('id')} {self.task.get('status')} age={age} image {self.image_id or '(none)'}"
        if self.image_gone:
            return head + " deleted (GET answered 404)"
        if self.image is None:
            return head + (f" unreadable ({self.image_answer.describe()})" if self.image_answer else "")
        props = " ".join(f"{k}={self.image.get(k)!r}" for k in IMAGE_PROPERTIES if k in self.image)
        return f"{head} status={self.image.get('status')} {props}".rstrip()

    @property
    def message(self) -> str:
        return str(self.task.get("message") or "")


def detail(conn, stub: dict, *, timeout: float, age: timedelta | None = None) -> Detail:
    """GET the task (its image_id and message), then its image."""
    answer, _ = call(conn, "GET", f"/tasks/{stub.get('id')}", timeout=timeout)
    task = answer.json if answer.ok and answer.json else {**stub, "message": f"(task unreadable: {answer.describe()})"}
    return detail_of(task, *_image(conn, task, timeout), age=age)


def _image(conn, task: dict, timeout: float) -> tuple[dict | None, Answer | None]:
    image_id = task.get("image_id") or (task.get("input") or {}).get("image_id")
    if not image_id:
        return None, None
    answer, _ = call(conn, "GET", f"/images/{image_id}", timeout=timeout)
    return (answer.json if answer.ok else None), answer


def detail_of(task: dict, image: dict | None, image_answer: Answer | None, age: timedelta | None = None) -> Detail:
    image_id = task.get("image_id") or (task.get("input") or {}).get("image_id")
    return Detail(task=task, image_id=image_id, image=image, image_answer=image_answer, age=age)
