"""A host's facts, gathered once per run in two batched remote calls.

Phase one finds how glance-api runs (systemd unit, uWSGI process, Kolla
container), reads its config files, haproxy.cfg, memory and the kernel's OOM
lines. Phase two, driven by the parsed config, looks at every store directory
(room, owner, access as the worker user) and at the log sources, filtered on
the remote side to the lines any root cause cares about.
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from glance_hc import logscan, probe_scripts, rbd, uwsgi
from glance_hc.config import ConfigError, GlanceConfig
from glance_hc.hosts import HostSpec

SECTION = re.compile(r"^@@hc@@ (.*)$")


class HostUnreachable(RuntimeError):
    """The host could not be reached or the probe could not run there."""


def split_sections(output: str) -> list[tuple[str, str]]:
    """`@@hc@@ name` lines open sections; a name may repeat (one per file)."""
    sections: list[tuple[str, list[str]]] = []
    for line in output.splitlines():
        m = SECTION.match(line)
        if m:
            sections.append((m.group(1), []))
        elif sections:
            sections[-1][1].append(line)
    return [(name, "\n".join(body).strip("\n")) for name, body in sections]


def kv(text: str) -> dict[str, str]:
    """`a=1 b=two` (one or many lines) into a dict."""
    out = {}
    for token in shlex.split(text, posix=True) if text else []:
        if "=" in token:
            k, v = token.split("=", 1)
            out[k] = v
    return out


@dataclass
class Process:
    pid: int
    ppid: int
    user: str
    elapsed_s: int
    rss_kib: int
    args: str


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
        parts = [f"{self.path}: {self.kind}, owner {self.owner}:{self.group} mode {self.mode}"]
        if self.total_bytes is not None:
            parts.append(f"{self.fstype} {self.device} on {self.mount}: "
                         f"{self.used_bytes} used / {self.avail_bytes} available of {self.total_bytes} bytes")
        if self.files_total:
            parts.append(f"inodes {self.files_free} free of {self.files_total}")
        if self.access_user:
            parts.append(f"as {self.access_user}: write={'yes' if self.writable else 'no'} "
                         f"search={'yes' if self.searchable else 'no'}")
        return "; ".join(parts)


@dataclass
class HostFacts:
    spec: HostSpec
    error: str | None = None
    user: str | None = None
    privilege: str | None = None        # root | sudo | none
    hostname: str | None = None
    mount_ns: str | None = None  # the probe's own mount namespace, to tell containers' processes apart
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
    log_lines: list[logscan.LogLine] = field(default_factory=list)
    log_notes: list[str] = field(default_factory=list)
    log_sources_read: list[str] = field(default_factory=list)
    clock_local: datetime | None = None
    window: timedelta = timedelta(hours=1)
    round_trips: int = 0
    seconds: float = 0.0
    gate: dict[str, tuple[int, str]] | None = None  # command -> (exit code, output), on demand
    gate_tools: list[str] = field(default_factory=list)  # the gate's tools, release and policy files
    gate_shared_with: str | None = None  # the host whose gate run this one shares (same gate_key)

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
    def uwsgi_ini(self) -> str | None:
        """The glance-api uWSGI ini: from the process, else the usual places."""
        dep = self.deployment
        if dep and dep.uwsgi_ini_path:
            return dep.uwsgi_ini_path
        for path in ("/etc/glance/glance-api-uwsgi.ini", "/etc/glance/glance-uwsgi.ini"):
            if path in self.files:
                return path
        return None

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
def parse_processes(text: str) -> list[Process]:
    procs = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[0].isdigit():
            procs.append(Process(int(parts[0]), int(parts[1]), parts[2], int(parts[3] or 0),
                                 int(parts[4] or 0), parts[5]))
    return procs


def parse_systemd(text: str) -> list[dict[str, str]]:
    units, current = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                units.append(current)
            current = {}
        elif "=" in line:
            k, v = line.split("=", 1)
            current[k] = v
    return [u for u in units if u.get("LoadState") == "loaded"]


def parse_container(text: str) -> tuple[str | None, dict]:
    if not text.strip():
        return None, {}
    first, _, rest = text.partition("\n")
    runtime = first.split("=", 1)[1] if first.startswith("runtime=") else None
    try:
        data = json.loads(rest)
    except ValueError:
        return runtime, {}
    if isinstance(data, list):
        data = data[0] if data else {}
    return runtime, data


def parse_meminfo(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+):\s+(\d+)(?: kB)?$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2)) * (1024 if line.strip().endswith("kB") else 1)
    return out


def glance_processes(procs: list[Process]) -> list[Process]:
    return [p for p in procs if re.search(r"glance-api|glance\.wsgi|glance-api-uwsgi|glance-uwsgi", p.args)]


def discover(facts: HostFacts, sections: list[tuple[str, str]]) -> None:
    procenv: dict[int, dict[str, str]] = {}
    current = None
    systemd_units: list[dict[str, str]] = []
    runtime, container, inside = None, {}, False
    for name, body in sections:
        if name == "whoami":
            info = kv(body)
            facts.user, facts.privilege, facts.hostname = info.get("user"), info.get("priv"), info.get("host")
            facts.mount_ns = info.get("mntns") or None
        elif name == "systemd":
            systemd_units = parse_systemd(body)
        elif name == "container":
            runtime, container = parse_container(body)
        elif name == "container-outside":  # added by gather() for a docker:// or podman:// host
            runtime, container = parse_container(body)
            inside = bool(container)
        elif name == "ps":
            facts.processes = parse_processes(body)
        elif name == "procenv":
            for line in body.splitlines():
                if line.startswith("pid="):
                    current = int(line[4:])
                    procenv[current] = {}
                elif current is not None and "=" in line:
                    k, v = line.split("=", 1)
                    procenv[current][k] = v
        elif name.startswith("file "):
            facts.files[name[5:]] = body
        elif name.startswith("file-error "):
            facts.file_errors[name[11:]] = body
        elif name == "gate-tools":
            facts.gate_tools = [line.strip() for line in body.splitlines() if line.strip()]
        elif name == "meminfo":
            facts.meminfo = parse_meminfo(body)
        elif name == "kernel":
            if body.startswith("@@skip"):
                facts.kernel_error = body[7:].strip()
            else:
                # only kills of the processes that serve uploads
                facts.kernel_lines = [logscan.parse_stamped("kernel", line)
                                      for line in body.splitlines()
                                      if re.search(r"glance|uwsgi|python", line, re.I)]
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
        main_pid = int(unit.get("MainPID") or 0)
        active = unit.get("ActiveState") == "active"
        workers = [p for p in procs if p.ppid == main_pid]
        return Deployment(
            style="systemd", unit=unit.get("Id", "").removesuffix(".service"), running=active,
            restarts=int(unit.get("NRestarts") or 0), master_pid=main_pid or None,
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
        master = by_pid.get(state.get("Pid") or -1)
    workers = [p for p in procs if master and p.ppid == master.pid]
    # inside, ps names the workers' user; outside it may only show a uid the host does not know
    user = (workers[0].user if inside and workers else None) or (
        container.get("Config", {}) or {}).get("User") or "glance"
    name = container.get("Name", "glance_api").lstrip("/")
    seen = f"; seen from inside: master pid {master.pid}, {len(workers)} workers" if inside and master else ""
    return Deployment(
        style="container", runtime=runtime, container=name, inside=inside, image=container.get("Image"),
        running=running and (master is not None or not inside), container_state=state,
        worker_user=user.split(":")[0], restarts=container.get("RestartCount"),
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
        facts.config = GlanceConfig.parse(facts.files[path], source=path)
    except ConfigError as exc:
        facts.config_error = str(exc)


def _log_sources(facts: HostFacts) -> None:
    """Where glance-api logs: the config's log_file, else the packaging default."""
    dep = facts.deployment
    if dep is None:
        return
    if dep.style == "container":
        # Kolla: glance's log_file and uWSGI's logto2 in /var/log/kolla/glance, read in the container
        logs = [f"log:{facts.config.log_path()}"] if facts.config and facts.config.log_path() else []
        uwsgi_log = _uwsgi_log(facts)
        logs += [f"log:{uwsgi_log}"] if uwsgi_log else []
        dep.log_sources = list(dict.fromkeys(logs + dep.log_sources))
        return
    log = (facts.config.log_path() if facts.config else None) or "/var/log/glance/glance-api.log"
    dep.log_sources = [f"log:{log}"] + dep.log_sources
    if dep.style in ("uwsgi", "process"):
        dep.log_sources.append(f"log:{_uwsgi_log(facts) or '/var/log/glance/glance-api-uwsgi.log'}")
    if facts.haproxy_cfg:
        kolla = facts.haproxy_cfg[0].startswith("/etc/kolla")
        dep.log_sources.append("log:/var/log/kolla/haproxy/haproxy.log" if kolla
                               else "log:/var/log/haproxy/haproxy.log")


