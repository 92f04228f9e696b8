#!/usr/bin/env python3
"""The glance-hc lab: a real controller on loopback, and real faults to inject.

controller1 is a private mount namespace (its own /etc, /var, /run, /tmp as
overlays or tmpfs) holding sshd, Keystone and Glance under uWSGI, and HAProxy
in front. Seen over ssh it looks like a traditional controller; outside the
namespace nothing of it exists, so `down` leaves the machine as it was.

Usage: labctl.py up | down | status | env | fault list | fault inject NAME | fault revert NAME|all
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAB_DIR = Path(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab"))
STATE = LAB_DIR / "state"
VENV = LAB_DIR / "venv"
RUN = STATE / "run"

ADDR = {
    "vip": "127.0.0.10",
    "glance_addr": "127.0.0.2",
    "keystone_addr": "127.0.0.2",
    "ssh_addr": "127.0.0.2",
    "ssh_port": "2222",
}
# The controllers: controller1 always; controller2 (sharing controller1's stores and database, as
# an NFS-backed pair does) when the lab is started with HC_LAB_CONTROLLERS=2.
NODES = {"controller1": "127.0.0.2", "controller2": "127.0.0.3"}
NODE = os.environ.get("HC_LAB_NODE", "controller1")  # the node an inner command acts for
STORE_MB_FAST = int(os.environ.get("HC_LAB_STORE_MB", "1536"))
STORE_MB_SMALL = int(os.environ.get("HC_LAB_SMALL_STORE_MB", "96"))
SWIFT_ACCOUNT_QUOTA = 1 << 30  # Glance's swift account in the lab: 1 GiB
HEALTHY_TIMEOUTS = {"timeout_client": "15m", "timeout_server": "15m"}

GLANCE_UWSGI_INI = """\
# glance-api under uWSGI, as devstack and distro packages run it.
[uwsgi]
http-socket = {glance_addr}:9292
add-header = Connection: close
socket-timeout = 900
module = glance.wsgi.api:application
env = OS_GLANCE_CONFIG_DIR=/etc/glance
master = true
processes = 2
threads = 4
enable-threads = true
die-on-term = true
lazy-apps = true
need-app = true
uid = glance
gid = glance
pidfile = /run/glance-api-uwsgi.pid
logto = /var/log/glance/glance-api-uwsgi.log
procname-prefix-spaced = glance-api
"""

KEYSTONE_UWSGI_INI = """\
[uwsgi]
http-socket = {keystone_addr}:5000
add-header = Connection: close
module = keystone.wsgi.api:application
master = true
processes = 2
threads = 4
enable-threads = true
die-on-term = true
need-app = true
uid = keystone
gid = keystone
pidfile = /run/keystone-uwsgi.pid
logto = /var/log/keystone/keystone-uwsgi.log
procname-prefix-spaced = keystone
"""


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def die(msg: str) -> None:
    print(f"[lab] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- helpers
def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def tools_log() -> Path:
    """Where the output of the tools the lab runs goes (pip, keystone-manage, glance-manage...):
    their warnings are not the newcomer's business, their errors are (tool() shows them)."""
    return STATE / "logs" / "lab-tools.log"


def tool(cmd: list[str], what: str, **kw) -> None:
    """Run a tool with its output appended to tools_log(); on failure show its last lines."""
    path = tools_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as out:
        out.write(f"\n==> {time.strftime('%Y-%m-%d %H:%M:%S')} {what}: {' '.join(cmd)}\n".encode())
        out.flush()
        start = out.tell()
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, **kw).returncode
    if rc != 0:
        with open(path, "rb") as log_file:
            log_file.seek(max(start, path.stat().st_size - 4000))
            tail = log_file.read().decode("utf-8", "replace").splitlines()[-25:]
        die(f"{what} failed (exit {rc}); last lines of {path}:\n" + "\n".join(tail))


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def ns_pidfile(node: str = "controller1") -> Path:
    return RUN / ("ns.pid" if node == "controller1" else f"ns-{node}.pid")


def ns_pid(node: str = "controller1") -> int | None:
    pid = read_pid(ns_pidfile(node))
    return pid if pid_alive(pid) else None


