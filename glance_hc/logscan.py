"""What a Glance, glance_store, uWSGI, oslo.service, HAProxy or kernel log line means, and the
code that finds those lines.

The patterns live with their root cause (`glance_hc/causes/<key>.py`), each with a role: only a
*cause* line is evidence for a root cause. A consequence (the generic 500 after a fault, a
respawn), a cleanup ("Unable to remove partial image data") or a start-up warning is shown beside
the cause line it follows - same request id, or the next line in time on the same source - and is
never counted as a second cause. Lines of the suite's own canary (request ids that carry
`SUITE_REQUEST_MARK`, or ids the run hands in) are no user's fault and are never counted either.

Patterns are Python regexes, lowercase, matched case-insensitively (on the host too).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from re import _constants as sre_constants  # the regex parser, to find the literals a pattern needs
from re import _parser as sre_parse

from glance_hc import haproxy
from glance_hc.causes import CAUSES
from glance_hc.causes.model import CAUSE, CLEANUP, CONSEQUENCE, STARTUP, LogPattern

__all__ = ["CAUSE", "CLEANUP", "CONSEQUENCE", "STARTUP", "LOG_PATTERNS", "LogLine", "Reading",
           "host_filter_keywords", "host_filter_patterns", "lines_for", "parse_stamped", "read", "role_of", "root_causes_of",
           "suite_request_id", "within"]

# root cause -> the regexes of its cause lines (what the checks count)
LOG_PATTERNS: dict[str, tuple[str, ...]] = {
    cause.key: tuple(p.regex for p in cause.patterns if p.role == CAUSE) for cause in CAUSES if cause.patterns}

_ALL: tuple[tuple[str, LogPattern, re.Pattern], ...] = tuple(
    (cause.key, p, re.compile(p.regex, re.I)) for cause in CAUSES for p in cause.patterns)
_NOT_CAUSES = tuple(entry for entry in _ALL if entry[1].role != CAUSE)
_CAUSES = tuple(entry for entry in _ALL if entry[1].role == CAUSE)

# Lines that belong to one root cause whatever else they mention: glance_store failing to
# create a configured datadir says "Permission denied", but the path in the config is the fault.
EXCLUSIVE = (
    (re.compile(r"unable to create datadir", re.I), "store_config"),
)

# Lines that mention a pattern word but are not faults: never counted.
IGNORED = (
    re.compile(r"could not load 'cinder'|could not load 'glance\.store\.cinder", re.I),
    re.compile(r"no module named 'os_brick'", re.I),
)

SUITE_REQUEST_MARK = "6863616e"  # "hcan" in hex: the first group of every request id the suite sends
_SUITE_REQUEST = re.compile(rf"req-{SUITE_REQUEST_MARK}-[0-9a-f]{{4}}-", re.I)
_REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# oslo.log prints a traceback's lines with the stamp and pid of the line they belong to, and no
# "[request context]": such a line repeats its head line, it is not an event of its own.
_OSLO_HEAD = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+) [A-Z]+ [\w.]+ (\[)?")
# Glance's WSGI layer restates the error of a failed request ("Caught error: ..."): the line
# before it with the same request id is the cause.
_RESTATED = re.compile(r"glance\.common\.wsgi \[[^\]]*\] caught error: ", re.I)
PAIRING_WINDOW = timedelta(seconds=2)


def suite_request_id() -> str:
    """A request id in the form Glance and oslo.middleware accept (`req-<uuid>`) that says it is the
    suite's own: a canary cut because its suite was killed is not a user's interrupted upload."""
    u = uuid.uuid4().hex
    return f"req-{SUITE_REQUEST_MARK}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:32]}"


def host_filter_patterns() -> list[str]:
    """Python regexes (matched case-insensitively on the host, with Python's `re`) for every line any
    root cause cares about, cause or not (consequence, cleanup and start-up lines are needed to show
    them beside their cause), and HAProxy's health-check transitions (its view of its servers, read
    before a node is blamed): the probe's log filter. Data for the probe, never code."""
    return list(dict.fromkeys([*(p.regex for _, p, _ in _ALL), haproxy.STATE_LINE]))