def _uwsgi_log(facts: HostFacts) -> str | None:
    ini = facts.uwsgi_ini
    if not ini or ini not in facts.files:
        return None
    try:
        opts = uwsgi.parse_ini(facts.files[ini], source=ini)
    except uwsgi.UwsgiError:
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


def rbd_targets(config: GlanceConfig) -> list[str]:
    """One `rbd:NAME|POOL|USER|CONF|KEYRING` probe target per rbd store."""
    return ["rbd:" + "|".join([s.name, s.pool or "images", s.effective_rbd_user or "admin",
                               s.ceph_conf or "/etc/ceph/ceph.conf", s.keyring or ""])
            for s in config.stores if s.type == "rbd"]


def parse_dir(path: str, body: str) -> DirFacts:
    info = kv(body.replace("\n", " "))
    if "error" in info or "type" not in info:
        return DirFacts(path=path, exists=False, error=info.get("error") or body.strip() or "missing")
    f = DirFacts(path=path, exists=True, kind=info.get("type"), owner=info.get("owner"),
                 group=info.get("group"), mode=info.get("mode"), fstype=info.get("fstype"),
                 device=info.get("device"), mount=info.get("mount"), access_user=info.get("as_user"))
    if "blocks" in info:
        bsize = int(info["bsize"])
        f.total_bytes = int(info["blocks"]) * bsize
        f.avail_bytes = int(info["bavail"]) * bsize
        f.used_bytes = (int(info["blocks"]) - int(info["bfree"])) * bsize
        f.files_total = int(info["files"])
        f.files_free = int(info["ffree"])
    if "write_rc" in info:
        w, x = int(info["write_rc"]), int(info["search_rc"])
        if w == 99:
            f.access_user = None  # could not switch user: access unknown
        else:
            f.writable, f.searchable = w == 0, x == 0
    return f


