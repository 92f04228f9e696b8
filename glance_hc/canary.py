"""The canary: a generated image uploaded, verified, read back and deleted.

Logic only (no pytest): the streaming data source, the Image API calls made
through openstacksdk's keystoneauth session (so a per-node ``endpoint_override``
works for every call), a Tempest-style status waiter, the cleanup helper and
the classification of a failed upload into one root cause of the catalogue.

Why not ``conn.image.upload_image``: the SDK's upload and stage take ``data=``
as bytes in memory. `PatternSource` generates the image 1 MiB at a time and
hashes it on the way out; `upload()` sends it with a Content-Length (uWSGI's
http-socket answers a chunked body with HTTP 500 "unable to receive chunked
part", and a length lets Glance enforce quotas before a byte is written) on a
connection that reads an early answer (413 for a quota or a full store) before
writing more: a client that keeps writing gets the connection reset and loses
it. Token and endpoint come from the SDK's session; every other call goes
through the session itself (`call()`), with an optional ``endpoint_override``
to reach one glance-api node directly.

The rules that turn an answer into a root cause are data (`RULES`), built
from glance/api/v2/image_data.py, glance_store, HAProxy and what the lab
answered (tests/data/api/).
"""
from __future__ import annotations

import hashlib
import io
import random
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from glance_hc import logscan

# the classification of a failed step is shared with forensics: glance_hc/classify.py
from glance_hc.classify import FALLBACK, RULES, Classification, Rule, body_message, classify  # noqa: F401
from glance_hc.endpoints import api_endpoint  # noqa: F401 - where callers (bench) found it

CHUNK_SIZE = 1 << 20
MIB = 1 << 20
CANARY_PREFIX = "hc-canary-"
CANARY_TAG = "hc-canary"
RUN_PROPERTY = "hc_run_id"            # the run that made the canary
LEASE_PROPERTY = "hc_lease_seconds"   # how long after created_at that run may still hold it
DEFAULT_HASH_ALGO = "sha512"  # glance's [DEFAULT] hashing_algorithm default
# An odd stride, so chunk i starts at a different, never 4 KiB-aligned, offset of the block:
# no two chunks of an image are equal (up to 1 TiB) and no store can dedup them.
_STRIDE = 4099

# Pseudo-statuses for answers that are not an HTTP status.
CONNECT_FAILED = "connect-failed"        # refused, unreachable, name not resolved
CONNECT_TIMEOUT = "connect-timeout"      # no TCP connection within the timeout
CONNECTION_RESET = "connection-reset"    # the server hung up without an answer
READ_TIMEOUT = "read-timeout"            # no answer within the client's read timeout
CLIENT_DEADLINE = "client-deadline"      # the canary's own deadline cut the transfer
CLIENT_DISCONNECT = "client-disconnect"  # the client hung up mid-body
STUCK = "stuck"                          # the image never reached the wanted status
HASH_MISMATCH = "hash-mismatch"          # stored or downloaded hash differs from what was sent
SIZE_MISMATCH = "size-mismatch"          # stored or downloaded size differs from what was sent
NO_DATA = "no-data"                      # a download answered with no data (204 / empty)
MISSING_HASH = "missing-hash"            # an active image without checksum or os_hash_value
WRONG_STORE = "wrong-store"              # the image landed in another store than asked


# ---------------------------------------------------------------------------- data source


class PatternSource:
    """`size` deterministic bytes, generated 1 MiB at a time and hashed as they are read.

    One random block of `chunk_size` bytes (from `seed`) is held; chunk i is that block
    rotated by an index-dependent offset, so generation is a memcpy per chunk and the
    image is never held in memory. Iterating again starts over and re-hashes (keystoneauth
    may resend a body after re-authenticating), so `md5`, `hash_value` and `bytes_sent`
    always describe the last pass. `len()` gives requests its Content-Length.
    """

    def __init__(self, size: int, seed: int | None = None, hash_algo: str = DEFAULT_HASH_ALGO,
                 chunk_size: int = CHUNK_SIZE):
        if size < 0:
            raise ValueError(f"negative size: {size}")
        if chunk_size <= 0:
            raise ValueError(f"chunk size must be positive: {chunk_size}")
        hashlib.new(hash_algo)  # ValueError now, not half-way through an upload
        self.size = int(size)
        self.seed = random.SystemRandom().randrange(1 << 32) if seed is None else int(seed)
        self.hash_algo = hash_algo
        self.chunk_size = chunk_size
        self._block = random.Random(self.seed).randbytes(min(chunk_size, max(self.size, 1)))
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash = hashlib.new(hash_algo)
        self.bytes_sent = 0
        self.passes = 0
        self.deadline: float | None = None  # time.monotonic() value; set by upload()
        self.stop: threading.Event | None = None  # set by another thread: stop at the next chunk

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:  # keystoneauth may log the body: never the bytes
        return f"<PatternSource {self.size} bytes seed={self.seed}>"

    def chunks(self) -> Iterator[bytes]:
        """The bytes, chunk by chunk, without hashing."""
        block, width = self._block, len(self._block)
        left, index = self.size, 0
        while left > 0:
            offset = (index * _STRIDE + self.seed) % width
            chunk = block[offset:] + block[:offset] if offset else block
            if left < width:
                chunk = chunk[:left]
            yield chunk
            left -= len(chunk)
            index += 1

    def __iter__(self) -> Iterator[bytes]:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash = hashlib.new(self.hash_algo)
        self.bytes_sent = 0
        self.passes += 1
        for chunk in self.chunks():
            if self.stop is not None and self.stop.is_set():
                raise Interrupted(f"stopped after {self.bytes_sent} of {self.size} bytes: the run was interrupted")
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise DeadlineExceeded(f"stopped after {self.bytes_sent} of {self.size} bytes: "
                                       f"the canary's deadline passed")
            self._md5.update(chunk)
            self._hash.update(chunk)
            self.bytes_sent += len(chunk)
            yield chunk

    @property
    def complete(self) -> bool:
        return self.bytes_sent == self.size

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def hash_value(self) -> str:
        return self._hash.hexdigest()

    def digest(self, algo: str) -> str:
        """Hex digest of the whole content with any hashlib algorithm (re-generates if needed)."""
        if self.complete and self.passes:
            if algo == self.hash_algo:
                return self.hash_value
            if algo == "md5":
                return self.md5
        hasher = hashlib.new(algo)
        for chunk in self.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()


