"""Deleting a canary, and confirming it is gone, on every node that may hold it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from glance_hc.canary.api import call


@dataclass
class Cleanup:
    ok: bool
    detail: str
    steps: list[str] = field(default_factory=list)


def delete_and_confirm(conn, image_id: str | None = None, *, name: str | None = None,
                       endpoint_override: str | None = None, timeout: float = 30.0,
                       request_timeout: float | None = None) -> Cleanup:
    """Delete an image and confirm the API answers 404 for it; already gone is fine.

    With only `name` (the create call may have worked without us seeing the id), every image
    with exactly that name is deleted. Tries the default endpoint first, then
    `endpoint_override` if the first cannot be reached.
    """
    steps: list[str] = []
    endpoints = [None] + ([endpoint_override] if endpoint_override else [])
    ids = [image_id] if image_id else []
    if not ids and name:
        for endpoint in endpoints:
            answer, _ = call(conn, "GET", "/images", params={"name": name}, endpoint_override=endpoint,
                             timeout=request_timeout)
            steps.append(answer.describe())
            if answer.ok and answer.json is not None:
                ids = [img["id"] for img in answer.json.get("images", []) if img.get("name") == name]
                break
        else:
            return Cleanup(False, f"could not look up images named {name}", steps)
        if not ids:
            return Cleanup(True, f"no image named {name}", steps)
    problems = []
    for iid in ids:
        gone, why = _delete_one(conn, iid, endpoints, timeout, request_timeout, steps)
        if not gone:
            problems.append(f"{iid}: {why}")
    if problems:
        return Cleanup(False, "not deleted: " + "; ".join(problems), steps)
    return Cleanup(True, f"deleted and confirmed gone: {', '.join(ids)}", steps)


def _delete_one(conn, image_id, endpoints, timeout, request_timeout, steps) -> tuple[bool, str]:
    stop_at = time.monotonic() + timeout
    last = "no answer"
    while True:
        for endpoint in endpoints:
            answer, _ = call(conn, "DELETE", f"/images/{image_id}", endpoint_override=endpoint,
                             timeout=request_timeout)
            steps.append(answer.describe())
            if answer.status in (204, 404):
                check, _ = call(conn, "GET", f"/images/{image_id}", endpoint_override=endpoint,
                                timeout=request_timeout)
                steps.append(check.describe())
                if check.status == 404:
                    return True, "gone"
                status = (check.json or {}).get("status")
                if status in ("deleted", "pending_delete"):
                    return True, f"status {status}"
                last = f"still listed after delete ({check.describe()})"
            elif answer.status == 403:
                return False, f"delete refused (protected image?): {answer.describe()}"
            else:
                last = answer.describe()
            if isinstance(answer.status, int):
                break  # the endpoint answered: no use trying the other one
        if time.monotonic() >= stop_at:
            return False, last
        time.sleep(1.0)