def controllers() -> list[str]:
    """The nodes this lab runs, as chosen at `up` (kept in the state dir for later commands)."""
    try:
        count = int((STATE / "controllers").read_text())
    except (OSError, ValueError):
        count = 1
    return list(NODES)[:max(1, min(count, len(NODES)))]


def wait_for(what: str, probe, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            ok = probe()
            if ok:
                return ok
        except Exception as exc:  # noqa: BLE001 - the probe's error is what we report
            last = exc
        time.sleep(interval)
    die(f"{what} not ready after {timeout:.0f}s (last error: {last})")


def port_open(addr: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((addr, port)) == 0


def http_status(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def secrets_file() -> dict:
    """The lab's passwords; missing ones are added (lab/swift.py keeps its keys in the same file)."""
    path = STATE / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in ("admin_password", "glance_password", "demo_password", "rabbit_password")
               if name not in data]
    if missing:
        STATE.mkdir(parents=True, exist_ok=True)
        data.update({name: f"hcsecret-{name}-{secrets.token_hex(8)}" for name in missing})
        path.write_text(json.dumps(data, indent=2))
        path.chmod(0o600)
    return data


def profile() -> dict:
    """Which optional parts the running lab has (chosen at `up`, kept for faults and renders)."""
    path = STATE / "profile.json"
    return json.loads(path.read_text()) if path.exists() else {}


RBD_SECTION = """
[rbd]
store_description = Ceph RBD store (lab: one memstore OSD)
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = /etc/ceph/ceph.conf
rbd_store_chunk_size = 4
rados_connect_timeout = 10
"""


def extra_stores() -> tuple[str, str]:
    """(`, name:type` entries for enabled_backends, their sections) for the profile's stores."""
    backends, sections = "", ""
    if profile().get("ceph"):
        backends += ", rbd:rbd"
        sections += RBD_SECTION
    if profile().get("swift"):
        import swift  # noqa: PLC0415 - lab/swift.py
        backends += ", swift:swift"
        sections += "\n" + swift.glance_store_options()
    return backends, sections


def template_vars(node: str | None = None) -> dict:
    node = node or NODE
    servers = "\n".join(f"    server {n} {NODES[n]}:9292 check inter 1s fall 5 rise 1" for n in controllers())
    backends, sections = extra_stores()
    return {**ADDR, **secrets_file(), **HEALTHY_TIMEOUTS, "state": str(STATE), "node": node,
            "glance_addr": NODES[node], "glance_servers": servers,
            "extra_backends": backends, "extra_sections": sections,
            "oslo_limit_endpoint": oslo_limit_endpoint()}


def oslo_limit_endpoint() -> str:
    """Glance's public endpoint by id once provision.py has recorded it (as devstack configures
    it); before that, by service type and region."""
    try:
        return f"endpoint_id = {(STATE / 'glance-endpoint-id').read_text().strip()}"
    except OSError:
        return "endpoint_service_type = image\nendpoint_region_name = RegionOne\nendpoint_interface = public"


def render(name: str, **extra) -> str:
    return (HERE / "templates" / name).read_text().format(**{**template_vars(), **extra})


# ---------------------------------------------------------------- install
def ensure_venv() -> None:
    req = (HERE / "requirements.txt").read_bytes()
    stamp = VENV / ".hc-stamp"
    want = hashlib.sha256(req).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    t0 = time.monotonic()
    log(f"building the lab venv in {VENV} (Glance, Keystone, uWSGI from PyPI; a few minutes)")
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    LAB_DIR.chmod(0o755)
    # Debian's interpreter: the workers run as user glance, who cannot read pyenv's under /root.
    tool(["/usr/bin/python3", "-m", "venv", str(VENV)], "creating the lab venv")
    tool([str(VENV / "bin/pip"), "install", "--disable-pip-version-check",
          "-r", str(HERE / "requirements.txt")], "pip install into the lab venv")
    stamp.write_text(want)
    log(f"lab venv ready in {time.monotonic() - t0:.0f}s")


def ensure_tools() -> None:
    missing = [t for t in ("haproxy", "sshd", "sudo", "unshare", "nsenter", "ssh")
               if not shutil.which(t) and not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        die(f"missing tools: {', '.join(missing)}; run `make deps` (installs them from Debian)")


def ensure_ssh_material() -> None:
    ssh = STATE / "ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    ssh.chmod(0o700)
    for key in ("id_ed25519", "host_ed25519_key"):
        if not (ssh / key).exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "glance-hc-lab",
                 "-f", str(ssh / key)])
    (STATE / "sshd_config").write_text(render("sshd_config"))
    (STATE / "sshd_config-controller2").write_text(render("sshd_config", ssh_addr=NODES["controller2"]))
    (STATE / "ssh_config").write_text(render("ssh_config"))


# ---------------------------------------------------------------- namespace
def start_namespace() -> int:
    pid = ns_pid()
    if pid:
        return pid
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "ns.pid").unlink(missing_ok=True)
    logf = open(STATE / "ns.log", "ab")
    subprocess.Popen(
        ["unshare", "--mount", "--uts", "--propagation", "private", "--",
         "/bin/sh", str(HERE / "ns_init.sh"), str(STATE), str(STORE_MB_FAST), str(STORE_MB_SMALL),
         str(VENV)],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
    )
    wait_for("controller1 namespace", ns_pid, 15)
    wait_for("controller1 sshd", lambda: port_open(ADDR["ssh_addr"], int(ADDR["ssh_port"])), 15)
    return ns_pid()


