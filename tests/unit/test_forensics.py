"""Forensics of one image on what the lab really logged (tests/data/forensics, captured by
tests/tools/capture_forensics.py): the verdict, the timeline and the notes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from glance_hc import forensics
from glance_hc.facts import DirFacts
from glance_hc.logscan import LogLine

DATA = Path(__file__).resolve().parents[1] / "data" / "forensics"


def _load(case: str) -> dict:
    return json.loads((DATA / f"{case}.json").read_text())


def _lines(items) -> list[LogLine]:
    return [LogLine(src, text, datetime.fromisoformat(when) if when else None) for src, when, text in items]


def _explain(doc: dict, record: dict | None = None, with_findings: bool = True,
             verified: list | None = None) -> forensics.Explanation:
    record = record or doc["record"]
    events, context, findings = [], [], []
    for name, host in doc["hosts"].items():
        clock = datetime.fromisoformat(host["clock_local"])
        changed = forensics.to_host_time(record.get("updated_at"), clock, utc_now=clock)  # the lab runs in UTC
        events += forensics.events_of(name, host["lines"])
        context += forensics.context_events(name, _lines(host["kernel"]), changed)
        context += forensics.context_events(name, _lines(host["uwsgi"]), changed)
        if with_findings:
            d = host["dirs"].get("/var/lib/glance/images")
            findings += forensics.dir_findings(name, "fast", DirFacts(**d)) if d else []
    events = forensics.own_requests_dropped(events, None)
    return forensics.explain(record, doc["image_id"], events, context, findings, verified=verified)


def test_a_user_upload_refused_by_a_full_store_is_store_full():
    doc = _load("store-full")
    assert doc["upload_status"] == 413
    ex = _explain(doc)
    assert not ex.ok and ex.root_cause == "store_full", ex.verdict
    assert ex.data_status == 413
    assert ex.verdict.startswith(f"image {doc['image_id']} queued; its data upload was answered HTTP 413")
    assert any("PUT /v2/images/" in e.text and "HTTP/1.1 413" in e.text and e.host == "controller1"
               for e in ex.timeline)


def test_a_413_without_body_or_store_evidence_falls_to_the_generic_413_rule():
    ex = _explain(_load("store-full"), with_findings=False)  # the status code decides, then the lines
    assert ex.root_cause == "quota" and "413" in ex.verdict


def test_an_image_left_in_saving_by_a_killed_worker_is_a_worker_crash():
    doc = _load("worker-killed")
    ex = _explain(doc)
    assert not ex.ok and ex.root_cause == "worker_crash"
    assert "left in saving" in ex.verdict
    killed = [e for e in ex.timeline if "killed by signal 9" in e.text]
    assert killed and {e.host for e in killed} == {"controller1"}  # blame only the host where it was
    assert any("that served this image's requests was killed by signal 9" in n for n in ex.notes), ex.notes


def test_haproxy_lines_without_request_ids_are_matched_by_time_and_path_and_the_header_capture_is_advised():
    ex = _explain(_load("worker-killed"))
    assert forensics.HAPROXY_HINT in ex.notes
    assert any("(by time and path)" in n for n in ex.notes)


def test_a_healthy_image_passes_with_its_record():
    doc = _load("healthy")
    ex = _explain(doc)
    assert ex.ok and ex.root_cause is None and "nothing wrong" in ex.verdict, ex.verdict
    assert f"size: {doc['record']['size']}" in forensics.record_lines(doc["record"])


def test_a_healthy_image_whose_data_was_read_says_it_matches():
    ex = _explain(_load("healthy"), verified=[])
    assert ex.ok and "its stored data matches them: nothing wrong" in ex.verdict, ex.verdict


@pytest.mark.parametrize("problem", [("hash-mismatch", "md5 0f0f != checksum 1a1a"),
                                     ("size-mismatch", "1024 bytes downloaded, size 2048 recorded"),
                                     ("no-data", "no data in the store (HTTP 204)")])
def test_an_active_image_whose_stored_data_differs_is_a_checksum_mismatch(problem):
    """Glance never verifies stored data: the download that --image makes is the only witness."""
    doc = _load("healthy")
    ex = _explain(doc, verified=[problem])
    assert not ex.ok and ex.root_cause == "checksum_mismatch", ex.verdict
    assert ex.verdict.startswith(f"image {doc['image_id']} active, but its stored data {problem[1]}"), ex.verdict


@pytest.mark.parametrize("size", [0, None])
def test_an_active_image_without_size_is_explained_as_having_no_data(size):
    doc = _load("healthy")
    ex = _explain(doc, record={**doc["record"], "size": size})
    assert not ex.ok and ex.root_cause == "checksum_mismatch"
    assert f"active with size {size}" in ex.verdict


def test_a_killed_image_read_by_id_is_explained():
    doc = _load("worker-killed")
    ex = _explain(doc, record={**doc["record"], "status": "killed"})
    assert ex.root_cause == "worker_crash" and "left in killed" in ex.verdict


def test_logs_that_do_not_reach_the_last_change_say_how_far_they_reach():
    clock = datetime(2026, 12, 1, 22, 0, 0)
    note = forensics.reach_note(clock - timedelta(hours=3), "controller1", clock, timedelta(hours=1))
    assert note and "reach back to 2026-12-01 21:00:00 (--since 1h)" in note
    assert forensics.reach_note(clock - timedelta(minutes=5), "controller1", clock, timedelta(hours=1)) is None


@pytest.mark.parametrize("case", ["store-full", "worker-killed", "healthy"])
def test_every_captured_line_has_its_own_time(case):
    doc = _load(case)
    events = [e for name, host in doc["hosts"].items() for e in forensics.events_of(name, host["lines"])]
    assert events and all(e.when is not None for e in events), [e.text for e in events if e.when is None]


def test_a_shared_haproxy_log_read_on_two_hosts_counts_once_and_own_reads_are_dropped():
    doc = _load("worker-killed")
    events = [e for name, host in doc["hosts"].items() for e in forensics.events_of(name, host["lines"])]
    kept = forensics.own_requests_dropped(events, None)
    proxy = [e.text for e in kept if forensics.is_haproxy(e)]
    assert len(proxy) == len(set(proxy))
    latest = max(e.when for e in events)
    assert all(e.when < latest for e in forensics.own_requests_dropped(events, latest))


def test_a_missing_or_unreadable_record_is_said():
    assert "could not be read" in forensics.explain(None, "x", [], [], []).verdict
    assert "does not exist" in forensics.explain({"status": "<gone>"}, "x", [], [], []).verdict


def _worker_doc() -> tuple[dict, list[forensics.Event]]:
    doc = _load("store-permissions-worker-lines")
    return doc, [e for x in doc["lines"] for e in forensics.events_of(x["host"], [f"{x['source']}: {x['text']}"])]


def test_the_worker_that_served_the_image_is_found_with_the_time_it_served_it():
    _, events = _worker_doc()
    [served] = forensics.served(events)
    assert (served.host, served.pid) == ("controller1", "9897")
    assert (served.end - served.start).total_seconds() == 0.418
    assert forensics.served_stamps([served], "controller1") == ["2026-12-02 12:39:07.", "2026-12-02 12:39:08.",
                                                                "2026-12-02 12:39:09."]
    assert forensics.served_stamps([served], "controller2") == []


def test_only_the_serving_worker_s_lines_of_that_time_are_joined_to_the_image():
    _, events = _worker_doc()
    requests = forensics.served(events)
    own = [e for e in events if e.text.startswith("2026-")]
    other_pid = forensics.Event(None, "controller1", "log /var/log/glance/glance-api.log",
                                own[1].text.replace(" 9897 ERROR ", " 9896 ERROR "))
    later = forensics.Event(None, "controller1", "log /var/log/glance/glance-api.log",
                            own[1].text.replace("12:39:08.782", "12:39:15.782"))
    # uWSGI stamps the start to the second: a request that began at 12:39:08.9 logs until 12:39:09.3
    own.append(forensics.Event(None, "controller1", own[1].source, own[1].text.replace("12:39:08.782", "12:39:09.300")))
    elsewhere = forensics.Event(None, "controller2", own[1].source, own[1].text)
    assert forensics.worker_lines(requests, [*own, other_pid, later, elsewhere]) == own


def test_a_503_is_judged_by_what_the_worker_logged_not_as_an_outage():
    """uWSGI's line names the image, the worker's ERROR line says why: Glance logs the very message
    of its 503 explanation, so the write refusal is store_permissions, not glance-api down."""
    doc, events = _worker_doc()
    record = {"status": "queued", "size": None, "updated_at": "2026-12-02T12:39:08Z"}
    ex = forensics.explain(record, doc["image_id"], events, [], [])
    assert ex.root_cause == "store_permissions" and "HTTP 503" in ex.verdict, ex.verdict
    assert "Insufficient permissions on image storage media" in forensics.logged_explanation(events)
    uwsgi_only = [e for e in events if not e.text.startswith("2026-")]
    assert forensics.explain(record, doc["image_id"], uwsgi_only, [], []).root_cause == "availability"
