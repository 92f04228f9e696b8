"""Canaries side by side: each canary's steps in a worker thread, its result kept for its own test.

Why: a canary waits on Glance far more than it works (the lab's glance-api spends over a second
on any upload before the first byte counts: a trust, unified limits), so canaries of different
stores and nodes run in a bounded pool (`Pool`, ini `canary_parallel`) and each test only waits
for its own `Result`: its verdict, evidence and figures stay its own.

Cleanup is registered at creation (`Registry.register` before the create call): a canary that
passes is deleted at once in the background (`Registry.delete_later`: an rbd delete takes Glance
about a second, time its worker spends on the next canary instead); one that fails is kept for
its test, which classifies it (a second try may upload to it) and then deletes it. `Entry.delete`
runs once: the test's cleanup and the sweep wait for a background delete in flight and take its
result. `Pool.close()` (Ctrl-C, SIGTERM, the end
of the module) stops the workers between two steps or buffers and deletes whatever is left,
waiting for a create still in flight so its image is not missed.

Logic only (no pytest): the test module turns a Result into evidence, a skip or a failure.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from glance_hc import canary
from glance_hc.sizes import human

Interrupted = canary.Interrupted

@dataclass(frozen=True)
class Settings:
    """The thresholds a canary needs (seconds and bytes), read once by the caller."""

    size: int
    canary_timeout: float
    api_timeout: float
    command_timeout: float
    hash_algo: str
    run_id: str

    @property
    def lease(self) -> int:
        return canary.lease_seconds(self.canary_timeout, self.api_timeout, self.command_timeout)


@dataclass(frozen=True)
class Plan:
    """One canary to run: its label (image name), store (None: no header) and endpoint (None: the
    catalogue's); `probe_node` asks the node for one image first (a node case)."""

    key: str
    label: str
    store: str | None = None
    endpoint: str | None = None
    endpoint_how: str = ""    # why that endpoint (glance_hc.endpoints), for the evidence
    probe_node: bool = False
    # glance-direct: stage through `endpoint`, send the import through `import_endpoint` (another
    # node: distributed import proxies it to the node that holds the staged data)
    glance_direct: bool = False
    import_endpoint: str | None = None
    import_label: str = ""    # the node the import goes through, for the evidence
    stage_label: str = ""     # the node the data is staged through
    # several stores (glance_hc.canary.multistore): "multi" imports to `stores` at once with
    # all_stores_must_succeed=`must_succeed`; "copy" imports to the default store, then copy-image to
    # `stores`; "web" imports by web-download from `web` (glance_hc.canary.web_download)
    kind: str = ""
    stores: tuple[str, ...] = ()
    must_succeed: bool | None = None
    web: object | None = None  # a WebSource: offer(name, source) -> url, or a fixed URL hashed as served


@dataclass
class Failure:
    """A failed step, as the classification needs it (glance_hc.fixtures.canary_failure)."""

    step: str
    status: object
    body: str
    answer: canary.Answer | None = None
    detail: str | None = None
    retry: bool = False       # the upload: a connection reset may be retried with the body held back
    classify: bool = True     # False: a node that does not answer at all (availability, as it is)
    ids: tuple[str, ...] = ()  # more ids the logs are searched for (an import task's: its lines carry it)


@dataclass
class Result:
    plan: Plan
    entry: Entry | None = None            # registered just before the create call
    source: canary.PatternSource | None = None
    evidence: list[tuple[str, object, str | None]] = field(default_factory=list)
    metrics: list[tuple[str, float, str, dict]] = field(default_factory=list)
    failure: Failure | None = None
    error: BaseException | None = None   # a crash of the worker (a bug): the test re-raises it
    interrupted: bool = False
    seconds: float = 0.0
    passed: bool = False                 # a glance-direct canary that passed (deleted in the background)
    failed_stores: list[str] = field(default_factory=list)  # a multi-store canary's stores that failed

    def add(self, title: str, body, command: str | None = None) -> None:
        self.evidence.append((title, body, command))


# ---------------------------------------------------------------------------- cleanup registry


class Entry:
    """One canary's image, registered before it is created; deleted exactly once."""

    def __init__(self, name: str, endpoint: str | None):
        self.name, self.endpoint = name, endpoint
        self.image_id: str | None = None
        self.creating = False
        self.cleanup: canary.Cleanup | None = None
        self._lock = threading.Lock()
        self._created = threading.Event()  # the create call returned (with an id or not)

    def created(self, image_id: str | None) -> None:
        self.image_id, self.creating = image_id, False
        self._created.set()

    def wait_created(self, timeout: float) -> bool:
        return not self.creating or self._created.wait(timeout)

    def delete(self, conn, api_timeout: float) -> canary.Cleanup:
        """Delete and confirm (by id, else by exact name); the first result stands for every caller."""
        with self._lock:
            if self.cleanup is None:
                self.cleanup = canary.delete_and_confirm(
                    conn, self.image_id, name=self.name, endpoint_override=self.endpoint,
                    timeout=max(api_timeout, 10), request_timeout=api_timeout)
            return self.cleanup


class Registry:
    """Every canary image of the run, for the sweep on interruption."""

    def __init__(self):
        self._lock = threading.Lock()
        self.entries: list[Entry] = []
        self.deleting: list[threading.Thread] = []  # background deletes of passed canaries

    def register(self, name: str, endpoint: str | None) -> Entry:
        entry = Entry(name, endpoint)
        entry.creating = True
        with self._lock:
            self.entries.append(entry)
        return entry

    def delete_later(self, entry: Entry, conn, api_timeout: float) -> None:
        """Delete a passed canary in a thread of its own (one per canary, so a slow store's delete
        never holds up another canary's), leaving its worker free for the next canary."""
        def delete() -> None:
            try:
                entry.delete(conn, api_timeout)
            except Exception:  # noqa: BLE001 - nothing recorded: the test's cleanup or the sweep tries again
                pass
        thread = threading.Thread(target=delete, name=f"hc-canary-delete-{entry.name}", daemon=True)
        with self._lock:
            self.deleting.append(thread)
        thread.start()

    def wait_deletes(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds in all) for the background deletes; True: all done."""
        until = time.monotonic() + timeout
        with self._lock:
            threads = list(self.deleting)
        for thread in threads:
            thread.join(max(0.0, until - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def sweep(self, conn, api_timeout: float) -> list[tuple[Entry, canary.Cleanup]]:
        """Delete every canary not deleted yet, once the background deletes are done (a delete
        still held in a request is waited for by `Entry.delete`); a create still in flight is waited
        for (its request timeout) so the image it makes is deleted by id, else looked up by name."""
        self.wait_deletes(max(api_timeout, 10) + 2 * api_timeout)
        with self._lock:
            left = [e for e in self.entries if e.cleanup is None]
        done = []
        for entry in sorted(left, key=lambda e: e.creating):  # known ids first
            entry.wait_created(api_timeout + 1)
            done.append((entry, entry.delete(conn, api_timeout)))
        return done


# ---------------------------------------------------------------------------- one canary


def run(conn, plan: Plan, settings: Settings, registry: Registry, stop: threading.Event) -> Result:
    """The canary's steps; never raises (a crash is `Result.error`)."""
    name = canary.canary_name(plan.label)
    result = Result(plan)
    started = time.monotonic()
    try:
        _steps(conn, plan, settings, registry, stop, result, name)
    except Interrupted:
        result.interrupted = True
    except BaseException as exc:  # noqa: BLE001 - a worker must hand every outcome to its test
        result.error = exc
    result.seconds = time.monotonic() - started
    return result


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise Interrupted("the run is stopping")


def _steps(conn, plan: Plan, s: Settings, registry: Registry, stop: threading.Event,
           result: Result, name: str) -> None:
    endpoint = plan.endpoint
    if plan.probe_node:  # the node must answer at all before its canary can say anything about a cause
        probe, _ = canary.call(conn, "GET", "/images", params={"limit": 1}, endpoint_override=endpoint,
                               timeout=s.api_timeout)
        result.add("node answers", probe.describe(), f"GET {endpoint}/images?limit=1")
        if not probe.ok:
            result.failure = Failure("node answers", probe.status, probe.body, probe,
                                     detail=probe.describe(), classify=False)
            return
    _check(stop)
    source = result.source = canary.PatternSource(s.size, hash_algo=s.hash_algo)
    source.stop = stop
    # cleanup first: even a create that timed out on our side may have made the image
    entry = result.entry = registry.register(name, endpoint)
    created = None
    try:
        created = canary.create_image(conn, name, endpoint_override=endpoint, timeout=s.api_timeout,
                                      run_id=s.run_id, lease=s.lease)
    finally:
        image_id = (created.json or {}).get("id") if created is not None and created.ok else None
        entry.created(image_id)
    if not image_id:
        result.failure = Failure("create the image record", created.status, created.body, created)
        return
    result.add("canary", f"{name} ({image_id}): {human(source.size)} of generated data, seed {source.seed}, "
                         f"hashed with md5 and {source.hash_algo}; run {s.run_id}, lease {s.lease}s")
    _check(stop)

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise Interrupted("the run is stopping")

    if plan.kind:
        from glance_hc.canary_imports import run_kind  # noqa: PLC0415 - the import kinds use this module

        run_kind(conn, plan, s, stop, result, image_id, source, sleep)
        if result.passed:
            registry.delete_later(entry, conn, s.api_timeout)
        return
    if plan.glance_direct:
        _imported(conn, plan, s, stop, result, image_id, source, sleep)
        if result.passed:
            registry.delete_later(entry, conn, s.api_timeout)
        return
    started = time.monotonic()
    up = canary.upload(conn, image_id, source, plan.store, endpoint_override=endpoint,
                       timeout=(s.api_timeout, s.canary_timeout), deadline=s.canary_timeout)
    _check(stop)
    result.add("upload", up.describe(), f"PUT {endpoint or 'image endpoint'}/images/{image_id}/file"
                                        f"{' (X-Image-Meta-Store: ' + plan.store + ')' if plan.store else ''}")
    if not up.ok:
        result.failure = Failure("upload", up.status, up.body, up, retry=True)
        return

    try:
        record = canary.wait_for_status(
            conn, image_id, "active", max(1.0, s.canary_timeout - (time.monotonic() - started)),
            endpoint_override=endpoint, interval=0.5, request_timeout=s.api_timeout, sleep=sleep)
    except (canary.WaitTimeout, canary.UnexpectedStatus) as exc:
        result.failure = Failure("wait for active", canary.STUCK, str(exc), None, detail=str(exc))
        return
    seconds_to_active = time.monotonic() - started
    result.add("image record", describe_record(image_id, record))

    down = _read_back(conn, image_id, record, source, plan.store, endpoint, up, s, stop, result)
    if down is None:
        return

    labels = {"store": plan.store or "default", "size": str(source.size)}
    result.metrics += [("canary_upload_mib_per_s", round(up.mib_per_s, 2), "MiB/s", labels),
                       ("canary_upload_seconds", round(up.seconds, 3), "s", labels),
                       ("canary_download_mib_per_s", round(down.mib_per_s, 2), "MiB/s", labels),
                       ("canary_seconds_to_active", round(seconds_to_active, 3), "s", labels)]
    result.add("result", f"{human(source.size)} up in {up.seconds:.2f}s ({up.mib_per_s:.1f} MiB/s), active after "
                         f"{seconds_to_active:.2f}s, down in {down.seconds:.2f}s ({down.mib_per_s:.1f} MiB/s); "
                         f"md5 and {source.hash_algo} match what was sent")
    registry.delete_later(entry, conn, s.api_timeout)  # passed: nothing left to look at


def _imported(conn, plan: Plan, s: Settings, stop: threading.Event, result: Result, image_id: str,
              source: canary.PatternSource, sleep) -> None:
    """glance-direct: stage through the plan's node, import through its other node, wait, verify."""
    stage_at, import_at = plan.endpoint, plan.import_endpoint
    started = time.monotonic()
    staged = canary.stage(conn, image_id, source, endpoint_override=stage_at,
                          timeout=(s.api_timeout, s.canary_timeout), deadline=s.canary_timeout)
    _check(stop)
    result.add("stage", staged.describe(), f"PUT {stage_at or 'image endpoint'}/images/{image_id}/stage")
    if not staged.ok:
        result.failure = Failure("stage", staged.status, staged.body, staged)
        return
    body = canary.import_body()
    started_import = time.monotonic()
    answer = canary.start_import(conn, image_id, endpoint_override=import_at, timeout=s.api_timeout)
    _check(stop)
    result.add("import", answer.describe(), f"POST {import_at or 'image endpoint'}/images/{image_id}/import "
                                            f"{body} (through {plan.import_label or 'the same node'})")
    if not answer.ok:
        result.failure = Failure("import call", answer.status, answer.body, answer)
        return
    deadline = canary.import_deadline(s.canary_timeout, s.api_timeout)
    try:
        record = canary.wait_for_import(conn, image_id, deadline, endpoint_override=import_at, interval=0.5,
                                        request_timeout=s.api_timeout, sleep=sleep)
    except canary.ImportFailed as exc:
        result.add("import task", canary.describe_task(exc.task), f"GET /v2/images/{image_id}/tasks")
        result.failure = Failure("wait for the import", canary.TASK_FAILURE, exc.body, answer, detail=str(exc),
                                 ids=_task_ids(exc.task))
        return
    except (canary.WaitTimeout, canary.UnexpectedStatus) as exc:
        task = getattr(exc, "task", None)
        result.add("import task", canary.describe_task(task), f"GET /v2/images/{image_id}/tasks")
        result.failure = Failure("wait for the import", canary.STUCK, str(exc), answer, detail=str(exc),
                                 ids=_task_ids(task))
        return
    imported = time.monotonic() - started_import
    result.add("image record", describe_record(image_id, record))
    down = _read_back(conn, image_id, record, source, plan.store, import_at, answer, s, stop, result)
    if down is None:
        return
    stage_node = plan.stage_label or "image endpoint"
    import_node = plan.import_label or stage_node
    labels = {"store": plan.store or "default", "size": str(source.size), "stage_node": stage_node,
              "import_node": import_node}
    result.metrics += [("canary_stage_seconds", round(staged.seconds, 3), "s", labels),
                       ("canary_stage_mib_per_s", round(staged.mib_per_s, 2), "MiB/s", labels),
                       ("canary_import_seconds_to_active", round(imported, 3), "s", labels),
                       ("canary_download_mib_per_s", round(down.mib_per_s, 2), "MiB/s", labels)]
    result.add("result", f"{human(source.size)} staged through {stage_node} in {staged.seconds:.2f}s "
                         f"({staged.mib_per_s:.1f} MiB/s), imported through {import_node}: "
                         f"active {imported:.2f}s after the import call (bound {deadline:g}s), total "
                         f"{time.monotonic() - started:.2f}s; md5 and {source.hash_algo} of the download match "
                         f"what was staged")
    # passed: nothing left to look at (the caller's registry deletes it; see _steps)
    result.passed = True


def _read_back(conn, image_id: str, record: dict, source: canary.PatternSource, store: str | None,
               endpoint: str | None, sent, s: Settings, stop: threading.Event, result: Result):
    """An active canary's record against what was sent, then its download hashed against both:
    the Transfer of the download, or None with `result.failure` set (`sent`: the answer that
    put the data in, blamed for a wrong record)."""
    problems = canary.verify_record(record, source, store)
    if problems:
        what = "; ".join(text for _, text in problems)
        result.failure = Failure("verify the image record", problems[0][0], what, sent, detail=what)
        return None
    _check(stop)
    down = canary.download(conn, image_id, hash_algo=record.get("os_hash_algo") or source.hash_algo,
                           endpoint_override=endpoint, timeout=(s.api_timeout, s.canary_timeout),
                           deadline=s.canary_timeout, stop=stop)
    _check(stop)
    result.add("download", f"{down.describe()}; {human(down.bytes)} at {down.mib_per_s:.1f} MiB/s")
    if not down.ok:
        result.failure = Failure("download", down.status, down.body, down)
        return None
    problems = canary.verify_download(down, record, source)
    if problems:
        what = "; ".join(text for _, text in problems)
        result.failure = Failure("verify the download", problems[0][0], what, down, detail=what)
        return None
    return down


def _task_ids(task: dict | None) -> tuple[str, ...]:
    return tuple(str(task[k]) for k in ("id",) if task and task.get(k))


def describe_record(image_id, record) -> str:
    if not image_id:
        return "no image was created"
    if record is None:
        return f"{image_id}: could not be read"
    keys = ("status", "size", "checksum", "os_hash_algo", "os_hash_value", "stores", "updated_at")
    return f"{image_id}: " + ", ".join(f"{k}={record.get(k)}" for k in keys if k in record)


# ---------------------------------------------------------------------------- the pool


class Pool:
    """`parallel` daemon workers running `plans`; `result(key)` waits for one canary's result.

    Daemon threads, so a worker held in a request (a proxy that never answers) cannot keep an
    interrupted run alive past its cleanup. parallel=1 runs the canaries one after another, in
    the order given.
    """

    def __init__(self, conn, plans: list[Plan], settings: Settings, parallel: int):
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1, not {parallel}")
        self.conn, self.settings = conn, settings
        self.parallel, self.plans = parallel, list(plans)
        self.registry = Registry()
        self.stop = threading.Event()
        self._results: dict[str, Result] = {}
        self._done: dict[str, threading.Event] = {p.key: threading.Event() for p in plans}
        self._work: queue.Queue = queue.Queue()
        for plan in plans:
            self._work.put(plan)
        self._threads = [threading.Thread(target=self._worker, name=f"hc-canary-{i}", daemon=True)
                         for i in range(min(parallel, len(plans)))]
        for thread in self._threads:
            thread.start()

    def _worker(self) -> None:
        while not self.stop.is_set():
            try:
                plan = self._work.get_nowait()
            except queue.Empty:
                return
            self._results[plan.key] = run(self.conn, plan, self.settings, self.registry, self.stop)
            self._done[plan.key].set()

    def result(self, key: str, poll: float = 0.2) -> Result:
        """Wait for one canary (in short waits, so a signal reaches the main thread at once)."""
        done = self._done[key]
        while not done.wait(poll):
            if self.stop.is_set() and not any(t.is_alive() for t in self._threads):
                raise RuntimeError(f"canary {key} never ran: the pool was stopped")
        return self._results[key]

    def wait_all(self, poll: float = 0.2) -> None:
        """Wait until every canary of the pool has its result."""
        for key in self._done:
            self.result(key, poll)

    def close(self, grace: float = 5.0) -> list[tuple[Entry, canary.Cleanup]]:
        """Stop the workers between two steps and delete every canary not deleted yet.

        Workers get `grace` seconds to reach their next chunk, buffer or poll (so an upload is
        closed before its image is deleted); one held longer in a request is not waited for."""
        self.stop.set()
        until = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))
        return self.registry.sweep(self.conn, self.settings.api_timeout)