def gather_stores_and_logs(facts: HostFacts, sections: list[tuple[str, str]]) -> None:
    dir_roles = store_dirs(facts.config) if facts.config else {}
    for name, body in sections:
        if name == "clock":  # `local=2026-01-01 12:00:00`: the value holds a space, kv() would split it
            m = re.search(r"local=(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", body)
            facts.clock_local = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S") if m else None
        elif name.startswith("dir "):
            path = name[4:]
            facts.dirs[path] = parse_dir(path, body)
        elif name.startswith(("log ", "unit ", "ctrlog ")):
            _add_log(facts, name, body)
        elif name.startswith("file "):  # files the config points to (a swift store's references)
            facts.files[name[5:]] = body
        elif name.startswith("file-error "):
            facts.file_errors[name[11:]] = body
    facts.rbd = rbd.parse_sections(sections)
    facts.dirs = {p: facts.dirs[p] for p in dir_roles if p in facts.dirs} | {
        p: d for p, d in facts.dirs.items() if p not in dir_roles}


def _add_log(facts: HostFacts, name: str, body: str) -> None:
    lines = body.splitlines()
    if lines and lines[0] == "@@missing":
        facts.log_notes.append(f"{name}: missing or unreadable")
        return
    facts.log_sources_read.append(name)
    fresh = False
    if lines and lines[0].startswith("@@meta"):
        meta = kv(lines.pop(0)[7:])
        mtime = int(meta.get("mtime", 0))
        fresh = time.time() - mtime < facts.window.total_seconds()
        size = int(meta.get("size", 0))
        if size > 8 * 1024 * 1024:
            facts.log_notes.append(f"{name}: {size} bytes, only the last 8 MiB read")
    for raw in lines:
        if raw.strip():
            line = logscan.parse_stamped(name, raw)
            if line.when is None and not fresh:
                continue
            if line.when is None:
                line = logscan.LogLine(line.source, line.text, facts.clock_local)
            facts.log_lines.append(line)