def _literal_runs(pattern: str) -> list[list[str]] | None:
    """Per top-level alternative of the pattern, its runs of literal characters, as written; None
    when the pattern does not parse."""
    try:
        items = list(sre_parse.parse(pattern))
    except re.error:
        return None
    branches = items[0][1][1] if len(items) == 1 and items[0][0] is sre_constants.BRANCH else [items]
    found = []
    for branch in branches:
        runs, current = [], []
        for op, arg in branch:
            if op is sre_constants.LITERAL:
                current.append(chr(arg))
            else:
                runs.append("".join(current))
                current = []
        runs.append("".join(current))
        found.append(runs)
    return found


def required_literals(pattern: str) -> list[str] | None:
    """Lowercase strings one of which every line the pattern matches contains (one per top-level
    alternative), or None when that cannot be told: the probe's cheap `in` test before the regex."""
    branches = _literal_runs(pattern)
    if branches is None:
        return None
    found = []
    for runs in branches:
        best = max(runs, key=len)
        if len(best) < 3:
            return None
        found.append(best.lower())
    return found


def required_literal_sets(pattern: str) -> list[list[str]] | None:
    """Per top-level alternative, every literal run of 3 or more characters in it, lowercase (each
    line that alternative matches holds all of them), or None when some alternative has none."""
    branches = _literal_runs(pattern)
    if branches is None:
        return None
    found = []
    for runs in branches:
        kept = sorted({r.lower() for r in runs if len(r) >= 3}, key=lambda r: (-len(r), r))
        if not kept:
            return None
        found.append(kept)
    return found


def host_filter_keywords() -> list[list[list[str]] | None]:
    """host_filter_patterns()' required literals, in the same order (data for the probe): per
    pattern, per alternative, the literals all in any line it matches."""
    return [required_literal_sets(p) for p in host_filter_patterns()]


@dataclass(frozen=True)
class Meaning:
    role: str
    root_causes: tuple[str, ...]
    fault: str | None = None


def role_of(text: str) -> Meaning | None:
    """What one line means on its own: None for a line no pattern knows (or one that is noise)."""
    if any(ig.search(text) for ig in IGNORED):
        return None
    for key, pattern, rx in _NOT_CAUSES:
        if rx.search(text):
            return Meaning(pattern.role, (key,), pattern.fault)
    for rx, key in EXCLUSIVE:
        if rx.search(text):
            return Meaning(CAUSE, (key,))
    found = [(key, pattern) for key, pattern, rx in _CAUSES if rx.search(text)]
    if not found:
        return None
    keys = tuple(dict.fromkeys(key for key, _ in found))
    return Meaning(CAUSE, keys, next((p.fault for _, p in found if p.fault), None))


def root_causes_of(line: str) -> list[str]:
    """The root causes one line is evidence for: none unless it is a cause line."""
    meaning = role_of(line)
    return list(meaning.root_causes) if meaning and meaning.role == CAUSE else []


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
_UWSGI_STAMP = re.compile(r"^([A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4}) - ")


def parse_stamped(source: str, raw: str) -> LogLine:
    """A line from the remote awk filter: `<timestamp or empty>\\t<line>`."""
    stamp, _, text = raw.partition("\t")
    if not _:
        text, stamp = raw, ""
    own = _UWSGI_STAMP.match(text)  # uWSGI's own prefix, which the host-side stamp does not read
    when = parse_stamp(own.group(1)) if own else (parse_stamp(stamp) if stamp else None)
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


@dataclass(frozen=True)
class Reading:
    """A matched line and what it means in its neighbourhood."""

    line: LogLine
    role: str
    root_causes: tuple[str, ...]
    fault: str | None = None
    cause: LogLine | None = None  # for any other role: the cause line it follows, when there is one
    own: bool = False             # the suite's own canary request

    @property
    def counts(self) -> bool:
        return self.role == CAUSE and not self.own


def _ids(text: str) -> set[str]:
    return {m.group(0).lower() for m in _REQUEST_ID.finditer(text)}