class DeadlineExceeded(RuntimeError):
    """The canary's own deadline passed while data was still flowing."""


class Interrupted(DeadlineExceeded):
    """The run is stopping (Ctrl-C, SIGTERM): a canary ends at its next step, chunk or poll."""


# ---------------------------------------------------------------------------- parallel hashing

HASH_BUFFER = 4 * MIB  # bytes read from the socket at once and handed to every hash thread
HASH_BUFFERS = 3       # buffers in flight: one being filled, two being hashed (the memory bound)


class HashError(RuntimeError):
    """A hash thread failed; the download's digests are not to be trusted."""


class ParallelHasher:
    """Several hashlib digests of one stream, each in its own thread, over the same buffers.

    Why: md5 and sha512 on one core run at the sum of their times; hashlib releases the GIL on
    large buffers, so two threads run them side by side, and the reader's recv_into (also GIL-free)
    overlaps both. The reader takes a free buffer (`buffer()`), fills it, and `submit()`s it to
    every thread; a buffer goes back to the pool once every thread has hashed it. The pool of
    `buffers` x `buffer_size` bytes is the memory bound: a reader faster than the hashes waits for
    a free buffer, never queues more. An exception in a thread is raised in the reader (HashError)
    at its next `buffer()`, `submit()` or `finish()`.
    """

    def __init__(self, algos: Iterable[str], *, buffer_size: int = HASH_BUFFER, buffers: int = HASH_BUFFERS):
        import queue  # noqa: PLC0415

        self.algos = list(dict.fromkeys(algos))
        if not self.algos:
            raise ValueError("no hash algorithm")
        if buffer_size <= 0 or buffers <= 0:
            raise ValueError(f"buffer size and count must be positive: {buffer_size}, {buffers}")
        self._hashers = {a: (hashlib.md5(usedforsecurity=False) if a == "md5" else hashlib.new(a))
                         for a in self.algos}
        self.buffer_size, self.buffers = int(buffer_size), int(buffers)
        self._pool: list[bytearray] = []          # allocated on demand, at most `buffers`
        self._free = queue.Queue()                 # indexes of free buffers
        self._work = {a: queue.Queue(maxsize=self.buffers) for a in self.algos}
        self._pending = [0] * self.buffers         # threads still hashing each buffer
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._failed_algo: str | None = None
        self._done = False
        self.bytes = 0
        self._threads = [threading.Thread(target=self._run, args=(a,), name=f"hc-hash-{a}", daemon=True)
                         for a in self.algos]
        for thread in self._threads:
            thread.start()

    @property
    def allocated(self) -> int:
        """Bytes of buffer memory allocated so far (never more than buffers x buffer_size)."""
        return sum(len(b) for b in self._pool)

    def _run(self, algo: str) -> None:
        work = self._work[algo]
        while True:
            item = work.get()
            if item is None:
                return
            index, length = item
            try:
                if self._error is None:
                    self._hashers[algo].update(memoryview(self._pool[index])[:length])
            except BaseException as exc:  # noqa: BLE001 - surfaces in the reader
                with self._lock:
                    if self._error is None:
                        self._error, self._failed_algo = exc, algo
            finally:
                self._release(index)

    def _release(self, index: int) -> None:
        with self._lock:
            self._pending[index] -= 1
            free = self._pending[index] == 0
        if free:
            self._free.put(index)

    def _raise(self) -> None:
        if self._error is not None:
            raise HashError(f"the {self._failed_algo} hash thread failed: {_one_line(self._error)}") from self._error

    def buffer(self) -> tuple[int, bytearray]:
        """A free buffer to fill: (index, buffer). Waits while all are being hashed."""
        import queue  # noqa: PLC0415

        self._raise()
        if self._free.empty() and len(self._pool) < self.buffers:
            self._pool.append(bytearray(self.buffer_size))
            return len(self._pool) - 1, self._pool[-1]
        while True:
            try:
                index = self._free.get(timeout=0.5)
            except queue.Empty:
                self._raise()
                continue
            self._raise()
            return index, self._pool[index]

    def submit(self, index: int, length: int) -> None:
        """Hand the first `length` bytes of buffer `index` to every thread (0: give it back)."""
        self._raise()
        if length <= 0:
            self._free.put(index)
            return
        with self._lock:
            self._pending[index] = len(self.algos)
        for algo in self.algos:
            self._work[algo].put((index, length))
        self.bytes += length

    def update(self, data) -> None:
        """Hash `data` (any bytes-like object), copied through the buffers."""
        view = memoryview(data).cast("B")
        while view.nbytes:
            index, buf = self.buffer()
            n = min(view.nbytes, len(buf))
            buf[:n] = view[:n]
            self.submit(index, n)
            view = view[n:]

    def close(self) -> None:
        """Stop the threads (after the buffers already submitted); idempotent."""
        if self._done:
            return
        self._done = True
        for algo in self.algos:
            self._work[algo].put(None)
        for thread in self._threads:
            thread.join()

    def finish(self) -> dict[str, str]:
        """Wait for every buffer to be hashed; {algo: hex digest}. Raises HashError."""
        self.close()
        self._raise()
        return {algo: hasher.hexdigest() for algo, hasher in self._hashers.items()}

    def __enter__(self) -> ParallelHasher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------- API answers


