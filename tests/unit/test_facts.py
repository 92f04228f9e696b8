"""The probe's parsers on real output captured from the lab's controller1 (redacted)."""
from datetime import timedelta
from pathlib import Path

import pytest

from glance_hc import facts
from glance_hc.hosts import parse_host

DATA = Path(__file__).parent.parent / "data" / "probe"


@pytest.fixture(scope="module")
def controller1():
    found = facts.HostFacts(spec=parse_host("controller1"), window=timedelta(days=3650))
    facts.discover(found, facts.split_sections((DATA / "discover.txt").read_text()))
    facts.gather_stores_and_logs(found, facts.split_sections((DATA / "stores_and_logs.txt").read_text()))
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


def test_config_is_parsed_with_both_file_stores(controller1):
    assert [s.name for s in controller1.config.stores] == ["fast", "cheap"]
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
        "log:/var/log/haproxy/haproxy.log"]


def test_haproxy_config_is_found(controller1):
    path, text = controller1.haproxy_cfg
    assert path == "/etc/haproxy/haproxy.cfg" and "listen glance_api" in text


def test_memory_is_read_in_bytes(controller1):
    assert controller1.meminfo["MemAvailable"] > 64 * 1024 * 1024


@pytest.mark.parametrize("body, expected", [
    ("error=cannot stat '/x': No such file or directory", (False, None)),
    ("type='regular empty file' owner=root group=root mode=644\nbsize=4096 blocks=10 bfree=5 bavail=5 "
     "files=0 ffree=0 fstype=ext2/ext3\nas_user=glance write_rc=1 search_rc=1", (True, "regular empty file")),
    ("type='directory' owner=root group=root mode=755\nas_user=glance write_rc=99 search_rc=99",
     (True, "directory")),
])
def test_dir_facts_parse_errors_files_and_unknown_access(body, expected):
    d = facts.parse_dir("/x", body)
    assert (d.exists, d.kind) == expected
    if "write_rc=99" in body:
        assert d.access_user is None  # could not switch user: access unknown, never "fine"


def test_container_inspect_gives_kolla_deployment():
    found = facts.HostFacts(spec=parse_host("docker://glance_api"))
    inspect = ('runtime=podman\n[{"Name": "glance_api", "RestartCount": 2, "Config": {"User": "glance"},'
               ' "State": {"Status": "running", "Running": true, "OOMKilled": false}}]')
    facts.discover(found, [("container", inspect)])
    dep = found.deployment
    assert (dep.style, dep.runtime, dep.restarts, dep.worker_user) == ("container", "podman", 2, "glance")
    assert "ctrlog:glance_api" in dep.log_sources
