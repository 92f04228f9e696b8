"""What the Image API says about several root causes, read-only.

* store_config: the stores `/v2/info/stores` lists are the stores each host's
  glance-api.conf enables (same names, same default);
* quota: `/v2/info/usage` leaves room for the largest image, a few more images
  and one more upload;
* worker_crash: no image sits in saving, importing or uploading, and no upload
  ended in queued without data (size and checksum unset), for longer than the stale
  age. `killed` is not offered: Glance's v2 list leaves killed images out whatever
  the filter, and a failed v2 upload goes back to queued, not killed;
* checksum_mismatch: every active image can be verified (checksum and
  os_hash_value), and with `--deep-verify N` the N newest really match (downloaded
  `--verify-parallel` at a time, each hashed as it streams).

Lists are server-side filtered and paged; no check makes one request per image.
Every check here needs the API to answer (fixture `image_api`): when the run's
probe got none, they skip and point at the availability check.
"""
from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from glance_hc import canary
from glance_hc.fixtures.cloud import node_endpoint_of
from glance_hc.fixtures.forensics import explain_image
from glance_hc.fixtures.options import verify_parallel
from glance_hc.sizes import human

pytestmark = [pytest.mark.api]

MIB = 1024 * 1024


# ------------------------------------------------------------------ store_config


@pytest.mark.store_config
def test_api_stores_match_host_config(image_api, configured_host, thresholds, evidence, request):
    host, config = configured_host, configured_host.config
    node = node_endpoint_of(request.config, host)
    if node.url is None:
        pytest.skip(f"cannot ask glance-api on {host.name} itself (behind the load balancer any node "
                    f"answers): {node.how}")
    endpoint = node.api
    evidence.add("node endpoint", f"{endpoint} ({node.how})")
    answer, _ = canary.call(image_api, "GET", "/info/stores", endpoint_override=endpoint,
                            timeout=thresholds.api_timeout)
    asked = f"glance-api on {host.name} at {endpoint}"
    evidence.add("asked", f"{asked}: {answer.describe()}", command="GET /v2/info/stores")
    if not isinstance(answer.status, int) or answer.status >= 500:
        pytest.skip(f"{asked} gave no usable answer ({answer.describe()}): a node that cannot answer is "
                    f"no evidence of its store configuration; the node's canary (availability) reports it")
    stores = (answer.json or {}).get("stores", []) if answer.ok else []
    conf_stores = {s.name: s.is_default for s in config.stores}
    evidence.add(f"stores in {config.source}",
                 [f"{name}{' (default)' if default else ''}" for name, default in conf_stores.items()]
                 + [f"enabled_backends = {', '.join(f'{k}:{v}' for k, v in config.enabled_backends.items())}"
                    if config.multistore else "no enabled_backends (single store)"])
    if answer.status == 404:
        assert not config.multistore, (
            f"{asked} answers 404 on /v2/info/stores (no multiple stores), but glance-api.conf on {host.name} "
            f"sets enabled_backends = {', '.join(config.enabled_backends)}: the running service does not use "
            f"this config, or it failed to load it")
        return
    if not answer.ok:
        pytest.fail(f"{asked} could not list its stores: {answer.describe()}", pytrace=False)
    api_stores = {str(s.get("id")): canary.is_default_store(s) for s in stores or []}
    evidence.add("stores the API lists",
                 [f"{name}{' (default)' if default else ''}" for name, default in api_stores.items()])
    if not config.multistore:
        pytest.fail(f"{asked} lists stores {', '.join(api_stores)} but glance-api.conf on {host.name} has no "
                    f"enabled_backends", pytrace=False)
    problems = []
    only_conf = [n for n in conf_stores if n not in api_stores]
    only_api = [n for n in api_stores if n not in conf_stores]
    if only_conf:
        problems.append(f"in glance-api.conf but not listed by the API: {', '.join(only_conf)}")
    if only_api:
        problems.append(f"listed by the API but not in glance-api.conf: {', '.join(only_api)}")
    conf_default = [n for n, d in conf_stores.items() if d]
    api_default = [n for n, d in api_stores.items() if d]
    if conf_default != api_default:
        problems.append(f"default store is {', '.join(api_default) or 'none'} for the API, "
                        f"{', '.join(conf_default) or 'none'} in glance-api.conf")
    assert not problems, f"stores of {host.name} and {asked} differ: " + "; ".join(problems)


# ------------------------------------------------------------------ quota

# resource: (unit, what is needed given the thresholds, how the need reads)
QUOTA_NEEDS = {
    "image_size_total": ("MiB", lambda t: math.ceil(t.largest_image / MIB), "the largest image"),
    "image_stage_total": ("MiB", lambda t: math.ceil(t.largest_image / MIB), "the largest image"),
    "image_count_total": ("images", lambda t: 5, "5 more images"),
    "image_count_uploading": ("uploads", lambda t: 1, "1 more upload at a time"),
}


