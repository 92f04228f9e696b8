"""The interoperable-import canaries' steps (issue #19), run by canary_runs' workers like the others:
an import to several stores at once (all_stores_must_succeed true or false), copy-image of an imported
canary to every other store, and web-download from the operator's side.

Each reads what Glance says of every store (`stores`, `os_glance_importing_to_stores`,
`os_glance_failed_import`: glance_hc.canary.multistore), puts it in the evidence, and fails naming the
store that failed; the task's id goes with the failure, so its log lines (which say why) classify it.
A web-download URL Glance's filter refuses (400) is configuration, classified by its answer.
"""
from __future__ import annotations

import threading
import time

from glance_hc import canary
from glance_hc.canary import multistore, web_download
from glance_hc.canary_runs import Failure, Plan, Result, Settings, _check, _read_back, _task_ids, describe_record
from glance_hc.sizes import human

STORE_FAILED = canary.TASK_FAILURE  # a store's failure is its task's: the task's log lines say why


class WebSource:
    """Where web-download takes the canary's data: the suite's own server (`server`), or the operator's
    URL (`url`), which is only hashed as it serves."""

    def __init__(self, server: web_download.DataServer | None = None, url: str | None = None,
                 filter_opts: list[str] | None = None):
        self.server, self.fixed, self.filter_opts = server, url, list(filter_opts or [])

    def offer(self, name: str, source: canary.PatternSource) -> str:
        return self.fixed or self.server.offer(name, source)

    def withdraw(self, name: str) -> None:
        if self.server is not None:
            self.server.withdraw(name)


def run_kind(conn, plan: Plan, s: Settings, stop: threading.Event, result: Result, image_id: str,
             source: canary.PatternSource, sleep) -> None:
    {"multi": _multi, "copy": _copy, "web": _web}[plan.kind](conn, plan, s, stop, result, image_id, source, sleep)


def _stage(conn, s: Settings, stop, result: Result, image_id: str, source) -> bool:
    staged = canary.stage(conn, image_id, source, timeout=(s.api_timeout, s.canary_timeout),
                          deadline=s.canary_timeout)
    _check(stop)
    result.add("stage", staged.describe(), f"PUT image endpoint/images/{image_id}/stage")
    if not staged.ok:
        result.failure = Failure("stage", staged.status, staged.body, staged)
    return staged.ok


def _call(conn, s: Settings, stop, result: Result, image_id: str, body: dict):
    answer = canary.start_import(conn, image_id, timeout=s.api_timeout, body=body)
    _check(stop)
    result.add("import call", answer.describe(), f"POST image endpoint/images/{image_id}/import {body}")
    if not answer.ok:
        result.failure = Failure("import call", answer.status, answer.body, answer)
    return answer


def _stores(conn, plan: Plan, s: Settings, stop, result: Result, image_id: str, answer, wanted, must_succeed,
            sleep) -> multistore.Outcome | None:
    """Wait until Glance is done with every store; a store that failed is the failure, named."""
    ids = tuple(x for x in (answer.global_request_id, answer.request_id) if x)
    try:
        out = multistore.wait_for_stores(conn, image_id, list(wanted), must_succeed,
                                         canary.import_deadline(s.canary_timeout, s.api_timeout), request_ids=ids,
                                         request_timeout=s.api_timeout, sleep=sleep)
    except multistore.StoresTimeout as exc:
        out = exc.outcome
        result.add("stores", out.describe(), f"GET /v2/images/{image_id} (properties: "
                                             f"{', '.join(multistore.PROPERTIES)})")
        result.failed_stores = out.importing or out.missing
        result.failure = Failure("wait for the stores", canary.STUCK, str(exc), answer, detail=str(exc),
                                 ids=_task_ids(out.task))
        return None
    result.add("stores", out.describe(), f"GET /v2/images/{image_id} (properties: {', '.join(multistore.PROPERTIES)})"
                                         f" and GET /v2/images/{image_id}/tasks")
    if not out.ok:
        result.failed_stores = out.blamed
        what = (f"store(s) {', '.join(out.blamed)} of {', '.join(out.wanted)}: " + "; ".join(out.problems))
        result.failure = Failure(f"import to stores {', '.join(out.wanted)}", STORE_FAILED,
                                 str((out.task or {}).get("message") or what), answer, detail=what,
                                 ids=_task_ids(out.task))
        return None
    return out


def _verified(conn, plan: Plan, s: Settings, stop, result: Result, image_id: str, source, answer, started,
              what: str) -> None:
    record = canary.image_record(conn, image_id, timeout=s.api_timeout)
    result.add("image record", describe_record(image_id, record))
    if record is None:
        result.failure = Failure("read the image record", canary.STUCK, "the image record could not be read", answer)
        return
    down = _read_back(conn, image_id, record, source, None, None, answer, s, stop, result)
    if down is None:
        return
    labels = {"kind": plan.kind, "stores": ",".join(plan.stores) or "default", "size": str(source.size)}
    seconds = time.monotonic() - started
    result.metrics += [(f"canary_{plan.kind}_import_seconds", round(seconds, 3), "s", labels)]
    result.add("result", f"{what}: {human(source.size)} in {seconds:.2f}s; md5 and {source.hash_algo} of the record "
                         f"and of a download match what was sent")
    result.passed = True


