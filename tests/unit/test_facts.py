"""The probe's answers, captured from the lab's controller1 (redacted), turned into facts.

Captured with `tests/tools/capture_probe.py controller1` (JSON documents of host_probe.py).
"""
import json
from datetime import timedelta
from pathlib import Path

import pytest

from glance_hc import facts
from glance_hc.hosts import parse_host

DATA = Path(__file__).parent.parent / "data" / "probe"


@pytest.fixture(scope="module")
def controller1():
    found = facts.HostFacts(spec=parse_host("controller1"), window=timedelta(days=3650))
    facts.discover(found, facts.load_capture((DATA / "discover-controller1.json").read_text()))
    facts.gather_stores_and_logs(found, facts.load_capture((DATA / "stores_and_logs-controller1.json").read_text()))
    return found


def test_login_and_privilege_are_read(controller1):
    assert (controller1.user, controller1.privilege, controller1.hostname) == ("hcops", "sudo", "controller1")


def test_uwsgi_deployment_is_found_with_its_workers_and_user(controller1):
    dep = controller1.deployment
    assert dep.style == "uwsgi" and dep.running
    assert len(dep.worker_pids) == 2 and dep.worker_user == "glance"
    assert dep.config_path == "/etc/glance/glance-api.conf"


def test_keystone_and_ssh_processes_are_not_taken_for_glance(controller1):
    masters = [p for p in facts.glance_processes(controller1.processes) if p.ppid == 1]
    assert all("glance-api" in p.args for p in masters)


def test_another_controllers_glance_is_not_taken_for_this_ones(controller1):
    """The lab's controllers share one pid namespace: the probe keeps its own mount namespace's."""
    chosen = [p for p in controller1.processes if p.glance_api]
    assert chosen and {p.mntns for p in chosen} == {controller1.mount_ns}
    assert controller1.deployment.master_pid in {p.pid for p in chosen}


def test_config_is_parsed_with_every_store(controller1):
    assert [s.name for s in controller1.config.stores] == ["fast", "cheap", "rbd", "swift"]
    assert facts.store_dirs(controller1.config) == {
        "/var/lib/glance/images": "fast", "/var/lib/glance/cheap": "cheap",
        "/var/lib/glance/staging": "staging", "/var/lib/glance/tasks": "tasks"}


@pytest.mark.parametrize("path", ["/var/lib/glance/images", "/var/lib/glance/cheap",
                                  "/var/lib/glance/staging", "/var/lib/glance/tasks"])
def test_store_dirs_are_measured_and_judged_as_the_worker_user(controller1, path):
    d = controller1.dirs[path]
    assert d.exists and d.kind == "directory" and d.owner == "glance" and d.fstype == "tmpfs"
    assert d.total_bytes > 0 and 0 <= d.used_ratio < 1
    assert (d.access_user, d.writable, d.searchable) == ("glance", True, True)


def test_log_sources_follow_the_config_and_the_uwsgi_ini(controller1):
    assert controller1.deployment.log_sources == [
        "log:/var/log/glance/glance-api.log", "log:/var/log/glance/glance-api-uwsgi.log",
        "log:/var/log/keystone/keystone.log", "log:/var/log/haproxy/haproxy.log"]
    # Keystone runs on controller1 (its uWSGI in the same mount namespace): its log is read too;
    # this capture's answer predates the request for it
    assert {s.name: (s.role, s.read) for s in controller1.log_sources.values()} == {
        "log /var/log/glance/glance-api.log": ("glance", True),
        "log /var/log/glance/glance-api-uwsgi.log": ("uwsgi", True),
        "log /var/log/keystone/keystone.log": ("keystone", False),
        "log /var/log/haproxy/haproxy.log": ("haproxy", True)}


