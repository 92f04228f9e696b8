"""The lab's Kolla-style controller: glance-api in a `glance_api` container under podman.

What Kolla-Ansible builds on a controller, made from what this machine has:

- the image: a Debian bookworm rootfs from debootstrap (python3 3.11, curl, procps and a
  `glance` user with Kolla's fixed uid 42415), imported with `podman import`, USER glance,
  command `kolla_start`; cached under $HC_LAB_DIR/kolla so later starts skip all of it;
- Glance 33 from the lab's venv, bind-mounted read-only at the same path (it was built from
  Debian's /usr/bin/python3 3.11, which the rootfs has too), under uWSGI as Kolla's
  service-uwsgi-config role runs it (logto2 /var/log/kolla/glance/glance-api-uwsgi.log);
- Kolla's host layout under KOLLA_ROOT ($HC_LAB_DIR/kolla/host, or HC_LAB_KOLLA_ROOT=/ for the
  real thing): etc/kolla/glance-api/ (glance-api.conf, uwsgi ini, config.json) mounted at
  /var/lib/kolla/config_files and copied into /etc/glance by kolla_start at every start,
  var/log/kolla/glance bind-mounted at /var/log/kolla/glance; $HC_LAB_DIR/kolla/volumes/glance
  (Kolla's `glance` volume: staging, tasks) at /var/lib/glance, and the file
  store on a small tmpfs volume (glance_hc_images) at /var/lib/glance/images so it can be filled;
- host networking, listening on 127.0.0.4:9292, Keystone of the lab at 127.0.0.2:5000;
- its own database, `glance_kolla`, on the lab's MariaDB (lab/mariadb.py), as Kolla's glance_api
  uses the mariadb container's: made, and db_sync run, by the bootstrap step when missing;
- a healthcheck (healthcheck_curl on /healthcheck) and restart policy unless-stopped, so
  RestartCount counts the restarts podman made by itself.

Podman runs health checks from systemd timers; where systemd is not PID 1 (this machine)
`up` starts a small ticker process that runs `podman healthcheck run` at the interval.
`down` removes the container, its volume and the ticker: no process or mount is left.
The rootfs and the image stay, as the cache.

Exec sessions made through `podman system service` (the docker client, docker://) left two
conmon processes each behind here (podman 4.3.1), so `up` does not start that service; `down`
fails loudly if any conmon of glance_api outlives the container.

Usage: python3 -m lab.kolla up | down | status | memory | fault list | fault inject NAME | fault revert NAME|all
       | capture DIR   (capture runs under the suite's venv: .venv/bin/python -m lab.kolla capture DIR)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lab import common, mariadb
from lab.faults import Fault  # one Fault type for every lab fault

LAB_DIR = common.LAB_DIR
VENV = common.VENV
KOLLA_DIR = LAB_DIR / "kolla"
ROOTFS = KOLLA_DIR / "rootfs"
KOLLA_ROOT = Path(os.environ.get("HC_LAB_KOLLA_ROOT", str(KOLLA_DIR / "host")))
CONFIG_DIR = KOLLA_ROOT / "etc/kolla/glance-api"
LOG_DIR = KOLLA_ROOT / "var/log/kolla/glance"
DATA_DIR = KOLLA_DIR / "volumes/glance"  # Kolla's `glance` volume (glance_file_datadir_volume)
TICKER_PID = KOLLA_DIR / "health-ticker.pid"
TEMPLATES = common.TEMPLATES / "kolla"

CONTAINER = "glance_api"
IMAGE = "localhost/glance-hc/glance-api"
VOLUME = "glance_hc_images"
ADDR = os.environ.get("HC_LAB_KOLLA_ADDR", "127.0.0.4")
PORT = 9292
GLANCE_UID = 42415  # Kolla's fixed uid and gid for glance
STORE_MB = int(os.environ.get("HC_LAB_KOLLA_STORE_MB", "256"))
MIRROR = os.environ.get("HC_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = "python3,libpython3.11,libxml2,libssl3,procps,curl"
HEALTH_INTERVAL = 10  # seconds; Kolla's default is 30
STORE = "/var/lib/glance/images"
BALLAST = f"{STORE}/.hc-lab-ballast"
UWSGI_LOG = "/var/log/kolla/glance/glance-api-uwsgi.log"
GLANCE_LOG = "/var/log/kolla/glance/glance-api.log"
RUNTIME = os.environ.get("HC_LAB_KOLLA_RUNTIME", "runc")  # what the facts say works here


def log(msg: str) -> None:
    print(f"[kolla] {msg}", flush=True)


class KollaError(RuntimeError):
    pass


# ---------------------------------------------------------------- podman
def podman(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return common.output(["podman", *args], timeout=timeout, check=check, error=KollaError)


def in_container(*args: str, user: str | None = None, check: bool = True, timeout: float = 30) -> str:
    """A command inside glance_api (as its user glance, or as `user`)."""
    opts = ["-u", user] if user else []
    return podman("exec", *opts, CONTAINER, *args, check=check, timeout=timeout).stdout


def inspect() -> dict | None:
    out = podman("inspect", "--type", "container", CONTAINER, check=False, timeout=20)
    if out.returncode != 0:
        return None
    data = json.loads(out.stdout)
    return data[0] if data else None


def http_status(url: str, timeout: float = 3.0) -> int:
    """The lab's, with an unreachable URL as 0 (the container may not be listening yet)."""
    try:
        return common.http_status(url, timeout)
    except OSError:
        return 0