def start_second_controller() -> int:
    """controller2: a copy of controller1's mount table (same stores, same database), its own /etc."""
    pid = ns_pid("controller2")
    if pid:
        return pid
    ns_pidfile("controller2").unlink(missing_ok=True)
    logf = open(STATE / "ns-controller2.log", "ab")
    subprocess.Popen(
        ["nsenter", "-t", str(ns_pid()), "-m", "--", "unshare", "--mount", "--uts", "--propagation",
         "private", "--", "/bin/sh", str(HERE / "ns_init_node.sh"), str(STATE), "controller2"],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
    )
    wait_for("controller2 namespace", lambda: ns_pid("controller2"), 15)
    wait_for("controller2 sshd", lambda: port_open(NODES["controller2"], int(ADDR["ssh_port"])), 15)
    return ns_pid("controller2")


def in_namespace(args: list[str], check=True, node: str = "controller1", **kw):
    pid = ns_pid(node)
    if not pid:
        die(f"{node} is not running: `make lab-up`")
    env = {**os.environ, **kw.pop("env", {}), "HC_LAB_NODE": node}
    return run(["nsenter", "-t", str(pid), "-m", "-u", "--", *args], check=check, env=env, **kw)


def namespace_members(node: str = "controller1") -> list[int]:
    """Every process living in a controller's mount namespace: all of them are ours."""
    pid = ns_pid(node)
    if not pid:
        return []
    target = os.readlink(f"/proc/{pid}/ns/mnt")
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns/mnt") == target:
                    members.append(int(entry.name))
            except OSError:
                continue
    return members


# ---------------------------------------------------------------- inside controller1
def write(path: str, text: str, mode=0o640, owner="root", group="root") -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    p.chmod(mode)
    shutil.chown(p, owner, group)


def venv_bin(name: str) -> str:
    return str(VENV / "bin" / name)


def spawn(cmd: list[str], logfile: str, relay: bool = False) -> None:
    """Start a daemon with its output appended to logfile. relay: through a `cat` that holds the
    O_APPEND descriptor, for a daemon that resets its stdout's flags (HAProxy's `log stdout` sets
    O_NONBLOCK with F_SETFL, dropping O_APPEND: after rotate-logs truncates the file it would go on
    writing at its old offset, leaving a hole of NULs that every log read then scans)."""
    out = open(logfile, "ab")
    if not relay:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        return
    cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=out, stderr=out, start_new_session=True)
    subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=cat.stdin, stderr=cat.stdin, start_new_session=True)
    cat.stdin.close()  # cat ends once the daemon, and every process it handed the pipe to, has exited


