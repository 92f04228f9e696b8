"""The rbd store's facts, judged on the probe's real answers from the lab's Ceph (tests/data/rbd).

Captured with tests/tools/capture_rbd.py on the healthy lab and with each rbd fault injected.
"""
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from glance_hc import canary, facts, logscan, rbd
from glance_hc.hosts import parse_hosts

DATA = Path(__file__).resolve().parent.parent / "data" / "rbd"


def seen(name: str) -> rbd.RbdFacts:
    doc = json.loads((DATA / f"{name}.json").read_text())
    worker = doc["worker"]
    return rbd.from_probe(doc["rbd"], worker.get("rbd"), worker.get("user"), worker.get("error"))["rbd"]


def test_healthy_store_is_seen_whole():
    s = seen("healthy")
    assert (s.pool, s.user, s.conf) == ("images", "glance", "/etc/ceph/ceph.conf")
    assert s.keyring == "/etc/ceph/ceph.client.glance.keyring"
    assert s.tools == ["ceph", "rbd"]
    assert s.files[s.keyring] == "root:glance mode 640"
    assert s.access_user == "glance" and s.conf_readable and s.keyring_readable
    assert s.failure_kind(s.df) is None and s.failure_kind(s.ls) is None
    stats = s.pool_stats
    assert stats.name == "images" and stats.quota_bytes == 0 and stats.max_avail > 500 * 2**20
    assert stats.capacity == stats.stored + stats.max_avail and stats.used_ratio < 0.1
    assert rbd.caps_cover_pool(s.caps, "images")[0]
    assert s.findings() == []


def test_keyring_secret_never_leaves_the_host():
    assert len(list(DATA.glob("*.json"))) == 9
    for path in DATA.glob("*.json"):
        text = path.read_text()
        assert '"key":"AQ' not in text.replace(" ", "") and "AQB" not in text, path.name


@pytest.mark.parametrize("capture", ["rbd-pool-quota", "rbd-pool-quota-controller2"])
def test_pool_at_quota_has_no_room(capture):
    stats = seen(capture).pool_stats
    assert stats.quota_bytes == 1
    assert stats.room == 0 and stats.used_ratio >= 1


@pytest.mark.parametrize("capture", ["rbd-keyring-unreadable", "rbd-keyring-unreadable-controller2"])
def test_unreadable_keyring_is_a_permission_problem(capture):
    s = seen(capture)
    assert s.keyring_readable is False and s.files[s.keyring] == "root:root mode 600"
    # librados itself only says it found no keyring (errno 95): the probe's own test decides
    assert s.failure_kind(s.df) == "permission" and s.failure_kind(s.ls) == "permission"
    assert any("not readable by glance: permission denied" in f for f in s.findings())


@pytest.mark.parametrize("capture", ["rbd-keyring-missing", "rbd-keyring-missing-controller2"])
def test_missing_keyring_is_a_client_files_problem(capture):
    s = seen(capture)
    assert list(s.missing) == [s.keyring]
    assert s.failure_kind(s.df) == "client-files" and s.failure_kind(s.ls) == "client-files"
    assert not any("permission denied" in f for f in s.findings())


@pytest.mark.parametrize("capture", ["rbd-caps-wrong", "rbd-caps-wrong-controller2"])
def test_caps_on_another_pool_refuse_the_listing(capture):
    s = seen(capture)
    assert s.ls.rc != 0 and s.failure_kind(s.ls) == "permission"
    assert "(1) Operation not permitted" in rbd.last_error_line(s.ls.output)
    covered, why = rbd.caps_cover_pool(s.caps, "images")
    assert not covered and "volumes" in why


@pytest.mark.parametrize("caps, covered", [
    ({"mon": "profile rbd", "osd": "profile rbd pool=images"}, True),
    ({"mon": "profile rbd", "osd": "profile rbd pool=vms, profile rbd pool=images"}, True),
    ({"mon": "allow r", "osd": "allow class-read object_prefix rbd_children, allow rwx pool=images"}, True),
    ({"mon": "allow *", "osd": "allow *"}, True),
    ({"mon": "profile rbd", "osd": "profile rbd"}, True),
    ({"mon": "profile rbd", "osd": "profile rbd-read-only pool=images"}, False),
    ({"mon": "profile rbd", "osd": "allow r pool=images"}, False),
    ({"mon": "profile rbd", "osd": "profile rbd pool=volumes"}, False),
    ({"osd": "profile rbd pool=images"}, False),
    ({"mon": "profile rbd"}, False),
])
def test_caps_cover_pool(caps, covered):
    assert rbd.caps_cover_pool(caps, "images")[0] is covered