def read(lines, own_ids=()) -> list[Reading]:
    """Every matched line with its role, in the order given (a log's order).

    A cause line that Glance's WSGI layer restates for the same request ("Caught error: ..."
    after "Failed to upload ...") or its own traceback repeats is a consequence of the first.
    Any other non-cause line points at the cause line of its request (before or after it: Glance
    logs its cleanup before the failure), else at the nearest cause line on its source within
    PAIRING_WINDOW. `own_ids`: request ids and image ids of the suite's own requests.
    """
    own = {i.lower() for i in own_ids if i}
    matched = [(line, meaning) for line in lines if (meaning := role_of(line.text)) is not None]
    by_request: dict[tuple[str, str], int] = {}   # (source, request id) -> index of its first cause
    by_head: dict[tuple[str, str], int] = {}      # (source, oslo stamp + pid) -> index of its cause
    roles: list[str] = []
    parents: list[int | None] = []
    previous: dict[str, int] = {}                 # source -> index of its latest matched line
    for n, (line, meaning) in enumerate(matched):
        ids = _ids(line.text)
        head = _OSLO_HEAD.search(line.text)
        head_key = (line.source, head.group(1)) if head else None
        traceback = bool(head_key and not head.group(2))
        first = next((by_request[(line.source, i)] for i in sorted(ids) if (line.source, i) in by_request), None)
        if first is None and traceback:
            first = by_head.get(head_key)
        role, parent = meaning.role, None
        if (role == CAUSE and first is not None and set(meaning.root_causes) & set(matched[first][1].root_causes)
                and (traceback or _RESTATED.search(line.text))):
            role, parent = CONSEQUENCE, first
        elif role == CAUSE and not ids and not head and line.source in previous:
            # a line without stamp of its own or request id right after a line of the same fault
            # (a multi-line message, uWSGI's "DAMN ! worker" after its harakiri report) goes on it
            before = previous[line.source]
            root = before if roles[before] == CAUSE else parents[before]
            if root is None and roles[before] == CONSEQUENCE:
                root = _nearest(matched, [c for c, r in enumerate(roles) if r == CAUSE], before)
            if (root is not None and set(meaning.root_causes) & set(matched[root][1].root_causes)
                    and _follows(matched[before][0], line)):
                role, parent = CONSEQUENCE, root
        if role == CAUSE:
            for i in ids:
                by_request.setdefault((line.source, i), n)
        if head_key and not traceback and (role == CAUSE or parent is not None):
            by_head[head_key] = n if role == CAUSE else parent
        roles.append(role)
        parents.append(parent)
        previous[line.source] = n
    causes_at = [n for n, role in enumerate(roles) if role == CAUSE]
    for n, (line, _meaning) in enumerate(matched):
        if roles[n] not in (CAUSE, STARTUP) and parents[n] is None:  # a start-up line follows no fault
            ids = _ids(line.text)
            if ids:
                parents[n] = next((by_request[(line.source, i)] for i in sorted(ids)
                                   if (line.source, i) in by_request), None)
            else:
                parents[n] = _nearest(matched, causes_at, n)
    out = []
    for n, (line, meaning) in enumerate(matched):
        ids = _ids(line.text)
        low = line.text.lower()
        mine = any(_SUITE_REQUEST.search(i) for i in ids) or bool(own & ids) or any(i in low for i in own)
        out.append([line, roles[n], meaning, parents[n], mine])
    for entry in out:  # a line of the suite's own request makes its neighbours its own too
        parent = entry[3]
        if parent is not None and out[parent][4]:
            entry[4] = True
    # a line shown beside a cause is shown under that cause's root cause
    return [Reading(line, role, matched[parent][1].root_causes if parent is not None else meaning.root_causes,
                    meaning.fault, matched[parent][0] if parent is not None else None, mine)
            for line, role, meaning, parent, mine in out]


def _follows(a: LogLine, b: LogLine) -> bool:
    """b, a line without a stamp of its own logged after a, is close enough to belong to it. Its
    time is the last stamp the host-side filter saw: older than a's when that filter did not read
    a's stamp (uWSGI's "Tue Dec  1 21:46:44 2026 - " prefix), never more than the window later."""
    if a.when is None or b.when is None:
        return a.when is None and b.when is None
    return b.when - a.when <= PAIRING_WINDOW


def _nearest(matched, causes_at: list[int], n: int) -> int | None:
    """The cause line closest in time to line n on its source, within PAIRING_WINDOW."""
    line = matched[n][0]
    if line.when is None:
        return None
    best, gap = None, PAIRING_WINDOW
    for c in causes_at:
        other = matched[c][0]
        if other.source == line.source and other.when is not None and abs(other.when - line.when) <= gap:
            best, gap = c, abs(other.when - line.when)
    return best


def lines_for(root_cause: str, lines, own_ids=()) -> list[LogLine]:
    """The cause lines of one root cause: what a log check counts."""
    return [r.line for r in read(lines, own_ids) if r.counts and root_cause in r.root_causes]
