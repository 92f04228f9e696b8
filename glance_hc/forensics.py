"""From an image a user reports to its root cause: the runbook's diagnostic workflow.

Read the record first, follow the image id and then the request ids through every host's
glance-api, uWSGI and HAProxy logs, look at the kernel and uWSGI lines around the image's last
change and at what the host checks saw of its store, then name the cause with the rules the
canary uses (glance_hc.classify). Pure functions over the record, the lines and the host facts:
the check gathers, this module judges, so it is tested on lines captured from the lab.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from glance_hc import canary, classify, logscan
from glance_hc.causes.model import CAUSE, CONSEQUENCE, STARTUP

TRANSIENT = ("saving", "importing", "uploading")
RECORD_KEYS = ("status", "size", "checksum", "os_hash_algo", "os_hash_value", "stores", "disk_format",
               "container_format", "created_at", "updated_at")
CONTEXT_SPAN = timedelta(minutes=2)   # kernel and uWSGI lines this close to the last change are context
PAIRING_SPAN = timedelta(seconds=5)   # a HAProxy line and a uWSGI line this close, same method and path
HAPROXY_HINT = ("HAProxy does not log Glance's x-openstack-request-id here: its lines were matched to "
                "glance-api's by time and path. `capture response header x-openstack-request-id len 64` "
                "(or `http-request capture`) in the glance frontend would make the match exact.")

_REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_OSLO = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\d+) ")
_UWSGI_REQ = re.compile(r"^\[pid: (\d+)\|.*?\[([A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4})\] "
                        r"([A-Z]+) (\S+) =>")
_HAPROXY = re.compile(r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d)(?:\.\d+)?\] .*\"([A-Z]+) (\S+) HTTP/")
_UWSGI_TOOK = re.compile(r" in (\d+) msecs \(HTTP/")
_DIED = re.compile(r"worker (\d+) \(pid: (\d+)\) died, killed by signal (\d+)", re.I)

_CUT = "tests/data/logs/issue18-import-cut-by-restart/controller1-"
_KILLED = "tests/data/logs/issue18-worker-killed/controller1-"
_RESTART = "tests/data/logs/issue18-restart/controller1-"


@dataclass(frozen=True)
class Marker:
    """A line glance-api's server prints about its own life (a stop, a death, a start), found by a
    fixed string (`text`, case-sensitive: the host searches with `grep -F`), with its role around a
    stuck image and the real lines it was written from (`examples`, verbatim in `source`)."""
    text: str
    role: str
    meaning: str
    source: str
    examples: tuple[str, ...]


LIFECYCLE = (
    Marker("SIGINT/SIGTERM received", CAUSE, "glance-api's uWSGI master was told to stop (a restart or a stop): "
           "it kills its workers and what they were doing", f"{_CUT}glance-api-uwsgi.log,{_RESTART}glance-api-uwsgi.log",
           ("SIGINT/SIGTERM received...killing workers...",)),
    Marker("died, killed by signal", CAUSE, "a worker was killed (SIGKILL, the OOM killer)",
           f"{_KILLED}glance-api-uwsgi.log", ("DAMN ! worker 1 (pid: 8452) died, killed by signal 9 :( trying respawn ...",)),
    Marker("Waiting for remaining threads in pool", CONSEQUENCE, "glance-api stopping: it waits for the tasks "
           "(imports) still running", f"{_CUT}glance-api.log", ("Waiting for remaining threads in pool 'tasks_pool'",)),
    Marker("buried after", CONSEQUENCE, "a worker ended by its master's stop", f"{_CUT}glance-api-uwsgi.log",
           ("worker 2 buried after 1 seconds",)),
    Marker("the master disconnected from this worker", CONSEQUENCE, "a worker outlived its master's stop",
           f"{_CUT}glance-api-uwsgi.log", ("uWSGI worker 1 error: the master disconnected from this worker. "
                                           "Shutting down the worker.",)),
    Marker("goodbye to uWSGI", CONSEQUENCE, "the master ended", f"{_RESTART}glance-api-uwsgi.log",
           ("goodbye to uWSGI.",)),
    Marker("Respawned uWSGI worker", CONSEQUENCE, "a new worker in the dead one's place", f"{_KILLED}glance-api-uwsgi.log",
           ("Respawned uWSGI worker 1 (new pid: 8819)",)),
    # a start-up banner after a restart: glance-api back, not why anything failed
    Marker("*** Starting uWSGI", STARTUP, "glance-api starting", f"{_CUT}glance-api-uwsgi.log",
           ("*** Starting uWSGI 2.0.31 (64bit) on [Wed Dec  2 04:20:56 2026] ***",)),
    Marker("spawned uWSGI worker", STARTUP, "a worker started with its master", f"{_CUT}glance-api-uwsgi.log",
           ("spawned uWSGI worker 1 (pid: 9173, cores: 4)",)),
)
MARKERS = tuple(m.text for m in LIFECYCLE)


def marker_of(text: str) -> Marker | None:
    return next((m for m in LIFECYCLE if m.text in text), None)


@dataclass(frozen=True)
class Event:
    """One line of the timeline: when (host local time), where, what, and what it means (its role:
    cause, consequence, cleanup, start-up warning; "" for a plain request line). `carried`: the
    line prints no time of its own, `when` is the last one its log printed before it."""
    when: datetime | None
    host: str
    source: str
    text: str
    role: str = ""
    carried: bool = False

    def render(self) -> str:
        stamp = self.when.strftime("%Y-%m-%d %H:%M:%S") if self.when else "(no time)"
        if self.carried:
            stamp += " (or later)"
        role = f" [{self.role}]" if self.role else ""
        return f"{stamp} {self.host} {self.source}{role}: {self.text}"


@dataclass
class Explanation:
    image_id: str
    ok: bool
    verdict: str
    root_cause: str | None = None
    classification: classify.Classification | None = None
    timeline: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data_status: int | str | None = None


def stamp_of(text: str) -> datetime | None:
    """The time a log line prints for itself (oslo.log, uWSGI's request log, HAProxy, dmesg -T)."""
    m = _OSLO.match(text)
    if m:
        return logscan.parse_stamp(m.group(1))
    m = _UWSGI_REQ.match(text)
    if m:
        return logscan.parse_stamp(m.group(2))
    m = _HAPROXY.search(text)
    if m:
        try:
            return datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S")
        except ValueError:
            return None
    return logscan.parse_stamped("", text).when


def split_source(line: str) -> tuple[str, str]:
    """`request_lines` answers "SOURCE: text", SOURCE being "log PATH", "unit NAME" or "ctrlog NAME"."""
    m = re.match(r"^((?:log|unit|ctrlog) \S+): (.*)$", line, re.S)
    return (m.group(1), m.group(2)) if m else ("log", line)


def role_of(text: str) -> str:
    """What a line means: its lifecycle marker's role, else the log rules' role, else "" (a request)."""
    marker = marker_of(text)
    if marker:
        return marker.role
    meaning = logscan.role_of(text)
    return meaning.role if meaning else ""


def events_of(host: str, lines) -> list[Event]:
    """Events of "SOURCE: text" strings (facts.request_lines) or of LogLines (the probe's search,
    each with the stamp it prints or carries)."""
    out = []
    for line in lines:
        if isinstance(line, logscan.LogLine):
            source, text = line.source, line.text
        else:
            source, text = split_source(str(line))
        own = stamp_of(text)
        when = own or (line.when if isinstance(line, logscan.LogLine) else None)
        out.append(Event(when, host, source, text.rstrip(), role_of(text), own is None and when is not None))
    return out


@dataclass(frozen=True)
class Served:
    """A request uWSGI logged for the image: the worker pid that served it, from when to when (the
    host's local time). uWSGI's request lines name the image but no request id, and glance-api's
    own error lines name the request id but not the image: the worker and the time join them."""
    host: str
    pid: str
    start: datetime
    end: datetime


MAX_SERVED = 8            # requests of the image whose worker lines are looked for (the newest)
_SERVED_SLACK = timedelta(seconds=1)


def served(events: list[Event]) -> list[Served]:
    """The newest uWSGI request lines of the image, as (host, worker pid, start, end)."""
    out = []
    for e in events:
        m = _UWSGI_REQ.match(e.text)
        start = logscan.parse_stamp(m.group(2)) if m else None
        if start is None:
            continue
        took = _UWSGI_TOOK.search(e.text)
        out.append(Served(e.host, m.group(1), start, start + timedelta(milliseconds=int(took.group(1)) if took else 0)))
    return sorted(out, key=lambda s: s.start)[-MAX_SERVED:]


def served_stamps(requests: list[Served], host: str) -> list[str]:
    """Fixed strings for the host's search: the oslo.log stamps ("YYYY-MM-DD HH:MM:SS.") of the
    second each request began and of the seconds around its end (where a failed upload logs why),
    never every second of a long upload. uWSGI stamps a request's start to the whole second, so
    its true end may lie up to a second after start + duration."""
    seconds = set()
    for s in requests:
        if s.host == host:
            end = s.end.replace(microsecond=0)
            seconds |= {s.start.replace(microsecond=0), *(end + timedelta(seconds=k) for k in (-1, 0, 1))}
    return [f"{t:%Y-%m-%d %H:%M:%S}." for t in sorted(seconds)]


def worker_lines(requests: list[Served], events: list[Event]) -> list[Event]:
    """The oslo.log lines a worker printed while it served one of the image's requests."""
    out = []
    for e in events:
        m = _OSLO.match(e.text)
        when = logscan.parse_stamp(m.group(1)) if m else None
        if when is not None and any(s.host == e.host and s.pid == m.group(2)
                                    and s.start - _SERVED_SLACK <= when <= s.end + 2 * _SERVED_SLACK
                                    for s in requests):
            out.append(e)
    return out


def lifecycle_events(host: str, lines: list[logscan.LogLine], changed: datetime | None,
                     stuck: bool) -> list[Event]:
    """glance-api's own stop, death and start lines (LIFECYCLE) around the image's last change.

    For an image left half-way (`stuck`), the first stop or death at or after its last change is
    what cut it, however long after: its lines and those up to CONTEXT_SPAN after it are kept."""
    events = sorted((e for e in events_of(host, [x for x in lines if marker_of(x.text)]) if e.when),
                    key=lambda e: e.when)
    if changed is None:
        return events
    end = changed + CONTEXT_SPAN
    if stuck:
        cut = next((e for e in events if e.role == CAUSE and e.when >= changed - timedelta(seconds=1)), None)
        if cut is not None:
            end = max(end, cut.when + CONTEXT_SPAN)
    return [e for e in events if changed - CONTEXT_SPAN <= e.when <= end]


def what_cut_it(timeline: list[Event], changed: dict[str, datetime | None]) -> Event | None:
    """The first stop or death (a lifecycle cause line, or the kernel's OOM kill) on a host that served
    the image, at or after its last change there: what left it half-way."""
    served = {e.host for e in timeline if not is_haproxy(e) and (_UWSGI_REQ.match(e.text) or _OSLO.match(e.text))}
    for e in timeline:
        if e.role != CAUSE or e.when is None or e.host not in served:
            continue
        if not (marker_of(e.text) or e.source == "kernel"):
            continue
        at = changed.get(e.host)
        if at is None or e.when >= at - timedelta(seconds=1):
            return e
    return None


def request_ids(lines) -> list[str]:
    """The request ids on the lines that name the image, in order of appearance."""
    found: list[str] = []
    for line in lines:
        for rid in _REQUEST_ID.findall(str(line)):
            if rid.lower() not in found:
                found.append(rid.lower())
    return found


def is_haproxy(event: Event) -> bool:
    return "haproxy" in event.source.lower() or bool(re.search(r"\] \S+ \S+/\S+ [-\d]+/[-\d]+/", event.text))


def haproxy_correlation(events: list[Event]) -> tuple[list[str], bool]:
    """Pair each HAProxy line with glance-api's request line by method, path and time.

    Returns the pairings said in words and whether HAProxy logs lack the request id (then the
    pairing is by time and path, and the report recommends capturing the header)."""
    proxy = [e for e in events if is_haproxy(e)]
    if not proxy:
        return [], False
    without_id = not any(_REQUEST_ID.search(e.text) for e in proxy)
    served = []
    for e in events:
        m = _UWSGI_REQ.match(e.text)
        if m and e.when:
            served.append((e, m.group(3), m.group(4).split("?")[0], m.group(1)))
    said = []
    for p in proxy:
        m = _HAPROXY.search(p.text)
        if not m or p.when is None:
            continue
        method, path = m.group(2), m.group(3).split("?")[0]
        near = [(abs((s.when - p.when).total_seconds()), s, pid) for s, meth, sp, pid in served
                if meth == method and sp == path and abs(s.when - p.when) <= PAIRING_SPAN + timedelta(
                    seconds=_haproxy_total_s(p.text))]
        if near:
            _, s, pid = min(near, key=lambda x: x[0])
            said.append(f"{p.host} HAProxy {method} {path} at {p.when:%H:%M:%S} = {s.host} worker pid {pid} "
                        f"at {s.when:%H:%M:%S} (by time and path)")
        else:
            said.append(f"{p.host} HAProxy {method} {path} at {p.when:%H:%M:%S}: no glance-api request line "
                        f"matches (the worker died before logging it, or its log was not read)")
    return said, without_id


def _haproxy_total_s(text: str) -> float:
    m = re.search(r" -?\d+/-?\d+/-?\d+/-?\d+/(\d+) ", text)
    return int(m.group(1)) / 1000 if m else 0.0


def record_lines(record: dict) -> list[str]:
    """The record as the report shows it: the keys the runbook reads, and the import properties."""
    lines = [f"{k}: {record.get(k)}" for k in RECORD_KEYS if k in record]
    lines += [f"{k}: {v}" for k, v in sorted(record.items()) if k.startswith("os_glance_")]
    return lines


def to_host_time(utc_text: str | None, host_clock: datetime | None,
                 utc_now: datetime | None = None) -> datetime | None:
    """An API timestamp (UTC, ISO) in a host's local time, the time its logs print: the host's
    offset is its clock (read by the probe) against UTC at about that moment (`utc_now`), to the
    nearest quarter hour."""
    if not utc_text:
        return None
    try:
        when = datetime.fromisoformat(str(utc_text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    naive_utc = when.astimezone(UTC).replace(tzinfo=None)
    if host_clock is None:
        return naive_utc
    offset = host_clock - (utc_now or datetime.now(UTC).replace(tzinfo=None))
    quarter = timedelta(minutes=15)
    return naive_utc + round(offset / quarter) * quarter


def reach_note(changed: datetime | None, host: str, clock: datetime | None, window: timedelta,
               earliest: datetime | None = None) -> str | None:
    """Say so when a host's logs do not reach back to the image's last change."""
    if changed is None or clock is None:
        return None
    start = clock - window
    if earliest is not None and earliest > start:
        start = earliest
    if changed < start:
        return (f"{host}: the logs read reach back to {start:%Y-%m-%d %H:%M:%S} (--since {_human(window)}), "
                f"after the image's last change at {changed:%Y-%m-%d %H:%M:%S}: rerun with a longer --since, "
                f"or read the rotated logs by hand")
    return None


def _human(window: timedelta) -> str:
    s = int(window.total_seconds())
    return f"{s // 3600}h" if s % 3600 == 0 else f"{s // 60}m"


def context_events(host: str, lines: list[logscan.LogLine], changed: datetime | None) -> list[Event]:
    """Kernel and uWSGI lines near the last change that are cause lines (a dead worker, the OOM
    killer, a full disk), not the routine ones."""
    out = []
    for line in lines:
        if changed is not None and line.when is not None and abs(line.when - changed) > CONTEXT_SPAN:
            continue
        if changed is not None and line.when is None:
            continue
        if logscan.root_causes_of(line.text):
            out.append(Event(line.when, host, line.source, line.text, CAUSE))
    return out


def dir_findings(host: str, store: str, d) -> list[str]:
    """What the host checks saw of a file store's directory, worded like the log lines the rules
    read when it tells a cause (no room left), else as the plain description."""
    said = [f"{host} store {store} {d.describe()}"]
    if d.exists and d.total_bytes and d.avail_bytes is not None and d.avail_bytes < (1 << 20):
        said.append(f"{host} store {store}: {d.avail_bytes} bytes available on {d.mount}: not enough disk "
                    f"space (seen now, by the host checks)")
    return said


def own_requests_dropped(events: list[Event], since: datetime | None) -> list[Event]:
    """Leave out the lines of this run's own reads (at or after `since`, host time), and the
    copies of one HAProxy log that several hosts share."""
    out, seen = [], set()
    for e in events:
        if since is not None and e.when is not None and e.when >= since:
            continue
        key = e.text if is_haproxy(e) else (e.host, e.text)
        if key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out


def store_of(record: dict, default_store: str | None) -> str | None:
    for key in ("os_glance_importing_to_stores", "os_glance_failed_import", "stores"):
        value = record.get(key)
        if value:
            return str(value).split(",")[0].strip()
    return default_store


def data_status(events: list[Event], image_id: str) -> int | None:
    """The status glance-api (or HAProxy) answered the image's data upload, from the logs."""
    lines = [e.text for e in events]
    return canary.answered_status(lines, image_id, "PUT")


def explain(record: dict | None, image_id: str, events: list[Event], context: list[Event],
            findings: list[str], notes: list[str] = (), tasks: list[dict] | None = None,
            changed: dict[str, datetime | None] | None = None,
            verified: list[tuple] | None = None) -> Explanation:
    """The verdict and the timeline of one image. `changed`: its last change in each host's time;
    `verified`: what a download of an active image found against its record ([] it matches, None
    not downloaded)."""
    notes = list(notes)
    if record is None:
        return Explanation(image_id, False, f"image {image_id}: its record could not be read", notes=notes)
    if record.get("status") == "<gone>":
        return Explanation(image_id, False, f"image {image_id} does not exist (HTTP 404)", notes=notes)
    status, size = record.get("status"), record.get("size")
    timeline = sorted({(e.when, e.host, e.source, e.text): e for e in events + context}.values(),
                      key=lambda e: (e.when or datetime.min, e.host))
    pairs, without_id = haproxy_correlation(events)
    notes += pairs
    if without_id:
        notes.append(HAPROXY_HINT)
    for task in tasks or []:
        if task.get("status") == "failure" or task.get("message"):
            notes.append(f"task {task.get('id')} ({task.get('type')}) {task.get('status')}: {task.get('message')}")
    killed_here = _workers_that_died_serving(timeline)
    notes += killed_here
    got = data_status(events, image_id)
    healthy = status == "active" and size not in (0, None) and record.get("checksum") and record.get("os_hash_value")
    if healthy and got in (None, 204) and not verified:
        verdict = (f"image {image_id} is active, {size} bytes, checksum and os_hash_value set"
                   + (", its stored data matches them" if verified == [] else "") + ": nothing wrong")
        return Explanation(image_id, True, verdict, None, None, timeline, notes, got)
    if status == "active" and verified:
        pseudo = verified[0][0]
        what = "active, but its stored data " + "; ".join(text for _, text in verified)
    elif status == "active":
        pseudo = "no-data" if size in (0, None) else "missing-hash"
        what = (f"active with size {size}: booting from it fails (no data)" if pseudo == "no-data"
                else "active without checksum or os_hash_value: its data cannot be verified")
    elif got is not None and got >= 300:
        pseudo, what = got, f"{status}; its data upload was answered HTTP {got}"
    elif status in TRANSIENT or status == "killed":
        pseudo, what = "stuck", f"left in {status}"
    else:
        pseudo, what = "stuck", f"{status}, and no failed upload of it found in the logs read"
    lines = [f"{e.host} {e.source}: {e.text}" for e in events + context] + list(findings)
    found = classify.classify(pseudo, logged_explanation(events), record, lines)
    verdict = f"image {image_id} {what}: {found.root_cause} ({found.title}): {found.reason}"
    if status in TRANSIENT or status == "killed":
        cut = what_cut_it(timeline, changed or {})
        if cut is not None:
            marker = marker_of(cut.text)
            at = (changed or {}).get(cut.host)
            verdict += (f"; what cut it: {cut.render()}" + (f" ({marker.meaning})" if marker else "")
                        + (f", after the image's last change at {at:%H:%M:%S}" if at else ""))
    return Explanation(image_id, False, verdict, found.root_cause, found, timeline, notes, got)


_DATA_ERROR = re.compile(r"^\S+ \S+ \d+ ERROR glance\.api\.v2\.image_data \[[^]]*\] (.*)$")


def logged_explanation(events: list[Event]) -> str:
    """The answer's body as glance-api logged it: its data controller logs the very message it puts
    in a failed upload's 410/413/503 explanation (glance/api/v2/image_data.py: LOG.error(msg), then
    HTTPGone/HTTPServiceUnavailable(explanation=msg)); forensics reads logs, not the user's answer."""
    return "\n".join(m.group(1) for e in events for m in [_DATA_ERROR.match(e.text)] if m)


def _workers_that_died_serving(timeline: list[Event]) -> list[str]:
    """A uWSGI "worker N (pid: P) died" whose pid logged this image's requests: the one that held it."""
    pids = {m.group(2) for e in timeline for m in [_OSLO.match(e.text)] if m}
    pids |= {m.group(1) for e in timeline for m in [_UWSGI_REQ.match(e.text)] if m}
    said = []
    for e in timeline:
        m = _DIED.search(e.text)
        if m and m.group(2) in pids:
            said.append(f"{e.host}: worker {m.group(1)} (pid {m.group(2)}) that served this image's requests "
                        f"was killed by signal {m.group(3)}")
    return said


def render(ex: Explanation) -> list[str]:
    """The report's section for one image: the verdict in one line, then the timeline."""
    return [ex.verdict, *(e.render() for e in ex.timeline)]
