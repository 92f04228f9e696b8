"""Log matchers against real lines captured from the lab's Glance, uWSGI and HAProxy."""
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from glance_hc import logscan

DATA = Path(__file__).parent.parent / "data" / "logs"


def real_line(file: str, needle: str) -> str:
    for line in (DATA / file).read_text().splitlines():
        if needle in line:
            return line
    raise LookupError(f"{needle!r} not in {file}")


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


def test_every_pattern_is_in_the_remote_filter():
    """The remote awk filter must let through every line a root cause looks for."""
    import re
    combined = re.compile(logscan.combined_pattern())
    for pats in logscan.LOG_PATTERNS.values():
        for pat in pats:
            assert combined.pattern.count(pat) >= 1


@pytest.mark.parametrize("raw, when", [
    ("2026-11-25 15:08:36.223\t2026-11-25 15:08:36.223 15784 ERROR x", datetime(2026, 11, 25, 15, 8, 36)),
    ("Wed Nov 25 15:06:43 2026\t[pid: 1] [Wed Nov 25 15:06:43 2026] GET /", datetime(2026, 11, 25, 15, 6, 43)),
    ("2026-11-25T15:08:36\tjournal line", datetime(2026, 11, 25, 15, 8, 36)),
    ("\tDAMN ! worker 1 (pid: 14600) died, killed by signal 9", None),
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