@dataclass
class Answer:
    """What one API call got: an HTTP answer, or a transport failure as a pseudo-status."""

    method: str
    path: str
    status: int | str | None = None
    body: str = ""
    request_id: str | None = None         # x-openstack-request-id of the answer
    global_request_id: str | None = None  # the id we sent; Glance logs it on every line
    seconds: float = 0.0
    error: str | None = None              # transport failure, one line
    json: dict | None = None
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300

    def describe(self) -> str:
        what = f"HTTP {self.status}" if isinstance(self.status, int) else f"{self.status}"
        text = body_message(self.body) if self.body else (self.error or "")
        ids = ", ".join(x for x in (f"request id {self.request_id}" if self.request_id else "",
                                    f"global request id {self.global_request_id}"
                                    if self.global_request_id and self.global_request_id != self.request_id
                                    else "") if x)
        return (f"{self.method} {self.path} -> {what} in {self.seconds:.2f}s"
                + (f": {text}" if text else "") + (f" ({ids})" if ids else ""))


@dataclass
class Transfer(Answer):
    """An upload or download: the answer plus what flowed."""

    bytes: int = 0
    md5: str | None = None
    hash_value: str | None = None
    hash_algo: str | None = None

    @property
    def mib_per_s(self) -> float:
        return (self.bytes / MIB) / self.seconds if self.seconds > 0 else 0.0


def new_request_id() -> str:
    """A global request id in the form oslo.middleware accepts (and Glance echoes and logs), marked
    as the suite's own: the cut upload of a canary whose run was killed is not a user's fault."""
    return logscan.suite_request_id()


def _transport_status(exc: BaseException) -> str:
    """Pseudo-status of a keystoneauth/requests transport failure (keystoneauth turns every
    requests Timeout into its ConnectTimeout; the requests exception is in the chain)."""
    import requests  # noqa: PLC0415 - comes with openstacksdk

    chain, seen = [], exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, requests.exceptions.ReadTimeout) for e in chain):
        return READ_TIMEOUT
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in chain):
        return CONNECT_TIMEOUT
    text = " ".join(str(e) for e in chain).lower()
    if any(word in text for word in ("connection refused", "errno 111", "name or service not known",
                                     "no route to host", "network is unreachable",
                                     "failed to establish a new connection", "temporary failure in name",
                                     "nodename nor servname")):
        return CONNECT_FAILED
    if "read timed out" in text:
        return READ_TIMEOUT
    if "timed out" in text:
        return CONNECT_TIMEOUT
    return CONNECTION_RESET


def _one_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


def call(conn, method: str, path: str, *, endpoint_override: str | None = None,
         timeout: float | tuple[float, float] | None = None, global_request_id: str | None = None,
         stream: bool = False, **kwargs) -> tuple[Answer, object | None]:
    """One Image API call through the SDK's session; never raises for HTTP or transport errors.

    Returns the Answer and, when there was one, the requests response (open when stream=True).
    """
    gid = global_request_id or new_request_id()
    answer = Answer(method=method, path=path, global_request_id=gid)
    request_kwargs = dict(raise_exc=False, global_request_id=gid, **kwargs)
    if endpoint_override:
        request_kwargs["endpoint_override"] = endpoint_override
    if timeout is not None:
        request_kwargs["timeout"] = timeout
    if stream:
        request_kwargs["stream"] = True
    started = time.monotonic()
    try:
        resp = conn.image.request(path, method, **request_kwargs)
    except DeadlineExceeded as exc:
        answer.status, answer.error = CLIENT_DEADLINE, str(exc)
        answer.seconds = time.monotonic() - started
        return answer, None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - keystoneauth/requests transport failures, kept as data
        deadline = _find(exc, DeadlineExceeded)
        answer.status = CLIENT_DEADLINE if deadline else _transport_status(exc)
        answer.error = str(deadline) if deadline else _one_line(exc)
        answer.seconds = time.monotonic() - started
        return answer, None
    answer.seconds = time.monotonic() - started
    answer.status = resp.status_code
    answer.headers = {k.lower(): v for k, v in resp.headers.items()}
    answer.request_id = resp.headers.get("x-openstack-request-id")
    if not stream:
        answer.body = resp.text or ""
        if answer.headers.get("content-type", "").startswith("application/json"):
            try:
                answer.json = resp.json()
            except ValueError:
                answer.json = None
    return answer, resp