def render_configs() -> None:
    v = template_vars()
    os.makedirs("/etc/glance", exist_ok=True)
    shutil.chown("/etc/glance", "root", "glance")
    os.chmod("/etc/glance", 0o750)
    write("/etc/glance/glance-api.conf", render("glance-api.conf"), group="glance")
    write("/etc/glance/glance-api-paste.ini",
          (VENV / "etc/glance/glance-api-paste.ini").read_text(), group="glance")
    write("/etc/glance/glance-api-uwsgi.ini", GLANCE_UWSGI_INI.format(**v), group="glance")
    write("/etc/keystone/keystone.conf", render("keystone.conf"), group="keystone")
    write("/etc/keystone/keystone-uwsgi.ini", KEYSTONE_UWSGI_INI.format(**v), group="keystone")
    write("/etc/haproxy/haproxy.cfg", render("haproxy.cfg"), mode=0o644)
    if profile().get("ceph"):
        import ceph  # noqa: PLC0415 - lab/ceph.py
        for path, (text, mode) in ceph.client_files().items():
            # the glance keyring is the workers' to read; the admin keyring only root's
            write(path, text, mode=mode, group="glance" if "client.glance" in path else "root")
    if profile().get("swift"):
        import swift  # noqa: PLC0415
        write("/etc/glance/glance-swift-store.conf", swift.glance_store_reference(), group="glance")
    for d, owner in (("/var/log/keystone", "keystone"), ("/var/lib/keystone", "keystone"),
                     ("/var/log/haproxy", "root"), ("/var/lib/glance/lock", "glance")):
        os.makedirs(d, exist_ok=True)
        shutil.chown(d, owner, owner)



def keystone_bootstrap() -> None:
    if Path("/var/lib/keystone/keystone.sqlite").exists():
        return
    s = secrets_file()
    km = venv_bin("keystone-manage")
    as_keystone = ["runuser", "-u", "keystone", "--", km]
    tool([*as_keystone, "db_sync"], "keystone-manage db_sync")
    tool([km, "fernet_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"],
         "keystone-manage fernet_setup")
    tool([km, "credential_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"],
         "keystone-manage credential_setup")
    tool([*as_keystone, "bootstrap", "--bootstrap-password", s["admin_password"],
          "--bootstrap-admin-url", f"http://{ADDR['vip']}:5000/v3/",
          "--bootstrap-internal-url", f"http://{ADDR['vip']}:5000/v3/",
          "--bootstrap-public-url", f"http://{ADDR['vip']}:5000/v3/",
          "--bootstrap-region-id", "RegionOne"], "keystone-manage bootstrap")


def start_uwsgi(name: str, ini: str, pidfile: str, logfile: str) -> None:
    if pid_alive(read_pid(Path(pidfile))):
        return
    spawn([venv_bin("uwsgi"), "--ini", ini], logfile)


def glance_db_reset() -> None:
    """The stores are fresh tmpfs at every namespace start: the image records go too."""
    Path("/var/lib/glance/glance.sqlite").unlink(missing_ok=True)
    tool(["runuser", "-u", "glance", "--", venv_bin("glance-manage"), "--config-file",
          "/etc/glance/glance-api.conf", "db_sync"], "glance-manage db_sync")
    # /run is the namespace's own tmpfs: the mark goes when the stores go.
    Path("/run/glance-db-synced").write_text("1")


def glance_db_needs_reset() -> bool:
    return not Path("/run/glance-db-synced").exists()


