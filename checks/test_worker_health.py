"""Root cause 4, glance-api worker crash or OOM: workers are not dying, and have memory to live.

A worker SIGKILLed mid-upload leaves the image in saving; the signs are a
respawned worker, uWSGI's or oslo.service's "killed by signal" lines and the
kernel's OOM-killer lines.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from datetime import datetime

import pytest

from glance_hc import logscan
from glance_hc.sizes import human

pytestmark = [pytest.mark.host, pytest.mark.worker_crash]

# A worker this much younger than its master was respawned, not started with it.
RESPAWN_SLACK_SECONDS = 30


def test_service_has_not_restarted_by_itself(reachable_host, evidence):
    dep = reachable_host.deployment
    evidence.add("deployment", dep.detail)
    if dep.style == "systemd":
        assert not dep.restarts, (f"systemd restarted {dep.unit} on {reachable_host.name} "
                                  f"{dep.restarts} times (NRestarts) since it was last started by hand")
    elif dep.style == "container":
        state = dep.container_state
        assert not state.get("OOMKilled"), f"glance_api on {reachable_host.name} was OOM-killed"
        assert not dep.restarts, (f"{dep.runtime} restarted glance_api on {reachable_host.name} "
                                  f"{dep.restarts} times (RestartCount)")
    if dep.style in ("uwsgi", "process", "container"):
        procs = {p.pid: p for p in reachable_host.processes}
        master = procs.get(dep.master_pid)
        if master is None:
            if dep.style == "container":
                return  # its restarts were judged above; its processes were not seen
            pytest.skip(f"glance-api master process not seen on {reachable_host.name}")
        workers = [procs[pid] for pid in dep.worker_pids if pid in procs]
        evidence.add("processes", [f"pid {p.pid} user {p.user} up {p.elapsed_s}s: {p.args}"
                                   for p in [master, *workers]])
        respawned = [w for w in workers if w.elapsed_s < master.elapsed_s - RESPAWN_SLACK_SECONDS]
        assert not respawned, (
            f"{len(respawned)} glance-api worker(s) on {reachable_host.name} were respawned after the "
            f"master started (worker up {respawned[0].elapsed_s}s, master up {master.elapsed_s}s): "
            f"a worker died")
    elif dep.style != "systemd":
        pytest.skip(f"no glance-api service found on {reachable_host.name}")


def test_no_worker_killed_in_service_logs(quiet_logs):
    quiet_logs("worker_crash", "worker deaths")


def test_kernel_has_not_oom_killed_glance(reachable_host, evidence):
    host = reachable_host
    if host.kernel_error:
        pytest.skip(f"cannot read the kernel log on {host.name}: {host.kernel_error}")
    recent = list(logscan.within(host.kernel_lines, host.clock_local or datetime.now(), host.window,
                                 undated_ok=True))
    if recent:
        evidence.add("kernel OOM lines", [line.text for line in recent[-20:]], command="dmesg -T")
    assert not recent, f"the kernel OOM-killed glance-api on {host.name}: {recent[-1].text.strip()}"


def test_host_has_memory_headroom_for_uploads(reachable_host, thresholds, evidence):
    mem = reachable_host.meminfo
    if "MemAvailable" not in mem:
        pytest.skip(f"/proc/meminfo on {reachable_host.name} has no MemAvailable")
    evidence.add("memory", f"MemAvailable {human(mem['MemAvailable'])} of MemTotal {human(mem.get('MemTotal', 0))}")
    evidence.metric("memory_available_bytes", mem["MemAvailable"], "bytes")
    assert mem["MemAvailable"] >= thresholds.memory_available_min, (
        f"{reachable_host.name} has {human(mem['MemAvailable'])} of memory available, below "
        f"{human(thresholds.memory_available_min)}: a large upload may get a worker OOM-killed")