def test_keystone_of_another_node_is_not_this_hosts_to_read():
    # controller2 sees controller1's Keystone processes (one pid namespace), in another mount namespace
    found = facts.HostFacts(spec=parse_host("controller2"), window=timedelta(days=3650))
    facts.discover(found, facts.load_capture((DATA / "discover-controller2.json").read_text()))
    assert any("keystone" in p.args for p in found.processes)
    assert not any("keystone" in source for source in found.deployment.log_sources)


@pytest.mark.parametrize("root_cause, needed", [
    ("quota", ["log /var/log/glance/glance-api.log"]),
    ("worker_crash", ["log /var/log/glance/glance-api.log", "log /var/log/glance/glance-api-uwsgi.log"]),
    ("interrupted_upload", ["log /var/log/glance/glance-api.log", "log /var/log/glance/glance-api-uwsgi.log",
                            "log /var/log/haproxy/haproxy.log"]),
])
def test_each_log_check_knows_the_sources_it_needs(controller1, root_cause, needed):
    wanted, read, failed = controller1.log_sources_for(root_cause)
    assert [s.name for s in wanted] == needed == [s.name for s in read] and failed == []


def test_a_log_source_that_failed_is_recorded_with_its_reason():
    found = facts.HostFacts(spec=parse_host("controller1"), window=timedelta(days=3650))
    facts.discover(found, facts.load_capture((DATA / "discover-controller1.json").read_text()))
    doc = facts.load_capture((DATA / "stores_and_logs-controller1.json").read_text())
    doc["logs"][0] = {"name": "log /var/log/glance/glance-api.log", "kind": "log", "error": "missing"}
    facts.gather_stores_and_logs(found, doc)
    _, read, failed = found.log_sources_for("store_full")
    assert read == [] and [(s.name, s.error) for s in failed] == [("log /var/log/glance/glance-api.log", "missing")]


def test_haproxy_config_is_found(controller1):
    path, text = controller1.haproxy_cfg
    assert path == "/etc/haproxy/haproxy.cfg" and "listen glance_api" in text


def test_memory_is_read_in_bytes(controller1):
    assert controller1.meminfo["MemAvailable"] > 64 * 1024 * 1024


@pytest.mark.parametrize("info, access, expected", [
    ({"error": "cannot stat '/x': No such file or directory"}, None, (False, None, None)),
    ({"type": "regular empty file", "owner": "root", "group": "root", "mode": "644", "bsize": 4096, "blocks": 10,
      "bfree": 5, "bavail": 5, "files": 0, "ffree": 0, "fstype": "ext4"}, {"write_rc": 1, "search_rc": 1},
     (True, "regular empty file", "glance")),
    ({"type": "directory", "owner": "root", "group": "root", "mode": "755"}, None, (True, "directory", None)),
    ({"type": "directory", "blocks": "9" * 5000, "bsize": 4096}, None, (True, "directory", None)),
    ("garbage", None, (False, None, None)),
])
def test_dir_facts_parse_errors_files_unknown_access_and_odd_values(info, access, expected):
    d = facts.parse_dir("/x", info, access, "glance")
    assert (d.exists, d.kind, d.access_user) == expected  # no access test: unknown, never "fine"
    if isinstance(info, dict) and len(str(info.get("blocks", ""))) > 100:
        assert d.total_bytes is None  # a 5000-digit figure is not a size


@pytest.mark.parametrize("doc", [
    [], {"processes": "x"}, {"processes": [{"pid": "1" * 5000}], "systemd": [{"LoadState": "loaded", "MainPID": "x"}]},
    {"files": {"/etc/glance/glance-api.conf": "[DEFAULT]\nuser_storage_quota = " + "9" * 5000 + "\n"}},
    {"kernel": "nonsense", "whoami": {"user": 5}},
])
def test_odd_answers_fail_one_host_with_a_message_never_the_run(doc):
    found = facts.HostFacts(spec=parse_host("controller1"))
    try:
        facts.discover(found, doc)
    except ValueError as exc:  # gather() turns it into facts.error
        assert "not a JSON object" in str(exc)
        return
    assert found.deployment is not None
    assert found.config is not None or found.config_error


