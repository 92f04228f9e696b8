"""Canaries side by side (glance_hc.canary_runs): bounded, each result its own, all cleaned on stop.

The Image API is a fake in memory; `canary.upload` and `canary.download` are replaced by fakes that
read the real PatternSource (so the stop between chunks and the hashes are the real ones).
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from glance_hc import canary, canary_runs


class Response:
    def __init__(self, status, payload=None):
        self.status_code, self._payload = status, payload
        self.text = json.dumps(payload) if payload is not None else ""
        self.headers = {"content-type": "application/json"} if payload is not None else {}

    def json(self):
        return self._payload


class FakeGlance:
    """Images in a dict; `upload_seconds` per upload, and the most uploads seen at once."""

    def __init__(self, upload_seconds=0.0, fail_store=None, hold_create=None, hold_delete=None):
        self.images, self.lock = {}, threading.Lock()
        self.upload_seconds, self.fail_store, self.hold_create = upload_seconds, fail_store, hold_create
        self.hold_delete = hold_delete  # an Event: every DELETE waits for it (a slow store's delete)
        self.uploads_started = 0
        self.running = self.most_at_once = 0
        self.image = self

    def request(self, path, method, **kwargs):
        with self.lock:
            if method == "POST":
                image_id = str(uuid.uuid4())
                self.images[image_id] = {"id": image_id, "name": kwargs["json"]["name"], "status": "queued"}
        if method == "POST":
            if self.hold_create is not None:
                self.hold_create.wait(5)
            return Response(201, self.images[image_id])
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["images"]:
            name = (kwargs.get("params") or {}).get("name")
            return Response(200, {"images": [i for i in self.images.values() if i["name"] == name]})
        image = self.images.get(parts[1]) if len(parts) > 1 else None
        if image is None:
            return Response(404)
        if method == "DELETE":
            if self.hold_delete is not None:
                self.hold_delete.wait(5)
            with self.lock:
                del self.images[parts[1]]
            return Response(204)
        return Response(200, dict(image))

    def upload(self, conn, image_id, source, store=None, **kwargs):
        with self.lock:
            self.running += 1
            self.uploads_started += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            result = canary.Transfer(method="PUT", path=f"/images/{image_id}/file", status=204)
            try:
                for _ in source:
                    time.sleep(self.upload_seconds / max(1, len(source) // source.chunk_size))
            except canary.DeadlineExceeded as exc:
                result.status, result.error = canary.CLIENT_DEADLINE, str(exc)
                return result
            if store == self.fail_store:
                result.status, result.body = 500, "The server has either erred"
                return result
            self.images[image_id].update(status="active", size=source.size, checksum=source.md5,
                                         os_hash_algo=source.hash_algo, os_hash_value=source.hash_value,
                                         stores=store or "")
            result.bytes, result.seconds = source.bytes_sent, 0.01
            return result
        finally:
            with self.lock:
                self.running -= 1

    def download(self, conn, image_id, hash_algo="sha512", **kwargs):
        image = self.images[image_id]
        return canary.Transfer(method="GET", path=f"/images/{image_id}/file", status=200, bytes=image["size"],
                               md5=image["checksum"], hash_value=image["os_hash_value"], hash_algo=hash_algo,
                               seconds=0.01)


@pytest.fixture
def glance(monkeypatch):
    def make(**kwargs):
        fake = FakeGlance(**kwargs)
        monkeypatch.setattr(canary, "upload", fake.upload)
        monkeypatch.setattr(canary, "download", fake.download)
        return fake
    return make


SETTINGS = canary_runs.Settings(size=4 << 20, canary_timeout=30, api_timeout=5, command_timeout=5,
                                hash_algo="sha512", run_id="run1")
PLANS = [canary_runs.Plan(key=f"store-{s}", label=s, store=s) for s in ("fast", "cheap", "rbd", "swift")]


@pytest.mark.parametrize("parallel, most", [(1, 1), (2, 2), (8, 4)])
def test_canaries_run_side_by_side_bounded_by_the_option(glance, parallel, most):
    fake = glance(upload_seconds=0.2)
    pool = canary_runs.Pool(fake, PLANS, SETTINGS, parallel)
    results = [pool.result(p.key) for p in PLANS]
    assert fake.most_at_once == most, "never more canaries at once than asked, and no fewer when there is work"
    assert all(r.failure is None and r.error is None for r in results), [r.failure for r in results]
    assert pool.registry.wait_deletes(5)
    assert fake.images == {}, "a canary that passed is deleted in the background"
    assert pool.close() == [], "nothing left for the sweep"


def test_each_canary_keeps_its_own_verdict_evidence_and_figures(glance):
    fake = glance(fail_store="rbd")
    pool = canary_runs.Pool(fake, PLANS, SETTINGS, 4)
    by_key = {p.key: pool.result(p.key) for p in PLANS}
    failed = by_key["store-rbd"]
    assert failed.failure.step == "upload" and failed.failure.status == 500 and failed.failure.retry
    assert failed.metrics == [] and failed.entry.cleanup is None, "a failure is kept for its test to classify"
    for key in ("store-fast", "store-cheap", "store-swift"):
        result = by_key[key]
        assert {m[0] for m in result.metrics} >= {"canary_upload_mib_per_s", "canary_seconds_to_active"}
        assert all(m[3]["store"] == key.split("-")[1] for m in result.metrics), "figures labelled per canary"
        assert any(t == "canary" and result.entry.name in b for t, b, _ in result.evidence)
        assert result.entry.delete(fake, SETTINGS.api_timeout).ok, "the test's cleanup takes the background one's result"
    # the passed canaries' background deletes are done once their tests' cleanups have waited for them
    assert list(fake.images) == [failed.entry.image_id]
    swept = pool.close()
    assert [e.image_id for e, c in swept if c.ok] == [failed.entry.image_id] and fake.images == {}


def test_a_passed_canarys_slow_delete_does_not_hold_its_worker_and_the_sweep_waits_for_it(glance):
    held = threading.Event()
    fake = glance(hold_delete=held)
    pool = canary_runs.Pool(fake, PLANS, SETTINGS, 1)  # one worker: the next canary needs it free
    first = pool.result(PLANS[0].key)
    deadline = time.monotonic() + 5
    while fake.uploads_started < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.failure is None and first.entry.cleanup is None, "its delete is still held"
    assert fake.uploads_started >= 2, "the worker went on to the next canary meanwhile"
    threading.Timer(0.3, held.set).start()  # the deletes answer after the stop began
    swept = pool.close()
    assert fake.images == {}, "every canary is gone: the background deletes were waited for"
    assert first.entry.cleanup.ok and all(c.ok for _, c in swept)


def test_close_stops_canaries_mid_upload_and_deletes_every_image(glance):
    fake = glance(upload_seconds=60)  # far longer than the test: only the stop can end them
    pool = canary_runs.Pool(fake, PLANS, dataclasses.replace(SETTINGS, size=512 << 20), 2)
    deadline = time.monotonic() + 5
    while fake.running < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.images) == 2
    started = time.monotonic()
    swept = pool.close()
    assert time.monotonic() - started < 3, "workers stop at their next chunk"
    assert fake.images == {} and len(swept) == 2 and all(c.ok for _, c in swept)
    assert all(pool.result(p.key).interrupted for p in PLANS[:2])
    assert not any(t.is_alive() for t in pool._threads), "the two canaries never started stay unstarted"


def test_close_waits_for_a_create_in_flight_and_deletes_its_image(glance):
    held = threading.Event()
    fake = glance(hold_create=held)
    pool = canary_runs.Pool(fake, PLANS[:1], SETTINGS, 1)
    deadline = time.monotonic() + 5
    while not fake.images and time.monotonic() < deadline:
        time.sleep(0.01)
    threading.Timer(0.3, held.set).start()  # the create answers after the stop
    swept = pool.close()
    assert [c.ok for _, c in swept] == [True] and fake.images == {}, "the image of a create in flight is not missed"


def test_a_node_that_does_not_answer_fails_without_making_an_image(glance):
    fake = glance()
    fake.request = lambda path, method, **kw: Response(503, {"error": "down"})
    fake.image = fake
    plan = canary_runs.Plan(key="node-c1", label="c1", endpoint="http://127.0.0.2:9292/v2", probe_node=True)
    result = canary_runs.run(fake, plan, SETTINGS, canary_runs.Registry(), threading.Event())
    assert result.failure.step == "node answers" and not result.failure.classify
    assert result.entry is None, "no image, nothing to clean"


def test_a_worker_crash_is_handed_to_its_test(glance, monkeypatch):
    fake = glance()
    monkeypatch.setattr(canary, "download", lambda *a, **k: 1 / 0)
    result = canary_runs.Pool(fake, PLANS[:1], SETTINGS, 1).result("store-fast")
    assert isinstance(result.error, ZeroDivisionError)
    assert len(fake.images) == 1 and result.entry.image_id in fake.images, "kept for the test's own cleanup"


def test_bad_parallel_is_refused():
    with pytest.raises(ValueError):
        canary_runs.Pool(SimpleNamespace(), PLANS, SETTINGS, 0)
