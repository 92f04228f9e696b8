"""A real single-node Ceph for the lab's rbd store: one mon, one mgr, one memstore OSD.

Debian's Ceph 16 packages, run by hand (no cephadm, no systemd) on 127.0.0.5 with
everything under the lab's state folder: its own ceph.conf, keyrings, data, logs
and pid files. The controllers get only what a real Glance node gets: a client
ceph.conf and the `client.glance` keyring (rbd profile on the `images` pool),
plus the admin keyring that many deployments leave on controllers, so the caps
check has something to read.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from lab.common import STATE, output, pid_alive, read_pid, template

CEPH = STATE / "ceph"
CONF = CEPH / "ceph.conf"
ADMIN_KEYRING = CEPH / "ceph.client.admin.keyring"
CLIENT = CEPH / "client"           # what the controllers get under /etc/ceph
MON_ADDR = "127.0.0.5"
POOL = "images"
USER = "glance"
GLANCE_CAPS = ["mon", "profile rbd", "osd", f"profile rbd pool={POOL}", "mgr", f"profile rbd pool={POOL}"]
PACKAGES = {"ceph-mon": "ceph-mon", "ceph-mgr": "ceph-mgr", "ceph-osd": "ceph-osd", "ceph": "ceph-common",
            "rbd": "ceph-common"}
DAEMONS = (("mon", "a"), ("mgr", "x"), ("osd", "0"))
MEMSTORE_BYTES = 1024 * 1024 * 1024


class CephError(RuntimeError):
    """The lab's Ceph could not be set up or reached."""


def log(msg: str) -> None:
    print(f"[lab/ceph] {msg}", flush=True)


def missing_tools() -> list[str]:
    return sorted({pkg for tool, pkg in PACKAGES.items() if not shutil.which(tool)})


def ceph(*args: str, timeout: float = 30, check: bool = True, user: str = "admin") -> str:
    """The ceph CLI against the lab cluster, bounded: a cluster without quorum never answers."""
    keyring = ADMIN_KEYRING if user == "admin" else CLIENT / f"ceph.client.{user}.keyring"
    cmd = ["ceph", "-c", str(CONF), "--id", user, "--keyring", str(keyring), "--connect-timeout", "10", *args]
    return output(cmd, timeout=timeout, check=check, error=CephError).stdout


def _pidfile(kind: str, ident: str) -> Path:
    return CEPH / "run" / f"{kind}.{ident}.pid"


def _pid(kind: str, ident: str) -> int | None:
    pid = read_pid(_pidfile(kind, ident))
    return pid if pid_alive(pid) else None


def _conf_text(fsid: str) -> str:
    return template("ceph.conf", fsid=fsid, mon_addr=MON_ADDR, ceph=CEPH, memstore_bytes=MEMSTORE_BYTES)


def client_conf_text(fsid: str) -> str:
    return f"[global]\nfsid = {fsid}\nmon_host = {MON_ADDR}\n"


def _spawn(kind: str, ident: str) -> None:
    binary = {"mon": "ceph-mon", "mgr": "ceph-mgr", "osd": "ceph-osd"}[kind]
    out = open(CEPH / "log" / f"{kind}.{ident}.out", "ab")
    proc = subprocess.Popen([binary, "-f", "-c", str(CONF), "-i", ident], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=out, start_new_session=True)
    _pidfile(kind, ident).write_text(str(proc.pid))


def _wait(what: str, probe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return
        except CephError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise CephError(f"{what} not ready within {timeout:.0f}s (last seen: {last})")


def _keyring(path: Path, name: str, caps: list[str]) -> None:
    args = ["ceph-authtool", "--create-keyring", str(path), "--gen-key", "-n", name]
    for i in range(0, len(caps), 2):
        args += ["--cap", caps[i], caps[i + 1]]
    subprocess.run(args, check=True, capture_output=True)


def _bootstrap() -> str:
    """mkfs for a new cluster; returns its fsid."""
    fsid = str(uuid.uuid4())
    for d in ("run", "log", "data", "client"):
        (CEPH / d).mkdir(parents=True, exist_ok=True)
    CONF.write_text(_conf_text(fsid))
    mon_keyring = CEPH / "mon.keyring"
    _keyring(mon_keyring, "mon.", ["mon", "allow *"])
    _keyring(ADMIN_KEYRING, "client.admin", ["mon", "allow *", "osd", "allow *", "mds", "allow *", "mgr", "allow *"])
    subprocess.run(["ceph-authtool", str(mon_keyring), "--import-keyring", str(ADMIN_KEYRING)],
                   check=True, capture_output=True)
    monmap = CEPH / "monmap"
    subprocess.run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                    f"[v2:{MON_ADDR}:3300,v1:{MON_ADDR}:6789]", str(monmap)], check=True, capture_output=True)
    subprocess.run(["ceph-mon", "-c", str(CONF), "--mkfs", "-i", "a", "--monmap", str(monmap),
                    "--keyring", str(mon_keyring)], check=True, capture_output=True)
    return fsid


def _mgr_keyring() -> None:
    path = CEPH / "data" / "mgr-x" / "keyring"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ceph("auth", "get-or-create", "mgr.x", "mon", "allow profile mgr", "osd", "allow *",
                         "mds", "allow *"))


