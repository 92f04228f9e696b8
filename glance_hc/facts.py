"""A host's facts, gathered once per run in two round trips of the host probe.

Phase one finds how glance-api runs (systemd unit, uWSGI process, Kolla
container), reads its config files, haproxy.cfg, memory and the kernel's OOM
lines. Phase two, driven by the parsed config, looks at every store directory
(room, owner, access as the worker user) and at the log sources, filtered on
the host to the lines any root cause cares about. The probe itself is
glance_hc/probe/host_probe.py; its answers are JSON documents, turned into the
model below (every value in them is data from the host, checked before use).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from glance_hc import haproxy, image_cache, logscan, rbd, staging, store_space, uwsgi
from glance_hc.config import ConfigError, GlanceConfig
from glance_hc.hosts import HostSpec
from glance_hc.probe import transport
from glance_hc.probe.transport import HostUnreachable

__all__ = ["HostFacts", "Deployment", "DirFacts", "LogSource", "Process", "HostUnreachable", "gather",
           "discover", "gather_stores_and_logs", "request_lines", "gate_results", "gate_key", "store_dirs",
           "run_as_worker_python", "load_capture", "describe_parent"]

# Which log sources each root cause's log check needs (by role); every other root cause needs glance's own.
LOG_NEEDS = {
    "worker_crash": ("glance", "uwsgi", "container"),
    "interrupted_upload": ("glance", "uwsgi", "haproxy"),
    # Keystone's own log where Keystone runs beside glance-api: its database errors name the server
    # both share (a down database leaves glance-api's log silent: no request gets past the token)
    "availability": ("glance", "keystone"),
}
KEYSTONE_LOG = "/var/log/keystone/keystone.log"  # Debian's, Ubuntu's, RDO's and devstack's default


def load_capture(text: str) -> dict:
    """A probe answer as captured in tests/data (one JSON document)."""
    return json.loads(text)


def _int(value, default: int | None = 0) -> int | None:
    """An integer from host data, or the default: never an exception (a 5000-digit value included)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if abs(value) < 10 ** 30 else default
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 30 or not text.lstrip("-").isdigit():
        return default
    return int(text)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


@dataclass
class LogSource:
    """One log source of a host: read (with its lines) or failed, and why."""
    name: str                 # "log /var/log/glance/glance-api.log", "unit glance-api.service", "ctrlog glance_api"
    role: str                 # glance | uwsgi | haproxy | container
    read: bool = False
    error: str | None = None
    note: str | None = None

    def describe(self) -> str:
        if self.read:
            return self.name + (f" ({self.note})" if self.note else "")
        return f"{self.name}: {self.error or 'not read'}"


@dataclass
class Process:
    pid: int
    ppid: int
    user: str
    elapsed_s: int
    rss_kib: int
    args: str
    glance_api: bool | None = None  # the probe's word: really glance-api (unit, container, owner), None: not said
    mntns: str = ""


@dataclass
class Deployment:
    """How glance-api runs on this host."""
    style: str                      # systemd | uwsgi | container | none
    detail: str                     # one line for the report
    running: bool
    worker_user: str | None = None
    unit: str | None = None
    container: str | None = None
    runtime: str | None = None
    container_state: dict = field(default_factory=dict)
    restarts: int | None = None
    master_pid: int | None = None
    worker_pids: list[int] = field(default_factory=list)
    config_path: str | None = None
    uwsgi_ini_path: str | None = None
    log_sources: list[str] = field(default_factory=list)  # log:PATH unit:NAME ctrlog:NAME
    inside: bool = False            # a container seen from inside (docker://, podman://): no exec needed
    image: str | None = None        # a container's image id

    @property
    def exec_container(self) -> str:
        """The container the probe must `exec` into: none when it already runs inside."""
        return (self.container or "") if self.style == "container" and not self.inside else ""


@dataclass
class DirFacts:
    path: str
    exists: bool
    error: str | None = None
    kind: str | None = None
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    total_bytes: int | None = None
    avail_bytes: int | None = None
    used_bytes: int | None = None
    files_total: int | None = None
    files_free: int | None = None
    fstype: str | None = None
    device: str | None = None
    mount: str | None = None
    access_user: str | None = None
    writable: bool | None = None
    searchable: bool | None = None
    uid: int | None = None
    gid: int | None = None
    mount_options: tuple[str, ...] = ()
    parents: tuple[dict, ...] = ()     # every directory above it: path, owner, group, uid, gid, mode
    blocked_at: str | None = None      # the first parent the worker user cannot traverse
    access_error: str | None = None    # why the worker user's own test did not run
    listing: object | None = None      # a file store's files (glance_hc.store_space.StoreListing)
    dev: int | None = None             # st_dev, st_ino, statvfs f_fsid: which directory it is (glance_hc.staging)
    ino: int | None = None
    fsid: int | None = None
    mount_root: str | None = None      # the directory of its filesystem the mount shows (mountinfo field 4)
    entries: object | None = None      # the staging dir's top level (glance_hc.staging.Entries)

    @property
    def read_only(self) -> bool:
        return "ro" in self.mount_options

    @property
    def owner_text(self) -> str:
        """`glance:glance`; an id without a name shows as the id ("uid 1999 (no name)")."""
        return f"{_named(self.owner, self.uid, 'uid')}:{_named(self.group, self.gid, 'gid')}"

    def blocking_parent(self) -> dict | None:
        """The parent directory the worker user cannot traverse, as the probe stat'ed it."""
        if not self.blocked_at:
            return None
        return next((p for p in self.parents if p.get("path") == self.blocked_at), {"path": self.blocked_at})

    def why_not_writable(self) -> str:
        """The reason the worker user cannot use the directory, in the operator's words."""
        parent = self.blocking_parent()
        if parent is not None:
            return f"cannot traverse {describe_parent(parent)}"
        if self.read_only and not self.writable:
            return f"read-only filesystem (mount options {','.join(self.mount_options)}) on {self.mount or self.path}"
        return f"owner {self.owner_text}, mode {self.mode}"

    @property
    def used_ratio(self) -> float | None:
        if not self.total_bytes:
            return None
        return self.used_bytes / (self.used_bytes + self.avail_bytes) if (
            self.used_bytes + self.avail_bytes) else 1.0

    @property
    def inodes_free_ratio(self) -> float | None:
        if not self.files_total:
            return None  # filesystems without fixed inodes (btrfs, tmpfs without nr_inodes)
        return self.files_free / self.files_total

    def describe(self) -> str:
        if not self.exists:
            return f"{self.path}: {self.error or 'missing'}"
        parts = [f"{self.path}: {self.kind}, owner {self.owner_text} mode {self.mode}"]
        if self.total_bytes is not None:
            options = f" ({','.join(self.mount_options)})" if self.mount_options else ""
            parts.append(f"{self.fstype} {self.device} on {self.mount}{options}: "
                         f"{self.used_bytes} used / {self.avail_bytes} available of {self.total_bytes} bytes")
        if self.files_total:
            parts.append(f"inodes {self.files_free} free of {self.files_total}")
        if self.access_user:
            parts.append(f"as {self.access_user}: write={'yes' if self.writable else 'no'} "
                         f"search={'yes' if self.searchable else 'no'}"
                         + (f", cannot traverse {self.blocked_at}" if self.blocked_at else ""))
        return "; ".join(parts)