def wait_for(what: str, probe: Callable[[], object], timeout: float, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(interval)
    raise KollaError(f"{what} not ready after {timeout:.0f}s")


def healthy_http() -> bool:
    return http_status(f"http://{ADDR}:{PORT}/healthcheck") == 200


# ---------------------------------------------------------------- the image
def _support_files() -> dict[str, bytes]:
    return {name: (TEMPLATES / name).read_bytes() for name in ("kolla_start", "kolla_set_configs",
                                                               "healthcheck_curl")}


def image_tag() -> str:
    """The image's tag: what went into it (packages, uid, Kolla's scripts)."""
    h = hashlib.sha256(f"{PACKAGES}|{GLANCE_UID}|{MIRROR}".encode())
    for name, data in sorted(_support_files().items()):
        h.update(name.encode() + b"\0" + data)
    return h.hexdigest()[:12]


def ensure_rootfs() -> bool:
    """debootstrap once (about a minute); True when it ran."""
    if (ROOTFS / "usr/bin/python3").exists():
        return False
    if not shutil.which("debootstrap"):
        raise KollaError("debootstrap is missing: `make deps` (apt-get install debootstrap podman runc)")
    KOLLA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = KOLLA_DIR / "rootfs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"debootstrap bookworm into {ROOTFS} (about a minute)")
    with open(KOLLA_DIR / "debootstrap.log", "wb") as out:
        rc = subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm",
                             str(tmp), MIRROR], stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode
    if rc != 0:
        raise KollaError(f"debootstrap failed ({rc}): see {KOLLA_DIR / 'debootstrap.log'}")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                 "usr/share/locale", "usr/share/info"):
        shutil.rmtree(tmp / junk, ignore_errors=True)
        (tmp / junk).mkdir(parents=True, exist_ok=True)
    tmp.rename(ROOTFS)
    return True


def _prepare_rootfs() -> None:
    """The glance user with Kolla's uid, the folders Kolla's image has, Kolla's scripts."""
    def chroot(*args: str) -> None:
        subprocess.run(["chroot", str(ROOTFS), *args], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)

    passwd = (ROOTFS / "etc/passwd").read_text()
    if "\nglance:" not in passwd:
        chroot("groupadd", "--gid", str(GLANCE_UID), "glance")
        chroot("useradd", "--uid", str(GLANCE_UID), "--gid", str(GLANCE_UID), "--home-dir",
               "/var/lib/glance", "--no-create-home", "--shell", "/usr/sbin/nologin", "glance")
    for d in ("etc/glance", "var/lib/glance", "var/log/kolla/glance", "var/lib/kolla/config_files"):
        (ROOTFS / d).mkdir(parents=True, exist_ok=True)
        if d != "var/lib/kolla/config_files":
            os.chown(ROOTFS / d, GLANCE_UID, GLANCE_UID)
    for name, data in _support_files().items():
        target = ROOTFS / "usr/local/bin" / name
        target.write_bytes(data)
        target.chmod(0o755)