def _osd_mkfs() -> None:
    data = CEPH / "data" / "osd-0"
    if (data / "keyring").exists():
        return
    osd_uuid = str(uuid.uuid4())
    osd_id = ceph("osd", "new", osd_uuid).strip()
    if osd_id != "0":
        raise CephError(f"expected osd.0, the cluster gave osd.{osd_id}")
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ceph-osd", "-c", str(CONF), "-i", "0", "--mkfs", "--mkkey", "--osd-uuid", osd_uuid, "--no-mon-config"],
                   check=True, capture_output=True, timeout=60)
    ceph("auth", "add", "osd.0", "osd", "allow *", "mon", "allow profile osd", "mgr", "allow profile osd",
         "-i", str(data / "keyring"))


def _pool_and_user() -> None:
    pools = json.loads(ceph("osd", "pool", "ls", "--format", "json"))
    if POOL not in pools:
        ceph("osd", "pool", "create", POOL, "8")
        ceph("osd", "pool", "application", "enable", POOL, "rbd")
        subprocess.run(["rbd", "-c", str(CONF), "--id", "admin", "--keyring", str(ADMIN_KEYRING),
                        "pool", "init", POOL], check=True, capture_output=True, timeout=60)
    keyring = CLIENT / f"ceph.client.{USER}.keyring"
    keyring.write_text(ceph("auth", "get-or-create", f"client.{USER}", *GLANCE_CAPS))
    keyring.chmod(0o600)


def fsid() -> str:
    for line in CONF.read_text().splitlines():
        if line.startswith("fsid = "):
            return line.split(" = ", 1)[1].strip()
    raise CephError(f"no fsid in {CONF}")


def healthy() -> bool:
    try:
        status = json.loads(ceph("status", "--format", "json", timeout=15))
    except (CephError, ValueError):
        return False
    return status.get("pgmap", {}).get("num_pgs", 0) > 0 and all(
        s.get("state_name") == "active+clean" for s in status["pgmap"].get("pgs_by_state", []))


def up() -> None:
    """Start (and on first use create) the cluster; idempotent. Waits for active+clean PGs."""
    missing = missing_tools()
    if missing:
        raise CephError(f"Ceph packages missing: {', '.join(missing)}; run `make deps`")
    t0 = time.monotonic()
    if not _pid("osd", "0"):
        # memstore keeps the data in memory: without its OSD the cluster's PGs are lost for good,
        # so a stopped cluster is made anew (about 15 s), never half-restored
        down()
        log("creating the cluster (mon a, mgr x, memstore osd.0)")
        shutil.rmtree(CEPH, ignore_errors=True)
        _bootstrap()
    if not _pid("mon", "a"):
        _spawn("mon", "a")
    _wait("ceph mon", lambda: ceph("mon", "stat", timeout=15), 60)
    _mgr_keyring()
    if not _pid("mgr", "x"):
        _spawn("mgr", "x")
    if not _pid("osd", "0"):
        _osd_mkfs()
        _spawn("osd", "0")
    _wait("osd.0 up", lambda: json.loads(ceph("osd", "stat", "--format", "json")).get("num_up_osds") == 1, 90)
    _pool_and_user()
    _wait("ceph pgs active+clean", healthy, 120)
    _wait("ceph df as client.glance", lambda: ceph("df", "--format", "json", user=USER, timeout=15), 60)
    log(f"ready in {time.monotonic() - t0:.1f}s ({rss_mib()} MiB RSS)")


def down() -> None:
    """Stop the daemons this lab started (by pid file); memstore data goes with the OSD."""
    for kind, ident in reversed(DAEMONS):
        pid = _pid(kind, ident)
        if not pid:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        _pidfile(kind, ident).unlink(missing_ok=True)


def rss_mib() -> int:
    total = 0
    for kind, ident in DAEMONS:
        pid = _pid(kind, ident)
        if pid:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total // 1024


def status_rows() -> list[tuple[str, str]]:
    rows = [(f"ceph {kind}.{ident}", f"pid {_pid(kind, ident)}" if _pid(kind, ident) else "down")
            for kind, ident in DAEMONS]
    if any(_pid(k, i) for k, i in DAEMONS):
        rows.append(("ceph pgs", "active+clean" if healthy() else "not clean"))
    return rows


def client_files() -> dict[str, tuple[str, int]]:
    """/etc/ceph on a controller: path -> (text, mode). The glance keyring gets its owner from lab.controller."""
    return {
        "/etc/ceph/ceph.conf": (client_conf_text(fsid()), 0o644),
        f"/etc/ceph/ceph.client.{USER}.keyring": ((CLIENT / f"ceph.client.{USER}.keyring").read_text(), 0o640),
        "/etc/ceph/ceph.client.admin.keyring": (ADMIN_KEYRING.read_text(), 0o600),
    }


def pool_quota(max_bytes: int | None) -> None:
    ceph("osd", "pool", "set-quota", POOL, "max_bytes", str(max_bytes or 0))


def pool_flags() -> list[str]:
    for pool in json.loads(ceph("osd", "pool", "ls", "detail", "--format", "json")):
        if pool.get("pool_name") == POOL:
            return pool.get("flags_names", "").split(",")
    return []


def set_glance_caps(caps: list[str]) -> None:
    ceph("auth", "caps", f"client.{USER}", *caps)


if __name__ == "__main__":
    import sys

    action = sys.argv[1] if len(sys.argv) > 1 else "status"
    try:
        if action == "up":
            up()
        elif action == "down":
            down()
        else:
            for name, state in status_rows():
                print(f"{name:24} {state}")
    except CephError as exc:
        sys.exit(f"lab/ceph: {exc}")
