"""The image's data on the wire: an upload that hears an early answer, a download hashed as it streams."""
from __future__ import annotations

import io
import threading
import time
from urllib.parse import urlsplit

from glance_hc.canary.api import Answer, Transfer, call, new_request_id
from glance_hc.canary.hashing import HASH_BUFFER, HASH_BUFFERS, HashError, ParallelHasher
from glance_hc.canary.names import (
    CLIENT_DEADLINE,
    CLIENT_DISCONNECT,
    CONNECT_FAILED,
    CONNECT_TIMEOUT,
    CONNECTION_RESET,
    DEFAULT_HASH_ALGO,
    READ_TIMEOUT,
)
from glance_hc.canary.source import DeadlineExceeded, PatternSource
from glance_hc.errors import one_line


def upload(conn, image_id: str, source: PatternSource, store: str | None = None, *,
           endpoint_override: str | None = None, timeout: float | tuple[float, float] | None = None,
           deadline: float | None = None, hold_body: float = 0.0, target: str = "file") -> Transfer:
    """PUT /v2/images/{id}/file, streaming `source` with a Content-Length.

    `target` "stage" sends the same stream to PUT /v2/images/{id}/stage (glance-direct's
    first step: the data lands in the node's staging dir, the image becomes `uploading`).

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
    if target not in ("file", "stage"):
        raise ValueError(f"upload target must be file or stage, not {target!r}")
    path = f"/images/{image_id}/{target}"
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
                answer.status, answer.error = CONNECTION_RESET, one_line(exc)
                return answer
        watch.close()
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        resp = http.client.HTTPResponse(_SockLike(_Prefixed(bytes(head), sock)), method="PUT")
        try:
            resp.begin()
        except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError) as exc:
            answer.status, answer.error = CONNECTION_RESET, one_line(exc)
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
        answer.error = one_line(exc)
    except (ConnectionRefusedError, socket.gaierror) as exc:
        answer.status, answer.error = CONNECT_FAILED, one_line(exc)
    except OSError as exc:
        answer.status = CONNECT_FAILED if hc is None or hc.sock is None else CONNECTION_RESET
        answer.error = one_line(exc)
    except http.client.HTTPException as exc:
        answer.status, answer.error = CONNECTION_RESET, one_line(exc)
    except Exception as exc:  # noqa: BLE001 - no token (Keystone down, credentials refused)
        answer.status, answer.error = CONNECT_FAILED, f"no token for the upload: {one_line(exc)}"
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
        result.error = one_line(exc)
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