@pytest.mark.parametrize("output, rc, kind", [
    ("", 0, None),
    ("rbd: listing images failed: (1) Operation not permitted", 1, "permission"),
    ("[errno 13] RADOS permission denied (error connecting to the cluster)", 1, "permission"),
    ("", 124, "timeout"),
    ("[errno 110] RADOS timed out (error connecting to the cluster)", 1, "timeout"),
    ("did not load config file, using default settings.\n[errno 2] RADOS object not found", 1, "client-files"),
    ("rbd: error opening pool 'imgs': (2) No such file or directory", 2, "client-files"),
    ("something else entirely", 1, "other"),
])
def test_error_kind(output, rc, kind):
    assert rbd.error_kind(output, rc) == kind


def test_a_store_the_worker_user_could_not_be_tested_as_is_unknown_not_fine():
    doc = json.loads((DATA / "healthy.json").read_text())
    s = rbd.from_probe(doc["rbd"], doc["worker"]["rbd"], "glance", "cannot run as glance here (privilege none)")["rbd"]
    assert s.access_user is None and s.keyring_readable is None and s.df is None and s.ls is None


@pytest.mark.parametrize("root_side, worker_side", [
    ("garbage", None), ({"rbd": "x"}, {"rbd": 5}), ({"rbd": {"files": {"/k": "x"}, "tools": "ceph"}}, {}),
    ({"rbd": {"pool": "images"}}, {"rbd": {"df": {"rc": "0", "output": '{"pools": [{"name": "images", '
                                                                  '"stats": {"stored": "9e999"}}]}'}}}),
])
def test_odd_rbd_answers_never_raise(root_side, worker_side):
    stores = rbd.from_probe(root_side, worker_side, "glance")
    for s in stores.values():
        assert s.pool_stats is None and s.findings() is not None


def test_first_json_skips_warnings():
    assert rbd.first_json('warning: [not json\n{"a": 1} trailing') == {"a": 1}
    assert rbd.first_json("no json here") is None


def _host_with(capture: str, log: str) -> facts.HostFacts:
    host = facts.HostFacts(spec=parse_hosts(["controller1"])[0], window=timedelta(days=3650))
    host.rbd = {"rbd": seen(capture)}
    host.clock_local = datetime(2026, 11, 26)
    # as the probe hands them over: the stamp it found, a tab, the line
    host.log_lines = [logscan.parse_stamped("log /var/log/glance/glance-api.log", f"{line[:19]}\t{line}")
                      for line in (DATA / log).read_text().splitlines()]
    return host


def test_store_error_lines_move_to_permissions_when_the_keyring_is_unreadable():
    host = _host_with("rbd-keyring-unreadable", "glance-api-keyring-unreadable.log")
    assert host.recent_lines("store_config") == []
    assert len(host.recent_lines("store_permissions")) == 3


def test_store_error_lines_stay_configuration_when_the_keyring_is_missing():
    # Glance's librados said "RADOS permission denied" (errno 13) on one attempt: the file is missing
    host = _host_with("rbd-keyring-missing", "glance-api-keyring-missing.log")
    assert any("errno 13" in line.text for line in host.log_lines)
    assert len(host.recent_lines("store_config")) == 3
    assert host.recent_lines("store_permissions") == []


@pytest.mark.parametrize("capture, log, root_cause", [
    ("rbd-keyring-missing", "glance-api-keyring-missing.log", "store_config"),
    ("rbd-keyring-unreadable", "glance-api-keyring-unreadable.log", "store_permissions"),
])
def test_canary_410_on_an_rbd_store_follows_the_host_findings(capture, log, root_cause):
    lines = (DATA / log).read_text().splitlines()
    context = [f"controller1 {finding}" for finding in seen(capture).findings()]
    found = canary.classify(410, "Error in store configuration. Adding images to store is disabled.",
                            {"status": "queued"}, lines + context)
    assert found.root_cause == root_cause, found