@pytest.mark.quota
@pytest.mark.parametrize("resource", list(QUOTA_NEEDS))
def test_project_quota_has_headroom(resource, image_api, image_api_info, thresholds, evidence):
    usage = image_api_info.get("usage") or {}
    if "error" in usage:
        pytest.fail(f"/v2/info/usage could not be read: {usage['error']}", pytrace=False)
    if usage.get("status") == 404:
        pytest.skip("unified limits are off (/v2/info/usage answers 404; use_keystone_limits = false): "
                    "per-project usage is not available from the API")
    if usage.get("status") != 200 or not isinstance(usage.get("json"), dict):
        pytest.fail(f"/v2/info/usage answered HTTP {usage.get('status')}: {canary.body_message(usage.get('text', ''))}",
                    pytrace=False)
    entry = (usage["json"].get("usage") or {}).get(resource)
    if entry is None:
        pytest.skip(f"/v2/info/usage reports no {resource}")
    unit, need_of, need_text = QUOTA_NEEDS[resource]
    limit, used = int(entry.get("limit", -1)), int(entry.get("usage", 0))
    project = getattr(image_api, "current_project_id", None) or "the cloud's project"
    evidence.add(f"{resource} of project {project}", f"usage {used} {unit}, limit "
                 f"{'unlimited' if limit < 0 else f'{limit} {unit}'}", command="GET /v2/info/usage")
    if limit < 0:
        return
    need, headroom = need_of(thresholds), limit - used
    evidence.metric("quota_headroom", headroom, unit, {"resource": resource})
    if resource in ("image_size_total", "image_stage_total"):
        need_text = f"{need_text} ({human(thresholds.largest_image)})"
    assert headroom >= need, (
        f"project {project} has {max(headroom, 0)} {unit} of {resource} left (limit {limit}, used {used}): "
        f"not enough for {need_text}")


# ------------------------------------------------------------------ worker_crash: stale images

@dataclass(frozen=True)
class StuckCase:
    """Images in `status` unchanged for longer than the stale age, and what that means."""

    status: str
    meaning: str
    no_data: bool = False  # only images without data (size and checksum unset)

    @property
    def id(self) -> str:
        return f"{self.status}-without-data" if self.no_data else self.status


STUCK_CASES = (
    StuckCase("saving", "an upload whose worker died"),
    StuckCase("importing", "an import whose worker died"),
    StuckCase("uploading", "a staging upload whose worker died"),
    StuckCase("queued", "an upload that failed or was cut: Glance puts a failed v2 upload back to queued "
                        "with no data", no_data=True),
)


def _list_all(conn, thresholds, **filters):
    """Visible and hidden images (Glance leaves os_hidden ones out of a plain list), 1000 a page
    (Glance's api_limit_max), filtered by the server."""
    images, pages = [], 0
    for hidden in (None, "true"):
        found, read = canary.list_images(conn, timeout=thresholds.api_timeout, os_hidden=hidden,
                                         page_size=1000, **filters)
        images += found
        pages += read
    return images, pages


def _is_canary(img: dict) -> bool:
    return canary.CANARY_TAG in (img.get("tags") or []) and str(img.get("name") or "").startswith(
        canary.CANARY_PREFIX)


@pytest.mark.worker_crash
@pytest.mark.parametrize("case", STUCK_CASES, ids=[c.id for c in STUCK_CASES])
def test_no_images_stuck_in_transient_status(case, image_api, thresholds, evidence, request):
    now = datetime.now(UTC)
    cutoff = (now - thresholds.stale_image_age).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:  # only the stale ones come back: Glance compares updated_at itself
        images, pages = _list_all(image_api, thresholds, status=case.status, updated_at=f"lt:{cutoff}")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    # canaries are test_no_canary_images_left_from_earlier_runs' (it tells a live run's from a dead one's)
    canaries = [img for img in images if _is_canary(img)]
    stale = []
    for img in images:
        if img in canaries or (case.no_data and (img.get("size") is not None or img.get("checksum"))):
            continue
        age = canary.age_of(img, now, "updated_at")
        if age is None or age > thresholds.stale_image_age:
            stale.append((img, age))
    what = f"{case.status}{' without data' if case.no_data else ''}"
    evidence.add(f"images in {what}", f"{len(images)} in {case.status} listed ({pages} page(s)), "
                                      f"{len(canaries)} of them canaries (judged by the canary leftovers check), "
                                      f"{len(stale)} {what} unchanged for longer than {thresholds.stale_image_age}",
                 command=f"GET /v2/images?status={case.status}&updated_at=lt:{cutoff}")
    evidence.metric("stale_images", len(stale), "images", {"status": case.id})
    if not stale:
        return
    listing = [f"{img['id']} name={img.get('name')!r} owner={img.get('owner')} status={img.get('status')} "
               f"age={str(age).split('.')[0] if age is not None else 'unknown'} size={img.get('size')}"
               for img, age in sorted(stale, key=lambda pair: pair[0].get("updated_at") or "")]
    evidence.add(f"stale images in {what}", listing)
    newest = sorted(stale, key=lambda pair: pair[0].get("updated_at") or "", reverse=True)
    for img, _ in newest[:max(0, request.config.getoption("explain_stuck", default=0) or 0)]:
        explain_image(request.config, image_api, img["id"], thresholds, evidence, prefix=f"{img['id']}: ")
    pytest.fail(f"{len(stale)} image(s) in {what} unchanged for longer than {thresholds.stale_image_age} "
                f"({case.meaning}); oldest: {listing[0]}", pytrace=False)


