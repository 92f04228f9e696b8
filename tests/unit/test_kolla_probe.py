"""The probe's parsers on real output of the lab's Kolla-style glance_api container (lab/kolla.py).

Captured with `lab/kolla.py capture tests/data/kolla` (redacted JSON answers of the host probe),
in the two views the suite has:
`inside/` is --host=podman://glance_api (the probe runs in the container as its user glance, and
`podman inspect` runs beside testinfra's `podman exec`), `host/` is --host=local:// as root on the
container's host (inspect, exec and logs through podman). `inspect-restarted.json` is the same
container after podman restarted it by itself; `worker-killed/` the logs after a worker's SIGKILL.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from glance_hc import facts
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.timeouts import upload_timeouts

DATA = Path(__file__).parent.parent / "data" / "kolla"
WINDOW = timedelta(days=3650)  # the captures age; the window must not
STORE_DIRS = {"/var/lib/glance/images": "file", "/var/lib/glance/staging": "staging",
              "/var/lib/glance/tasks_work_dir": "tasks"}


def outside(inspect_file: str = "inspect.json", **state) -> dict:
    """What gather() adds for a podman:// host: `podman inspect` run beside testinfra."""
    data = json.loads((DATA / inspect_file).read_text())
    data = data[0] if isinstance(data, list) else data
    data["State"].update(state)
    return {"runtime": "podman", "inspect": data}


def view(name: str, container_outside: dict | None = None, stores: str = "stores_and_logs.json") -> facts.HostFacts:
    spec = parse_host("podman://glance_api" if name in ("inside", "worker-killed") else "local://")
    found = facts.HostFacts(spec=spec, window=WINDOW)
    doc = facts.load_capture((DATA / ("inside" if name == "worker-killed" else name) / "discover.json").read_text())
    if container_outside:
        doc["container_outside"] = container_outside
    facts.discover(found, doc)
    facts.gather_stores_and_logs(found, facts.load_capture((DATA / name / stores).read_text()))
    return found


@pytest.fixture(scope="module")
def inside():
    return view("inside", outside())


@pytest.fixture(scope="module")
def host():
    return view("host")


# ---------------------------------------------------------------- podman://glance_api
def test_inside_view_is_a_container_deployment_seen_from_inside(inside):
    dep = inside.deployment
    assert (dep.style, dep.runtime, dep.container, dep.inside) == ("container", "podman", "glance_api", True)
    assert dep.running and dep.container_state["Health"]["Status"] == "healthy"
    assert dep.restarts == 0 and "restarts 0" in dep.detail and "health healthy" in dep.detail


def test_inside_view_needs_no_exec_for_phase_two(inside):
    """The probe already runs in the container: `podman exec` there would find no podman."""
    assert inside.deployment.exec_container == ""


def test_inside_view_finds_uwsgi_master_and_workers_as_glance(inside):
    dep = inside.deployment
    assert dep.master_pid == 1  # kolla_start exec'ed uWSGI: the master is the container's PID 1
    assert len(dep.worker_pids) == 2 and dep.worker_user == "glance"
    assert (inside.user, inside.privilege) == ("glance", "none")  # podman exec runs as the image's USER


def test_inside_view_reads_the_config_kolla_start_copied(inside):
    assert inside.deployment.config_path == "/etc/glance/glance-api.conf"
    assert inside.config is not None and inside.config_error is None
    assert facts.store_dirs(inside.config) == STORE_DIRS


def test_inside_view_reads_kolla_log_files(inside):
    """glance's log_file and uWSGI's logto2 in /var/log/kolla/glance; no `podman logs` from inside."""
    assert inside.deployment.log_sources == ["log:/var/log/kolla/glance/glance-api.log",
                                             "log:/var/log/kolla/glance/glance-api-uwsgi.log"]
    assert inside.log_sources_read == ["log /var/log/kolla/glance/glance-api.log",
                                       "log /var/log/kolla/glance/glance-api-uwsgi.log"]


@pytest.mark.parametrize("path", list(STORE_DIRS))
def test_inside_view_judges_store_dirs_as_the_worker_user_without_sudo(inside, path):
    d = inside.dirs[path]
    assert d.exists and d.kind == "directory" and d.owner == "glance"
    assert (d.access_user, d.writable, d.searchable) == ("glance", True, True)


def test_inside_view_sees_the_store_volume_as_its_own_small_filesystem(inside):
    d = inside.dirs["/var/lib/glance/images"]
    assert (d.fstype, d.mount, d.total_bytes) == ("tmpfs", "/var/lib/glance/images", 256 * 1024 * 1024)
    assert d.used_ratio < 0.1  # the lab may hold an image or two


def test_inside_view_without_inspect_is_plain_uwsgi():
    """No runtime beside the backend (a remote docker daemon, say): what the container shows itself."""
    found = view("inside")
    assert found.deployment.style == "uwsgi" and found.deployment.restarts is None
    assert found.deployment.worker_user == "glance" and found.config is not None


# ---------------------------------------------------------------- restarts and health
def test_restart_count_from_a_container_podman_restarted():
    found = view("inside", outside("inspect-restarted.json"))
    assert found.deployment.restarts == 1 and "restarts 1" in found.deployment.detail
    assert found.deployment.running  # it came back: running and healthy, but it restarted


