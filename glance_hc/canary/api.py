"""One Image API call through the SDK's session, and its answer or the transport failure in words."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from glance_hc import logscan
from glance_hc.canary.names import CLIENT_DEADLINE, CONNECT_FAILED, CONNECT_TIMEOUT, CONNECTION_RESET, MIB, READ_TIMEOUT
from glance_hc.canary.source import DeadlineExceeded
from glance_hc.classify import body_message
from glance_hc.errors import one_line


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
        answer.error = str(deadline) if deadline else one_line(exc)
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