def _multi(conn, plan: Plan, s: Settings, stop, result: Result, image_id: str, source, sleep) -> None:
    """Stage, then one glance-direct import to every store, all_stores_must_succeed as the plan says."""
    started = time.monotonic()
    if not _stage(conn, s, stop, result, image_id, source):
        return
    answer = _call(conn, s, stop, result, image_id,
                   multistore.multi_body(canary.GLANCE_DIRECT, list(plan.stores), bool(plan.must_succeed)))
    if not answer.ok or _stores(conn, plan, s, stop, result, image_id, answer, plan.stores, plan.must_succeed,
                                sleep) is None:
        return
    _verified(conn, plan, s, stop, result, image_id, source, answer, started,
              f"imported to {', '.join(plan.stores)} at once (all_stores_must_succeed="
              f"{str(plan.must_succeed).lower()})")


def _copy(conn, plan: Plan, s: Settings, stop, result: Result, image_id: str, source, sleep) -> None:
    """glance-direct to the default store, then copy-image to every other store the cloud lists."""
    started = time.monotonic()
    if not _stage(conn, s, stop, result, image_id, source):
        return
    first = _call(conn, s, stop, result, image_id, canary.import_body())
    if not first.ok:
        return
    try:
        record = canary.wait_for_import(conn, image_id, canary.import_deadline(s.canary_timeout, s.api_timeout),
                                        interval=0.5, request_timeout=s.api_timeout, sleep=sleep)
    except (canary.ImportFailed, canary.WaitTimeout, canary.UnexpectedStatus) as exc:
        task = getattr(exc, "task", None)
        result.add("import task", canary.describe_task(task), f"GET /v2/images/{image_id}/tasks")
        result.failure = Failure("the import the copy starts from", canary.TASK_FAILURE if isinstance(
            exc, canary.ImportFailed) else canary.STUCK, getattr(exc, "body", "") or str(exc), first, detail=str(exc),
            ids=_task_ids(task))
        return
    result.add("imported", multistore.read_properties(record))
    answer = _call(conn, s, stop, result, image_id,
                   multistore.multi_body(multistore.COPY_IMAGE, list(plan.stores), False))
    if not answer.ok or _stores(conn, plan, s, stop, result, image_id, answer, plan.stores, None, sleep) is None:
        return
    _verified(conn, plan, s, stop, result, image_id, source, answer, started,
              f"imported to {plan.store or 'the default store'}, then copied to {', '.join(plan.stores)}")


def _web(conn, plan: Plan, s: Settings, stop, result: Result, image_id: str, source, sleep) -> None:
    """web-download from the suite's server (the generated data) or the operator's URL (hashed as served)."""
    web: WebSource = plan.web
    name = f"{image_id}.raw"
    url = web.offer(name, source)
    try:
        started = time.monotonic()
        if web.filter_opts:
            result.add("Glance's import filter (host facts)", web.filter_opts)
        if web.fixed:
            try:
                served = web_download.hash_served(url, source.hash_algo, s.canary_timeout)
            except (OSError, ValueError) as exc:  # urllib's URLError and HTTPError are OSErrors
                result.failure = Failure("read the operator's --web-download-url", canary.CONNECT_FAILED,
                                         f"{url}: {exc}", None, detail=f"this client could not read {url}: {exc}")
                return
            result.add("the operator's URL as served", f"{url}: {served.size} bytes, md5 {served.md5}, "
                                                        f"{served.hash_algo} {served.hash_value[:16]}...")
            source = _Served(served)
        answer = _call(conn, s, stop, result, image_id, {"method": {"name": web_download.WEB_DOWNLOAD, "uri": url}})
        if not answer.ok:
            return
        try:
            canary.wait_for_import(conn, image_id, canary.import_deadline(s.canary_timeout, s.api_timeout),
                                   interval=0.5, request_timeout=s.api_timeout, sleep=sleep)
        except (canary.ImportFailed, canary.WaitTimeout, canary.UnexpectedStatus) as exc:
            task = getattr(exc, "task", None)
            result.add("import task", canary.describe_task(task), f"GET /v2/images/{image_id}/tasks")
            result.failure = Failure("wait for the web-download", canary.TASK_FAILURE if isinstance(
                exc, canary.ImportFailed) else canary.STUCK, getattr(exc, "body", "") or str(exc), answer,
                detail=str(exc), ids=_task_ids(task))
            return
        if web.server is not None:
            result.add("served", web.server.served[-3:] or ["(no request reached the suite's server)"])
        _verified(conn, plan, s, stop, result, image_id, source, answer, started, f"web-download from {url}")
    finally:
        web.withdraw(name)


class _Served:
    """The operator's data as served, where the read-back wants a PatternSource: its size and digests."""

    def __init__(self, served: web_download.Served):
        self.size, self.hash_algo, self._served = served.size, served.hash_algo, served

    def digest(self, algo: str) -> str:
        if algo == "md5":
            return self._served.md5
        if algo == self._served.hash_algo:
            return self._served.hash_value
        raise ValueError(f"{algo} of the operator's URL was not computed")
