"""Log lines judged by their meaning, on real lines captured from the lab's Glance, uWSGI and HAProxy
(tests/data/logs; issue17/ made by tests/tools/capture_log_roles.py with a fault made by hand)."""
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from glance_hc import haproxy, logscan
from glance_hc.causes import CAUSES

DATA = Path(__file__).parent.parent / "data" / "logs"
ISSUE17 = DATA / "issue17"
CAPTURED = sorted(DATA.glob("*.log")) + sorted(ISSUE17.glob("**/*.log")) + sorted(
    (DATA.parent / "rbd").glob("*.log"))

# what the host side does with the patterns (glance_hc.probe's compile_patterns): each a Python
# regex, joined, case-insensitive; and the stamp it puts before a kept line (the last one it saw)
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
_BRACKETED = re.compile(r"\[[A-Z][a-z][a-z] [A-Z][a-z][a-z] +[0-9]+ [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\]")


def host_filter():
    return re.compile("|".join(f"(?:{p})" for p in logscan.host_filter_patterns()), re.I)


def probe_view(path: Path) -> list[logscan.LogLine]:
    """The lines of a captured log as the probe hands them over: filtered on the host, stamped."""
    keep, stamp, out = host_filter(), "", []
    for raw in path.read_text().splitlines():
        m = _ISO.search(raw) or _BRACKETED.search(raw)
        if m:
            stamp = m.group(0).strip("[]")
        if keep.search(raw):
            out.append(logscan.parse_stamped(f"log /var/log/glance/{path.name}", f"{stamp}\t{raw}"))
    return out


def real_line(file: str, needle: str) -> str:
    for line in (DATA / file).read_text().splitlines():
        if needle in line:
            return line
    raise LookupError(f"{needle!r} not in {file}")


# ---------------------------------------------------------------------------- the host-side filter


@pytest.mark.parametrize("path", CAPTURED, ids=[str(p.relative_to(DATA.parent)) for p in CAPTURED])
def test_host_filter_keeps_every_line_that_means_something_and_nothing_else(path):
    kept = {line.text.strip() for line in probe_view(path)}
    meaningful = {raw.strip() for raw in path.read_text().splitlines() if logscan.role_of(raw) is not None}
    assert meaningful <= kept, "a line with a role would be dropped on the host"
    assert all(logscan.role_of(text) is not None or any(ig.search(text) for ig in logscan.IGNORED)
               for text in kept), "the host keeps lines no pattern knows"


@pytest.mark.parametrize("file, needle, kept", [
    ("glance-api.log", "Threadpool model set", False),
    ("glance-api.log", "Could not find schema properties", False),
    ("glance-api-uwsgi.log", "GET /healthcheck", False),
    ("glance-api-uwsgi.log", "spawned uWSGI worker", False),
    ("glance-api-uwsgi.log", "DAMN ! worker", True),
    ("haproxy.log", " 504 ", True),
    ("issue17/read-only/glance-api.log", "Unable to create trust", False),
    ("issue17/read-only/glance-api.log", "Unable to remove partial image data", True),   # shown beside its cause
    ("issue17/read-only/glance-api.log", "Caught error: [Errno 30]", True),
    ("issue17/database/glance-api.log", "attempt to write a readonly database", True),
    ("issue17/own-canary/glance-api-uwsgi.log", "[uwsgi-body-read] Error reading", True),
    ("issue17/uwsgi-harakiri.log", "you have enabled harakiri without post buffering", True),
    ("issue17/uwsgi-harakiri.log", "HARAKIRI ON WORKER", True),
    ("issue17/uwsgi-harakiri.log", "you are running uWSGI as root", False),
])
def test_host_filter_on_real_lines(file, needle, kept):
    assert bool(host_filter().search(real_line(file, needle))) is kept


