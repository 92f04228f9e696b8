"""The client half of the probe's fixed-string log search (phase `request_lines`, needles as data).

One round trip per host asks for every line that holds any of several fixed strings (an image id,
request ids, uWSGI's own messages) in all of that host's glance-api, uWSGI and HAProxy logs, read
from where they reach the lookback window (`--since`) to their end. The host searches with
`grep -F`, each string its own `-e` argument, and answers only the matching lines.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from glance_hc import logscan
from glance_hc.probe import transport


@dataclass
class Found:
    """What one host's logs hold of the strings asked: the lines, and how far back each log was read."""
    host: str
    lines: list[logscan.LogLine] = field(default_factory=list)
    reached: dict[str, datetime | None] = field(default_factory=dict)  # source -> its first stamp read
    whole: dict[str, bool] = field(default_factory=dict)               # source -> read from its start
    errors: list[str] = field(default_factory=list)


def log_targets(dep) -> list[dict]:
    targets = []
    for target in dep.log_sources:
        kind, _, value = target.partition(":")
        targets.append({"kind": kind, "path": value} if kind == "log" else {"kind": kind, "name": value})
    return targets


def request(facts, needles: list[str], window: timedelta) -> dict | None:
    dep = facts.deployment
    if not dep or facts.error or not needles:
        return None
    return {"phase": "request_lines", "needles": list(dict.fromkeys(needles)),
            "window_minutes": max(1, int(window.total_seconds() // 60)),
            "container": dep.exec_container, "runtime": dep.runtime or "", "logs": log_targets(dep)}


def parse(host: str, doc: dict) -> Found:
    """The probe's answer as log lines, each with the stamp it prints or carries."""
    found = Found(host)
    for src in doc.get("logs") or []:
        if not isinstance(src, dict) or not isinstance(src.get("name"), str):
            continue
        name = src["name"]
        if src.get("error"):
            found.errors.append(f"{name}: {src['error']}")
            continue
        reached = src.get("reached")
        found.reached[name] = logscan.parse_stamp(reached) if isinstance(reached, str) and reached else None
        found.whole[name] = bool(src.get("whole"))
        for item in src.get("lines") or []:
            if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item) and item[1].strip():
                found.lines.append(logscan.parse_stamped(name, f"{item[0]}\t{item[1]}"))
    return found


def search(pairs, needles_of, window: timedelta, timeout: int = 30) -> list[Found]:
    """One round trip per host, all hosts side by side. `pairs`: [(facts, testinfra host)];
    `needles_of(facts)`: the strings to look for on that host."""
    def one(pair) -> Found:
        facts, host = pair
        req = request(facts, needles_of(facts), window)
        if req is None:
            return Found(facts.name)
        try:
            doc = transport.round_trip(host, req, timeout=timeout)
        except transport.HostUnreachable as exc:
            return Found(facts.name, errors=[f"logs not searched ({exc})"])
        facts.round_trips += 1
        return parse(facts.name, doc)

    if not pairs:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(pairs))) as pool:
        return list(pool.map(one, pairs))