def describe_parent(parent: dict) -> str:
    """`/var/lib/glance (root:root 0700)`: a directory above a store, as the probe stat'ed it."""
    if "mode" not in parent:
        return f"{parent.get('path')}" + (f" ({parent['error']})" if parent.get("error") else "")
    return (f"{parent.get('path')} ({_named(parent.get('owner'), parent.get('uid'), 'uid')}:"
            f"{_named(parent.get('group'), parent.get('gid'), 'gid')} {int(parent['mode'], 8):04o})")


def _named(name, number, kind: str) -> str:
    """A user or group name; the bare id when the host has no name for it (the probe then
    answers the id as the name)."""
    name = _str(name)
    if number is not None and (not name or name == str(number)):
        return f"{kind} {number} (no name)"
    return name or "unknown"


@dataclass
class HostFacts:
    spec: HostSpec
    error: str | None = None
    user: str | None = None
    privilege: str | None = None        # root | sudo | none
    hostname: str | None = None
    mount_ns: str | None = None  # the probe's own mount namespace, to tell containers' processes apart
    net_ns: str | None = None  # its network namespace: who reaches the same 127.0.0.x
    deployment: Deployment | None = None
    processes: list[Process] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    file_errors: dict[str, str] = field(default_factory=dict)
    config: GlanceConfig | None = None
    config_error: str | None = None
    meminfo: dict[str, int] = field(default_factory=dict)
    kernel_lines: list[logscan.LogLine] = field(default_factory=list)
    kernel_error: str | None = None
    dirs: dict[str, DirFacts] = field(default_factory=dict)
    rbd: dict[str, rbd.RbdFacts] = field(default_factory=dict)  # store name -> what its cephx user saw
    # store name -> what the worker user may do for a cinder store (host_probe.cinder_as_user)
    cinder: dict[str, dict] = field(default_factory=dict)
    log_lines: list[logscan.LogLine] = field(default_factory=list)
    log_notes: list[str] = field(default_factory=list)
    log_sources_read: list[str] = field(default_factory=list)
    log_sources: dict[str, LogSource] = field(default_factory=dict)  # name -> read or failed, and why
    kernel_source: str | None = None
    probe_errors: list[str] = field(default_factory=list)  # steps of the probe that failed on the host
    clock_local: datetime | None = None
    window: timedelta = timedelta(hours=1)
    round_trips: int = 0
    seconds: float = 0.0
    gate: dict[str, tuple[int, str]] | None = None  # command -> (exit code, output), on demand
    procenv: dict[int, dict] = field(default_factory=dict)  # pid -> config_dir, ini, config_dirs (glance-api only)
    gate_tools: list[str] = field(default_factory=list)  # the gate's tools, release and policy files
    gate_shared_with: str | None = None  # the host whose gate run this one shares (same gate_key)
    worker_python: list[dict] = field(default_factory=list)  # programs run with the gate round trip
    haproxy_stats: dict | None = None  # the stats socket's `show stat` ({socket, text} or {error}); None: not asked
    haproxy_state_lines: list[tuple[str, str]] = field(default_factory=list)  # (source, health-check line)
    pruner_schedule: image_cache.PrunerSchedule | None = None  # cron/timers naming the cache pruner; None: not asked
    boot_id: str = ""  # the kernel's boot id (/proc/sys/kernel/random/boot_id): hosts on one kernel share it

    def staging_identity(self) -> staging.DirIdentity | None:
        """The staging dir as the probe stat'ed it, to tell it from another host's (None: not probed)."""
        path = self.config.staging.path if self.config and self.config.staging else None
        d = self.dirs.get((path or "").rstrip("/") or "/") if path else None
        if d is None or not d.exists:
            return None
        return staging.DirIdentity(self.name, d.path, self.boot_id, d.dev, d.ino, d.fsid, d.fstype,
                                   d.device, d.mount, d.mount_root)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def haproxy_cfg(self) -> tuple[str, str] | None:
        for path in ("/etc/haproxy/haproxy.cfg", "/etc/kolla/haproxy/haproxy.cfg"):
            if path in self.files:
                return path, self.files[path]
        return None

    @property
    def haproxy_runtime(self) -> haproxy.RuntimeState:
        """What this host's HAProxy says of its servers (stats socket, else its health-check log lines)."""
        read = [s.name for s in self.log_sources.values() if s.role == "haproxy" and s.read]
        return haproxy.runtime_state(self.haproxy_stats, self.haproxy_state_lines, read)

    @property
    def uwsgi_ini(self) -> str | None:
        """The glance-api uWSGI ini: from the process, else the usual places."""
        dep = self.deployment
        if dep and dep.uwsgi_ini_path:
            return dep.uwsgi_ini_path
        for path in ("/etc/glance/glance-api-uwsgi.ini", "/etc/glance/glance-uwsgi.ini"):
            if path in self.files:
                return path
        return None

    def log_sources_for(self, root_cause: str) -> tuple[list[LogSource], list[LogSource], list[LogSource]]:
        """The log sources a root cause's log check needs, those read, and those that failed."""
        roles = LOG_NEEDS.get(root_cause, ("glance",))
        needed = [src for src in self.log_sources.values() if src.role in roles]
        return needed, [s for s in needed if s.read], [s for s in needed if not s.read]

    def recent_lines(self, root_cause: str) -> list[logscan.LogLine]:
        """Log and kernel lines of one root cause inside the lookback window."""
        now = self.clock_local or datetime.now()
        lines = list(logscan.within(self.log_lines, now, self.window))
        lines += list(logscan.within(self.kernel_lines, now, self.window))
        chosen = logscan.lines_for(root_cause, lines)
        moved = self._rbd_reattributed(lines)
        if moved:
            chosen = [line for line in chosen if moved.get(line, root_cause) == root_cause]
            chosen += [line for line, target in moved.items() if target == root_cause and line not in chosen]
        return chosen

    def _rbd_reattributed(self, lines: list[logscan.LogLine]) -> dict[logscan.LogLine, str]:
        """rbd store lines whose root cause the probe knows better than their wording.

        glance_store reports both an unreadable and a missing keyring as a store configuration
        error, with librados' words inside: "no keyring" (errno 95) for the first, and for the
        second errno 95 or "RADOS permission denied" (errno 13) depending on the attempt. Each
        refused upload then logs that adding to "the store" is disabled without naming it. The
        probe tested the files itself: an unreadable keyring moves the lines to permissions, a
        missing one keeps them (all of them) with the store configuration.
        """
        denied = {name for name, seen in self.rbd.items()
                  if any("permission denied" in finding for finding in seen.findings())}
        missing = {name for name, seen in self.rbd.items() if seen.missing}
        if not denied and not missing:
            return {}
        config_lines = logscan.lines_for("store_config", lines)
        candidates = list(dict.fromkeys(config_lines + logscan.lines_for("store_permissions", lines)))
        moved: dict[logscan.LogLine, str] = {}
        generic, other = [], []
        for line in candidates:
            m = re.search(r"store (\S+) could not be configured correctly", line.text, re.I)
            if m and m.group(1) in missing:
                moved[line] = "store_config"
            elif m and m.group(1) in denied:
                moved[line] = "store_permissions"
            elif re.search(r"adding images to (this )?store is disabled", line.text, re.I):
                generic.append(line)
            elif line in config_lines:
                other.append(line)
        if denied and not missing and not other:
            moved.update({line: "store_permissions" for line in generic})
        return moved