# ------------------------------------------------------------------ driver
def run_script(host, script: str, *args: str, timeout: int = 60) -> str:
    """One round trip: the script runs under `timeout`, its arguments quoted by testinfra."""
    placeholders = " ".join(["%s"] * (len(args) + 1))
    cmd = f"timeout {int(timeout)} sh -c %s hc-probe {placeholders}".strip()
    try:
        result = host.run(cmd, probe_scripts.ELEVATE, script, *args)
    except RuntimeError as exc:  # ssh exit 255: could not connect
        raise HostUnreachable(_ssh_reason(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any backend failure means we cannot look
        raise HostUnreachable(f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}") from None
    # files on the host may hold anything (a garbage config is binary): never fail on decoding
    stdout = result.stdout_bytes.decode("utf-8", "replace")
    if result.rc == 124:
        raise HostUnreachable(f"the probe did not finish within {timeout}s")
    if result.rc not in (0, 1) and "@@hc@@" not in stdout:
        stderr = result.stderr_bytes.decode("utf-8", "replace")
        raise HostUnreachable(f"probe failed (exit {result.rc}): {stderr.strip()[-300:]}")
    return stdout


def _ssh_reason(exc: RuntimeError) -> str:
    arg = exc.args[0] if exc.args else exc
    stderr = getattr(arg, "stderr", "") or str(arg)
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return "ssh failed: " + (lines[-1] if lines else "exit 255")


def _inspect_from_outside(host, runtime: str) -> list[tuple[str, str]]:
    """A docker:// or podman:// host runs the probe inside the container, where the runtime's view
    (restart count, health, OOM kill) cannot be seen; testinfra's backend runs the runtime on this
    machine, so `<runtime> inspect` can run here too. Nothing found: the inside view alone."""
    name = getattr(host.backend, "name", None)
    if not name:
        return []
    try:
        out = host.backend.run_local(f"timeout 15 {runtime} inspect --type container %s", name)
    except Exception:  # noqa: BLE001 - the inside view still stands
        return []
    stdout = out.stdout_bytes.decode("utf-8", "replace") if out.rc == 0 else ""
    return [("container-outside", f"runtime={runtime}\n{stdout}")] if stdout.strip() else []


def gather(spec: HostSpec, host, window: timedelta, timeout: int = 60) -> HostFacts:
    """Both phases against one testinfra host; errors become facts.error, never exceptions."""
    started = time.monotonic()
    facts = HostFacts(spec=spec, window=window)
    minutes = str(max(1, int(window.total_seconds() // 60)))
    try:
        out = run_script(host, probe_scripts.DISCOVER, minutes, timeout=timeout)
        facts.round_trips += 1
        sections = split_sections(out)
        if spec.scheme in ("docker", "podman"):
            sections += _inspect_from_outside(host, spec.scheme)
        discover(facts, sections)
        dep = facts.deployment
        targets = [f"dir:{d}" for d in (store_dirs(facts.config) if facts.config else {})]
        targets += rbd_targets(facts.config) if facts.config else []
        targets += [f"file:{s.swift_config_file}" for s in (facts.config.stores if facts.config else [])
                    if s.type == "swift" and s.swift_config_file]
        targets += dep.log_sources if dep else []
        out = run_script(
            host, probe_scripts.STORES_AND_LOGS, minutes, (dep.worker_user or "") if dep else "",
            dep.exec_container if dep else "",
            (dep.runtime or "") if dep else "", logscan.combined_pattern(), *targets, timeout=timeout)
        facts.round_trips += 1
        gather_stores_and_logs(facts, split_sections(out))
    except HostUnreachable as exc:
        facts.error = str(exc)
    facts.seconds = time.monotonic() - started
    return facts


def request_lines(facts: HostFacts, host, request_id: str, timeout: int = 30) -> list[str]:
    """Every log line on this host that carries one request id (the runbook's step 2)."""
    dep = facts.deployment
    if not dep or facts.error:
        return []
    out = run_script(host, probe_scripts.REQUEST_LINES, request_id,
                     dep.exec_container, dep.runtime or "",
                     *dep.log_sources, timeout=timeout)
    facts.round_trips += 1
    return [f"{name}: {line}" for name, body in split_sections(out) if name != "end"
            for line in body.splitlines() if line.strip()]


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
    # a database only this machine reaches (sqlite, a local socket) is not shared between machines
    local = _host_local_database(db)
    where = [facts.hostname, facts.mount_ns] if local else []
    material = json.dumps({"tools": tools, "worker_user": dep.worker_user, "config": conf, "text": text,
                           "local_db_on": where})
    return hashlib.sha256(material.encode()).hexdigest()


def gate_results(facts: HostFacts, host, timeout: int = 300) -> dict[str, tuple[int, str]]:
    """glance-manage db check and glance-status upgrade check, run once per host when asked."""
    if facts.gate is None:
        dep = facts.deployment
        container = dep.exec_container if dep else ""
        out = run_script(host, probe_scripts.GATE, _gate_config(facts),
                         (dep.worker_user if dep else None) or "glance", container or "",
                         (dep.runtime if dep else None) or "", timeout=timeout)
        facts.round_trips += 1
        results = {}
        for name, body in split_sections(out):
            if name.startswith("gate "):
                first, _, rest = body.partition("\n")
                rc = int(first.split("=", 1)[1]) if first.startswith("@@rc=") else -1
                results[name[5:]] = (rc, rest.strip())
        facts.gate = results
    return facts.gate