class _Answer:
    def __init__(self, rc, stdout):
        self.rc, self.stdout_bytes, self.stderr_bytes = rc, stdout.encode(), b""


class _Host:
    def __init__(self, *answers):
        self.answers, self.commands = list(answers), []

    def run(self, command, *args):
        self.commands.append((command, args))
        return self.answers.pop(0)


@pytest.mark.parametrize("answer, message", [
    (_Answer(0, "not json"), "probe failed (exit 0)"),
    (_Answer(124, ""), "did not finish within"),
    (_Answer(0, '{"protocol": 99}'), "unknown format"),
    (_Answer(0, '[1]'), "unknown format"),
])
def test_gather_turns_every_bad_answer_into_the_hosts_error(answer, message):
    found = facts.gather(parse_host("controller1"), _Host(answer), timedelta(hours=1))
    assert message in found.error


def test_gather_makes_two_round_trips_with_the_probe_as_quoted_arguments():
    discover = (DATA / "discover-controller1.json").read_text()
    stores = (DATA / "stores_and_logs-controller1.json").read_text()
    host = _Host(_Answer(0, discover), _Answer(0, stores))
    found = facts.gather(parse_host("controller1"), host, timedelta(days=3650))
    assert found.error is None and found.round_trips == 2 and found.dirs
    for command, args in host.commands:
        assert command == "timeout 60 /usr/bin/python3 -I -c %s %s %s" and len(args) == 3
    import base64  # noqa: PLC0415
    request = json.loads(base64.b64decode(host.commands[1][1][2]))
    assert request["phase"] == "stores_and_logs" and request["worker_user"] == "glance"
    assert request["rbd"] == [{"name": "rbd", "pool": "images", "user": "glance", "conf": "/etc/ceph/ceph.conf",
                               "keyring": "/etc/ceph/ceph.client.glance.keyring"}]


def test_container_inspect_gives_kolla_deployment():
    found = facts.HostFacts(spec=parse_host("docker://glance_api"))
    inspect = {"Name": "glance_api", "RestartCount": 2, "Config": {"User": "glance"},
               "State": {"Status": "running", "Running": True, "OOMKilled": False}}
    facts.discover(found, {"container": {"runtime": "podman", "inspect": inspect}})
    dep = found.deployment
    assert (dep.style, dep.runtime, dep.restarts, dep.worker_user) == ("container", "podman", 2, "glance")
    assert "ctrlog:glance_api" in dep.log_sources


def test_config_drop_ins_fetched_by_the_probe_are_read_after_the_file():
    """glance-api.conf.d/*.conf beside the file, and a --config-dir of the process, as oslo.config reads them."""
    doc = facts.load_capture((DATA / "discover-controller1.json").read_text())
    doc["files"]["/etc/glance/glance-api.conf.d/10-cap.conf"] = "[DEFAULT]\nimage_size_cap = 1048576\n"
    doc["files"]["/etc/glance/glance-api.conf.d/20-cap.conf"] = "[DEFAULT]\nimage_size_cap = 2097152\n"
    doc["files"]["/etc/glance/glance-api.conf.d/sub/99.conf"] = "[DEFAULT]\nimage_size_cap = 1\n"  # not oslo's
    found = facts.HostFacts(spec=parse_host("controller1"))
    facts.discover(found, doc)
    assert [p for p, _ in facts.config_dropins(found, "/etc/glance/glance-api.conf")] == [
        "/etc/glance/glance-api.conf.d/10-cap.conf", "/etc/glance/glance-api.conf.d/20-cap.conf"]
    assert found.config.image_size_cap == 2097152


CID = "3f2a9c41d0b7e8f5a6c3b2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1"


