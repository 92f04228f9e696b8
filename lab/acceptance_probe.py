"""The acceptance test's own API calls: the premise of Tempest's store-order quirk, and Tempest's leftovers.

tempest-expected.toml excuses three glance-direct timeouts as Tempest's waiter comparing a sorted
store list with Glance's order. A stuck import would time out the same way, so the excuse holds
only when the lab shows, on this run, what the quirk needs: a glance-direct import to all stores
that becomes active in every store, listed in an order other than sorted. One 1 KiB image through
the API (as the suite's canaries write), always deleted.

Tempest leaks: test_image_web_download_import_with_bad_url creates its image without a cleanup, so
each run would leave a queued image without data in a project Tempest then deletes, which the
suite's stuck-image check rightly calls stale two hours later. The run deletes the images named
tempest-* created since it started, and says so. Standard library only.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

NAME = "hc-acceptance-store-order"
TIMEOUT = 60.0


def store_order_verdict(image: dict, store_ids: list[str]) -> tuple[bool, str]:
    """(the quirk's premise holds, what the image showed): active, in every store, not sorted."""
    stores = [s for s in (image.get("stores") or "").split(",") if s]
    tempest_waits_for = ",".join(sorted(store_ids))
    seen = f"{image.get('status')} in {','.join(stores) or 'no store'}"
    if image.get("os_glance_failed_import"):
        return False, f"{seen}; import failed in {image['os_glance_failed_import']}: the lab's fault"
    if image.get("status") != "active" or sorted(stores) != sorted(store_ids):
        return False, f"{seen}, not active in all of {','.join(store_ids)}: the lab's fault, not Tempest's quirk"
    if ",".join(stores) == tempest_waits_for:
        return False, f"{seen}: already sorted, so Tempest's waiter would succeed; the quirk cannot explain a timeout"
    return True, f"{seen}; Tempest waits for {tempest_waits_for}"


def tempest_leftovers(images: list[dict], since: str) -> list[dict]:
    """Tempest's images (its resource prefix, `tempest-`) created at or after `since` (UTC, Glance's
    format): this run's leftovers, never an image the lab or the suite made."""
    return [img for img in images if str(img.get("name") or "").startswith("tempest-")
            and str(img.get("created_at") or "") >= since]


class _Api:
    def __init__(self, keystone: str, glance: str, password: str) -> None:
        self.glance = glance
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        req = urllib.request.Request(f"{keystone}/auth/tokens", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = resp.headers["X-Subject-Token"]

    def call(self, method: str, path: str, body=None, content_type: str = "application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.glance}{path}", data=data, method=method,
                                     headers={"X-Auth-Token": self.token, "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None


def probe_store_order(keystone: str, glance: str, password: str) -> tuple[bool, str]:
    """Import one image to all stores with glance-direct and judge what Glance shows."""
    try:
        api = _Api(keystone, glance, password)
        store_ids = [s["id"] for s in api.call("GET", "/v2/info/stores")["stores"] if s.get("read-only") != "true"]
        image = api.call("POST", "/v2/images", {"name": NAME, "disk_format": "raw", "container_format": "bare"})
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        return False, f"could not start the probe image: {exc}"
    try:
        api.call("PUT", f"/v2/images/{image['id']}/stage", b"\0" * 1024, "application/octet-stream")
        api.call("POST", f"/v2/images/{image['id']}/import", {"method": {"name": "glance-direct"}, "all_stores": True})
        deadline = time.monotonic() + TIMEOUT
        while True:
            image = api.call("GET", f"/v2/images/{image['id']}")
            ok, why = store_order_verdict(image, store_ids)
            if ok or image.get("os_glance_failed_import") or time.monotonic() > deadline:
                return ok, why
            time.sleep(1)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return False, f"the probe image's import failed: {exc}"
    finally:
        try:
            api.call("DELETE", f"/v2/images/{image['id']}")
        except (OSError, urllib.error.URLError):
            pass  # a leftover image is named NAME: the next run's list shows it


def delete_tempest_leftovers(keystone: str, glance: str, password: str, since: str) -> str:
    """Delete this run's Tempest leftovers; what was deleted (or why not), for the summary."""
    try:
        api = _Api(keystone, glance, password)
        images, path = [], "/v2/images?limit=200"
        while path:
            page = api.call("GET", path)
            images += page["images"]
            path = page.get("next")
        leftovers = tempest_leftovers(images, since)
        for img in leftovers:
            api.call("DELETE", f"/v2/images/{img['id']}")
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        return f"Tempest's leftover images: could not clean up ({exc})"
    if not leftovers:
        return "Tempest's leftover images: none"
    names = ", ".join(f"{img['name']} ({img.get('status')})" for img in leftovers)
    return f"Tempest's leftover images: {len(leftovers)} deleted: {names}"
