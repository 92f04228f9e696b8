"""Root cause 4, glance-api worker crash or OOM: workers are not dying, and have memory to live.

A worker SIGKILLed mid-upload leaves the image in saving; the signs are a
respawned worker, uWSGI's or oslo.service's "killed by signal" lines and the
kernel's OOM-killer lines.

Through the API: no image sits in saving, importing or uploading, and no upload ended in
queued without data (size and checksum unset), for longer than the stale age; no import task is
left processing that long by a dead glance-api while its image waits on it. `killed` is not
offered: Glance's v2 list leaves killed images out whatever the filter, and a failed v2 upload
goes back to queued, not killed.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from glance_hc import canary, logscan, uwsgi
from glance_hc import s3_store as s3_store_mod
from glance_hc.canary import tasks
from glance_hc.causes.worker_crash import IMPORT_TASK_REMEDIATION
from glance_hc.fixtures.cloud import list_tasks_or_skip
from glance_hc.fixtures.forensics import explain_image
from glance_hc.sizes import human

pytestmark = [pytest.mark.worker_crash]


# A worker this much younger than its master was respawned, not started with it.
RESPAWN_SLACK_SECONDS = 30


@pytest.mark.host
def test_service_has_not_restarted_by_itself(reachable_host, evidence):
    dep = reachable_host.deployment
    evidence.add("deployment", dep.detail)
    if dep.style == "systemd":
        assert not dep.restarts, (f"systemd restarted {dep.unit} on {reachable_host.name} "
                                  f"{dep.restarts} times (NRestarts) since it was last started by hand")
    elif dep.style == "container":
        state = dep.container_state
        assert not state.get("OOMKilled"), f"glance_api on {reachable_host.name} was OOM-killed"
        assert not dep.restarts, (f"{dep.runtime} restarted glance_api on {reachable_host.name} "
                                  f"{dep.restarts} times (RestartCount)")
    if dep.style in ("uwsgi", "process", "container"):
        procs = {p.pid: p for p in reachable_host.processes}
        master = procs.get(dep.master_pid)
        if master is None:
            if dep.style == "container":
                return  # its restarts were judged above; its processes were not seen
            pytest.skip(f"glance-api master process not seen on {reachable_host.name}")
        workers = [procs[pid] for pid in dep.worker_pids if pid in procs]
        evidence.add("processes", [f"pid {p.pid} user {p.user} up {p.elapsed_s}s: {p.args}"
                                   for p in [master, *workers]])
        respawned = [w for w in workers if w.elapsed_s < master.elapsed_s - RESPAWN_SLACK_SECONDS]
        assert not respawned, (
            f"{len(respawned)} glance-api worker(s) on {reachable_host.name} were respawned after the "
            f"master started (worker up {respawned[0].elapsed_s}s, master up {master.elapsed_s}s): "
            f"a worker died")
    elif dep.style != "systemd":
        pytest.skip(f"no glance-api service found on {reachable_host.name}")


@pytest.mark.host
def test_no_worker_killed_in_service_logs(quiet_logs):
    quiet_logs("worker_crash", "worker deaths")


@pytest.mark.host
def test_kernel_has_not_oom_killed_glance(reachable_host, evidence):
    host = reachable_host
    if host.kernel_error:
        pytest.skip(f"cannot read the kernel log on {host.name}: {host.kernel_error}")
    recent = list(logscan.within(host.kernel_lines, host.clock_local or datetime.now(), host.window,
                                 undated_ok=True))
    if recent:
        evidence.add("kernel OOM lines", [line.text for line in recent[-20:]], command="dmesg -T")
    assert not recent, f"the kernel OOM-killed glance-api on {host.name}: {recent[-1].text.strip()}"


@pytest.mark.host
def test_host_has_memory_headroom_for_uploads(reachable_host, thresholds, evidence):
    mem = reachable_host.meminfo
    if "MemAvailable" not in mem:
        pytest.skip(f"/proc/meminfo on {reachable_host.name} has no MemAvailable")
    evidence.add("memory", f"MemAvailable {human(mem['MemAvailable'])} of MemTotal {human(mem.get('MemTotal', 0))}")
    evidence.metric("memory_available_bytes", mem["MemAvailable"], "bytes")
    assert mem["MemAvailable"] >= thresholds.memory_available_min, (
        f"{reachable_host.name} has {human(mem['MemAvailable'])} of memory available, below "
        f"{human(thresholds.memory_available_min)}: a large upload may get a worker OOM-killed")


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


def _is_canary(img: dict) -> bool:
    return canary.CANARY_TAG in (img.get("tags") or []) and str(img.get("name") or "").startswith(
        canary.CANARY_PREFIX)


@pytest.mark.api
@pytest.mark.parametrize("case", STUCK_CASES, ids=[c.id for c in STUCK_CASES])
def test_no_images_stuck_in_transient_status(case, image_api, thresholds, evidence, request):
    now = datetime.now(UTC)
    cutoff = (now - thresholds.stale_image_age).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:  # only the stale ones come back: Glance compares updated_at itself
        images, pages = canary.list_every_image(image_api, thresholds, status=case.status, updated_at=f"lt:{cutoff}")
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


@pytest.mark.api
def test_no_import_task_left_processing(image_api, thresholds, evidence):
    """An api_image_import task in processing unchanged for longer than the stale age, whose image
    still waits on it (its lock names the task, or it sits in importing/uploading): the glance-api
    that ran it died or restarted, and nothing ever ends such a task. One whose image is gone (or no
    longer waits on it) is a harmless record: listed, never failed.

    A lock naming a task that already ended is not a check of its own: Glance drops the lock in the
    same flow that ends the task (_CompleteTask after success, _ImageLock.revert on failure), breaks a
    lock naming a missing task at the next import, and one naming an ended task once it is 60 minutes
    old; only a death between those two writes leaves it, the death this check finds."""
    now = datetime.now(UTC)
    listing = list_tasks_or_skip(image_api, "processing", thresholds)
    stale = tasks.older_than(tasks.imports(listing.tasks), now, thresholds.stale_image_age)
    looked = [tasks.detail(image_api, task, timeout=thresholds.api_timeout, age=age)
              for task, age in stale[:tasks.MAX_DETAILED]]
    evidence.add("processing import tasks",
                 f"{len(listing.tasks)} processing task(s) listed ({listing.pages} page(s)"
                 f"{', more not read: at most ' + str(tasks.MAX_PAGES) if listing.truncated else ''}), "
                 f"{len(stale)} api_image_import unchanged for longer than {thresholds.stale_image_age}"
                 + (f", the newest {tasks.MAX_DETAILED} read" if len(stale) > tasks.MAX_DETAILED else ""),
                 command=listing.command)
    held = [d for d in looked if d.holds_image]
    harmless = [d for d in looked if not d.holds_image]
    if harmless:
        evidence.add("stale processing tasks that hold nothing (harmless: image gone or no longer waiting)",
                     [d.describe() for d in harmless])
    evidence.metric("stale_import_tasks", len(held), "tasks")
    if not held:
        return
    evidence.add("stale processing tasks holding their image", [d.describe() for d in held],
                 command="GET /v2/tasks/ID, GET /v2/images/ID")
    evidence.add("what to do", list(IMPORT_TASK_REMEDIATION))
    pytest.fail(f"{len(held)} import task(s) in processing unchanged for longer than {thresholds.stale_image_age} "
                f"while their image waits on them (the glance-api that ran the import died or restarted); "
                f"newest: {held[0].describe()}", pytrace=False)


@pytest.mark.host
def test_s3_single_part_upload_fits_worker_memory(s3_store_settings, thresholds, evidence):
    """glance_store's s3 driver reads an image below s3_store_large_object_size whole into the
    worker's memory (about twice its size at the peak) before one PUT; uploads of unknown size
    (chunked) always go that way. The host must hold that for every upload it serves at once, and
    keep --memory-available-min besides."""
    store, host = s3_store_settings
    mem = host.meminfo
    if "MemAvailable" not in mem:
        pytest.skip(f"/proc/meminfo on {host.name} has no MemAvailable")
    ini = host.uwsgi_ini
    opts = uwsgi.parse_ini(host.files[ini], source=ini) if ini and host.files.get(ini) else None
    at_once = ((opts.processes or 1) * (opts.threads or 1)) if opts else 1
    need = s3_store_mod.upload_memory(thresholds.largest_image, store, at_once)
    how = (f"single-part (largest image {human(thresholds.largest_image)} < s3_store_large_object_size "
           f"{human(store.s3_large_object_size)}): ~{human(need.per_upload)} an upload"
           if need.single_part else
           f"multipart (s3_store_large_object_size {human(store.s3_large_object_size)}): "
           f"{store.s3_thread_pools} x {human(store.s3_large_object_chunk_size)} parts an upload")
    evidence.add("s3 upload memory", f"{how}; {need.uploads_at_once} upload(s) at once "
                                     f"({'uWSGI processes x threads of ' + ini if opts else 'no uWSGI ini read'})"
                                     f" = {human(need.total)}; MemAvailable {human(mem['MemAvailable'])}, "
                                     f"kept free {human(thresholds.memory_available_min)}")
    room = mem["MemAvailable"] - thresholds.memory_available_min
    assert need.total <= room, (
        f"{host.name}: s3 store {store.name} holds {human(need.total)} in glance-api's workers for "
        f"{need.uploads_at_once} upload(s) of the largest image at once ({how}), more than the "
        f"{human(max(room, 0))} of memory the host can spare: lower s3_store_large_object_size so such images go "
        f"multipart, or add memory")