def test_host_filter_patterns_are_every_pattern_of_every_cause_once():
    """...and HAProxy's health-check transitions, which are its state, no cause's line."""
    wanted = [p.regex for cause in CAUSES for p in cause.patterns] + [haproxy.STATE_LINE]
    assert sorted(logscan.host_filter_patterns()) == sorted(set(wanted))
    assert logscan.role_of("[WARNING]  (20669) : Server glance_api/controller2 is DOWN, reason: Layer4 "
                           "connection problem, info: \"Connection refused\"") is None
    for pattern in logscan.host_filter_patterns():
        re.compile(pattern)
        assert pattern == pattern.lower() or "\\" in pattern, "patterns are lowercase (matched with re.I)"


@pytest.mark.parametrize("cause, pattern", [(c.key, p) for c in CAUSES for p in c.patterns],
                         ids=[f"{c.key}:{p.regex[:30]}" for c in CAUSES for p in c.patterns])
def test_each_pattern_matches_the_real_lines_it_was_written_from(cause, pattern):
    root = DATA.parent.parent.parent
    files = [root / part.strip().split(" ")[0] for part in pattern.source.split(",")
             if part.strip().startswith("tests/")]
    assert pattern.examples or not files, "a pattern written from captured lines quotes them"
    for example in pattern.examples:
        assert re.search(pattern.regex, example, re.I), example
        meaning = logscan.role_of(example)
        assert meaning is not None and meaning.role == pattern.role and cause in meaning.root_causes
        if files:
            assert any(example.strip() in f.read_text() for f in files), f"{example!r} is not in {pattern.source}"


# ---------------------------------------------------------------------------- one line, one meaning


@pytest.mark.parametrize("file, needle, expected", [
    ("glance-api.log", "Store for identifier nosuchstore not found", {"store_config"}),
    ("glance-api.log", "Unable to create datadir", {"store_config"}),
    ("glance-api.log", "Failed to configure store correctly", {"store_config"}),
    ("glance-api.log", "error during read(65536) on wsgi.input", {"interrupted_upload"}),
    ("glance-api.log", "unable to receive chunked part", {"interrupted_upload"}),
    ("glance-api.log", "Could not load 'cinder'", set()),
    ("glance-api.log", "Could not find schema properties", set()),
    ("glance-api.log", "Threadpool model set", set()),
    ("glance-api-uwsgi.log", "DAMN ! worker", {"worker_crash"}),
    ("glance-api-uwsgi.log", "GET /healthcheck", set()),
    ("glance-api-uwsgi.log", "spawned uWSGI worker", set()),
    ("haproxy.log", " 504 ", {"interrupted_upload"}),
    ("haproxy.log", " 413 ", set()),   # the client hung up after a 413: not a cut upload
    ("haproxy.log", " 201 ", set()),
    ("haproxy.log", " 204 ", set()),
    # issue 17: lines that are not faults of their own
    ("issue17/read-only/glance-api.log", "Unable to remove partial image data", set()),
    ("issue17/vanished/glance-api.log", "Unable to remove partial image data", set()),
    ("issue17/uwsgi-harakiri.log", "you have enabled harakiri without post buffering", set()),
    ("issue17/uwsgi-harakiri.log", "Respawned uWSGI worker", set()),
    ("issue17/own-canary/glance-api-uwsgi.log", "[uwsgi-body-read] Error reading", set()),
    # issue 17: the true fault
    ("issue17/read-only/glance-api.log", "Failed to upload image data due to internal error", {"store_permissions"}),
    ("issue17/vanished/glance-api.log", "Failed to upload image data due to internal error", {"store_config"}),
    ("issue17/database/glance-api.log", "Caught error: (sqlite3.OperationalError)", {"availability"}),
    ("issue17/uwsgi-harakiri.log", "HARAKIRI ON WORKER", {"worker_crash"}),
])
def test_real_line_is_matched_to_its_root_cause(file, needle, expected):
    assert set(logscan.root_causes_of(real_line(file, needle))) == expected


