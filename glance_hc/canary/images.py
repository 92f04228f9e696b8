"""Canary images: names, run ids and leases, create and read."""
from __future__ import annotations

import re
import uuid

from glance_hc.canary.api import Answer, call
from glance_hc.canary.names import CANARY_PREFIX, CANARY_TAG, LEASE_PROPERTY, RUN_PROPERTY


def canary_name(label: str) -> str:
    """hc-canary-<label>-<random>: unique, findable by prefix, safe as an exact-name filter."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "default"
    return f"{CANARY_PREFIX}{label}-{uuid.uuid4().hex[:10]}"


def new_run_id() -> str:
    """The id a run marks its canaries with (image property RUN_PROPERTY)."""
    return uuid.uuid4().hex[:16]


def lease_seconds(canary_timeout: float, api_timeout: float, command_timeout: float) -> int:
    """How long a live run may hold one canary: create, upload and wait for active (one canary
    timeout), download (another), a failure's second try (a third), the log searches of a failure
    and the cleanup. A canary whose lease ran out belongs to a run that is gone."""
    return int(3 * canary_timeout + 10 * api_timeout + 4 * command_timeout)


def create_image(conn, name: str, *, endpoint_override: str | None = None,
                 timeout: float | None = None, run_id: str | None = None,
                 lease: int | None = None) -> Answer:
    """POST /v2/images for a private raw/bare image; `.json['id']` when it worked.

    `run_id` and `lease` (seconds from creation) become image properties, so another run can
    tell this run's live canary from one a dead run left (`orphan_reason`)."""
    body = {"name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": "private", "tags": [CANARY_TAG]}
    if run_id:
        body[RUN_PROPERTY] = run_id
    if lease is not None:
        body[LEASE_PROPERTY] = str(int(lease))
    answer, _ = call(conn, "POST", "/images", json=body, endpoint_override=endpoint_override,
                     timeout=timeout)
    return answer


def get_image(conn, image_id: str, *, endpoint_override: str | None = None,
              timeout: float | None = None) -> Answer:
    answer, _ = call(conn, "GET", f"/images/{image_id}", endpoint_override=endpoint_override,
                     timeout=timeout)
    return answer


def image_record(conn, image_id: str, *, endpoint_override: str | None = None,
                 timeout: float | None = None) -> dict | None:
    """The image as the API shows it now; {"status": "<gone>"} on 404, None when unreadable."""
    answer = get_image(conn, image_id, endpoint_override=endpoint_override, timeout=timeout)
    if answer.status == 404:
        return {"id": image_id, "status": "<gone>"}
    return answer.json if answer.ok else None