def _find(exc: BaseException, kind: type) -> BaseException | None:
    seen, depth = exc, 0
    while seen is not None and depth < 8:
        if isinstance(seen, kind):
            return seen
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return None


# ---------------------------------------------------------------------------- operations


def canary_name(label: str) -> str:
    """hc-canary-<label>-<random>: unique, findable by prefix, safe as an exact-name filter."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "default"
    return f"{CANARY_PREFIX}{label}-{uuid.uuid4().hex[:10]}"


def new_run_id() -> str:
    """The id a run marks its canaries with (image property RUN_PROPERTY)."""
    return uuid.uuid4().hex[:16]


def lease_seconds(canary_timeout: float, api_timeout: float, command_timeout: float) -> int:
    """How long a live run may hold one canary: create, upload and wait for active (one canary
    timeout), download (another), a failure's second try (a third), the log searches of a failure
    and the cleanup. A canary whose lease ran out belongs to a run that is gone."""
    return int(3 * canary_timeout + 10 * api_timeout + 4 * command_timeout)


def create_image(conn, name: str, *, endpoint_override: str | None = None,
                 timeout: float | None = None, run_id: str | None = None,
                 lease: int | None = None) -> Answer:
    """POST /v2/images for a private raw/bare image; `.json['id']` when it worked.

    `run_id` and `lease` (seconds from creation) become image properties, so another run can
    tell this run's live canary from one a dead run left (`orphan_reason`)."""
    body = {"name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": "private", "tags": [CANARY_TAG]}
    if run_id:
        body[RUN_PROPERTY] = run_id
    if lease is not None:
        body[LEASE_PROPERTY] = str(int(lease))
    answer, _ = call(conn, "POST", "/images", json=body, endpoint_override=endpoint_override,
                     timeout=timeout)
    return answer


def get_image(conn, image_id: str, *, endpoint_override: str | None = None,
              timeout: float | None = None) -> Answer:
    answer, _ = call(conn, "GET", f"/images/{image_id}", endpoint_override=endpoint_override,
                     timeout=timeout)
    return answer


def image_record(conn, image_id: str, *, endpoint_override: str | None = None,
                 timeout: float | None = None) -> dict | None:
    """The image as the API shows it now; {"status": "<gone>"} on 404, None when unreadable."""
    answer = get_image(conn, image_id, endpoint_override=endpoint_override, timeout=timeout)
    if answer.status == 404:
        return {"id": image_id, "status": "<gone>"}
    return answer.json if answer.ok else None


def upload(conn, image_id: str, source: PatternSource, store: str | None = None, *,
           endpoint_override: str | None = None, timeout: float | tuple[float, float] | None = None,
           deadline: float | None = None, hold_body: float = 0.0) -> Transfer:
    """PUT /v2/images/{id}/file, streaming `source` with a Content-Length.

    `store` goes in X-Image-Meta-Store (multistore). `deadline` (seconds from now) stops
    sending when it passes: status CLIENT_DEADLINE. The answer's status, body and request
    id are kept whatever happened.

    The body goes out on a plain http.client connection (token and endpoint from the SDK's
    session) that watches for an early answer between blocks: Glance answers 413 (quota,
    store full) while the client is still sending, and a client that keeps writing gets
    the connection reset and loses that answer (requests does). Behind an HTTP proxy
    from the environment the session itself sends the body (no early-answer watch).

    `hold_body` (seconds) waits for an answer after the headers before sending any byte:
    the probe for an answer a proxy lost (HAProxy in front of uWSGI loses an early answer
    when uWSGI closes with body bytes unread: the client then sees a reset).
    """
    headers = {"Content-Type": "application/octet-stream"}
    if store:
        headers["X-Image-Meta-Store"] = store
    path = f"/images/{image_id}/file"
    source.deadline = time.monotonic() + deadline if deadline else None
    try:
        endpoint = (endpoint_override or conn.image.get_endpoint()).rstrip("/")
        if _proxied(endpoint):
            answer, _ = call(conn, "PUT", path, data=source, headers=headers,
                             endpoint_override=endpoint_override, timeout=timeout)
        else:
            answer = _stream_put(conn, endpoint, path, source, headers, timeout, hold_body)
            if answer.status == 401:  # the token expired: once more with a new one
                conn.session.invalidate()
                answer = _stream_put(conn, endpoint, path, source, headers, timeout, hold_body)
    finally:
        source.deadline = None
    result = Transfer(**vars(answer))
    result.bytes = source.bytes_sent
    result.hash_algo = source.hash_algo
    if source.complete:
        result.md5, result.hash_value = source.md5, source.hash_value
    return result


_SEND_BLOCK = 256 * 1024  # bytes written between two looks for an early answer
_BODY_LIMIT = 64 * 1024   # an error page is small; never read more


def _proxied(url: str) -> bool:
    from urllib.request import getproxies, proxy_bypass  # noqa: PLC0415

    parts = urlsplit(url)
    return bool(getproxies().get(parts.scheme)) and not proxy_bypass(parts.hostname or "")


def _timeouts(timeout) -> tuple[float | None, float | None]:
    if isinstance(timeout, tuple):
        return timeout[0], timeout[1]
    return timeout, timeout


def _connection(conn, url: str, connect_timeout):
    import http.client  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    parts = urlsplit(url)
    if parts.scheme == "https":
        verify = getattr(conn.session, "verify", True)
        ctx = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        cert = getattr(conn.session, "cert", None)
        if cert:
            ctx.load_cert_chain(*(cert if isinstance(cert, (tuple, list)) else (cert,)))
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=connect_timeout, context=ctx)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=connect_timeout)


