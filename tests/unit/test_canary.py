"""The canary's logic: the data source, the transport, the waiter and cleanup.

Its classification of a failure is glance_hc.classify, tested in tests/unit/test_classify.py
on the answers of tests/data/api/*.json.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from keystoneauth1 import exceptions as ksa

from glance_hc import canary

DATA = Path(__file__).parent.parent / "data" / "api"


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


# ---------------------------------------------------------------------------- data source


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 123, 64 * 1024])
def test_pattern_source_yields_exactly_size_bytes_with_matching_hashes(size):
    source = canary.PatternSource(size, seed=7, chunk_size=4096)
    data = b"".join(source)
    assert len(data) == len(source) == size == source.bytes_sent
    assert source.complete
    assert source.md5 == hashlib.md5(data).hexdigest()
    assert source.hash_value == hashlib.sha512(data).hexdigest()
    assert source.digest("sha256") == hashlib.sha256(data).hexdigest()
    assert source.digest("md5") == source.md5


def test_pattern_source_chunks_are_bounded_distinct_and_deterministic():
    a = list(canary.PatternSource(10 * 4096, seed=1, chunk_size=4096).chunks())
    b = list(canary.PatternSource(10 * 4096, seed=1, chunk_size=4096).chunks())
    c = list(canary.PatternSource(10 * 4096, seed=2, chunk_size=4096).chunks())
    assert a == b and a != c
    assert all(len(chunk) == 4096 for chunk in a)
    assert len(set(a)) == len(a), "every chunk differs, so no store can dedup or compress them away"


def test_pattern_source_restarts_on_a_second_pass():
    source = canary.PatternSource(3 * 4096 + 5, seed=3, chunk_size=4096)
    first = b"".join(source)
    it = iter(source)
    next(it)  # a pass cut short...
    assert not source.complete
    second = b"".join(source)  # ...and a full one: hashes describe the last pass
    assert first == second
    assert source.md5 == hashlib.md5(second).hexdigest() and source.passes == 3


def test_pattern_source_with_another_algorithm_and_bad_one():
    source = canary.PatternSource(5000, seed=4, hash_algo="sha256", chunk_size=1024)
    data = b"".join(source)
    assert source.hash_value == hashlib.sha256(data).hexdigest()
    assert source.digest("sha512") == hashlib.sha512(data).hexdigest()
    with pytest.raises(ValueError):
        canary.PatternSource(10, hash_algo="nope")
    with pytest.raises(ValueError):
        canary.PatternSource(-1)


def test_pattern_source_is_requests_friendly_and_never_holds_the_image():
    source = canary.PatternSource(1 << 30, seed=5)  # 1 GiB: only one 1 MiB block is held
    assert len(source) == 1 << 30 and not hasattr(source, "read")
    assert len(source._block) == canary.CHUNK_SIZE
    assert "bytes" in repr(source) and len(repr(source)) < 100


def test_pattern_source_stops_at_its_deadline():
    source = canary.PatternSource(10 * 4096, seed=6, chunk_size=4096)
    source.deadline = time.monotonic() - 1
    with pytest.raises(canary.DeadlineExceeded, match="0 of 40960 bytes"):
        b"".join(source)


def test_pattern_source_generates_and_hashes_fast():
    source = canary.PatternSource(128 << 20, seed=8)
    started = time.monotonic()
    for _ in source:
        pass
    rate = 128 / (time.monotonic() - started)
    assert rate > 40, f"{rate:.0f} MiB/s: too slow to stream a 1 GiB canary"


# ---------------------------------------------------------------------------- waiter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_for_status_returns_the_record_once_wanted():
    clock = FakeClock()
    statuses = iter(["queued", "saving", "saving", "active"])
    record = canary.wait_for_status(None, "img", "active", 60, clock=clock, sleep=clock.sleep,
                                    get=lambda iid: {"id": iid, "status": next(statuses)})
    assert record == {"id": "img", "status": "active"} and clock.now == 3.0


def test_wait_for_status_timeout_names_the_last_status_and_how_long_it_held():
    clock = FakeClock()
    seq = ["queued", "queued"] + ["saving"] * 100

    def get(iid):
        return {"status": seq.pop(0)}

    with pytest.raises(canary.WaitTimeout) as info:
        canary.wait_for_status(None, "img-1", "active", 10, interval=1, clock=clock, sleep=clock.sleep, get=get)
    message = str(info.value)
    assert "img-1" in message and "within 10s" in message
    assert "last status saving" in message and "held for 8.0s" in message
    assert info.value.last_status == "saving" and info.value.held_seconds == 8.0


@pytest.mark.parametrize("status", ["killed", "<gone>", "deleted"])
def test_wait_for_status_stops_at_once_on_a_dead_end(status):
    clock = FakeClock()
    with pytest.raises(canary.UnexpectedStatus, match=status):
        canary.wait_for_status(None, "img", "active", 60, clock=clock, sleep=clock.sleep,
                               get=lambda iid: {"status": status})
    assert clock.now == 0


def test_wait_for_status_unreadable_record_is_reported():
    clock = FakeClock()
    with pytest.raises(canary.WaitTimeout, match="last status <unreadable>"):
        canary.wait_for_status(None, "img", "active", 3, clock=clock, sleep=clock.sleep, get=lambda iid: None)


# ---------------------------------------------------------------------------- log lines
# (classification itself: tests/unit/test_classify.py)


def test_answered_status_reads_uwsgi_and_haproxy_request_lines():
    lines = load("quota-unified-limits-413-vip")["log_lines"]
    image_id = next(line for line in lines if "PUT /v2/images/" in line).split("/v2/images/")[1].split("/")[0]
    assert canary.answered_status(lines, image_id) == 413
    haproxy_only = [line for line in lines if "haproxy" in line]
    assert canary.answered_status(haproxy_only, image_id) == 413
    assert canary.answered_status(lines, "another-image") is None
    disconnect = load("client-disconnect-vip")["log_lines"]  # HAProxy: -1, uWSGI: 500
    disconnect_id = next(line for line in disconnect if "PUT /v2/images/" in line).split("/v2/images/")[1].split("/")[0]
    assert canary.answered_status([line for line in disconnect if "haproxy" in line], disconnect_id) is None
    assert canary.answered_status(disconnect, disconnect_id) == 500


def test_a_lost_410_body_is_read_back_from_glances_own_log_line():
    """CI saw the store-dir-unusable canary's 410 arrive without its body (the connection was cut):
    Glance logs the explanation it sends, so the rules still read 'error in store configuration'."""
    capture = DATA.parent / "rbd" / "glance-api-keyring-missing.log"  # lab fault rbd-keyring-missing
    lines = [f"controller1 log /var/log/glance/glance-api.log: {line}" for line in capture.read_text().splitlines()]
    request_id = "req-6b9f3cc0-a65a-420a-8565-5397e50a678a"
    said = canary.logged_explanation(lines, [request_id])
    assert said.startswith("Error in store configuration. Adding images to store is disabled.")
    assert "Failed to configure store" not in said  # the start-up WARNINGs are not the answer
    assert canary.logged_explanation(lines, ["req-someone-else"]) == ""
    found = canary.classify(410, said, {"status": "queued"}, lines)
    # (this capture's "permission denied" makes it store_permissions; the matrix adds the probe's context)
    assert found.root_cause.startswith("store_") and found.rules_matched[0].startswith("store-disabled")
    assert canary.classify(410, "", {"status": "queued"}, lines).root_cause == "availability"  # what CI got


# ---------------------------------------------------------------------------- verification


def test_verify_record_and_download():
    source = canary.PatternSource(10_000, seed=9, chunk_size=4096)
    data = b"".join(source)
    good = {"size": 10_000, "checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(), "stores": "fast"}
    assert canary.verify_record(good, source, "fast") == []
    assert canary.verify_record(good, source, None) == []
    kinds = [kind for kind, _ in canary.verify_record({**good, "stores": "cheap", "size": 9_999}, source, "fast")]
    assert kinds == [canary.SIZE_MISMATCH, canary.WRONG_STORE]
    assert canary.verify_record({**good, "checksum": "0" * 32}, source, None)[0][0] == canary.HASH_MISMATCH
    assert canary.verify_record({**good, "os_hash_value": None}, source, None)[0][0] == canary.MISSING_HASH
    sha256 = {**good, "os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(data).hexdigest()}
    assert canary.verify_record(sha256, source, None) == []

    down = canary.Transfer("GET", "/x", status=200, bytes=10_000, md5=good["checksum"],
                           hash_value=good["os_hash_value"], hash_algo="sha512")
    assert canary.verify_download(down, good, source) == []
    empty = canary.Transfer("GET", "/x", status=204, bytes=0)
    assert canary.verify_download(empty, good, source)[0][0] == canary.NO_DATA
    cut = canary.Transfer("GET", "/x", status=200, bytes=4096, md5="x", hash_value="y", hash_algo="sha512")
    assert [k for k, _ in canary.verify_download(cut, good, source)] == [
        canary.SIZE_MISMATCH, canary.HASH_MISMATCH, canary.HASH_MISMATCH]


# ---------------------------------------------------------------------------- API calls on a fake session


class FakeResponse:
    def __init__(self, status, payload=None, text=""):
        self.status_code = status
        self._payload = payload
        self.text = json.dumps(payload) if payload is not None else text
        self.headers = {"content-type": "application/json"} if payload is not None else {}

    def json(self):
        return self._payload


class FakeImageAPI:
    def __init__(self, handler):
        self.handler, self.calls = handler, []

    def request(self, path, method, **kwargs):
        self.calls.append((method, path, kwargs.get("params")))
        return self.handler(method, path, kwargs)


def fake_conn(handler):
    return SimpleNamespace(image=FakeImageAPI(handler))


def test_canary_images_are_found_by_tag_and_prefix_across_pages():
    pages = {
        None: ([{"id": "2", "name": "hc-canary-fast-1"}, {"id": "3", "name": "users-image-tagged-alike"}], "m3"),
        "m3": ([{"id": "4", "name": "hc-canary-node-x"}], None),
    }

    def handler(method, path, kwargs):
        images, nxt = pages[kwargs["params"].get("marker")]
        body = {"images": images}
        if nxt:
            body["next"] = f"/v2/images?marker={nxt}&limit=2&tag=hc-canary"
        return FakeResponse(200, body)

    conn = fake_conn(handler)
    found, read = canary.canary_images(conn, page_size=2)
    assert [img["id"] for img in found] == ["2", "4"], "a tagged image without the prefix is never reaped"
    assert read == 2
    assert conn.image.calls[0][2] == {"limit": 2, "tag": "hc-canary"}, "Glance filters by tag: no walk"
    assert conn.image.calls[1][2]["marker"] == "m3"


def test_list_images_max_items_and_errors():
    conn = fake_conn(lambda m, p, k: FakeResponse(200, {"images": [{"id": str(i)} for i in range(5)],
                                                        "next": "/v2/images?marker=4"}))
    found, read = canary.list_images(conn, max_items=3, status="active")
    assert [img["id"] for img in found] == ["0", "1", "2"] and read == 1
    broken = fake_conn(lambda m, p, k: FakeResponse(500, text="boom"))
    with pytest.raises(RuntimeError, match="HTTP 500"):
        canary.list_images(broken)


def test_delete_and_confirm():
    state = {"deleted": False}

    def handler(method, path, kwargs):
        if method == "DELETE":
            state["deleted"] = True
            return FakeResponse(204, text="")
        if method == "GET" and path == "/images":
            return FakeResponse(200, {"images": [{"id": "abc", "name": "hc-canary-x"}]})
        return FakeResponse(404, text="gone") if state["deleted"] else FakeResponse(200, {"status": "active"})

    result = canary.delete_and_confirm(fake_conn(handler), "abc")
    assert result.ok and "confirmed gone" in result.detail
    state["deleted"] = False
    result = canary.delete_and_confirm(fake_conn(handler), None, name="hc-canary-x")
    assert result.ok and "abc" in result.detail
    already = canary.delete_and_confirm(fake_conn(lambda m, p, k: FakeResponse(404, text="no")), "abc")
    assert already.ok
    refused = canary.delete_and_confirm(fake_conn(lambda m, p, k: FakeResponse(403, text="protected")), "abc")
    assert not refused.ok and "refused" in refused.detail


def test_call_turns_transport_failures_into_pseudo_statuses():
    def raising(exc_type, message, cause):
        def handler(method, path, kwargs):
            try:
                raise cause
            except Exception as err:
                raise exc_type(message) from err
        return handler

    cases = [
        (ksa.ConnectFailure, "Unable to establish connection: [Errno 111] Connection refused",
         requests.exceptions.ConnectionError("refused"), canary.CONNECT_FAILED),
        (ksa.ConnectFailure, "Unable to establish connection: ('Connection aborted.', RemoteDisconnected())",
         requests.exceptions.ConnectionError("aborted"), canary.CONNECTION_RESET),
        (ksa.ConnectTimeout, "Request to x timed out", requests.exceptions.ReadTimeout("read"), canary.READ_TIMEOUT),
        (ksa.ConnectTimeout, "Request to x timed out", requests.exceptions.ConnectTimeout("c"), canary.CONNECT_TIMEOUT),
    ]
    for exc_type, message, cause, expected in cases:
        answer, resp = canary.call(fake_conn(raising(exc_type, message, cause)), "GET", "/images")
        assert (answer.status, resp) == (expected, None), message
        assert answer.error and answer.global_request_id.startswith("req-")


# ---------------------------------------------------------------------------- the upload transport


class TinyGlance:
    """A one-connection HTTP server: reads headers, then acts like Glance does."""

    def __init__(self, mode: str):
        self.mode, self.received, self.headers = mode, 0, {}
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            self.headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(self.headers.get("content-length", 0))
            self.received = len(body)
            if self.mode == "early-413":  # answer at once, close without reading the body
                page = b"Image storage media is full: There is not enough disk space."
                conn.sendall(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: %d\r\n"
                             b"x-openstack-request-id: req-x\r\nConnection: close\r\n\r\n%s" % (len(page), page))
                return
            if self.mode == "hang-up":
                return
            while self.received < length:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                self.received += len(chunk)
            conn.sendall(b"HTTP/1.1 204 No Content\r\nx-openstack-request-id: req-ok\r\nConnection: close\r\n\r\n")


def _tiny_conn(port):
    return SimpleNamespace(session=SimpleNamespace(get_token=lambda: "tok", verify=True, cert=None),
                           image=SimpleNamespace(get_endpoint=lambda: f"http://127.0.0.1:{port}/v2/"))


def test_upload_streams_the_whole_body_with_a_content_length(monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    server = TinyGlance("read-all")
    source = canary.PatternSource(8 << 20, seed=10)
    result = canary.upload(_tiny_conn(server.port), "img", source, "fast", timeout=(5, 10))
    server.thread.join(5)
    assert result.status == 204 and result.request_id == "req-ok" and result.error is None
    assert server.received == 8 << 20 and server.headers["content-length"] == str(8 << 20)
    assert server.headers["x-image-meta-store"] == "fast" and server.headers["x-auth-token"] == "tok"
    assert server.headers["x-openstack-request-id"] == result.global_request_id
    assert "transfer-encoding" not in server.headers
    assert result.md5 == source.md5 and result.bytes == 8 << 20 and result.mib_per_s > 0


def test_upload_reads_an_answer_that_comes_before_the_body_is_sent(monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    server = TinyGlance("early-413")
    result = canary.upload(_tiny_conn(server.port), "img", canary.PatternSource(1 << 30, seed=11), timeout=(5, 10))
    assert result.status == 413 and "storage media is full" in result.body
    assert "before the body was complete" in result.error and result.md5 is None


def test_upload_reports_a_hang_up_as_a_reset_and_no_server_as_connect_failed(monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    server = TinyGlance("hang-up")
    result = canary.upload(_tiny_conn(server.port), "img", canary.PatternSource(64 << 20, seed=12), timeout=(5, 10))
    assert result.status == canary.CONNECTION_RESET
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    refused = canary.upload(_tiny_conn(port), "img", canary.PatternSource(10, seed=13), timeout=(5, 10))
    assert refused.status == canary.CONNECT_FAILED


# ---------------------------------------------------------------------------- signals


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_interrupt_guard_turns_sigterm_into_keyboard_interrupt_and_defers_it_in_cleanup():
    guard = canary.InterruptGuard()
    previous = signal.getsignal(signal.SIGTERM)
    assert guard.install()
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        done = []
        with pytest.raises(KeyboardInterrupt, match="held during cleanup"):
            with guard.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("cleanup finished")
        assert done == ["cleanup finished"]
    finally:
        guard.uninstall()
    assert signal.getsignal(signal.SIGTERM) == previous


def test_age_of_and_canary_names():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert canary.age_of({"updated_at": "2026-01-01T10:00:00Z"}, now) == timedelta(hours=2)
    assert canary.age_of({"created_at": "2026-01-01T11:00:00Z"}, now, "updated_at") == timedelta(hours=1)
    assert canary.age_of({}, now) is None
    name = canary.canary_name("node controller/1")
    assert name.startswith("hc-canary-node-controller-1-") and len(name) == len("hc-canary-node-controller-1-") + 10


# ---------------------------------------------------------------------------- canary leases


def test_create_image_marks_the_run_and_its_lease():
    seen = {}

    def handler(method, path, kwargs):
        seen.update(kwargs["json"])
        return FakeResponse(201, {"id": "abc"})

    answer = canary.create_image(fake_conn(handler), "hc-canary-x-1", run_id="run1", lease=900)
    assert answer.ok
    assert seen[canary.RUN_PROPERTY] == "run1" and seen[canary.LEASE_PROPERTY] == "900", \
        "Glance's extra properties are strings"
    assert canary.CANARY_TAG in seen["tags"]
    assert canary.lease_seconds(300, 30, 60) >= 3 * 300, "a live canary's whole life fits in its lease"


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STALE = timedelta(hours=2)


def _canary(minutes_old: float, run: str | None = "dead", lease: str | None = "600") -> dict:
    img = {"id": "i", "name": "hc-canary-fast-1", "status": "queued",
           "created_at": (NOW - timedelta(minutes=minutes_old)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if run is not None:
        img[canary.RUN_PROPERTY] = run
    if lease is not None:
        img[canary.LEASE_PROPERTY] = lease
    return img


@pytest.mark.parametrize("img, orphan", [
    (_canary(11), True),                         # lease of 10 min ran out: orphan though 11 minutes young
    (_canary(9), False),                         # another suite's live canary: never flagged
    (_canary(600, run="mine"), False),           # this run's own: its teardown answers for it
    (_canary(30, run=None, lease=None), False),  # from a suite without leases: the stale age decides
    (_canary(150, run=None, lease=None), True),
    (_canary(30, lease="soon"), False),          # an unreadable lease: the stale age decides
    (_canary(150, lease="soon"), True),
    ({"id": "i", "name": "hc-canary-x", canary.RUN_PROPERTY: "r", canary.LEASE_PROPERTY: "60"}, True),
], ids=["lease-expired-young", "live-other-run", "own-run", "no-lease-young", "no-lease-old",
        "bad-lease-young", "bad-lease-old", "no-created-at"])
def test_orphan_rule(img, orphan):
    why = canary.orphan_reason(img, NOW, "mine", STALE)
    assert (why is not None) == orphan, why
    if orphan and str(img.get(canary.LEASE_PROPERTY)).isdigit() and "created_at" in img:
        assert "lease of 600s ran out" in why and "gone" in why


# ---------------------------------------------------------------------------- parallel hashing


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


# (data size, buffer size, where the writer cuts its pieces): pieces across, on and inside buffer edges
HASH_CASES = {
    "empty": (0, 4096, []),
    "one-byte": (1, 4096, []),
    "exactly-one-buffer": (4096, 4096, []),
    "one-past-a-buffer": (4097, 4096, []),
    "pieces-across-edges": (5 * 4096 + 17, 4096, [1, 4095, 4096, 4097, 9000, 3 * 4096]),
    "pieces-larger-than-buffers": (10 * 4096 + 3, 4096, [6 * 4096 + 1]),
    "many-small-pieces": (3000, 1024, list(range(0, 3000, 7))),
}


@pytest.mark.parametrize("case", list(HASH_CASES), ids=list(HASH_CASES))
def test_parallel_hasher_digests_equal_hashlib_at_any_chunk_boundary(case):
    size, buffer_size, cuts = HASH_CASES[case]
    data = os.urandom(size)
    hasher = canary.ParallelHasher(["md5", "sha512", "sha256"], buffer_size=buffer_size, buffers=2)
    for piece in _pieces(data, cuts):
        hasher.update(piece)
    digests = hasher.finish()
    assert digests == {"md5": hashlib.md5(data).hexdigest(), "sha512": hashlib.sha512(data).hexdigest(),
                       "sha256": hashlib.sha256(data).hexdigest()}
    assert hasher.bytes == size


def test_parallel_hasher_filled_buffers_equal_hashlib_and_the_same_algo_is_hashed_once():
    data = os.urandom(3 * 65536 + 5)
    hasher = canary.ParallelHasher(["md5", "md5"], buffer_size=65536, buffers=2)
    assert hasher.algos == ["md5"]
    view = memoryview(data)
    while view.nbytes:
        index, buf = hasher.buffer()
        n = min(len(buf), view.nbytes)
        buf[:n] = view[:n]
        hasher.submit(index, n)
        view = view[n:]
    assert hasher.finish() == {"md5": hashlib.md5(data).hexdigest()}


class _Breaks:
    """A hash object whose update fails on its second buffer."""

    def __init__(self):
        self.calls = 0

    def update(self, data):
        self.calls += 1
        if self.calls == 2:
            raise MemoryError("planted failure")

    def hexdigest(self):
        return "never"


def test_an_exception_in_one_hash_thread_surfaces_in_the_reader():
    hasher = canary.ParallelHasher(["md5", "sha512"], buffer_size=4096, buffers=2)
    hasher._hashers["sha512"] = _Breaks()
    with pytest.raises(canary.HashError, match="sha512 hash thread failed: MemoryError: planted failure"):
        for _ in range(50):  # the reader learns of it at its next buffer, or at finish()
            hasher.update(b"x" * 4096)
        hasher.finish()
    hasher.close()
    assert not any(t.is_alive() for t in hasher._threads)


def test_parallel_hasher_memory_is_bounded_by_its_buffers_whatever_the_stream():
    hasher = canary.ParallelHasher(["md5", "sha512"], buffer_size=64 * 1024, buffers=3)
    block = os.urandom(1 << 20)
    for _ in range(64):  # 64 MiB through 192 KiB of buffers
        hasher.update(block)
    hasher.finish()
    assert hasher.bytes == 64 << 20
    assert len(hasher._pool) <= 3 and hasher.allocated <= 3 * 64 * 1024


def test_a_reader_faster_than_the_hashes_waits_for_a_free_buffer():
    gate = threading.Event()

    class Slow:
        def update(self, data):
            gate.wait(5)

        def hexdigest(self):
            return "slow"

    hasher = canary.ParallelHasher(["md5"], buffer_size=16, buffers=2)
    hasher._hashers["md5"] = Slow()
    for _ in range(2):
        index, _buf = hasher.buffer()
        hasher.submit(index, 16)
    got = []
    reader = threading.Thread(target=lambda: got.append(hasher.buffer()), daemon=True)
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and not got, "a third buffer was handed out while both were in use"
    gate.set()
    reader.join(5)
    assert got and len(hasher._pool) == 2
    hasher.close()


# ---------------------------------------------------------------------------- download


class _ImageServer:
    """A local HTTP server answering GET with `body` (Content-Length `length`, default its size)."""

    def __init__(self, body: bytes, length: int | None = None):
        import http.server  # noqa: PLC0415

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(outer.length))
                self.end_headers()
                view = memoryview(outer.body)
                for i in range(0, len(view), 100_003):  # odd writes: reads never align with them
                    self.wfile.write(view[i:i + 100_003])

            def log_message(self, *args):
                pass

        self.body, self.length = body, len(body) if length is None else length
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def conn(self):
        import requests  # noqa: PLC0415

        session = requests.Session()

        def request(path, method, raise_exc=False, global_request_id=None, timeout=None, stream=False, **kw):
            return session.request(method, self.url + path, timeout=timeout, stream=stream, **kw)

        return SimpleNamespace(image=SimpleNamespace(request=request))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("size", [0, 1, 65536, 3 * 65536 + 11])
def test_download_hashes_the_stream_in_parallel_equal_to_hashlib(size):
    body = os.urandom(size)
    server = _ImageServer(body)
    try:
        down = canary.download(server.conn(), "img", hash_algo="sha512", timeout=10, chunk_size=65536)
    finally:
        server.close()
    assert down.ok and down.bytes == size
    assert down.md5 == hashlib.md5(body).hexdigest()
    assert down.hash_value == hashlib.sha512(body).hexdigest() and down.hash_algo == "sha512"


def test_a_download_cut_short_of_its_content_length_is_a_connection_reset():
    body = os.urandom(200_000)
    server = _ImageServer(body, length=300_000)
    try:
        down = canary.download(server.conn(), "img", timeout=10, chunk_size=65536)
    finally:
        server.close()
    assert down.status == canary.CONNECTION_RESET and down.bytes == 200_000
    assert "200000 of 300000" in down.error


def test_a_stopped_download_ends_at_the_next_buffer_and_says_why():
    body = os.urandom(1 << 20)
    server = _ImageServer(body)
    stop = threading.Event()
    stop.set()  # e.g. Ctrl-C while --deep-verify runs several downloads side by side
    try:
        down = canary.download(server.conn(), "img", timeout=10, chunk_size=65536, stop=stop)
    finally:
        server.close()
    assert down.status == canary.CLIENT_DISCONNECT and down.bytes == 65536
    assert "interrupted" in down.error