@pytest.mark.parametrize("line, expected", [
    # glance/api/v2/image_data.py wording for the faults the lab cannot always provoke
    ("ERROR glance.api.v2.image_data Image storage media is full: There is no enough disk space", {"store_full"}),
    ("ERROR glance.api.v2.image_data Insufficient permissions on image storage media: Permission "
     "to write image storage media denied.", {"store_permissions"}),
    ("ERROR glance.api.v2.image_data Error in store configuration. Adding images to store is disabled.",
     {"store_config"}),
    ("ERROR glance.api.v2.image_data The incoming image is too large: The provided image is too large.",
     {"quota"}),
    ("kernel: Out of memory: Killed process 4242 (uwsgi) total-vm:4500000kB", {"worker_crash"}),
    ("oslo_service.service Child 1234 killed by signal 9", {"worker_crash"}),
])
def test_source_wording_is_matched(line, expected):
    assert set(logscan.root_causes_of(line)) == expected


# ---------------------------------------------------------------------------- lines in their neighbourhood


def test_read_only_store_is_one_permission_fault_and_its_cleanup_is_no_cut_upload():
    lines = probe_view(ISSUE17 / "read-only" / "glance-api.log")
    assert logscan.lines_for("interrupted_upload", lines) == []
    causes = logscan.lines_for("store_permissions", lines)
    assert len(causes) == 1 and "Failed to upload image data" in causes[0].text and "[Errno 30]" in causes[0].text
    readings = logscan.read(lines)
    cleanup = next(r for r in readings if "Unable to remove partial image data" in r.line.text)
    assert (cleanup.role, cleanup.cause, cleanup.root_causes) == (logscan.CLEANUP, causes[0], ("store_permissions",))
    restated = [r for r in readings if "glance.common.wsgi" in r.line.text]
    assert restated and all(r.role == logscan.CONSEQUENCE and r.cause == causes[0] for r in restated)
    assert next(r for r in readings if r.line == causes[0]).fault == "read-only filesystem"


def test_vanished_store_dir_is_store_config_and_its_cleanup_is_no_cut_upload():
    lines = probe_view(ISSUE17 / "vanished" / "glance-api.log")
    assert logscan.lines_for("interrupted_upload", lines) == []
    assert [line.text[:23] for line in logscan.lines_for("store_config", lines)] == ["2026-12-01 21:45:56.549"]


def test_an_unusable_database_is_one_availability_fault_not_store_config():
    lines = probe_view(ISSUE17 / "database" / "glance-api.log")
    assert len(logscan.lines_for("availability", lines)) == 1  # its traceback and message lines go with it
    assert logscan.lines_for("store_config", lines) == []


def test_uwsgi_harakiri_start_up_warning_is_no_worker_death_but_a_harakiri_kill_is_one():
    lines = probe_view(ISSUE17 / "uwsgi-harakiri.log")
    warning_only = [line for line in lines if "without post buffering" in line.text]
    assert warning_only and logscan.lines_for("worker_crash", warning_only) == []
    deaths = logscan.lines_for("worker_crash", lines)
    assert [line.text for line in deaths] == [
        "Tue Dec  1 21:46:44 2026 - *** HARAKIRI ON WORKER 1 (pid: 27366, try: 1, graceful: yes) ***"]
    damn = next(r for r in logscan.read(lines) if r.line.text.startswith("DAMN"))
    assert damn.role == logscan.CONSEQUENCE and damn.cause == deaths[0]