# ------------------------------------------------------------------ checksum_mismatch


@pytest.mark.checksum_mismatch
def test_active_images_can_be_verified(image_api, thresholds, evidence):
    try:
        images, pages = _list_all(image_api, thresholds, status="active")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    missing = [img for img in images if not img.get("checksum") or not img.get("os_hash_value")]
    evidence.add("active images", f"{len(images)} listed ({pages} page(s)), {len(missing)} without checksum "
                                  f"or os_hash_value", command="GET /v2/images?status=active")
    if missing:
        evidence.add("active images that cannot be verified",
                     [f"{img['id']} name={img.get('name')!r} owner={img.get('owner')} checksum={img.get('checksum')} "
                      f"os_hash_algo={img.get('os_hash_algo')} os_hash_value="
                      f"{(img.get('os_hash_value') or '')[:16] or None}" for img in missing[:50]])
    assert not missing, (f"{len(missing)} active image(s) have no checksum or os_hash_value and cannot be "
                         f"verified, e.g. {missing[0]['id']} ({missing[0].get('name')!r})")


def _verify_image(conn, img: dict, thresholds, stop) -> tuple[canary.Transfer, list[str]]:
    """Download one image (hashed as it streams) and what differs from its record."""
    algo = img.get("os_hash_algo") or canary.DEFAULT_HASH_ALGO
    down = canary.download(conn, img["id"], hash_algo=algo, stop=stop,
                           timeout=(thresholds.api_timeout, thresholds.api_timeout))
    verdict = []
    if not down.ok:
        verdict.append(f"download failed: {down.describe()}")
    elif down.status == 204 or (down.bytes == 0 and img.get("size")):
        verdict.append("no data in the store (HTTP 204)")
    else:
        if img.get("size") is not None and down.bytes != img["size"]:
            verdict.append(f"{down.bytes} bytes downloaded, size {img['size']} recorded")
        if img.get("checksum") and down.md5 != img["checksum"]:
            verdict.append(f"md5 {down.md5} != checksum {img['checksum']}")
        if img.get("os_hash_value") and down.hash_value != img["os_hash_value"]:
            verdict.append(f"{algo} differs from os_hash_value")
    return down, verdict


@pytest.mark.checksum_mismatch
def test_recent_images_match_their_recorded_hashes(image_api, thresholds, evidence, request):
    count = int(request.config.getoption("deep_verify", default=0) or 0)
    if count <= 0:
        pytest.skip("deep verification is off: pass --deep-verify=N to download the N most recent active "
                    "images and compare them with their recorded checksum and os_hash_value")
    parallel = verify_parallel(request.config)
    try:
        images, _ = canary.list_images(image_api, timeout=thresholds.api_timeout, page_size=min(count, 1000),
                                       max_items=count, status="active", sort_key="created_at",
                                       sort_dir="desc")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    if not images:
        evidence.add("0 most recent active image(s) downloaded", ["no active image"])
        pytest.skip("no active image to verify")
    image_api.session.get_token()  # one token before the threads share the session
    stop = threading.Event()
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=min(parallel, len(images)), thread_name_prefix="hc-verify")
    try:
        done = list(pool.map(lambda img: _verify_image(image_api, img, thresholds, stop), images))
    except BaseException:
        stop.set()  # Ctrl-C, SIGTERM or a failed hash thread: the other downloads end at their next buffer
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    wall = time.monotonic() - started
    problems, lines = [], []
    for img, (down, verdict) in zip(images, done, strict=True):
        lines.append(f"{img['id']} {img.get('name')!r}: {human(down.bytes)} in {down.seconds:.1f}s "
                     f"({down.mib_per_s:.0f} MiB/s): {'; '.join(verdict) or 'matches'}")
        if verdict:
            problems.append(f"{img['id']} ({img.get('name')!r}): {'; '.join(verdict)}")
    total = sum(down.bytes for down, _ in done)
    rate = total / wall if wall > 0 else 0.0
    evidence.add(f"{len(images)} most recent active image(s) downloaded",
                 [f"{human(total)} verified in {wall:.1f}s: {human(int(rate))}/s ({rate:.0f} bytes/s), "
                  f"{min(parallel, len(images))} image(s) side by side (verify_parallel {parallel}), "
                  f"md5 and os_hash_algo hashed in two threads per image"] + lines)
    evidence.metric("deep_verify_bytes_per_s", round(rate), "bytes/s", {"images": str(len(images))})
    assert not problems, f"{len(problems)} of {len(images)} image(s) differ from their recorded hashes: " + \
        "; ".join(problems[:5])