def start_haproxy() -> None:
    pid = read_pid(Path("/run/haproxy-lab.pid"))
    if pid_alive(pid):
        return
    spawn(["haproxy", "-W", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy-lab.pid"],
          "/var/log/haproxy/haproxy.log", relay=True)


def inner_up_node() -> None:
    """A further glance-api node: its own config and workers; keystone and haproxy stay on controller1."""
    render_configs()
    start_uwsgi("glance", "/etc/glance/glance-api-uwsgi.ini", "/run/glance-api-uwsgi.pid",
                "/var/log/glance/glance-api-uwsgi.out")


def inner_up() -> None:
    if NODE != "controller1":
        return inner_up_node()
    render_configs()
    keystone_bootstrap()
    start_uwsgi("keystone", "/etc/keystone/keystone-uwsgi.ini", "/run/keystone-uwsgi.pid",
                "/var/log/keystone/keystone-uwsgi.out")
    wait_for("keystone", lambda: http_status(f"http://{ADDR['keystone_addr']}:5000/v3") == 200, 60)
    start_haproxy()  # the catalog's endpoints are on the VIP
    wait_for("keystone via haproxy", lambda: http_status(f"http://{ADDR['vip']}:5000/v3") == 200, 30)
    if not Path("/var/lib/keystone/.provisioned").exists() or not (STATE / "glance-endpoint-id").exists():
        tool([venv_bin("python"), str(HERE / "provision.py")], "provisioning Keystone (lab/provision.py)",
             env={**os.environ, **{k.upper(): v for k, v in template_vars().items()}})
        Path("/var/lib/keystone/.provisioned").write_text("1")
        render_configs()  # with the endpoint id provision.py recorded
    if glance_db_needs_reset():  # a fresh namespace: empty stores, so a fresh start all round
        glance_db_reset()
        inner_action("rotate-logs")
    start_uwsgi("glance", "/etc/glance/glance-api-uwsgi.ini", "/run/glance-api-uwsgi.pid",
                "/var/log/glance/glance-api-uwsgi.out")


def stop_pidfile(pidfile: str, grace: float = 15) -> None:
    pid = read_pid(Path(pidfile))
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    Path(pidfile).unlink(missing_ok=True)


def glance_healthy() -> bool:
    return http_status(f"http://{NODES[NODE]}:9292/healthcheck") == 200


def wait_for_vip_steady(checks: int = 3) -> None:
    """HAProxy may have marked the node down while it restarted: wait until it routes again."""
    deadline = time.monotonic() + 30
    good = 0
    while good < checks and time.monotonic() < deadline:
        good = good + 1 if http_status(f"http://{ADDR['vip']}:9292/healthcheck") == 200 else 0
        time.sleep(0.5)


def inner_action(action: str) -> None:
    """Small steps the faults use, run inside controller1."""
    if action == "render":
        render_configs()
    elif action in ("restart-glance", "restart-glance-nowait"):
        stop_pidfile("/run/glance-api-uwsgi.pid")
        start_uwsgi("glance", "/etc/glance/glance-api-uwsgi.ini", "/run/glance-api-uwsgi.pid",
                    "/var/log/glance/glance-api-uwsgi.out")
        if action == "restart-glance":
            wait_for("glance-api after restart", glance_healthy, 60)
            wait_for_vip_steady()
        else:
            time.sleep(4)
    elif action == "reload-haproxy":
        os.kill(read_pid(Path("/run/haproxy-lab.pid")), signal.SIGUSR2)
        time.sleep(1)
    elif action == "rotate-logs":
        for log_file in [*Path("/var/log/glance").glob("*.log"), Path("/var/log/haproxy/haproxy.log")]:
            if log_file.exists():
                old = Path(f"{log_file}.1")  # the session's history, for post-mortems; bounded
                mode = "ab" if old.exists() and old.stat().st_size < 256 << 20 else "wb"
                with open(log_file, "rb") as src, open(old, mode) as dst:
                    shutil.copyfileobj(src, dst)
                os.truncate(log_file, 0)
    else:
        die(f"unknown inner action {action}")


# ---------------------------------------------------------------- outside
def clouds_yaml() -> str:
    s = secrets_file()
    auth = f"http://{ADDR['vip']}:5000/v3"

    def cloud(user, password, project):
        return (f"    auth:\n      auth_url: {auth}\n      username: {user}\n"
                f"      password: {password}\n      project_name: {project}\n"
                f"      user_domain_name: Default\n      project_domain_name: Default\n"
                f"    region_name: RegionOne\n    identity_api_version: 3\n"
                f"    interface: public\n    api_timeout: 30\n")

    return ("# Written by the glance-hc lab.\nclouds:\n"
            f"  hc-lab:\n{cloud('admin', s['admin_password'], 'admin')}"
            f"  hc-lab-member:\n{cloud('demo', s['demo_password'], 'demo')}")


def check_lab_dir() -> None:
    """HC_LAB_DIR must stay the same folder inside the controllers' namespaces (which overlay /etc,
    /var and /usr/local) and be readable by their service users (the venv runs as glance)."""
    lab = LAB_DIR.resolve()
    for shadowed in ("/etc", "/var", "/usr/local"):
        if lab == Path(shadowed) or Path(shadowed) in lab.parents:
            die(f"HC_LAB_DIR={LAB_DIR} is under {shadowed}, which the controllers overlay: "
                "choose a folder elsewhere (default /opt/glance-hc-lab)")
    for parent in lab.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            die(f"HC_LAB_DIR={LAB_DIR}: {parent} is not searchable by other users (mode "
                f"{parent.stat().st_mode & 0o777:o}), so the lab's service users could not reach "
                "its venv: choose a folder elsewhere (default /opt/glance-hc-lab)")


def cmd_up(args) -> None:
    if os.geteuid() != 0:
        die("the lab needs root (namespaces, mounts): run it as root")
    check_lab_dir()
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    LAB_DIR.chmod(0o755)
    t0 = time.monotonic()
    cold = not (VENV / ".hc-stamp").exists() or not (STATE / "ovl").exists()
    ensure_tools()
    ensure_venv()
    t_venv = time.monotonic()
    count = int(os.environ.get("HC_LAB_CONTROLLERS", "2"))
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "controllers").write_text(str(count))
    chosen = {"ceph": os.environ.get("HC_LAB_CEPH", "1") == "1", "swift": os.environ.get("HC_LAB_SWIFT", "1") == "1"}
    (STATE / "profile.json").write_text(json.dumps(chosen))
    timings = start_store_clusters(chosen)
    ensure_ssh_material()
    start_namespace()
    in_namespace([venv_bin("python"), str(Path(__file__).resolve()), "_inner-up"])
    if chosen["swift"]:
        start_swift(timings)
    for node in controllers()[1:]:
        start_second_controller()
        in_namespace([venv_bin("python"), str(Path(__file__).resolve()), "_inner-up"], node=node)
        wait_for(f"glance on {node}", lambda: http_status(f"http://{NODES[node]}:9292/healthcheck") == 200, 60)
    for node in [n for n in NODES if n not in controllers()]:
        stop_node(node)
    (STATE / "clouds.yaml").write_text(clouds_yaml())
    (STATE / "clouds.yaml").chmod(0o600)
    vip = ADDR["vip"]
    wait_for("glance through haproxy", lambda: http_status(f"http://{vip}:9292/healthcheck") == 200, 90)
    left = active_faults()
    if left:  # a run stopped mid-test left faults in: start from a healthy lab all the same
        log(f"reverting faults left injected: {', '.join(left)}")
        for name in left:
            run([sys.executable, str(Path(__file__).resolve()), "fault", "revert", name], check=False)
    if os.environ.get("HC_LAB_KOLLA") == "1":
        import kolla  # noqa: PLC0415 - lab/kolla.py: the Kolla-style glance_api container
        try:
            kolla.up()
        except kolla.KollaError as exc:
            die(str(exc))
    t1 = time.monotonic()
    kind = "cold" if cold else "warm"
    extra = "".join(f", {name} {seconds:.1f}s" for name, seconds in timings.items())
    log(f"{kind} start: {t1 - t0:.1f}s (of which venv {t_venv - t0:.1f}s, services {t1 - t_venv:.1f}s{extra})")
    print(env_text())