# ------------------------------------------------------------------ phase one
def parse_processes(items) -> list[Process]:
    procs = []
    for p in items if isinstance(items, list) else []:
        if not isinstance(p, dict) or _int(p.get("pid"), None) is None:
            continue
        procs.append(Process(_int(p.get("pid")), _int(p.get("ppid")), _str(p.get("user")),
                             _int(p.get("elapsed_s")), _int(p.get("rss_kib")), _str(p.get("args")),
                             glance_api=p.get("glance_api"), mntns=_str(p.get("mntns"))))
    return procs


def parse_meminfo(text: str) -> dict[str, int]:
    out = {}
    for line in _str(text).splitlines():
        m = re.match(r"^(\w+):\s+(\d{1,20})(?: kB)?$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2)) * (1024 if line.strip().endswith("kB") else 1)
    return out


def glance_processes(procs: list[Process]) -> list[Process]:
    """glance-api's processes; with the probe's selection (unit, container, owner) when it made one."""
    return [p for p in procs if re.search(r"glance-api|glance\.wsgi|glance-api-uwsgi|glance-uwsgi", p.args)
            and p.glance_api is not False]


def _text_map(value) -> dict[str, str]:
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(
        value, dict) else {}


def discover(facts: HostFacts, doc: dict) -> None:
    """Phase one's answer (and, for a docker:// or podman:// host, `container_outside`) into facts."""
    if not isinstance(doc, dict):
        raise ValueError("the probe's answer is not a JSON object")
    who = doc.get("whoami") if isinstance(doc.get("whoami"), dict) else {}
    facts.user, facts.privilege = _str(who.get("user")) or None, _str(who.get("privilege") or doc.get("privilege")) or None
    facts.hostname, facts.mount_ns = _str(who.get("host")) or None, _str(who.get("mntns")) or None
    facts.net_ns = _str(who.get("netns")) or None
    facts.probe_errors += [f"{e.get('step')}: {e.get('error')}" for e in _list(doc.get("errors")) if isinstance(e, dict)]
    systemd_units = [u for u in _list(doc.get("systemd")) if isinstance(u, dict) and u.get("LoadState") == "loaded"]
    runtime, container, inside = None, {}, False
    outside = doc.get("container_outside")
    seen = outside if isinstance(outside, dict) and outside.get("inspect") else doc.get("container")
    if isinstance(seen, dict) and isinstance(seen.get("inspect"), dict):
        runtime, container, inside = _str(seen.get("runtime")) or None, seen["inspect"], seen is outside
    facts.processes = parse_processes(doc.get("processes"))
    procenv = {}
    for pid, env in _dict(doc.get("procenv")).items():
        if _int(pid, None) is not None and isinstance(env, dict):
            procenv[_int(pid)] = {k: v for k, v in env.items() if isinstance(v, str)}
            procenv[_int(pid)]["config_dirs"] = []
    for pid, env in procenv.items():
        env["config_dirs"] = [d for d in _list(_dict(_dict(doc.get("procenv")).get(str(pid))).get("config_dirs"))
                              if isinstance(d, str)]
    facts.procenv = procenv
    for p in facts.processes:
        procenv.setdefault(p.pid, {})["mntns"] = p.mntns
    facts.files.update(_text_map(doc.get("files")))
    facts.file_errors.update(_text_map(doc.get("file_errors")))
    facts.gate_tools = [line for line in _list(doc.get("gate_tools")) if isinstance(line, str)]
    facts.meminfo = parse_meminfo(doc.get("meminfo"))
    kernel = doc.get("kernel") if isinstance(doc.get("kernel"), dict) else {}
    if kernel.get("error") or not isinstance(kernel.get("lines"), list):
        facts.kernel_error = _str(kernel.get("error")) or "the probe did not read the kernel log"
    else:
        # only kills of the processes that serve uploads
        facts.kernel_source = _str(kernel.get("source"))
        facts.kernel_lines = [logscan.parse_stamped("kernel", line) for line in kernel["lines"]
                              if isinstance(line, str) and re.search(r"glance|uwsgi|python", line, re.I)]
    facts.deployment = _deployment(facts, systemd_units, runtime, container, procenv, inside)
    _load_config(facts)
    _log_sources(facts)


def _deployment(facts, systemd_units, runtime, container, procenv, inside=False) -> Deployment:
    if container:
        return _container_deployment(facts, runtime, container, procenv, inside)
    procs = glance_processes(facts.processes)
    # A glance-api in another mount namespace is a container's (found through its runtime above),
    # not this host's service, even though the host's ps lists it.
    own = facts.mount_ns
    if own:
        procs = [p for p in procs if procenv.get(p.pid, {}).get("mntns") in (None, "", own)]
    by_pid = {p.pid: p for p in procs}
    masters = [p for p in procs if p.ppid not in by_pid]
    for unit in systemd_units:
        main_pid = _int(unit.get("MainPID"))
        active = unit.get("ActiveState") == "active"
        workers = [p for p in procs if p.ppid == main_pid]
        return Deployment(
            style="systemd", unit=unit.get("Id", "").removesuffix(".service"), running=active,
            restarts=_int(unit.get("NRestarts")), master_pid=main_pid or None,
            worker_pids=[p.pid for p in workers],
            worker_user=(workers[0].user if workers else by_pid.get(main_pid, None) and by_pid[main_pid].user)
            or unit.get("User") or "glance",
            detail=f"systemd unit {unit.get('Id')}: {unit.get('ActiveState')}/{unit.get('SubState')}, "
                   f"restarts {unit.get('NRestarts')}",
            config_path=_config_path(facts, procenv, main_pid),
            log_sources=[f"unit:{unit.get('Id')}"],
        )
    if masters:
        master = masters[0]
        workers = [p for p in procs if p.ppid == master.pid]
        env = procenv.get(master.pid, {})
        style = "uwsgi" if re.search(r"uwsgi", master.args, re.I) else "process"
        return Deployment(
            style=style, running=True, master_pid=master.pid, worker_pids=[p.pid for p in workers],
            worker_user=(workers[0].user if workers else master.user),
            detail=f"{style} master pid {master.pid} ({master.args[:60]}), {len(workers)} workers "
                   f"as {workers[0].user if workers else master.user}",
            config_path=_config_path(facts, procenv, master.pid),
            uwsgi_ini_path=env.get("ini"),
        )
    return Deployment(style="none", running=False, detail="no glance-api unit, container or process found")


def _container_deployment(facts, runtime, container, procenv, inside) -> Deployment:
    """A Kolla-style glance_api container, from `inspect` (and `ps` seen from the host or inside it)."""
    state = container.get("State", {}) or {}
    # podman 4 says Healthcheck where docker says Health
    health = (state.get("Health") or state.get("Healthcheck") or {}).get("Status")
    running = bool(state.get("Running")) and health in (None, "", "healthy", "starting")
    procs = glance_processes(facts.processes)
    # No mount-namespace filter here: seen from the host, the container's own processes are the ones
    # in another namespace; its master is picked exactly by the runtime's State.Pid below.
    by_pid = {p.pid: p for p in procs}
    if inside:  # the probe's ps sees only the container: its master is the one without a glance parent
        master = next((p for p in procs if p.ppid not in by_pid), None)
    else:       # the host's ps sees every process: the container's main process is its master
        master = by_pid.get(_int(state.get("Pid"), -1))
    workers = [p for p in procs if master and p.ppid == master.pid]
    # inside, ps names the workers' user; outside it may only show a uid the host does not know
    user = (workers[0].user if inside and workers else None) or (
        container.get("Config", {}) or {}).get("User") or "glance"
    name = _str(container.get("Name", "glance_api")).lstrip("/") or "glance_api"
    seen = f"; seen from inside: master pid {master.pid}, {len(workers)} workers" if inside and master else ""
    return Deployment(
        style="container", runtime=runtime, container=name, inside=inside, image=container.get("Image"),
        running=running and (master is not None or not inside), container_state=state,
        worker_user=_str(user).split(":")[0] or "glance", restarts=_int(container.get("RestartCount"), None),
        master_pid=master.pid if master else None, worker_pids=[p.pid for p in workers],
        detail=f"{runtime} container {name}: {state.get('Status')}"
               f"{', health ' + health if health else ''}, restarts {container.get('RestartCount')}{seen}",
        config_path=_config_path(facts, procenv, master.pid if master else -1) if inside
        else "container:/etc/glance/glance-api.conf",
        uwsgi_ini_path=(procenv.get(master.pid, {}).get("ini") if master else None) if inside
        else next((p for p in ("container:/etc/glance/glance-api-uwsgi.ini",) if p in facts.files), None),
        # inside, `<runtime> logs` cannot be run: the files are read instead (see _log_sources)
        log_sources=[] if inside else ["log:/var/log/kolla/glance/glance-api.log", f"ctrlog:{name}"],
    )


def _config_path(facts, procenv, pid) -> str | None:
    env = procenv.get(pid, {})
    if env.get("config_dir"):
        return env["config_dir"].rstrip("/") + "/glance-api.conf"
    for path in ("/etc/glance/glance-api.conf", "/etc/kolla/glance-api/glance-api.conf"):
        if path in facts.files or path in facts.file_errors:
            return path
    return None


def _load_config(facts: HostFacts) -> None:
    dep = facts.deployment
    path = dep.config_path if dep else None
    if path is None:
        for candidate in ("/etc/glance/glance-api.conf", "/etc/kolla/glance-api/glance-api.conf"):
            if candidate in facts.files or candidate in facts.file_errors:
                path = candidate
                break
    if path is None:
        facts.config_error = "no glance-api.conf found (looked in the process environment, /etc/glance, /etc/kolla)"
        return
    if dep:
        dep.config_path = path
    if path in facts.file_errors:
        facts.config_error = f"{path}: {facts.file_errors[path]}"
        return
    if path not in facts.files:
        facts.config_error = f"{path}: not found"
        return
    try:
        facts.config = _parse_config(facts.files[path], path, config_dropins(facts, path))
    except ConfigError as exc:
        facts.config_error = str(exc)
    except Exception as exc:  # noqa: BLE001 - an odd value fails this host's config, never the run
        facts.config_error = f"{path}: cannot be read as glance-api.conf ({type(exc).__name__}: {str(exc)[:200]})"


def config_dropins(facts: HostFacts, path: str) -> list[tuple[str, str]]:
    """The drop-ins oslo.config reads after `path`, as fetched by the probe: the `glance-api.conf.d`
    and `glance.conf.d` dirs beside it and the process's `--config-dir`s, each sorted by name."""
    prefix = "container:" if path.startswith("container:") else ""
    base = path[len(prefix):].rsplit("/", 1)[0]
    dirs = [f"{base}/glance-api.conf.d", f"{base}/glance.conf.d"]
    dep = facts.deployment
    env = next((e for pid, e in facts.procenv.items() if dep and pid == dep.master_pid), {})
    dirs += [d.rstrip("/") for d in env.get("config_dirs", []) if isinstance(d, str)]
    found = []
    for d in dict.fromkeys(dirs):
        found += sorted((p, text) for p, text in facts.files.items()
                        if p.startswith(prefix + d + "/") and p.endswith(".conf") and "/" not in p[len(prefix + d) + 1:])
    return found


def _parse_config(text: str, path: str, dropins: list[tuple[str, str]]) -> GlanceConfig:
    """GlanceConfig.parse with the drop-ins when it takes them (config.py's `dropins=`)."""
    if dropins and "dropins" in inspect.signature(GlanceConfig.parse).parameters:
        return GlanceConfig.parse(text, source=path, dropins=dropins)
    return GlanceConfig.parse(text, source=path)


def _log_sources(facts: HostFacts) -> None:
    """Where glance-api logs: the config's log_file, else the packaging default; and each source's role."""
    dep = facts.deployment
    if dep is None:
        return
    roles: dict[str, str] = {}
    if dep.style == "container":
        # Kolla: glance's log_file and uWSGI's logto2 in /var/log/kolla/glance, read in the container
        glance_log = (facts.config.log_path() if facts.config else None) or (
            "/var/log/kolla/glance/glance-api.log" if not dep.inside else None)
        logs = [f"log:{glance_log}"] if glance_log else []
        uwsgi_log = _uwsgi_log(facts)
        logs += [f"log:{uwsgi_log}"] if uwsgi_log else []
        dep.log_sources = list(dict.fromkeys(logs + [s for s in dep.log_sources if s.startswith("ctrlog:")]))
        roles = {f"log:{glance_log}": "glance", f"log:{uwsgi_log}": "uwsgi"}
    else:
        log = (facts.config.log_path() if facts.config else None) or "/var/log/glance/glance-api.log"
        if dep.style == "systemd":
            roles = {s: "glance" for s in dep.log_sources}  # the journal holds glance's and uWSGI's output
        dep.log_sources = [f"log:{log}"] + dep.log_sources
        roles[f"log:{log}"] = "glance"
        if dep.style in ("uwsgi", "process"):
            uwsgi_log = f"log:{_uwsgi_log(facts) or '/var/log/glance/glance-api-uwsgi.log'}"
            dep.log_sources.append(uwsgi_log)
            roles.setdefault(uwsgi_log, "uwsgi")
        if _keystone_runs_here(facts):
            dep.log_sources.append(f"log:{KEYSTONE_LOG}")
            roles.setdefault(f"log:{KEYSTONE_LOG}", "keystone")
        if facts.haproxy_cfg:
            kolla = facts.haproxy_cfg[0].startswith("/etc/kolla")
            haproxy_log = "log:/var/log/kolla/haproxy/haproxy.log" if kolla else "log:/var/log/haproxy/haproxy.log"
            dep.log_sources.append(haproxy_log)
            roles.setdefault(haproxy_log, "haproxy")
    dep.log_sources = list(dict.fromkeys(dep.log_sources))
    for target in dep.log_sources:
        kind, _, value = target.partition(":")
        name = f"{kind} {value}"
        role = roles.get(target, "container" if kind == "ctrlog" else "glance")
        facts.log_sources[name] = LogSource(name=name, role=role, error="not read yet")


def _keystone_runs_here(facts: HostFacts) -> bool:
    """A Keystone process in the host's own mount namespace (another node's or a container's is not
    this host's to read)."""
    return any(re.search(r"(^|[/ ])keystone([-/. ]|$)|keystone\.wsgi", p.args) and not p.glance_api
               and (not facts.mount_ns or p.mntns in ("", facts.mount_ns)) for p in facts.processes)


def _uwsgi_log(facts: HostFacts) -> str | None:
    ini = facts.uwsgi_ini
    if not ini or ini not in facts.files:
        return None
    try:
        opts = uwsgi.parse_ini(facts.files[ini], source=ini)
    except Exception:  # noqa: BLE001 - an unreadable ini names no log; the timeout check says why
        return None
    return opts.logto or opts.daemonize


# ------------------------------------------------------------------ phase two
def store_dirs(config: GlanceConfig) -> dict[str, str]:
    """Every directory glance writes image data to, keyed by a readable role."""
    dirs: dict[str, str] = {}
    for store in config.stores:
        if store.type == "file":
            for d in store.datadirs:
                dirs.setdefault(d.rstrip("/") or "/", store.name)
    for role, setting in (("staging", config.staging), ("tasks", config.tasks),
                          ("image-cache", config.image_cache)):
        if setting is not None and setting.path:
            dirs.setdefault(setting.path.rstrip("/") or "/", role)
    return dirs


def staging_dir(config: GlanceConfig) -> str | None:
    """The staging store's dir, as store_dirs keys it (None: not a local dir)."""
    path = config.staging.path if config.staging else None
    return (path.rstrip("/") or "/") if path else None


def image_cache_dir(config: GlanceConfig) -> str | None:
    """The image cache's dir as store_dirs keys it, when the paste flavor turns the cache on."""
    path = config.image_cache.path if config.caching_enabled and config.image_cache else None
    return (path.rstrip("/") or "/") if path else None


def file_store_dirs(config: GlanceConfig) -> list[str]:
    """The datadirs of the file stores: the dirs whose files the probe lists (image data or not)."""
    return [d.rstrip("/") or "/" for s in config.stores if s.type == "file" for d in s.datadirs]


CINDER_RBD_USER = "cinder"  # the Ceph user of Cinder's RBD backend whose keyring os-brick reads (rbd_user)


def cinder_targets(config, config_path: str | None) -> list[dict]:
    """What the probe tests as the worker user for each cinder store: the keyring os-brick's RBD
    connector reads (/etc/ceph/ceph.client.<rbd_user>.keyring) and the rootwrap config it passes to sudo."""
    return [{"name": s.name, "keyring": f"/etc/ceph/ceph.client.{CINDER_RBD_USER}.keyring",
             "rootwrap_config": s.options.get("rootwrap_config", "/etc/glance/rootwrap.conf"),
             "config_file": config_path or "/etc/glance/glance-api.conf"}
            for s in config.stores if s.type == "cinder"]


def rbd_targets(config: GlanceConfig) -> list[dict]:
    """One probe target per rbd store: its name, pool, cephx user, ceph conf and keyring (data)."""
    return [{"name": s.name, "pool": s.pool or "images", "user": s.effective_rbd_user or "admin",
             "conf": s.ceph_conf or "/etc/ceph/ceph.conf", "keyring": s.keyring or ""}
            for s in config.stores if s.type == "rbd"]


def parse_dir(path: str, info: dict, access: dict | None = None, access_user: str | None = None) -> DirFacts:
    """A store dir as the probe saw it; `access` is the worker user's own test ({write_rc, search_rc})."""
    if not isinstance(info, dict) or "error" in info or "type" not in info:
        error = info.get("error") if isinstance(info, dict) else None
        return DirFacts(path=path, exists=False, error=_str(error) or "missing")
    f = DirFacts(path=path, exists=True, kind=_str(info.get("type")), owner=_str(info.get("owner")),
                 group=_str(info.get("group")), mode=_str(info.get("mode")), fstype=info.get("fstype"),
                 device=info.get("device"), mount=info.get("mount"), uid=_int(info.get("uid"), None),
                 gid=_int(info.get("gid"), None),
                 mount_options=tuple(o for o in _list(info.get("mount_options")) if isinstance(o, str)),
                 parents=tuple(_parent(p) for p in _list(info.get("parents")) if isinstance(p, dict)))
    sizes = [_int(info.get(k), None) for k in ("bsize", "blocks", "bfree", "bavail", "files", "ffree")]
    if None not in sizes:
        bsize, blocks, bfree, bavail, files, ffree = sizes
        f.total_bytes, f.avail_bytes, f.used_bytes = blocks * bsize, bavail * bsize, (blocks - bfree) * bsize
        f.files_total, f.files_free = files, ffree
    f.listing = store_space.parse_listing(info.get("listing"))
    f.dev, f.ino, f.fsid = (_int(info.get(k), None) for k in ("dev", "ino", "fsid"))
    f.mount_root = _str(info.get("mount_root")) or None
    f.entries = staging.parse_entries(info.get("entries"))
    if isinstance(access, dict) and access_user:
        f.access_user = access_user
        f.writable, f.searchable = access.get("write_rc") == 0, access.get("search_rc") == 0
        f.blocked_at = _str(access.get("blocked_at")) or None
    return f


def _parent(info: dict) -> dict:
    """One parent directory as the probe stat'ed it (strings and ids only)."""
    out = {k: _str(info.get(k)) for k in ("path", "owner", "group", "mode", "error") if info.get(k) is not None}
    if out.get("mode") and not re.fullmatch(r"[0-7]{1,5}", out["mode"]):
        out.pop("mode")
    out.update({k: _int(info.get(k), None) for k in ("uid", "gid") if info.get(k) is not None})
    return out


def gather_stores_and_logs(facts: HostFacts, doc: dict) -> None:
    """Phase two's answer into facts: store dirs, log sources (read or failed), rbd stores, files."""
    if not isinstance(doc, dict):
        raise ValueError("the probe's answer is not a JSON object")
    facts.probe_errors += [f"{e.get('step')}: {e.get('error')}" for e in _list(doc.get("errors")) if isinstance(e, dict)]
    facts.boot_id = _str(doc.get("boot_id")).strip()[:64]
    dir_roles = store_dirs(facts.config) if facts.config else {}
    clock = _dict(doc.get("clock"))
    try:
        facts.clock_local = datetime.strptime(_str(clock.get("local")), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        facts.clock_local = None
    worker = doc.get("worker") if isinstance(doc.get("worker"), dict) else {}
    worker_user = _str(worker.get("user")) or None
    if worker.get("error"):
        facts.probe_errors.append(f"as the worker user: {worker['error']}")
    access = worker.get("dirs") if isinstance(worker.get("dirs"), dict) else {}
    for path, info in _dict(doc.get("dirs")).items():
        facts.dirs[path] = parse_dir(path, info, access.get(path), worker_user)
        if facts.dirs[path].access_user is None:
            facts.dirs[path].access_error = _access_error(facts, worker)
    for src in _list(doc.get("logs")):
        if isinstance(src, dict) and isinstance(src.get("name"), str):
            _add_log(facts, src)
    facts.files.update(_text_map(doc.get("files")))
    facts.file_errors.update(_text_map(doc.get("file_errors")))
    facts.cinder = {k: v for k, v in (doc.get("cinder") or {}).items() if isinstance(v, dict)} \
        if isinstance(doc.get("cinder"), dict) else {}
    facts.rbd = rbd.from_probe(doc.get("rbd"), worker.get("rbd"), worker_user, worker.get("error"))
    facts.pruner_schedule = image_cache.parse_schedule(doc.get("pruner_schedule"))
    if isinstance(doc.get("haproxy_stats"), dict):
        stats = doc["haproxy_stats"]
        facts.haproxy_stats = {k: _str(stats[k]) for k in ("socket", "text", "error") if k in stats}
    facts.dirs = {p: facts.dirs[p] for p in dir_roles if p in facts.dirs} | {
        p: d for p, d in facts.dirs.items() if p not in dir_roles}


def _access_error(facts: HostFacts, worker: dict) -> str:
    """Why the worker user's own access test did not run, in true words."""
    dep = facts.deployment
    if worker.get("error"):
        why = _str(worker["error"])
        if dep and dep.style == "container" and not dep.running:
            return f"the {dep.container} container is not running ({why})"
        return why
    if facts.privilege == "none":
        return "needs root or sudo"
    return "the probe did not run the worker user's test"


def _add_log(facts: HostFacts, src: dict) -> None:
    name = src["name"]
    source = facts.log_sources.get(name) or LogSource(name=name, role="glance")
    facts.log_sources[name] = source
    if not src.get("read"):
        source.read, source.error = False, _str(src.get("error")) or "not read"
        facts.log_notes.append(f"{name}: {source.error}")
        return
    source.read, source.error, source.note = True, None, _str(src.get("note")) or None
    facts.log_sources_read.append(name)
    if source.note:
        facts.log_notes.append(f"{name}: {source.note}")
    fresh = bool(src.get("fresh"))
    for item in _list(src.get("lines")):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            continue
        stamp, text = item
        if not text.strip():
            continue
        if source.role == "haproxy" and haproxy.states_from_log([text], name):
            facts.haproxy_state_lines.append((name, text))  # HAProxy's state, not a fault line
            continue
        line = logscan.parse_stamped(name, f"{stamp}\t{text}")
        if line.when is None and not fresh:
            continue
        if line.when is None:
            line = logscan.LogLine(line.source, line.text, facts.clock_local)
        facts.log_lines.append(line)


# ------------------------------------------------------------------ driver
def _log_targets(dep: Deployment) -> list[dict]:
    targets = []
    for target in dep.log_sources:
        kind, _, value = target.partition(":")
        targets.append({"kind": kind, "path": value} if kind == "log" else {"kind": kind, "name": value})
    return targets


def discover_request(window_minutes: int) -> dict:
    return {"phase": "discover", "window_minutes": window_minutes, "worker_users": ["glance"],
            "container_name": "glance_api"}


def stores_request(facts: HostFacts, window_minutes: int) -> dict:
    """Phase two's request, from the client-side parse of phase one."""
    dep = facts.deployment
    config = facts.config
    return {
        "phase": "stores_and_logs", "window_minutes": window_minutes,
        # no running glance-api to take its user from: the packaging's user, never root
        "worker_user": (dep.worker_user if dep else None) or "glance",
        "container": dep.exec_container if dep else "", "runtime": (dep.runtime or "") if dep else "",
        "patterns": logscan.host_filter_patterns(),
        "keywords": logscan.host_filter_keywords(),
        "dirs": list(store_dirs(config)) if config else [],
        "list_dirs": (file_store_dirs(config) + ([cache] if (cache := image_cache_dir(config)) else [])) if config else [],
        "pruner_schedule": bool(config and image_cache_dir(config)),
        "entry_dirs": [staging_dir(config)] if config and staging_dir(config) else [],
        "rbd": rbd_targets(config) if config else [],
        "cinder": cinder_targets(config, dep.config_path if dep else None) if config else [],
        "files": [s.swift_config_file for s in (config.stores if config else [])
                  if s.type == "swift" and s.swift_config_file],
        "logs": _log_targets(dep) if dep else [],
        "haproxy_sockets": _haproxy_sockets(facts),
    }


def _haproxy_sockets(facts: HostFacts) -> list[str]:
    """The stats sockets this host's haproxy.cfg declares (none when it has no readable one)."""
    if not facts.haproxy_cfg:
        return []
    path, text = facts.haproxy_cfg
    try:
        return haproxy.stats_sockets(haproxy.parse(text, source=path))
    except haproxy.HaproxyError:
        return []


def gather(spec: HostSpec, host, window: timedelta, timeout: int = 60) -> HostFacts:
    """Both phases against one testinfra host; errors become facts.error, never exceptions."""
    started = time.monotonic()
    facts = HostFacts(spec=spec, window=window)
    minutes = max(1, int(window.total_seconds() // 60))
    try:
        doc = transport.round_trip(host, discover_request(minutes), timeout=timeout)
        facts.round_trips += 1
        if spec is not None and spec.scheme in ("docker", "podman"):
            doc["container_outside"] = transport.inspect_from_outside(host, spec.scheme)
            if isinstance(doc.get("kernel"), dict) and doc["kernel"].get("error"):
                doc["kernel"] = container_kernel(doc, transport.kernel_from_outside(host, minutes, timeout))
        discover(facts, doc)
        doc = transport.round_trip(host, stores_request(facts, minutes), timeout=timeout)
        facts.round_trips += 1
        gather_stores_and_logs(facts, doc)
    except HostUnreachable as exc:
        facts.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one host's odd answer fails that host, never the run
        facts.error = f"the probe's answer could not be understood: {type(exc).__name__}: {str(exc)[:300]}"
    facts.seconds = time.monotonic() - started
    return facts


def container_kernel(doc: dict, outside: dict | None) -> dict:
    """The kernel log as seen from a container's host, narrowed to this container: an OOM kill
    names the killed task's memory cgroup (`task_memcg=/machine.slice/libpod-<id>.scope`), and
    only kills inside this container's cgroup are its own (the host's and other containers' are
    not). Without an outside read, the inside reason stands."""
    inside = doc.get("kernel") or {}
    seen = (doc.get("container_outside") or {}).get("inspect") or {}
    cid = seen.get("Id") if isinstance(seen, dict) else None
    if not isinstance(outside, dict) or outside.get("error") or not isinstance(outside.get("lines"), list) \
            or not isinstance(cid, str) or len(cid) < 12:
        reason = (outside or {}).get("error") if isinstance(outside, dict) else None
        return {"error": f"{inside.get('error')}" + (f"; on the container's host: {reason}" if reason else "")}
    lines = [line for line in outside["lines"] if isinstance(line, str) and cid in line]
    return {"source": f"{outside.get('source')} on the container's host (lines of container {cid[:12]})",
            "lines": lines}


def request_lines(facts: HostFacts, host, request_id: str, timeout: int = 30) -> list[str]:
    """Every log line on this host that carries one request id (the runbook's step 2)."""
    dep = facts.deployment
    if not dep or facts.error:
        return []
    doc = transport.round_trip(host, {"phase": "request_lines", "needle": request_id,
                                      "container": dep.exec_container, "runtime": dep.runtime or "",
                                      "logs": _log_targets(dep)}, timeout=timeout)
    facts.round_trips += 1
    return [f"{src['name']}: {item[1]}" for src in _list(doc.get("logs")) if isinstance(src, dict)
            for item in _list(src.get("lines")) if isinstance(item, list) and len(item) == 2
            and isinstance(item[1], str) and item[1].strip()]


def _gate_config(facts: HostFacts) -> str:
    dep = facts.deployment
    return "/etc/glance/glance-api.conf" if dep and dep.exec_container else (
        (dep.config_path if dep else None) or "/etc/glance/glance-api.conf")


def _host_local_database(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return True
    return (not url or parts.scheme.startswith("sqlite") or "unix_socket" in parts.query
            or host in ("", "localhost", "::1") or host.startswith("127."))


def gate_key(facts: HostFacts) -> str | None:
    """What the gate's result depends on: the tools and the glance release (or the container's
    image), the config file they read (the database URL is in it) and the policy files. Hosts
    with the same key would get the same answer; None when that cannot be told (then it runs)."""
    dep = facts.deployment
    if facts.error or dep is None or facts.config is None:
        return None
    conf = _gate_config(facts)
    text = facts.files.get(f"container:{conf}" if dep.exec_container else conf)
    if text is None:
        return None
    if dep.exec_container:
        if not dep.image:
            return None
        tools = [f"image={dep.image}"]
    else:
        tools = facts.gate_tools
        if not any(line.startswith("glance-manage=") for line in tools) or not any(
                line.startswith("python=") and not line.endswith("glance=") for line in tools):
            return None
    db = facts.config.get("database", "connection") or ""
    material = json.dumps({"tools": tools, "worker_user": dep.worker_user, "config": conf, "text": _node_neutral(text),
                           "local_db_on": _local_database_scope(facts, db)})
    return hashlib.sha256(material.encode()).hexdigest()


def _local_database_scope(facts: HostFacts, db: str) -> list:
    """Where a database only this machine reaches is the same one: a file or a unix socket within
    one mount namespace, a loopback address within one network namespace, of one running kernel
    (namespaces and hostnames of two machines may coincide; a boot id does not). [] for a remote one."""
    if not _host_local_database(db):
        return []
    if not facts.net_ns or not facts.boot_id:  # an older probe's answer: one host, one database
        return [facts.hostname, facts.mount_ns]
    try:
        parts = urlsplit(db)
        host = parts.hostname or ""
    except ValueError:
        return [facts.hostname, facts.mount_ns]
    if parts.scheme.startswith("sqlite") or "unix_socket" in parts.query:
        return [facts.boot_id, "mnt", facts.mount_ns]
    if host.startswith("127.") or host == "::1":
        return [facts.boot_id, "net", facts.net_ns]
    return [facts.boot_id, "mnt", facts.mount_ns, "net", facts.net_ns]  # localhost: a socket or TCP


# Options whose value names the node itself: Glance's docs ask for a different one on every node, and
# the gate reads only their names (an unknown or misplaced option), never their values (a StrOpt,
# nothing to validate). Without this, every controller of a fleet ran the gate once of its own.
_NODE_IDENTITY = re.compile(r"^(\s*worker_self_reference_url\s*[=:]).*$", re.M)


def _node_neutral(text: str) -> str:
    return _NODE_IDENTITY.sub(r"\1 <this node>", text)


def _gate_request(facts: HostFacts, commands: list[str], programs: list[dict]) -> dict:
    dep = facts.deployment
    return {"phase": "gate", "config": _gate_config(facts), "commands": commands, "programs": programs,
            "worker_user": (dep.worker_user if dep else None) or "glance",
            "container": dep.exec_container if dep else "", "runtime": (dep.runtime if dep else None) or ""}


# glance-status upgrade check is not run: it crashes on multistore clouds; glance_hc/probe/gate_check.py
# runs its checks (program rides along in `programs`), see glance_hc/gate.py
GATE_COMMANDS = ["glance-manage db check"]


def gate_results(facts: HostFacts, host, timeout: int = 300,
                 programs: list[dict] | None = None) -> dict[str, tuple[int, str]]:
    """glance-manage db check and glance-status upgrade check, run once per host when asked.

    `programs` ({program, argv, timeout}) ride along in the same round trip: each is run with
    glance's interpreter as the worker user; their results land in facts.worker_python.
    """
    if facts.gate is None:
        doc = transport.round_trip(host, _gate_request(facts, GATE_COMMANDS, programs or []), timeout=timeout)
        facts.round_trips += 1
        results = {}
        for name, got in _dict(doc.get("gate")).items():
            if isinstance(got, dict):
                results[name] = (_int(got.get("rc"), -1), _str(got.get("output")).strip())
        for error in _list(doc.get("errors")):
            if isinstance(error, dict):
                results.setdefault("error", (-1, f"{error.get('step')}: {error.get('error')}"))
        facts.gate = results
        facts.worker_python = [_python_result(r) for r in _list(doc.get("python"))]
    return facts.gate


def _python_result(got) -> dict:
    got = got if isinstance(got, dict) else {}
    return {"rc": _int(got.get("rc"), -1), "stdout": _str(got.get("stdout")), "stderr": _str(got.get("stderr"))}


def run_as_worker_python(facts: HostFacts, host, program_text: str, argv: list[str] | tuple[str, ...] = (),
                         timeout: int = 60) -> dict:
    """Run a Python program with glance's own interpreter (glance-manage's shebang; a container's
    python3) AS THE WORKER USER on the host, `[py, '-I', '-c', program, *argv]`: {rc, stdout, stderr}.

    One round trip. Never as root: without root or sudo only the worker user itself can run it.
    """
    if facts.error or facts.deployment is None:
        raise HostUnreachable(f"cannot look at {facts.name}: {facts.error or 'no glance-api found'}")
    program = {"program": program_text, "argv": [str(a) for a in argv], "timeout": int(timeout)}
    doc = transport.round_trip(host, _gate_request(facts, [], [program]), timeout=int(timeout) + 30)
    facts.round_trips += 1
    results = _list(doc.get("python"))
    if not results:
        errors = "; ".join(f"{e.get('step')}: {e.get('error')}" for e in _list(doc.get("errors")) if isinstance(e, dict))
        return {"rc": -1, "stdout": "", "stderr": errors or "the probe ran no program"}
    return _python_result(results[0])
