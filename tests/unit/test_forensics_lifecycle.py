"""glance-api's own stop, death and start lines in an image's timeline, and the host-side search
that finds them, on the lab's real logs (tests/data/logs/issue18-*, tests/tools/capture_issue18.py):
a worker SIGKILLed mid-upload, an import cut by a restart, a plain restart."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from glance_hc import forensics, logscan
from glance_hc.causes.model import CAUSE, CONSEQUENCE, ROLES, STARTUP
from glance_hc.probe import host_probe, log_search

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "logs"
CASES = ("worker-killed", "import-cut-by-restart")
LOGS = ("glance-api.log", "glance-api-uwsgi.log", "haproxy.log")


def _case(case: str) -> dict:
    return json.loads((DATA / f"issue18-{case}" / "case.json").read_text())


def _search(case: str, host: str, needles: list[str]) -> list[logscan.LogLine]:
    """What the probe's search answers for one host of a capture: every log searched on the host
    side (host_probe.search_file, grep -F), then read by the client (log_search.parse)."""
    logs = [host_probe.search_file(str(DATA / f"issue18-{case}" / f"{host}-{name}"), needles, 10 ** 9)
            for name in LOGS]
    return log_search.parse(host, {"logs": logs}).lines


def _explain(case: str) -> forensics.Explanation:
    doc = _case(case)
    record, image_id, events, context, changed = doc["record"], doc["image_id"], [], [], {}
    for host, clock in doc["clock_local"].items():
        clock = datetime.fromisoformat(clock)
        changed[host] = forensics.to_host_time(record["updated_at"], clock, utc_now=clock)  # the lab runs in UTC
        found = _search(case, host, [image_id, *forensics.MARKERS])
        events += forensics.events_of(host, [x for x in found if image_id in x.text])
        context += forensics.lifecycle_events(host, [x for x in found if image_id not in x.text], changed[host], True)
    events = forensics.own_requests_dropped(events, None)
    return forensics.explain(record, image_id, events, context, [], [], [], changed)


@pytest.mark.parametrize("marker", forensics.LIFECYCLE, ids=lambda m: m.text)
def test_each_lifecycle_marker_was_written_from_real_lines(marker):
    assert marker.role in ROLES and marker.examples
    for example in marker.examples:
        assert marker.text in example
        assert any(example in (ROOT / src).read_text() for src in marker.source.split(",")), example


def test_a_start_up_banner_after_a_restart_is_not_a_cause():
    assert forensics.role_of("*** Starting uWSGI 2.0.31 (64bit) on [Wed Dec  2 04:20:56 2026] ***") == STARTUP
    assert forensics.role_of("spawned uWSGI worker 1 (pid: 9173, cores: 4)") == STARTUP
    assert forensics.role_of("Respawned uWSGI worker 1 (new pid: 8819)") == CONSEQUENCE
    assert forensics.role_of("SIGINT/SIGTERM received...killing workers...") == CAUSE


@pytest.mark.parametrize("case, what, cut_by, host", [
    ("worker-killed", "left in saving", "DAMN ! worker 1 (pid: 8452) died, killed by signal 9", "controller1"),
    ("import-cut-by-restart", "left in importing", "SIGINT/SIGTERM received...killing workers...", "controller1"),
])
def test_the_verdict_names_the_line_that_cut_the_stuck_image(case, what, cut_by, host):
    ex = _explain(case)
    image_id = _case(case)["image_id"]
    assert ex.verdict.startswith(f"image {image_id} {what}: worker_crash"), ex.verdict
    said = ex.verdict.split("; what cut it: ", 1)[1]
    assert f" {host} " in said and cut_by in said and "after the image's last change at" in said, said


def test_the_timeline_of_a_cut_import_shows_the_restart_in_time_order_with_roles():
    ex = _explain("import-cut-by-restart")
    ours = [e for e in ex.timeline if e.host == "controller1" and e.role]
    kinds = [(e.role, forensics.marker_of(e.text).text) for e in ours if forensics.marker_of(e.text)]
    assert kinds[:2] == [(CONSEQUENCE, "Waiting for remaining threads in pool")] * 2  # glance, stamped .713/.726
    assert (CAUSE, "SIGINT/SIGTERM received") in kinds
    stop = kinds.index((CAUSE, "SIGINT/SIGTERM received"))
    start = kinds.index((STARTUP, "*** Starting uWSGI"))
    assert stop < kinds.index((CONSEQUENCE, "buried after")) < start
    assert kinds[start + 1:] == [(STARTUP, "spawned uWSGI worker")] * 2
    whens = [e.when for e in ex.timeline]
    assert whens == sorted(whens)
    assert not [e for e in ex.timeline if e.host == "controller2" and e.role]  # nothing happened there


def test_a_line_without_its_own_time_carries_the_one_before_it_and_says_so():
    ex = _explain("worker-killed")
    died = [e for e in ex.timeline if "died, killed by signal 9" in e.text]
    assert len(died) == 2 and all(e.carried and e.when == datetime(2026, 12, 2, 4, 20, 8) for e in died)
    assert died[0].render().startswith("2026-12-02 04:20:08 (or later) controller1 log ")
    assert "[cause]: DAMN ! worker 1 (pid: 8452)" in died[0].render()


def test_a_restart_before_the_last_change_does_not_explain_the_image():
    ex = _explain("import-cut-by-restart")
    later = {"controller1": datetime(2026, 12, 2, 4, 30), "controller2": datetime(2026, 12, 2, 4, 30)}
    assert forensics.what_cut_it(ex.timeline, later) is None


# ------------------------------------------------------------------ the host side of the search
def test_the_search_answers_only_lines_holding_a_fixed_string_each_with_a_stamp(tmp_path):
    path = DATA / "issue18-import-cut-by-restart" / "controller1-glance-api-uwsgi.log"
    lines, reached, whole = host_probe.scan_back(str(path), ["SIGINT/SIGTERM received", "buried after"])
    assert [text for _, text in lines] == ["SIGINT/SIGTERM received...killing workers...",
                                           "worker 2 buried after 1 seconds"]
    assert all(stamp == "Wed Dec  2 04:20:53 2026" for stamp, _ in lines)  # carried from the request line before
    assert whole and reached == "2026-12-02 04:20:48"


def test_a_needle_is_data_never_a_pattern_or_an_option(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("2026-12-02 04:00:00.000 1 INFO a [-] -e x.y*\n2026-12-02 04:00:01.000 1 INFO b [-] xzyy\n")
    assert [t for _, t in host_probe.scan_back(str(log), ["-e x.y*"])[0]] == ["2026-12-02 04:00:00.000 1 INFO a [-] -e x.y*"]
    assert host_probe.scan_back(str(log), ["x.y*z"])[0] == []


def _timed_log(path: Path, minutes: int) -> None:
    with path.open("w") as f:
        for m in range(minutes):
            for s in range(0, 60, 2):
                f.write(f"2026-12-02 {m // 60:02d}:{m % 60:02d}:{s:02d}.000 42 INFO glance.api [-] line {m}.{s} "
                        f"{'needle' if s == 0 else 'other'} {'x' * 200}\n")


def test_the_search_starts_where_the_log_reaches_since_and_says_how_far_it_read(tmp_path):
    log = tmp_path / "glance-api.log"
    _timed_log(log, 600)  # 10 h of lines, one with the needle each minute
    every, _, whole = host_probe.scan_back(str(log), ["needle"])
    assert len(every) == host_probe.FOUND_KEEP and whole  # no window: the newest lines
    lines, reached, whole = host_probe.scan_back(str(log), ["needle"], "2026-12-02 09:00:00", keep=1000)
    # a little before the window: the binary search stops within 1 MiB (here about 2 h of lines)
    assert not whole and "2026-12-02 06:45:00" < reached < "2026-12-02 09:00:00"
    assert lines[-1][0] == "2026-12-02 09:59:00"
    assert all(stamp >= reached for stamp, _ in lines)
    assert len([s for s, _ in lines if s >= "2026-12-02 09:00:00"]) == 60


def test_without_grep_the_search_finds_the_same_lines(tmp_path, monkeypatch):
    log = tmp_path / "glance-api.log"
    _timed_log(log, 120)
    with_grep = host_probe.scan_back(str(log), ["needle", "line 7.4"], "2026-12-02 01:00:00")
    monkeypatch.setattr(host_probe, "which", lambda name: None)
    assert host_probe.scan_back(str(log), ["needle", "line 7.4"], "2026-12-02 01:00:00") == with_grep


def test_the_whole_text_filter_keeps_what_a_plain_per_line_search_keeps():
    """The grep-driven, whole-text pattern filter changes nothing but the time, on every captured log."""
    patterns = logscan.host_filter_patterns()
    lines = [line for path in sorted(DATA.glob("**/*.log")) for line in path.read_text(errors="replace").splitlines()]
    plain = [re.compile(p, re.I) for p in patterns]
    expected = [line for line in lines if any(r.search(line) for r in plain)]
    kept = host_probe.filter_lines(lines, host_probe.compile_patterns(patterns, None, logscan.host_filter_keywords()),
                                   keep=10 ** 6)
    assert len(expected) > 30 and [text for _, text in kept] == [line[:host_probe.LINE_LIMIT] for line in expected]


def test_every_alternative_is_guarded_by_all_its_literals():
    assert logscan.required_literal_sets(r"glance[^ ]* [^ ]+ [^ ]+ (504|408) .* [cs][dhr]-- ") == [["glance", "-- "]]
    assert logscan.required_literal_sets(r"permission denied|errno 13") == [["permission denied"], ["errno 13"]]
    assert logscan.required_literal_sets(r"oom|[0-9]+ k") is None
    rx = host_probe.compile_patterns([r"glance[^ ]* [^ ]+ [^ ]+ (504|408) .* [cs][dhr]-- "], None,
                                     [[["glance", "-- "]]])
    line = "2026-12-02 04:00:00.000 42 INFO glance.api.v2.image_data [-] Image x data uploaded"
    assert host_probe.drivers_of(rx, (line + "\n") * 50) == ["-- "]  # the rare one drives the search
