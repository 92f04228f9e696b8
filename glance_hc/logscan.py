"""What real Glance, glance_store, uWSGI, oslo.service, HAProxy and the kernel
print for each root cause, and the code that finds those lines.

The patterns come from the sources (glance/api/v2/image_data.py,
glance_store/_drivers/*.py, uWSGI's core, oslo.service) and from the lab, not
from the runbook's illustrative lines. They are lowercase regular expressions
because the remote side matches with awk on lowercased lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

LOG_PATTERNS: dict[str, tuple[str, ...]] = {
    "store_full": (
        r"image storage media is full",
        r"no space left on device",
        r"errno 28",
        r"not enough disk space",
        r"no enough disk space",
        r"disk quota exceeded",
        r"rbd operation timeout",
    ),
    "store_config": (
        r"error in store configuration",
        r"store for scheme [a-z+]+ not found",
        r"store for identifier \S+ not found",
        r"unknown scheme",
        r"invalid directory specified in filesystem configuration",
        r"specified an invalid .*filesystem",
        r"could not find .*backend",
        r"store '[^']*' does not exist",
        r"unable to create datadir",
        r"badstoreconfiguration",
    ),
    "store_permissions": (
        r"insufficient permissions on image storage media",
        r"permission denied",
        r"errno 13",
        r"storagewritedenied",
        r"operation not permitted",
    ),
    "worker_crash": (
        r"died, killed by signal",
        r"worker [0-9]+ \(pid: [0-9]+\) died",
        r"killed by signal 9",
        r"child [0-9]+ killed by signal",
        r"harakiri",
        r"out of memory",
        r"killed process [0-9]+",
        r"oom-kill",
    ),
    "interrupted_upload": (
        r"error during read\([0-9]+\) on wsgi.input",
        r"client disconnected",
        r"disconnected after writing",
        r"timeout during read",
        r"unable to receive chunked part",
        r"uwsgi_response_write_body_do\(\) timeout",
        r"filesystem store operation timed out",
        r"unable to remove partial image",
        r"cleaning up .*partial upload",
        # HAProxy httplog termination state: client (c) or server (s) side aborted the request
        r"glance\S* \S+ \S+ (504|408) .* [cs][dhr]-- ",
    ),
    "checksum_mismatch": (
        r"checksum verification failed",
        r"invalid checksum",
        r"checksum mismatch",
        r"signature verification failed",
        r"hash .*does not match",
        r"image data .*not found",
        r"could not be found after upload",
    ),
    "quota": (
        r"exceeds the storage quota",
        r"incoming image is too large",
        r"will exceed the limit",
        r"would exceed",
        r"quota exceeded",
        r"over (the )?(quota|limit)",
        r"imagesizelimitexceeded",
    ),
}

# Lines that belong to one root cause whatever else they mention: glance_store failing to
# create a configured datadir says "Permission denied", but the path in the config is the fault.
EXCLUSIVE = (
    (re.compile(r"unable to create datadir"), "store_config"),
)

# Lines that mention a pattern word but are not faults: never counted.
IGNORED = (
    re.compile(r"could not load 'cinder'|could not load 'glance\.store\.cinder"),
    re.compile(r"no module named 'os_brick'"),
)

_COMPILED = {rc: tuple(re.compile(p) for p in pats) for rc, pats in LOG_PATTERNS.items()}


def host_filter_patterns() -> list[str]:
    """Python regexes (matched case-insensitively on the host, with Python's `re`) for the lines
    any root cause cares about: the probe's log filter. Data for the probe, never code."""
    return [p for pats in LOG_PATTERNS.values() for p in pats]


def combined_pattern() -> str:
    """One regex for the remote awk filter: any line any root cause cares about."""
    return "|".join(p for pats in LOG_PATTERNS.values() for p in pats)


def root_causes_of(line: str) -> list[str]:
    low = line.lower()
    if any(ig.search(low) for ig in IGNORED):
        return []
    for pattern, root_cause in EXCLUSIVE:
        if pattern.search(low):
            return [root_cause]
    return [rc for rc, pats in _COMPILED.items() if any(p.search(low) for p in pats)]


@dataclass(frozen=True)
class LogLine:
    source: str           # "log /var/log/glance/glance-api.log", "unit glance-api", "kernel"
    text: str
    when: datetime | None  # in the host's local time, as the log printed it


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%a %b %d %H:%M:%S %Y")


def parse_stamp(stamp: str) -> datetime | None:
    stamp = re.sub(r"\.\d+$", "", re.sub(r"\s+", " ", stamp.strip()))
    for fmt in _FORMATS:
        try:
            return datetime.strptime(stamp, fmt)
        except ValueError:
            continue
    return None


_DMESG = re.compile(r"^\[([A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4})\]")


def parse_stamped(source: str, raw: str) -> LogLine:
    """A line from the remote awk filter: `<timestamp or empty>\\t<line>`."""
    stamp, _, text = raw.partition("\t")
    if not _:
        text, stamp = raw, ""
    when = parse_stamp(stamp) if stamp else None
    if when is None:
        m = _DMESG.match(text)
        when = parse_stamp(m.group(1)) if m else None
    return LogLine(source=source, text=text.rstrip(), when=when)


def within(lines, now_local: datetime, window: timedelta, undated_ok: bool = False):
    """Lines inside the lookback window; undated lines only when the source is fresh."""
    cutoff = now_local - window
    for line in lines:
        if line.when is None:
            if undated_ok:
                yield line
        elif line.when >= cutoff:
            yield line


def lines_for(root_cause: str, lines) -> list[LogLine]:
    return [line for line in lines if root_cause in root_causes_of(line.text)]
