"""Explain one image a user reports (`--image ID_OR_NAME`, repeatable): the runbook's workflow.

The record first (a GET by id also shows `killed` images, which the v2 list never does), then
the requests that touched it in every host's logs (by image id, then by the request ids found on
those lines), the kernel and uWSGI lines around its last change and what the host checks saw of
its store; the root cause is named by the canary's own rules (glance_hc.forensics). An image with
nothing wrong passes with its record as evidence. Read-only.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fixtures.hosts import registry
from fixtures.options import thresholds_of
from glance_hc import canary, forensics
from glance_hc import facts as facts_mod
from glance_hc.report import ROOT_CAUSE_OVERRIDE

pytestmark = [pytest.mark.api, pytest.mark.availability]

MAX_REQUEST_IDS = 8  # request ids followed per image: each is one round trip per host


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image_ref" in metafunc.fixturenames:
        images = list(dict.fromkeys(metafunc.config.getoption("forensics_images", default=[]) or []))
        metafunc.parametrize("image_ref", images or [None], ids=images or ["no-image-given"])


def _resolve(conn, ref: str, timeout: float) -> tuple[str | None, str]:
    """An id as given, else the one image of that name."""
    answer = canary.get_image(conn, ref, timeout=timeout)
    if answer.ok or answer.status != 404 and answer.status != 400:
        return ref, f"GET /v2/images/{ref}: {answer.describe()}"
    listing, _ = canary.call(conn, "GET", "/images", params={"name": ref, "limit": 5}, timeout=timeout)
    found = (listing.json or {}).get("images", []) if listing.ok else []
    if len(found) == 1:
        return found[0]["id"], f"name {ref} is image {found[0]['id']}"
    return None, (f"no image has id or name {ref!r}" if not found else
                  f"{len(found)} images are named {ref!r}: give one id ({', '.join(i['id'] for i in found)})")


def _host_lines(config, image_id: str, timeout: int) -> tuple[list[forensics.Event], list[str], list[str], list]:
    """Lines naming the image, then its request ids, from every host; context and store findings."""
    reg = registry(config)
    events, notes, hosts = [], [], []
    for spec in reg.specs:
        found = reg.facts(spec.name)
        if found.error:
            notes.append(f"{spec.name}: not searched ({found.error})")
            continue
        try:
            host = reg.testinfra_host(spec.name)
            lines = facts_mod.request_lines(found, host, image_id, timeout=timeout)
            hosts.append((found, host))
            events += forensics.events_of(spec.name, lines)
        except facts_mod.HostUnreachable as exc:
            notes.append(f"{spec.name}: logs not searched ({exc})")
        notes += [f"{spec.name} {src.describe()}" for src in found.log_sources.values() if not src.read or src.note]
    ids = [rid for rid in forensics.request_ids(e.text for e in events)]
    if len(ids) > MAX_REQUEST_IDS:
        notes.append(f"{len(ids)} request ids name the image: only the newest {MAX_REQUEST_IDS} followed")
        ids = ids[-MAX_REQUEST_IDS:]
    seen = {(e.host, e.text) for e in events}
    for found, host in hosts:
        for rid in ids:
            try:
                more = forensics.events_of(found.name, facts_mod.request_lines(found, host, rid, timeout=timeout))
            except facts_mod.HostUnreachable as exc:
                notes.append(f"{found.name}: request {rid} not searched ({exc})")
                break
            events += [e for e in more if (e.host, e.text) not in seen]
            seen |= {(e.host, e.text) for e in more}
    if not reg.specs:
        notes.append("no --host given: no host's logs searched, the verdict rests on the record alone")
    return events, notes, ids, hosts


def test_image_upload_is_explained(image_ref, image_api, evidence, request):
    if image_ref is None:
        pytest.skip("no --image given: forensics explains the images named with --image ID_OR_NAME")
    config, t = request.config, thresholds_of(request.config)
    started = datetime.now(timezone.utc).isoformat()
    image_id, how = _resolve(image_api, image_ref, t.api_timeout)
    evidence.add("image", how, command=f"GET /v2/images/{image_ref}")
    if image_id is None:
        pytest.fail(how, pytrace=False)
    record = canary.image_record(image_api, image_id, timeout=t.api_timeout)
    tasks_answer, _ = canary.call(image_api, "GET", f"/images/{image_id}/tasks", timeout=t.api_timeout)
    tasks = (tasks_answer.json or {}).get("tasks", []) if tasks_answer.ok else []
    evidence.add("image record", forensics.record_lines(record) if record else "could not be read",
                 command=f"GET /v2/images/{image_id}")
    evidence.add("tasks", [f"{x.get('id')} {x.get('type')} {x.get('status')}: {x.get('message')}" for x in tasks]
                 or [f"none ({tasks_answer.describe()})"], command=f"GET /v2/images/{image_id}/tasks")

    events, notes, ids, hosts = _host_lines(config, image_id, t.command_timeout)
    clock = hosts[0][0].clock_local if hosts else None
    events = forensics.own_requests_dropped(events, forensics.to_host_time(started, clock) - timedelta(seconds=1)
                                            if clock else None)
    context, findings = [], []
    store = None
    for found, _host in hosts:
        changed = forensics.to_host_time((record or {}).get("updated_at"), found.clock_local)
        note = forensics.reach_note(changed, found.name, found.clock_local, found.window)
        if note:
            notes.append(note)
        context += forensics.context_events(found.name, found.kernel_lines, changed)
        uwsgi = [line for line in found.log_lines
                 if found.log_sources.get(line.source) and found.log_sources[line.source].role == "uwsgi"]
        context += forensics.context_events(found.name, uwsgi, changed)
        default = next((s.name for s in (found.config.stores if found.config else []) if s.is_default), None)
        store = forensics.store_of(record or {}, default)
        for st in (found.config.stores if found.config else []):
            if st.name != store:
                continue
            for path in getattr(st, "datadirs", ()) or ():
                d = found.dirs.get(path.rstrip("/") or "/")
                if d is not None:
                    findings += forensics.dir_findings(found.name, store, d)
            seen = found.rbd.get(store)
            findings += [f"{found.name} {f}" for f in (seen.findings() if seen else [])]
    ex = forensics.explain(record, image_id, events, context, findings, notes, tasks)
    evidence.add("verdict", forensics.render(ex))
    evidence.add("request ids followed", ", ".join(ids) or "none found on the lines that name the image")
    evidence.add(f"what the host checks saw of store {store or '(unknown)'}", findings or ["nothing wrong seen"])
    if ex.notes:
        evidence.add("correlation notes", ex.notes)
    if ex.ok:
        return
    if ex.root_cause:
        request.node.user_properties.append((ROOT_CAUSE_OVERRIDE, ex.root_cause))
        if ex.classification and ex.classification.remediation:
            evidence.add("what to do", list(ex.classification.remediation))
    pytest.fail(ex.verdict, pytrace=False)