def start_store_clusters(chosen: dict) -> dict[str, float]:
    """Ceph and Swift run outside the controllers, as storage clusters do; the lab venv gets the
    rbd/rados bindings (Debian's, built for the same /usr/bin/python3) and python-swiftclient."""
    timings: dict[str, float] = {}
    import ceph  # noqa: PLC0415
    import swift  # noqa: PLC0415
    if chosen["ceph"]:
        t = time.monotonic()
        link_debian_bindings(["rados", "rbd"])
        try:
            ceph.up()
        except (ceph.CephError, subprocess.CalledProcessError) as exc:
            die(f"ceph: {exc}")
        timings["ceph"] = time.monotonic() - t
    else:
        ceph.down()
    if not chosen["swift"]:
        swift.down()
    return timings


def start_swift(timings: dict[str, float]) -> None:
    """Swift once Keystone runs: glance_store's swift driver authenticates with Keystone v3 only,
    so the proxy takes Keystone tokens (and keeps tempauth for the lab's own quota work)."""
    import swift  # noqa: PLC0415
    t = time.monotonic()
    try:
        swift.ensure_installed()
        swift.up(swift.lab_keystone_link())
        # as operators cap a service account; Keystone's per-process role cache may refuse the
        # swift user's new ResellerAdmin role for a few seconds after it was granted
        wait_for("the swift account quota", lambda: swift.set_account_quota(SWIFT_ACCOUNT_QUOTA) is None, 30, 1)
    except swift.SwiftLabError as exc:
        die(f"swift: {exc}")
    timings["swift"] = time.monotonic() - t