def test_unhealthy_container_is_not_running():
    data = json.loads((DATA / "inspect.json").read_text())
    health = {**data[0]["State"]["Health"], "Status": "unhealthy", "FailingStreak": 3}
    found = view("inside", outside(Health=health))
    assert not found.deployment.running and "health unhealthy" in found.deployment.detail


def test_oom_killed_flag_is_kept_for_the_worker_check():
    found = view("inside", outside(OOMKilled=True))
    assert found.deployment.container_state["OOMKilled"] is True


# ---------------------------------------------------------------- local:// on the container's host
def test_host_view_finds_the_container_through_podman(host):
    dep = host.deployment
    assert (dep.style, dep.runtime, dep.container, dep.inside) == ("container", "podman", "glance_api", False)
    assert dep.exec_container == "glance_api" and dep.running and dep.restarts == 0
    assert host.privilege == "root"


def test_host_view_takes_the_containers_master_not_other_glance_processes(host):
    """The host's ps shows every glance on the machine (here also the lab's controllers)."""
    dep = host.deployment
    assert dep.master_pid == dep.container_state["Pid"]
    master = next(p for p in host.processes if p.pid == dep.master_pid)
    assert "uWSGI master" in master.args
    assert len(dep.worker_pids) == 2
    assert all(p.ppid == dep.master_pid for p in host.processes if p.pid in dep.worker_pids)


def test_host_view_names_the_worker_user_from_the_container_not_the_host_uid(host):
    workers = [p for p in host.processes if p.pid in host.deployment.worker_pids]
    assert {p.user for p in workers} == {"42415"}  # Kolla's glance uid, unknown to the host
    assert host.deployment.worker_user == "glance"


def test_host_view_reads_config_and_uwsgi_ini_inside_the_container(host):
    assert host.deployment.config_path == "container:/etc/glance/glance-api.conf"
    assert host.config is not None and facts.store_dirs(host.config) == STORE_DIRS
    assert host.uwsgi_ini == "container:/etc/glance/glance-api-uwsgi.ini"
    keys = [t.key for t in upload_timeouts(host.files, host.haproxy_cfg, host.uwsgi_ini)]
    assert "uwsgi-harakiri" in keys


def test_host_view_log_sources_are_kolla_files_and_the_container_log(host):
    assert host.deployment.log_sources == ["log:/var/log/kolla/glance/glance-api.log",
                                           "log:/var/log/kolla/glance/glance-api-uwsgi.log",
                                           "ctrlog:glance_api"]
    assert "ctrlog glance_api" in host.log_sources_read
    assert {s.name: s.role for s in host.log_sources.values()} == {
        "log /var/log/kolla/glance/glance-api.log": "glance", "log /var/log/kolla/glance/glance-api-uwsgi.log": "uwsgi",
        "ctrlog glance_api": "container"}


@pytest.mark.parametrize("path", list(STORE_DIRS))
def test_host_view_judges_store_dirs_as_glance_in_the_container(host, path):
    d = host.dirs[path]
    assert d.exists and (d.access_user, d.writable, d.searchable) == ("glance", True, True)


# ---------------------------------------------------------------- a killed worker
def test_killed_worker_line_is_read_from_uwsgis_kolla_log():
    found = view("worker-killed", outside())
    lines = found.recent_lines("worker_crash")
    assert len(lines) == 1 and lines[0].source == "log /var/log/kolla/glance/glance-api-uwsgi.log"
    assert "DAMN ! worker 1" in lines[0].text and "killed by signal 9" in lines[0].text
    assert lines[0].when is not None  # uWSGI's own date, in the host's local time


def test_healthy_captures_hold_no_fault_lines(inside, host):
    for found in (inside, host):
        assert not [rc for rc in ("store_full", "store_config", "store_permissions", "worker_crash",
                                  "interrupted_upload", "checksum_mismatch", "quota")
                    if found.recent_lines(rc)]


# ---------------------------------------------------------------- gather(): inspect beside the backend
class _Result:
    def __init__(self, rc: int, stdout: str):
        self.rc, self.stdout_bytes = rc, stdout.encode()


class _Backend:
    def __init__(self, rc: int, stdout: str = "", name: str = "glance_api"):
        self.name, self.rc, self.stdout, self.calls = name, rc, stdout, []

    def run_local(self, command: str, *args: str):
        self.calls.append(command % args)
        return _Result(self.rc, self.stdout)


class _Host:
    def __init__(self, backend):
        self.backend = backend


def test_inspect_from_outside_runs_the_backends_runtime_bounded():
    backend = _Backend(0, (DATA / "inspect.json").read_text())
    seen = transport.inspect_from_outside(_Host(backend), "podman")
    assert backend.calls == ["timeout 15 podman inspect --type container glance_api"]
    assert seen["runtime"] == "podman" and seen["inspect"]["State"]["Running"] is True


@pytest.mark.parametrize("backend", [_Backend(125, "Error: no such container"), _Backend(0, "  \n"),
                                     _Backend(0, "", name=""), _Backend(0, "[1, 2]")])
def test_inspect_from_outside_gives_nothing_when_it_cannot_see(backend):
    assert transport.inspect_from_outside(_Host(backend), "podman") is None