class _Prefixed(io.RawIOBase):
    """A socket read that first hands out bytes already received."""

    def __init__(self, head: bytes, sock):
        self._head, self._sock = memoryview(head), sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head.nbytes:
            n = min(len(buffer), self._head.nbytes)
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        try:
            return self._sock.recv_into(buffer)
        except (ConnectionResetError, BrokenPipeError):
            return 0  # what came before the reset is the answer


class _SockLike:
    def __init__(self, raw: io.RawIOBase):
        self._raw = raw

    def makefile(self, mode: str = "rb", *args, **kwargs):
        return io.BufferedReader(self._raw)


def _stream_put(conn, endpoint: str, path: str, source: PatternSource, headers: dict,
                timeout, hold_body: float = 0.0) -> Answer:
    """Send the body while watching the socket: an answer that comes early is read at once.

    Glance (or the proxy) may answer before the body is complete (413 for a quota or a
    full store) and close; our next bytes then get a reset that would also discard the
    unread answer. So, until the body is sent, the socket is non-blocking and every
    byte that arrives is read before the next write.
    """
    import http.client  # noqa: PLC0415
    import selectors  # noqa: PLC0415
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    gid = new_request_id()
    answer = Answer(method="PUT", path=path, global_request_id=gid)
    url = endpoint + path
    connect_timeout, read_timeout = _timeouts(timeout)
    started = time.monotonic()
    hc, sent_all, head = None, False, bytearray()
    try:
        token = conn.session.get_token()
        hc = _connection(conn, url, connect_timeout)
        hc.connect()
        hc.sock.settimeout(read_timeout)
        parts = urlsplit(url)
        hc.putrequest("PUT", parts.path + (f"?{parts.query}" if parts.query else ""),
                      skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(source)), "X-Auth-Token": token,
                            "X-OpenStack-Request-ID": gid, "Accept": "*/*",
                            "User-Agent": "glance-hc-canary"}.items():
            hc.putheader(name, value)
        hc.endheaders()
        sock = hc.sock
        sock.setblocking(False)
        chunks, pending, closed = iter(source), memoryview(b""), False
        if hold_body > 0:  # the probe: any answer before the first body byte?
            with selectors.DefaultSelector() as held:
                held.register(sock, selectors.EVENT_READ)
                if held.select(hold_body):
                    try:
                        data = sock.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        data = None
                    except OSError:
                        data = b""
                    if data == b"":
                        closed = True
                    elif data:
                        head += data
        watch = selectors.DefaultSelector()
        watch.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        try:
            while not sent_all and not head and not closed:
                mask = sum(events for _, events in watch.select(1.0))
                readable, writable = mask & selectors.EVENT_READ, mask & selectors.EVENT_WRITE
                if readable:
                    try:
                        data = sock.recv(65536)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                        data = None
                    if data == b"":
                        closed = True
                    elif data:
                        head += data
                    continue
                if writable:
                    if not pending.nbytes:
                        try:
                            pending = memoryview(next(chunks))
                        except StopIteration:
                            sent_all = True
                            continue
                    try:
                        sent = sock.send(pending[:_SEND_BLOCK])
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                        sent = 0
                    if sent:
                        pending, idle_since = pending[sent:], time.monotonic()
                if read_timeout and time.monotonic() - idle_since > read_timeout:
                    raise TimeoutError(f"no byte could be sent for {read_timeout:g}s")
        except (BrokenPipeError, ConnectionResetError) as exc:
            watch.close()
            if not head:  # one last look: the answer may be waiting
                try:
                    head += sock.recv(65536)
                except OSError:
                    pass
            if not head:
                answer.status, answer.error = CONNECTION_RESET, _one_line(exc)
                return answer
        watch.close()
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        resp = http.client.HTTPResponse(_SockLike(_Prefixed(bytes(head), sock)), method="PUT")
        try:
            resp.begin()
        except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError) as exc:
            answer.status, answer.error = CONNECTION_RESET, _one_line(exc)
            return answer
        answer.status = resp.status
        answer.headers = {k.lower(): v for k, v in resp.getheaders()}
        answer.request_id = answer.headers.get("x-openstack-request-id")
        try:
            answer.body = resp.read(_BODY_LIMIT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            pass
        unsent = pending.nbytes + len(source) - source.bytes_sent
        if unsent > 0:
            answer.error = (f"answered before the body was complete "
                            f"({len(source) - unsent} of {len(source)} bytes sent)")
    except DeadlineExceeded as exc:
        answer.status, answer.error = CLIENT_DEADLINE, str(exc)
    except TimeoutError as exc:
        answer.status = READ_TIMEOUT if hc is not None and hc.sock is not None else CONNECT_TIMEOUT
        answer.error = _one_line(exc)
    except (ConnectionRefusedError, socket.gaierror) as exc:
        answer.status, answer.error = CONNECT_FAILED, _one_line(exc)
    except OSError as exc:
        answer.status = CONNECT_FAILED if hc is None or hc.sock is None else CONNECTION_RESET
        answer.error = _one_line(exc)
    except http.client.HTTPException as exc:
        answer.status, answer.error = CONNECTION_RESET, _one_line(exc)
    except Exception as exc:  # noqa: BLE001 - no token (Keystone down, credentials refused)
        answer.status, answer.error = CONNECT_FAILED, f"no token for the upload: {_one_line(exc)}"
    finally:
        answer.seconds = time.monotonic() - started
        if hc is not None:
            hc.close()
    return answer


def download(conn, image_id: str, *, hash_algo: str = DEFAULT_HASH_ALGO,
             endpoint_override: str | None = None, timeout: float | tuple[float, float] | None = None,
             deadline: float | None = None, chunk_size: int = HASH_BUFFER,
             buffers: int = HASH_BUFFERS, stop: threading.Event | None = None) -> Transfer:
    """GET /v2/images/{id}/file streamed and hashed with md5 and `hash_algo` in two threads.

    The socket is read straight into `chunk_size` buffers (no copy) and each buffer is hashed
    by both threads side by side (`ParallelHasher`): the image is never held, at most `buffers`
    of them are. Glance does not verify stored data on download; the caller compares the hashes.
    A 204 (Glance's answer when the store has no data for the image) is a Transfer of 0 bytes.
    A body shorter than its Content-Length is a CONNECTION_RESET. A failed hash thread raises
    HashError: digests that cannot be trusted are never reported. `stop` (set by another
    thread, e.g. on Ctrl-C) ends the transfer between two buffers: status CLIENT_DISCONNECT.
    """
    answer, resp = call(conn, "GET", f"/images/{image_id}/file", stream=True,
                        endpoint_override=endpoint_override, timeout=timeout)
    result = Transfer(**vars(answer))
    result.hash_algo = hash_algo
    if resp is None:
        return result
    started = time.monotonic()
    if not result.ok:
        try:
            result.body = resp.text or ""
        finally:
            resp.close()
            result.seconds += time.monotonic() - started
        return result
    hasher = ParallelHasher(["md5", hash_algo], buffer_size=chunk_size, buffers=buffers)
    stop_at = started + deadline if deadline else None
    digests = None
    try:
        _read_into(resp, hasher, stop_at, result, stop)
        expected = result.headers.get("content-length", "")
        if result.ok and expected.isdigit() and hasher.bytes < int(expected):
            result.status, result.error = CONNECTION_RESET, (
                f"the connection closed after {hasher.bytes} of {expected} bytes")
        digests = hasher.finish()
    except (KeyboardInterrupt, HashError):
        raise
    except Exception as exc:  # noqa: BLE001 - a cut download is a result, not a crash
        result.status = READ_TIMEOUT if "timed out" in str(exc).lower() else CONNECTION_RESET
        result.error = _one_line(exc)
        digests = hasher.finish()
    finally:
        hasher.close()
        resp.close()
        result.seconds += time.monotonic() - started
        result.bytes = hasher.bytes
    result.md5, result.hash_value = digests["md5"], digests[hash_algo]
    return result


def _read_into(resp, hasher: ParallelHasher, stop_at: float | None, result: Transfer,
               stop: threading.Event | None = None) -> None:
    """Fill the hasher's buffers from the response: straight from the socket when the body is
    not content-encoded (http.client's readinto under urllib3), else through requests."""
    raw = getattr(resp, "raw", None)
    fp = getattr(raw, "_fp", None)  # urllib3's http.client.HTTPResponse
    if fp is None or not hasattr(fp, "readinto") or result.headers.get("content-encoding", "identity") != "identity":
        for chunk in resp.iter_content(hasher.buffer_size):
            hasher.update(chunk)
            if _stopped(hasher, stop_at, result, stop):
                return
        return
    while True:
        index, buf = hasher.buffer()
        view, filled = memoryview(buf), 0
        try:
            while filled < len(buf):
                n = fp.readinto(view[filled:])
                if not n:
                    break
                filled += n
        finally:
            view.release()
            hasher.submit(index, filled)
        if filled < len(buf) or _stopped(hasher, stop_at, result, stop):
            return


def _stopped(hasher: ParallelHasher, stop_at: float | None, result: Transfer,
             stop: threading.Event | None) -> bool:
    if stop is not None and stop.is_set():
        result.status, result.error = CLIENT_DISCONNECT, f"stopped after {hasher.bytes} bytes: the run was interrupted"
        return True
    if stop_at is not None and time.monotonic() > stop_at:
        result.status, result.error = CLIENT_DEADLINE, (
            f"stopped after {hasher.bytes} bytes: the canary's deadline passed")
        return True
    return False


class WaitTimeout(AssertionError):
    """The image did not reach the wanted status in time (Tempest's TimeoutException)."""

    def __init__(self, message: str, last_status: str | None, held_seconds: float):
        super().__init__(message)
        self.last_status = last_status
        self.held_seconds = held_seconds


class UnexpectedStatus(AssertionError):
    """The image reached a status it cannot leave towards the wanted one (killed, gone)."""

    def __init__(self, message: str, status: str | None):
        super().__init__(message)
        self.status = status


def wait_for_status(conn, image_id: str, wanted: str | Iterable[str], deadline: float, *,
                    endpoint_override: str | None = None, interval: float = 1.0,
                    request_timeout: float | None = None,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep,
                    get: Callable[[str], dict | None] | None = None) -> dict:
    """Poll the image until its status is in `wanted`, for at most `deadline` seconds.

    Returns the image record. On timeout raises WaitTimeout naming the last status seen
    and how long it had held; raises UnexpectedStatus at once for killed/deleted or 404.
    `clock`, `sleep` and `get` are for tests.
    """
    wanted_set = {wanted} if isinstance(wanted, str) else set(wanted)
    fetch = get or (lambda iid: image_record(conn, iid, endpoint_override=endpoint_override,
                                             timeout=request_timeout))
    start = clock()
    last_status, since, record, polls = None, start, None, 0
    while True:
        record = fetch(image_id)
        polls += 1
        now = clock()
        status = (record or {}).get("status") if record is not None else "<unreadable>"
        if status != last_status:
            last_status, since = status, now
        if status in wanted_set:
            return record
        if status in ("killed", "deleted", "pending_delete", "<gone>") and status not in wanted_set:
            raise UnexpectedStatus(
                f"image {image_id} went to {status} after {now - start:.1f}s while waiting for "
                f"{'/'.join(sorted(wanted_set))}", status)
        if now - start >= deadline:
            held = now - since
            raise WaitTimeout(
                f"image {image_id} did not become {'/'.join(sorted(wanted_set))} within "
                f"{deadline:g}s: last status {last_status!s} (held for {held:.1f}s, {polls} polls)",
                last_status, held)
        sleep(max(0.0, min(interval, deadline - (now - start))))


@dataclass
class Cleanup:
    ok: bool
    detail: str
    steps: list[str] = field(default_factory=list)


def delete_and_confirm(conn, image_id: str | None = None, *, name: str | None = None,
                       endpoint_override: str | None = None, timeout: float = 30.0,
                       request_timeout: float | None = None) -> Cleanup:
    """Delete an image and confirm the API answers 404 for it; already gone is fine.

    With only `name` (the create call may have worked without us seeing the id), every image
    with exactly that name is deleted. Tries the default endpoint first, then
    `endpoint_override` if the first cannot be reached.
    """
    steps: list[str] = []
    endpoints = [None] + ([endpoint_override] if endpoint_override else [])
    ids = [image_id] if image_id else []
    if not ids and name:
        for endpoint in endpoints:
            answer, _ = call(conn, "GET", "/images", params={"name": name}, endpoint_override=endpoint,
                             timeout=request_timeout)
            steps.append(answer.describe())
            if answer.ok and answer.json is not None:
                ids = [img["id"] for img in answer.json.get("images", []) if img.get("name") == name]
                break
        else:
            return Cleanup(False, f"could not look up images named {name}", steps)
        if not ids:
            return Cleanup(True, f"no image named {name}", steps)
    problems = []
    for iid in ids:
        gone, why = _delete_one(conn, iid, endpoints, timeout, request_timeout, steps)
        if not gone:
            problems.append(f"{iid}: {why}")
    if problems:
        return Cleanup(False, "not deleted: " + "; ".join(problems), steps)
    return Cleanup(True, f"deleted and confirmed gone: {', '.join(ids)}", steps)


def _delete_one(conn, image_id, endpoints, timeout, request_timeout, steps) -> tuple[bool, str]:
    stop_at = time.monotonic() + timeout
    last = "no answer"
    while True:
        for endpoint in endpoints:
            answer, _ = call(conn, "DELETE", f"/images/{image_id}", endpoint_override=endpoint,
                             timeout=request_timeout)
            steps.append(answer.describe())
            if answer.status in (204, 404):
                check, _ = call(conn, "GET", f"/images/{image_id}", endpoint_override=endpoint,
                                timeout=request_timeout)
                steps.append(check.describe())
                if check.status == 404:
                    return True, "gone"
                status = (check.json or {}).get("status")
                if status in ("deleted", "pending_delete"):
                    return True, f"status {status}"
                last = f"still listed after delete ({check.describe()})"
            elif answer.status == 403:
                return False, f"delete refused (protected image?): {answer.describe()}"
            else:
                last = answer.describe()
            if isinstance(answer.status, int):
                break  # the endpoint answered: no use trying the other one
        if time.monotonic() >= stop_at:
            return False, last
        time.sleep(1.0)


# ---------------------------------------------------------------------------- discovery


def offered_stores(conn, *, timeout: float | None = None) -> tuple[list[dict] | None, Answer]:
    """The stores /v2/info/stores lists ([{"id", "default"?, "description"}]); None on 404."""
    answer, _ = call(conn, "GET", "/info/stores", timeout=timeout)
    if answer.status == 404:
        return None, answer
    if answer.ok and answer.json is not None:
        return list(answer.json.get("stores", [])), answer
    return [], answer


def is_default_store(entry: dict) -> bool:
    return str(entry.get("default", "")).lower() == "true"


def record_stores(record: dict | None) -> list[str]:
    """The `stores` property of an image record ("fast,cheap") as a list."""
    value = (record or {}).get("stores") or ""
    return [s.strip() for s in str(value).split(",") if s.strip()]


_UWSGI_REQUEST = re.compile(r"\b(?P<method>[A-Z]+) (?P<path>/\S+) => generated .*\(HTTP/[\d.]+ (?P<status>\d{3})\)")
_HAPROXY_REQUEST = re.compile(r" (?P<status>-1|\d{3}) -?\d+ .*\"(?P<method>[A-Z]+) (?P<path>/\S+) HTTP/[\d.]+\"")


def answered_status(log_lines: Iterable[str], image_id: str, method: str = "PUT") -> int | None:
    """The status glance-api (uWSGI's request log) or HAProxy gave the image's data request.

    For a client that lost the answer (connection reset): the logs still say what it was.
    uWSGI's own line wins over HAProxy's; -1 (HAProxy: no answer) gives None.
    """
    found: dict[str, int] = {}
    for line in log_lines or []:
        for kind, pattern in (("uwsgi", _UWSGI_REQUEST), ("haproxy", _HAPROXY_REQUEST)):
            m = pattern.search(line)
            if m and m.group("method") == method and image_id in m.group("path") \
                    and m.group("path").rstrip("/").endswith("/file") and m.group("status") != "-1":
                found[kind] = int(m.group("status"))
    return found.get("uwsgi") or found.get("haproxy")


def hashing_algorithm(host_facts_list) -> str:
    """The [DEFAULT] hashing_algorithm the hosts configure (sha512 when none says)."""
    for found in host_facts_list:
        config = getattr(found, "config", None)
        value = config.get("DEFAULT", "hashing_algorithm") if config is not None else None
        if value:
            return value.strip()
    return DEFAULT_HASH_ALGO


# ---------------------------------------------------------------------------- verification


def verify_record(record: dict, source: PatternSource, store: str | None) -> list[tuple[str, str]]:
    """Problems of an active canary's record against what was sent: [(pseudo-status, text)]."""
    problems = []
    if record.get("size") != source.size:
        problems.append((SIZE_MISMATCH, f"size {record.get('size')} recorded, {source.size} sent"))
    checksum = record.get("checksum")
    if not checksum:
        problems.append((MISSING_HASH, "no checksum (md5) recorded"))
    elif checksum != source.digest("md5"):
        problems.append((HASH_MISMATCH, f"checksum {checksum} recorded, {source.digest('md5')} sent"))
    algo, value = record.get("os_hash_algo"), record.get("os_hash_value")
    if not algo or not value:
        problems.append((MISSING_HASH, f"os_hash_algo={algo!r} os_hash_value={value!r}"))
    else:
        try:
            expected = source.digest(algo)
        except ValueError:
            problems.append((MISSING_HASH, f"os_hash_algo {algo!r} is not a hash this client knows"))
        else:
            if value != expected:
                problems.append((HASH_MISMATCH, f"os_hash_value ({algo}) {value[:16]}... recorded, "
                                                f"{expected[:16]}... sent"))
    if store is not None:
        stores = record_stores(record)
        if store not in stores:
            problems.append((WRONG_STORE, f"stores={','.join(stores) or '(none)'}, asked for {store}"))
    return problems


def verify_download(result: Transfer, record: dict, source: PatternSource) -> list[tuple[str, str]]:
    """Problems of a downloaded copy against what was sent and recorded."""
    if result.status == 204 or (result.ok and result.bytes == 0 and source.size):
        return [(NO_DATA, f"download answered HTTP {result.status} with {result.bytes} bytes: "
                          f"the store has no data for the image")]
    problems = []
    if result.bytes != source.size:
        problems.append((SIZE_MISMATCH, f"{result.bytes} bytes downloaded, {source.size} sent"))
    if result.md5 != source.digest("md5"):
        problems.append((HASH_MISMATCH, f"md5 of the download {result.md5} differs from what was sent "
                                        f"{source.digest('md5')}"))
    algo = record.get("os_hash_algo") or source.hash_algo
    if result.hash_algo == algo and result.hash_value != source.digest(algo):
        problems.append((HASH_MISMATCH, f"{algo} of the download differs from what was sent"))
    return problems


# ---------------------------------------------------------------------------- listings


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


# ---------------------------------------------------------------------------- signals


class InterruptGuard:
    """SIGTERM raises KeyboardInterrupt, so pytest's finalizers (the canary cleanup) run.

    Inside `deferred()` (the cleanup itself) SIGTERM and SIGINT are held and raised as
    KeyboardInterrupt once the block is done, so a second signal cannot cut a delete in half.
    Works only in the main thread; elsewhere install() is a no-op.
    """

    def __init__(self):
        self._previous: dict[int, object] = {}
        self._depth = 0
        self._pending: int | None = None
        self.installed = False

    def _on_term(self, signum, frame):
        if self._depth:
            self._pending = signum
            return
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    def _on_int(self, signum, frame):
        if self._depth:
            self._pending = signum
            return
        previous = self._previous.get(signal.SIGINT)
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    def install(self) -> bool:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return self.installed
        try:
            self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_term)
        except (ValueError, OSError):
            return False
        self.installed = True
        return True

    def uninstall(self) -> None:
        if not self.installed:
            return
        for signum, handler in self._previous.items():
            try:
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass
        self._previous.clear()
        self.installed = False

    @contextmanager
    def deferred(self):
        main = threading.current_thread() is threading.main_thread()
        saved_int = None
        if main and self._depth == 0:
            try:
                saved_int = signal.signal(signal.SIGINT, self._on_int)
                self._previous.setdefault(signal.SIGINT, saved_int)
            except (ValueError, OSError):
                saved_int = None
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if main and self._depth == 0 and saved_int is not None:
                try:
                    signal.signal(signal.SIGINT, saved_int)
                except (ValueError, OSError, TypeError):
                    pass
                self._previous.pop(signal.SIGINT, None)
            if self._depth == 0 and self._pending is not None:
                signum, self._pending = self._pending, None
                raise KeyboardInterrupt(f"signal {signal.Signals(signum).name} (held during cleanup)")