def ensure_image() -> bool:
    """`podman import` of the rootfs, tagged by what went in; True when it was (re)built."""
    tag = image_tag()
    if podman("image", "exists", f"{IMAGE}:{tag}", check=False).returncode == 0:
        return False
    _prepare_rootfs()
    log(f"podman import {IMAGE}:{tag}")
    tar = subprocess.Popen(["tar", "-C", str(ROOTFS), "--numeric-owner", "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    try:
        out = subprocess.run(["podman", "import", "--change", "USER=glance",
                              "--change", 'CMD=["kolla_start"]', "--change", "WORKDIR=/",
                              "--change", "LABEL=glance-hc-lab=kolla", "-", f"{IMAGE}:{tag}"],
                             stdin=tar.stdout, capture_output=True, text=True, timeout=300)
    finally:
        tar.stdout.close()
        tar.wait(timeout=60)
    if out.returncode != 0:
        raise KollaError(f"podman import failed: {out.stderr.strip()[-500:]}")
    return True


# ---------------------------------------------------------------- host side config
def template_vars() -> dict:
    s = common.secrets_file()
    return {"addr": ADDR, "vip": common.ADDR["vip"], "keystone_addr": common.ADDR["keystone_addr"],
            "glance_password": s["glance_password"], "rabbit_password": s["rabbit_password"],
            "db_addr": common.ADDR["db_addr"], "db_password": s["glance_kolla_db_password"],
            "venv": str(VENV)}


def config_json() -> str:
    files = [{"source": f"/var/lib/kolla/config_files/{name}", "dest": f"/etc/glance/{name}",
              "owner": "glance", "perm": "0600"}
             for name in ("glance-api.conf", "glance-api-paste.ini", "glance-api-uwsgi.ini")]
    return json.dumps({
        "command": f"{VENV}/bin/uwsgi --ini /etc/glance/glance-api-uwsgi.ini",
        "config_files": files,
        "permissions": [{"path": "/var/lib/glance", "owner": "glance:glance", "recurse": True},
                        {"path": "/var/log/kolla/glance", "owner": "glance:glance", "recurse": True}],
    }, indent=4) + "\n"


def render_config() -> None:
    """What `kolla-ansible deploy` writes to /etc/kolla/glance-api and the folders it makes."""
    v = template_vars()
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    files = {
        "glance-api.conf": common.template("kolla/glance-api.conf", **v),
        "glance-api-uwsgi.ini": common.template("kolla/glance-api-uwsgi.ini", **v),
        "glance-api-paste.ini": (VENV / "etc/glance/glance-api-paste.ini").read_text(),
        "config.json": config_json(),
    }
    for name, text in files.items():
        path = CONFIG_DIR / name
        path.write_text(text)
        os.chown(path, 0, GLANCE_UID)
        path.chmod(0o640)
    for d in (LOG_DIR, DATA_DIR):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, GLANCE_UID, GLANCE_UID)
        d.chmod(0o755)


# runc here refuses podman's default nofile and nproc limits (above the hard limits this machine
# grants): set ones it allows.
RUN_ARGS = ["--runtime", RUNTIME, "--network", "host", "--ulimit", "nofile=20000", "--ulimit", "nproc=32768",
            # Kolla's images put their venv first on PATH: glance-manage and glance-status for `exec`
            "--env", f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def volume_args() -> list[str]:
    return ["-v", f"{CONFIG_DIR}/:/var/lib/kolla/config_files/:ro",
            "-v", "/etc/localtime:/etc/localtime:ro",
            "-v", f"{DATA_DIR}:/var/lib/glance",
            "-v", f"{VOLUME}:{STORE}",
            "-v", f"{LOG_DIR}:/var/log/kolla/glance",
            "-v", f"{VENV}:{VENV}:ro"]


def ensure_volume() -> None:
    if podman("volume", "exists", VOLUME, check=False).returncode == 0:
        return
    podman("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
           "--opt", f"o=nr_blocks={STORE_MB * 256},mode=0750,uid={GLANCE_UID},gid={GLANCE_UID}", VOLUME)


def bootstrap_database(tag: str) -> bool:
    """Kolla's bootstrap_glance step: its database and user on the lab's MariaDB (Kolla's
    mysql_db/mysql_user tasks), then glance-manage db_sync in a throw-away container."""
    if mariadb.pid() is None:
        raise KollaError("the lab's MariaDB is not running: `make lab-up` first")
    try:
        mariadb.ensure_database("glance_kolla")
        if mariadb.has_table("glance_kolla", "alembic_version"):
            return False
    except mariadb.MariaDBError as exc:
        raise KollaError(f"mariadb: {exc}") from None
    (DATA_DIR / "glance.sqlite").unlink(missing_ok=True)  # what the lab used before MariaDB
    log("glance-manage db_sync (bootstrap container)")
    podman("run", "--rm", *RUN_ARGS, "--name", "bootstrap_glance",
           *volume_args(), f"{IMAGE}:{tag}", f"{VENV}/bin/glance-manage", "--config-file",
           "/var/lib/kolla/config_files/glance-api.conf", "db_sync", timeout=180)
    return True


def container_args(tag: str) -> list[str]:
    return ["--name", CONTAINER, *RUN_ARGS, "--restart", "unless-stopped", "--stop-timeout", "10",
            "--health-cmd", f"healthcheck_curl http://{ADDR}:{PORT}/healthcheck",
            "--health-interval", f"{HEALTH_INTERVAL}s", "--health-retries", "3",
            "--health-start-period", "5s", "--health-timeout", "30s",
            "--env", "KOLLA_CONFIG_STRATEGY=COPY_ALWAYS", "--env", "KOLLA_SERVICE_NAME=glance-api",
            "--label", "glance-hc-lab=kolla", *volume_args(), f"{IMAGE}:{tag}"]


def spec_hash(tag: str) -> str:
    """What the container was made from: a change in the run arguments means a new container."""
    return hashlib.sha256("\0".join(container_args(tag)).encode()).hexdigest()[:12]


def run_container(tag: str) -> None:
    podman("run", "-d", "--label", f"glance-hc-lab.spec={spec_hash(tag)}", *container_args(tag), timeout=60)


# ---------------------------------------------------------------- health ticker
def ticker_pid() -> int | None:
    pid = common.read_pid(TICKER_PID)
    return pid if common.pid_alive(pid) else None


def start_ticker() -> None:
    """Podman schedules health checks with systemd timers: without systemd, do it here."""
    if Path("/run/systemd/system").is_dir() or ticker_pid():
        return
    script = (f"while :; do podman healthcheck run {CONTAINER} >/dev/null 2>&1; "
              f"sleep {HEALTH_INTERVAL}; done")
    proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    TICKER_PID.write_text(str(proc.pid))


def stop_ticker() -> None:
    pid = ticker_pid()
    if pid:
        os.killpg(pid, signal.SIGTERM)  # its own session: the loop and a running podman call
        deadline = time.monotonic() + 10
        while common.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    TICKER_PID.unlink(missing_ok=True)


def health_check_now() -> str:
    out = podman("healthcheck", "run", CONTAINER, check=False, timeout=40)
    return "healthy" if out.returncode == 0 else (out.stdout + out.stderr).strip() or "unhealthy"


# ---------------------------------------------------------------- up / down
def running() -> bool:
    info = inspect()
    return bool(info and info["State"].get("Running"))


def up() -> dict:
    """Start glance_api (building what is missing); returns the timings in seconds."""
    if os.geteuid() != 0:
        raise KollaError("the Kolla controller needs root (rootful podman)")
    if not shutil.which("podman"):
        raise KollaError("podman is missing: `make deps` (apt-get install podman runc debootstrap)")
    common.ensure_venv()
    t0 = time.monotonic()
    cold_rootfs = ensure_rootfs()
    t_rootfs = time.monotonic()
    built = ensure_image()
    t_image = time.monotonic()
    tag = image_tag()
    render_config()
    ensure_volume()
    info = inspect()
    if info and (info["Config"].get("Labels") or {}).get("glance-hc-lab.spec") != spec_hash(tag):
        log("image or run arguments changed: recreating glance_api")
        podman("rm", "-f", "-t", "5", CONTAINER, timeout=60)
        info = None
    synced = bootstrap_database(tag)
    t_db = time.monotonic()
    if info is None:
        run_container(tag)
    elif not info["State"].get("Running"):
        podman("start", CONTAINER, timeout=60)
    wait_for("glance_api answering /healthcheck", healthy_http, 90)
    start_ticker()
    wait_for("glance_api healthy", lambda: health_check_now() == "healthy", 30, interval=1)
    t1 = time.monotonic()
    timings = {"total": t1 - t0, "debootstrap": t_rootfs - t0, "import": t_image - t_rootfs,
               "prepare": t_db - t_image, "container": t1 - t_db, "cold_rootfs": cold_rootfs,
               "built_image": built, "db_synced": synced}
    kind = "cold (debootstrap)" if cold_rootfs else "cold (image)" if built else "warm"
    log(f"{kind} start: {timings['total']:.1f}s (debootstrap {timings['debootstrap']:.1f}s, import "
        f"{timings['import']:.1f}s, config+db {timings['prepare']:.1f}s, container {timings['container']:.1f}s)")
    log(f"suite: pytest checks/ --host=podman://{CONTAINER} -m host --largest-image=64MiB")
    return timings


def down() -> None:
    """Remove the container and its store volume, stop the ticker; keep the rootfs and image."""
    was_up = ticker_pid() is not None
    stop_ticker()
    if shutil.which("podman") is None:
        return
    if inspect():
        was_up = True
        podman("rm", "-f", "-t", "10", CONTAINER, timeout=60)
    podman("rm", "-f", "bootstrap_glance", check=False, timeout=60)
    if podman("volume", "exists", VOLUME, check=False).returncode == 0:
        podman("volume", "rm", "-f", VOLUME, timeout=60)
    left = leftovers()
    if left:
        raise KollaError(f"left behind after down: {left}")
    if was_up:
        log("glance_api removed: no container process, mount or volume left")


def leftovers() -> list[str]:
    """Processes and mounts of glance_api that would outlive `down` (there must be none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ("conmon" in args and f"-n {CONTAINER} " in args) or f"healthcheck run {CONTAINER}" in args:
            found.append(f"pid {entry.name}: {args[:120]}")
    # the bind mounts live in the container's mount namespace; only the volume's tmpfs is the host's
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if f"/volumes/{VOLUME}/" in line.split()[4]:
            found.append(f"mount {line.split()[4]}")
    return found


def memory() -> dict:
    """The container's memory in bytes: its cgroup's usage, its processes' RSS, and conmon's RSS."""
    info = inspect()
    if not info or not info["State"].get("Running"):
        return {}
    pid = info["State"]["Pid"]

    def rss(*opts: str) -> int:
        out = subprocess.run(["ps", "-o", "rss=", *opts], capture_output=True, text=True, timeout=10).stdout
        return sum(int(x) for x in out.split()) * 1024

    usage = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers in ("memory", ""):
            base = Path("/sys/fs/cgroup/memory" if controllers == "memory" else "/sys/fs/cgroup")
            for name in ("memory.usage_in_bytes", "memory.current"):
                if (base / path.lstrip("/") / name).exists():
                    usage = int((base / path.lstrip("/") / name).read_text())
    return {"processes_rss_bytes": rss("-p", str(pid), "--ppid", str(pid)), "cgroup_bytes": usage,
            "conmon_rss_bytes": rss("-p", str(info["State"].get("ConmonPid") or 0))}


def status_rows() -> list[tuple[str, str]]:
    info = inspect()
    if not info:
        return [("glance_api", "absent")]
    st = info["State"]
    health = (st.get("Health") or st.get("Healthcheck") or {}).get("Status", "-")
    rows = [("glance_api", f"{st.get('Status')}, pid {st.get('Pid')}, health {health}, "
                           f"restarts {info.get('RestartCount')}"),
            ("image", info.get("ImageName", "?")),
            (f"http://{ADDR}:{PORT}/healthcheck", f"HTTP {http_status(f'http://{ADDR}:{PORT}/healthcheck')}"),
            ("health ticker", f"pid {ticker_pid()}" if ticker_pid() else "not running")]
    return rows


# ---------------------------------------------------------------- faults
def rotate_logs() -> None:
    """As the lab's revert does: keep the old lines in .1, start the live logs empty."""
    for name in (GLANCE_LOG, UWSGI_LOG):
        host_path = LOG_DIR / Path(name).name
        if host_path.exists():
            with open(host_path, "rb") as src, open(f"{host_path}.1", "ab") as dst:
                shutil.copyfileobj(src, dst)
            os.truncate(host_path, 0)


def wait_healthy(timeout: float = 90) -> None:
    wait_for("glance_api answering /healthcheck", healthy_http, timeout)
    wait_for("glance_api healthy", lambda: health_check_now() == "healthy", 40, interval=1)


def fill_store() -> None:
    avail = int(in_container("df", "--output=avail", "-B1", STORE).split()[-1])
    in_container("fallocate", "-l", str(avail), BALLAST)


def unfill_store() -> None:
    in_container("rm", "-f", BALLAST)
    rotate_logs()


def take_permission() -> None:
    in_container("chown", "root:root", STORE, user="root")
    in_container("chmod", "755", STORE, user="root")


def give_permission() -> None:
    in_container("chown", "glance:glance", STORE, user="root")
    in_container("chmod", "750", STORE, user="root")
    rotate_logs()


def worker_pids() -> list[int]:
    """uWSGI's workers: the children of the container's PID 1 (the master, exec'ed by kolla_start)."""
    out = in_container("ps", "-o", "pid=", "--ppid", "1")
    return [int(p) for p in out.split()]


def kill_worker() -> None:
    """SIGKILL one uWSGI worker inside the container: the master respawns it and says so."""
    before = worker_pids()
    if not before:
        raise KollaError("no uWSGI worker found in glance_api")
    # A request first, as on any live server: its dated line dates uWSGI's undated DAMN line (the
    # probe's awk carries the last date forward; an undated line is not counted, see the report).
    healthy_http()
    in_container("kill", "-9", str(before[0]))
    wait_for("a respawned worker", lambda: (w := worker_pids()) and before[0] not in w
             and len(w) == len(before), 30)
    wait_for("uWSGI's DAMN line", lambda: "DAMN ! worker" in (LOG_DIR / "glance-api-uwsgi.log").read_text(
        errors="replace"), 15)


def restart_container_by_hand() -> None:
    """After a worker kill: a clean restart by the operator (RestartCount does not move)."""
    podman("restart", "-t", "10", CONTAINER, timeout=90)
    wait_healthy()
    rotate_logs()


def kill_main_process() -> None:
    """SIGKILL the container's main process from the host: podman restarts it (RestartCount + 1)."""
    info = inspect()
    count = info.get("RestartCount", 0)
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    wait_for("podman's restart of glance_api",
             lambda: (i := inspect()) and i.get("RestartCount", 0) > count and i["State"].get("Running"), 60)
    wait_healthy()


def recreate_container() -> None:
    """RestartCount belongs to the container: only a new container starts it at 0 again."""
    podman("rm", "-f", "-t", "10", CONTAINER, timeout=60)
    run_container(image_tag())
    wait_healthy()
    rotate_logs()


FAULTS: dict[str, Fault] = {
    "kolla-store-full": Fault("store_full", "fill the container's file store (tmpfs volume) to the last byte",
                              fill_store, unfill_store),
    "kolla-store-permissions": Fault("store_permissions", "the store dir chowned to root, mode 755, inside "
                                     "the container", take_permission, give_permission),
    "kolla-worker-killed": Fault("worker_crash", "SIGKILL one uWSGI worker inside the container; it is "
                                 "respawned", kill_worker, restart_container_by_hand),
    "kolla-container-restart": Fault("worker_crash", "SIGKILL the container's main process; podman restarts "
                                     "it (RestartCount)", kill_main_process, recreate_container),
}


# ---------------------------------------------------------------- capture (test data)
def capture(outdir: Path) -> None:
    """Real `podman inspect glance_api` and the probe's answers, redacted, for the unit tests.

    Two views, as the suite has them: `inside/` is what --host=podman://glance_api sees (the probe
    run in the container as its user), `host/` what --host=local:// sees as root on the container's
    host. Then a killed worker (inside view of the logs) and a restarted container (inspect).
    Runs under the suite's venv: it sends the probe (glance_hc/probe) the requests gather() sends.
    """
    import testinfra  # noqa: PLC0415

    from glance_hc import facts  # noqa: PLC0415
    from glance_hc.hosts import parse_host  # noqa: PLC0415
    from glance_hc.probe import transport  # noqa: PLC0415
    from glance_hc.redact import redact_obj  # noqa: PLC0415

    views = {"inside": parse_host(f"podman://{CONTAINER}"), "host": parse_host("local://")}

    def probe(view: str, request: dict) -> dict:
        return transport.round_trip(testinfra.get_host(views[view].url), request, timeout=60)

    def phase_two(view: str, discovered: dict) -> dict:
        found = facts.HostFacts(spec=views[view])
        doc = json.loads(json.dumps(discovered))
        if view == "inside":
            doc["container_outside"] = {"runtime": "podman", "inspect": json.loads(podman("inspect", CONTAINER).stdout)[0]}
        facts.discover(found, doc)
        return probe(view, facts.stores_request(found, 60))

    def write(name: str, doc) -> None:
        path = outdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(redact_obj(doc), indent=1, sort_keys=True) + "\n")

    wait_healthy()
    write("inspect.json", json.loads(podman("inspect", CONTAINER).stdout))
    discovered = {}
    for view in ("inside", "host"):
        discovered[view] = probe(view, facts.discover_request(60))
        write(f"{view}/discover.json", discovered[view])
        write(f"{view}/stores_and_logs.json", phase_two(view, discovered[view]))
    kill_worker()
    try:
        write("worker-killed/stores_and_logs.json", phase_two("inside", discovered["inside"]))
    finally:
        restart_container_by_hand()
    kill_main_process()
    try:
        write("inspect-restarted.json", json.loads(podman("inspect", CONTAINER).stdout))
    finally:
        recreate_container()
    log(f"captured into {outdir}")


# ---------------------------------------------------------------- command line
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("memory")
    cap = sub.add_parser("capture")
    cap.add_argument("dir", type=Path)
    f = sub.add_parser("fault")
    f.add_argument("action", choices=["list", "inject", "revert"])
    f.add_argument("name", nargs="?", default="all")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            up()
        elif args.cmd == "down":
            down()
        elif args.cmd == "status":
            for name, state in status_rows():
                print(f"{name:40} {state}")
        elif args.cmd == "memory":
            print(json.dumps(memory()))
        elif args.cmd == "capture":
            capture(args.dir)
        elif args.action == "list":
            for name, fault in FAULTS.items():
                print(f"{name:25} {fault.root_cause:18} {fault.doc}")
        else:
            names = list(FAULTS) if args.name == "all" else [args.name]
            for name in names:
                if name not in FAULTS:
                    raise KollaError(f"unknown fault {name!r}; `python3 -m lab.kolla fault list` shows them")
                getattr(FAULTS[name], args.action)()
                log(f"{args.action}ed {name}")
    except KollaError as exc:
        print(f"[kolla] error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