def test_the_suites_own_cut_canary_is_no_interrupted_upload():
    """A suite killed during its canary leaves a cut upload; its request id carries the suite's mark."""
    lines = probe_view(ISSUE17 / "own-canary" / "glance-api.log")
    assert logscan.lines_for("interrupted_upload", lines) == []
    # the same lines from someone else's request are a cut upload
    foreign = [logscan.LogLine(line.source, line.text.replace(f"req-{logscan.SUITE_REQUEST_MARK}-", "req-0badf00d-"),
                               line.when) for line in lines]
    assert len(logscan.lines_for("interrupted_upload", foreign)) == 1
    # and ids the run knows (its request ids, its image ids) are its own too
    foreign_id = next(iter(logscan._ids(foreign[0].text)))
    assert logscan.lines_for("interrupted_upload", foreign, own_ids=[foreign_id]) == []


def test_suite_request_ids_are_valid_request_ids_that_carry_the_mark():
    rid = logscan.suite_request_id()
    assert re.fullmatch(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", rid)
    assert rid.startswith(f"req-{logscan.SUITE_REQUEST_MARK}-") and rid != logscan.suite_request_id()


def test_uwsgis_own_read_error_is_shown_beside_glances_line_not_counted():
    lines = probe_view(ISSUE17 / "own-canary" / "glance-api-uwsgi.log")
    readings = logscan.read(lines)
    assert [r.role for r in readings] == [logscan.CONSEQUENCE]
    assert logscan.lines_for("interrupted_upload", lines) == []


# ---------------------------------------------------------------------------- stamps and windows


@pytest.mark.parametrize("raw, when", [
    ("2026-11-25 15:08:36.223\t2026-11-25 15:08:36.223 15784 ERROR x", datetime(2026, 11, 25, 15, 8, 36)),
    ("Wed Nov 25 15:06:43 2026\t[pid: 1] [Wed Nov 25 15:06:43 2026] GET /", datetime(2026, 11, 25, 15, 6, 43)),
    ("2026-11-25T15:08:36\tjournal line", datetime(2026, 11, 25, 15, 8, 36)),
    ("\tDAMN ! worker 1 (pid: 14600) died, killed by signal 9", None),
    # uWSGI's own prefix outranks the last stamp the host-side filter saw
    ("Tue Dec  1 21:46:40 2026\tTue Dec  1 21:46:44 2026 - *** HARAKIRI ON WORKER 1 (pid: 27366, try: 1) ***",
     datetime(2026, 12, 1, 21, 46, 44)),
])
def test_stamped_lines_keep_the_last_timestamp_seen(raw, when):
    assert logscan.parse_stamped("log x", raw).when == when


def test_window_keeps_recent_lines_and_drops_old_ones():
    now = datetime(2026, 11, 25, 16, 0, 0)
    old = logscan.LogLine("x", "old", now - timedelta(hours=2))
    new = logscan.LogLine("x", "new", now - timedelta(minutes=5))
    undated = logscan.LogLine("x", "undated", None)
    kept = list(logscan.within([old, new, undated], now, timedelta(hours=1)))
    assert [line.text for line in kept] == ["new"]


def test_uwsgi_sigpipe_on_a_cut_upload_is_a_consequence_not_a_second_cut():
    """uWSGI's SIGPIPE and broken-pipe lines follow a cut body (the body-read error, Glance's own line
    with the request id): on their own they are no interrupted upload (seen on the lab's controller2)."""
    text = (DATA / "issue17/sigpipe/glance-api-uwsgi.log").read_text()
    lines = [ln for ln in text.splitlines() if "SIGPIPE" in ln or "Broken pipe" in ln]
    assert len(lines) == 2
    for line in lines:
        assert logscan.role_of(line).role == "consequence"
        assert logscan.root_causes_of(line) == []


def test_staged_data_already_gone_after_a_successful_import_is_cleanup_not_missing_data():
    """Seen on the lab: an import ends `success`, but its ERROR line says "image data ... not found"."""
    text = (DATA / "import-staged-data-already-gone.log").read_text()
    line = next(raw for raw in text.splitlines() if "deletion of staged image data" in raw)
    assert logscan.role_of(line).role == logscan.CLEANUP
    assert logscan.root_causes_of(line) == []
    assert "status changing from processing to success" in text
