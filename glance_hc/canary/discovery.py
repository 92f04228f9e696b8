"""What the cloud offers (stores, hashing algorithm) and what its logs say an upload was answered."""
from __future__ import annotations

import re
from collections.abc import Iterable

from glance_hc.canary.api import Answer, call
from glance_hc.canary.names import DEFAULT_HASH_ALGO


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


_GLANCE_ERROR_LINE = re.compile(r" ERROR glance[\w.]* \[[^\]]*\] (?P<message>.+)$")


def logged_explanation(log_lines: Iterable[str], request_ids: Iterable[str]) -> str:
    """What glance-api logged as its refusal of one of `request_ids`: Glance logs the explanation it
    sends (image_data.py: LOG.error(msg) / LOG.exception(msg), then HTTPGone/HTTPRequestEntityTooLarge
    (explanation=msg)), so when the client lost the body the log still has its words."""
    ids = [i for i in request_ids if i]
    messages = []
    for line in log_lines or []:
        m = _GLANCE_ERROR_LINE.search(line)
        if m and any(i in line for i in ids) and m.group("message") not in messages:
            messages.append(m.group("message").strip())
    return " ".join(messages)


def hashing_algorithm(host_facts_list) -> str:
    """The [DEFAULT] hashing_algorithm the hosts configure (sha512 when none says)."""
    for found in host_facts_list:
        config = getattr(found, "config", None)
        value = config.get("DEFAULT", "hashing_algorithm") if config is not None else None
        if value:
            return value.strip()
    return DEFAULT_HASH_ALGO


