"""Waiting for an image's status, Tempest-style: a timeout says the status it last saw."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from glance_hc.canary.images import image_record


class WaitTimeout(AssertionError):
    """The image did not reach the wanted status in time (Tempest's TimeoutException)."""

    def __init__(self, message: str, last_status: str | None, held_seconds: float):
        super().__init__(message)
        self.last_status = last_status
        self.held_seconds = held_seconds


class UnexpectedStatus(AssertionError):
    """The image reached a status it cannot leave towards the wanted one (killed, gone)."""

    def __init__(self, message: str, status: str | None):
        super().__init__(message)
        self.status = status


def wait_for_status(conn, image_id: str, wanted: str | Iterable[str], deadline: float, *,
                    endpoint_override: str | None = None, interval: float = 1.0,
                    request_timeout: float | None = None,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep,
                    get: Callable[[str], dict | None] | None = None) -> dict:
    """Poll the image until its status is in `wanted`, for at most `deadline` seconds.

    Returns the image record. On timeout raises WaitTimeout naming the last status seen
    and how long it had held; raises UnexpectedStatus at once for killed/deleted or 404.
    `clock`, `sleep` and `get` are for tests.
    """
    wanted_set = {wanted} if isinstance(wanted, str) else set(wanted)
    fetch = get or (lambda iid: image_record(conn, iid, endpoint_override=endpoint_override,
                                             timeout=request_timeout))
    start = clock()
    last_status, since, record, polls = None, start, None, 0
    while True:
        record = fetch(image_id)
        polls += 1
        now = clock()
        status = (record or {}).get("status") if record is not None else "<unreadable>"
        if status != last_status:
            last_status, since = status, now
        if status in wanted_set:
            return record
        if status in ("killed", "deleted", "pending_delete", "<gone>") and status not in wanted_set:
            raise UnexpectedStatus(
                f"image {image_id} went to {status} after {now - start:.1f}s while waiting for "
                f"{'/'.join(sorted(wanted_set))}", status)
        if now - start >= deadline:
            held = now - since
            raise WaitTimeout(
                f"image {image_id} did not become {'/'.join(sorted(wanted_set))} within "
                f"{deadline:g}s: last status {last_status!s} (held for {held:.1f}s, {polls} polls)",
                last_status, held)
        sleep(max(0.0, min(interval, deadline - (now - start))))


