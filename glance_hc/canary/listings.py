"""Image lists, paged and filtered by the server; canaries of earlier runs and when they are orphans."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from glance_hc.canary.api import call
from glance_hc.canary.names import CANARY_PREFIX, CANARY_TAG, LEASE_PROPERTY, RUN_PROPERTY


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def age_of(record: dict, now: datetime, field_name: str = "updated_at") -> timedelta | None:
    when = parse_time(record.get(field_name)) or parse_time(record.get("created_at"))
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return now - when


def list_images(conn, *, page_size: int = 200, timeout: float | None = None,
                stop: Callable[[dict], bool] | None = None, max_items: int | None = None,
                **filters) -> tuple[list[dict], int]:
    """GET /v2/images following `next` links; returns (images, pages read).

    `stop(image)` ends the listing early (for a sorted walk), as does `max_items`.
    Raises RuntimeError with the answer when a page cannot be read.
    """
    params = {"limit": page_size, **{k: v for k, v in filters.items() if v is not None}}
    images, pages = [], 0
    while True:
        answer, _ = call(conn, "GET", "/images", params=params, timeout=timeout)
        pages += 1
        if not answer.ok or answer.json is None:
            raise RuntimeError(f"listing images failed: {answer.describe()}")
        for img in answer.json.get("images", []):
            if (stop is not None and stop(img)) or (max_items is not None and len(images) >= max_items):
                return images, pages
            images.append(img)
        if max_items is not None and len(images) >= max_items:
            return images, pages
        nxt = answer.json.get("next")
        if not nxt or not answer.json.get("images"):
            return images, pages
        # "next" is "/v2/images?marker=...&limit=...": the query carries the whole state
        params = dict(parse_qsl(urlsplit(nxt).query, keep_blank_values=True))


def list_every_image(conn, thresholds, **filters) -> tuple[list[dict], int]:
    """Visible and hidden images (Glance leaves os_hidden ones out of a plain list), 1000 a page
    (Glance's api_limit_max), filtered by the server."""
    images, pages = [], 0
    for hidden in (None, "true"):
        found, read = list_images(conn, timeout=thresholds.api_timeout, os_hidden=hidden, page_size=1000, **filters)
        images += found
        pages += read
    return images, pages


def canary_images(conn, *, page_size: int = 1000, timeout: float | None = None) -> tuple[list[dict], int]:
    """Every image the canary made: it tags each one, so Glance filters them itself (one page
    for any realistic count, however many other images the cloud holds). The name prefix is
    checked too, so a user's image that happens to carry the tag is never reaped."""
    images, pages = list_images(conn, page_size=page_size, timeout=timeout, tag=CANARY_TAG)
    return [img for img in images if str(img.get("name") or "").startswith(CANARY_PREFIX)], pages


def orphan_reason(image: dict, now: datetime, run_id: str | None, stale_age: timedelta) -> str | None:
    """Why a canary image belongs to no running suite, or None when a live run (or this one) holds it.

    A canary carries its run id and a lease (seconds after Glance's created_at, so the clock that
    counts is the server's, for every run alike). Lease run out: its run is dead, an orphan at any
    age. No lease (a suite from before leases): an orphan once older than the stale age.
    """
    owner = str(image.get(RUN_PROPERTY) or "")
    if run_id and owner == run_id:
        return None
    age = age_of(image, now, "created_at")
    lease_text = image.get(LEASE_PROPERTY)
    lease = None
    if lease_text is not None and re.fullmatch(r"\s*\d{1,9}\s*", str(lease_text)):
        lease = timedelta(seconds=int(lease_text))
    shown_age = str(age).split(".")[0] if age is not None else "unknown"
    if lease is not None and owner:
        if age is None:
            return f"run {owner}'s canary has no readable created_at"
        if age > lease:
            return f"run {owner}'s lease of {int(lease.total_seconds())}s ran out (age {shown_age}): that run is gone"
        return None
    if age is None or age > stale_age:
        return f"no run id or lease, and older than the stale age {stale_age} (age {shown_age})"
    return None