def link_debian_bindings(modules: list[str]) -> None:
    site = next((VENV / "lib").glob("python3*/site-packages"))
    for module in modules:
        for so in Path("/usr/lib/python3/dist-packages").glob(f"{module}.cpython-*.so"):
            link = site / so.name
            if not link.exists():
                link.symlink_to(so)
        if not any(site.glob(f"{module}.cpython-*.so")):
            die(f"python3-{module} is not installed: run `make deps`")


def env_text() -> str:
    return (f"export OS_CLIENT_CONFIG_FILE={STATE}/clouds.yaml\n"
            f"export OS_CLOUD=hc-lab\n"
            f"# ssh: ssh -F {STATE}/ssh_config controller1\n"
            f"# suite: pytest checks/ --host=controller1 --ssh-config={STATE}/ssh_config")


def cmd_env(_args) -> None:
    print(env_text())


def cmd_down(_args) -> None:
    if shutil.which("podman"):
        import kolla  # noqa: PLC0415 - the container can run without the rest of the lab
        try:
            kolla.down()
        except kolla.KollaError as exc:
            log(f"kolla: {exc}")
    ssh_cfg = STATE / "ssh_config"
    if ssh_cfg.exists():
        # ssh connection masters left by suite runs (ControlPersist) belong to the lab too.
        suite_dir = Path.home() / ".cache/glance-hc/ssh"
        lab_socks = suite_dir.glob(f"cm-*@{ADDR['ssh_addr']}:{ADDR['ssh_port']}")
        for sock in [*(STATE / "ssh").glob("cm-*"), *lab_socks]:
            run(["ssh", "-F", str(ssh_cfg), "-o", f"ControlPath={sock}", "-O", "exit", "controller1"],
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    import ceph  # noqa: PLC0415
    import swift  # noqa: PLC0415
    ceph.down()
    swift.down()
    if not ns_pid():
        log("lab is not running")
        return
    for node in reversed(NODES):
        stop_node(node)
    log("lab stopped: no lab process left; its mounts went with its namespaces")


def stop_node(node: str) -> None:
    """End every process in a controller's namespace; its mounts go with the namespace."""
    members = namespace_members(node)
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        for pid in members:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(pid_alive(p) for p in members):
            time.sleep(0.1)
        members = [p for p in members if pid_alive(p)]
        if not members:
            break
    ns_pidfile(node).unlink(missing_ok=True)
    if members:
        die(f"processes of {node} would not stop: {members}")


def service_rows() -> list[tuple[str, str]]:
    rows = []
    pid = ns_pid()
    rows.append(("controller1 namespace", f"pid {pid}" if pid else "down"))
    if not pid:
        return rows
    for name, pidfile in (("keystone uWSGI", "/run/keystone-uwsgi.pid"),
                          ("glance-api uWSGI", "/run/glance-api-uwsgi.pid"),
                          ("haproxy", "/run/haproxy-lab.pid")):
        out = in_namespace(["cat", pidfile], check=False, capture_output=True, text=True)
        p = out.stdout.strip()
        rows.append((name, f"pid {p}" if p and pid_alive(int(p)) else "down"))
    rows.append(("sshd", "listening" if port_open(ADDR["ssh_addr"], int(ADDR["ssh_port"])) else "down"))
    for node in controllers()[1:]:
        pid2 = ns_pid(node)
        rows.append((f"{node} namespace", f"pid {pid2}" if pid2 else "down"))
    urls = [("keystone via VIP", f"http://{ADDR['vip']}:5000/v3"),
            ("glance via VIP", f"http://{ADDR['vip']}:9292/healthcheck")]
    urls += [(f"glance on {n}", f"http://{NODES[n]}:9292/healthcheck") for n in controllers()]
    for name, url in urls:
        try:
            rows.append((name, f"HTTP {http_status(url)}"))
        except OSError as exc:
            rows.append((name, f"unreachable ({exc})"))
    return rows


def cmd_status(_args) -> None:
    for name, state in service_rows():
        print(f"{name:24} {state}")
    import ceph  # noqa: PLC0415
    import swift  # noqa: PLC0415
    for name, state in [*ceph.status_rows(), *swift.status_rows()]:
        print(f"{name:24} {state}")
    faults = active_faults()
    print(f"{'injected faults':24} {', '.join(faults) or 'none'}")
    if shutil.which("podman"):
        import kolla  # noqa: PLC0415
        for name, state in kolla.status_rows():
            print(f"{name:24} {state}")


# ---------------------------------------------------------------- faults
def active_faults() -> list[str]:
    path = STATE / "faults.json"
    return json.loads(path.read_text()) if path.exists() else []


def set_active_faults(names: list[str]) -> None:
    (STATE / "faults.json").write_text(json.dumps(sorted(set(names))))


def cmd_fault(args) -> None:
    if Path(sys.executable).resolve() != Path(venv_bin("python")).resolve() and sys.prefix != str(VENV):
        # the faults talk to the API through openstacksdk, which the lab venv has
        os.execv(venv_bin("python"), [venv_bin("python"), str(Path(__file__).resolve()), *sys.argv[1:]])
    from faults import BAD_INPUTS, CEPH_FAULTS, FAULTS, NODE_FAULTS, SWIFT_FAULTS  # noqa: PLC0415

    FAULTS = {**FAULTS, **NODE_FAULTS, **CEPH_FAULTS, **SWIFT_FAULTS, **BAD_INPUTS}

    if args.action == "list":
        for name, fault in FAULTS.items():
            print(f"{name:22} {fault.root_cause:20} {fault.doc}")
        return
    names = list(FAULTS) if args.name == "all" else [args.name]
    for name in names:
        if name not in FAULTS:
            die(f"unknown fault {name!r}; `labctl.py fault list` shows them")
    active = active_faults()
    for name in names:
        fault = FAULTS[name]
        if args.action == "inject":
            if name in CEPH_FAULTS and not profile().get("ceph"):
                die(f"{name} needs the lab's Ceph: HC_LAB_CEPH=1 make lab-up")
            if name in SWIFT_FAULTS and not profile().get("swift"):
                die(f"{name} needs the lab's Swift: HC_LAB_SWIFT=1 make lab-up")
            fault.inject()
            active.append(name)
            log(f"injected {name}")
        elif (name in active or args.name != "all") and (name not in NODE_FAULTS or len(controllers()) > 1) \
                and (name not in CEPH_FAULTS or profile().get("ceph")) \
                and (name not in SWIFT_FAULTS or profile().get("swift")):
            fault.revert()
            active = [a for a in active if a != name]
            log(f"reverted {name}")
    set_active_faults(active)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up").set_defaults(fn=cmd_up)
    sub.add_parser("down").set_defaults(fn=cmd_down)
    sub.add_parser("status").set_defaults(fn=cmd_status)
    sub.add_parser("env").set_defaults(fn=cmd_env)
    sub.add_parser("_inner-up").set_defaults(fn=lambda _a: inner_up())
    inner = sub.add_parser("_inner")
    inner.add_argument("action")
    inner.set_defaults(fn=lambda a: inner_action(a.action))
    f = sub.add_parser("fault")
    f.add_argument("action", choices=["list", "inject", "revert"])
    f.add_argument("name", nargs="?", default="all")
    f.set_defaults(fn=cmd_fault)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