def test_a_container_view_reads_the_kernel_of_its_host_narrowed_to_its_own_cgroup():
    """podman:// runs the probe inside the container, which cannot read the kernel log: the
    container's host reads it, and only OOM kills inside this container's cgroup are its own."""
    doc = {"kernel": {"error": "no root or sudo: the kernel log is not readable"},
           "container_outside": {"runtime": "podman", "inspect": {"Id": CID}}}
    outside = {"source": "journalctl -k", "lines": [
        f"2026-12-01T23:10:01+0000 lab kernel: oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/machine.slice/"
        f"libpod-{CID}.scope,task=uwsgi,pid=4242,uid=42415",
        "2026-12-01T23:11:01+0000 lab kernel: oom-kill:constraint=CONSTRAINT_NONE,task_memcg=/system.slice/"
        "glance-api.service,task=uwsgi,pid=777,uid=999"]}
    kernel = facts.container_kernel(doc, outside)
    assert [line for line in kernel["lines"]] == [outside["lines"][0]]
    assert "on the container's host" in kernel["source"] and CID[:12] in kernel["source"]


def test_a_container_view_without_its_hosts_kernel_keeps_the_inside_reason():
    doc = {"kernel": {"error": "no root or sudo: the kernel log is not readable"},
           "container_outside": {"runtime": "podman", "inspect": {"Id": CID}}}
    assert facts.container_kernel(doc, None) == {"error": "no root or sudo: the kernel log is not readable"}
    got = facts.container_kernel(doc, {"error": "dmesg -T: exit 1 Operation not permitted"})
    assert got["error"].startswith("no root or sudo") and "on the container's host: dmesg -T" in got["error"]


# ---------------------------------------------------------------- why a store dir cannot be used, in true words
# tests/tools/capture_runtime_state.py: controller1's store dirs with the cheap store remounted read-only,
# owned by a uid without a name, and with /var/lib/glance root:root 0700.
@pytest.mark.parametrize("case, path, why", [
    ("read-only", "/var/lib/glance/cheap", "read-only filesystem (mount options ro) on /var/lib/glance/cheap"),
    ("unknown-uid", "/var/lib/glance/cheap",
     "owner uid 1999 (no name):gid 1999 (no name), mode 750"),
    ("untraversable", "/var/lib/glance/cheap", "cannot traverse /var/lib/glance (root:root 0700)"),
    ("untraversable", "/var/lib/glance/images", "cannot traverse /var/lib/glance (root:root 0700)"),
])
def test_a_store_the_worker_cannot_use_says_why_in_the_operators_words(case, path, why):
    doc = json.loads((DATA / f"dirs-{case}.json").read_text())
    d = facts.parse_dir(path, doc["dirs"][path], doc["worker"]["dirs"][path], doc["worker"]["user"])
    assert not d.writable
    assert d.why_not_writable() == why
    assert "UNKNOWN" not in d.describe()
    assert ("owner uid 1999 (no name):gid 1999 (no name)" in d.describe()) is (case == "unknown-uid")


def test_the_stores_the_worker_can_use_stay_plain_beside_a_broken_one():
    doc = json.loads((DATA / "dirs-read-only.json").read_text())
    path = "/var/lib/glance/images"
    d = facts.parse_dir(path, doc["dirs"][path], doc["worker"]["dirs"][path], doc["worker"]["user"])
    assert d.writable and not d.read_only and d.owner_text == "glance:glance"


def test_no_access_test_says_its_true_reason():
    """A stopped container cannot be entered: that, not 'needs root or sudo', is why."""
    host = facts.HostFacts(spec=parse_host("podman://glance_api"), privilege="root")
    host.deployment = facts.Deployment("container", "glance_api exited", False, container="glance_api")
    worker = {"error": "as glance: exit 125: Error: can only create exec sessions on running containers"}
    assert facts._access_error(host, worker).startswith("the glance_api container is not running (as glance")
    host.privilege, host.deployment = "none", facts.Deployment("uwsgi", "uwsgi", True)
    assert facts._access_error(host, {}) == "needs root or sudo"
