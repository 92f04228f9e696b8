"""The lab's block storage for Glance's cinder store: a real Cinder (PyPI) on the lab's Ceph.

Cinder 29.0.0 in its own venv ($HC_LAB_DIR/cinder-venv, Debian's /usr/bin/python3 with Debian's
rados/rbd bindings linked in: `--system-site-packages` breaks on Debian's pyOpenSSL). Outside the
controllers, as a storage service runs, everything on 127.0.0.11 and under $HC_LAB_DIR/state/cinder:

    rabbitmq-server   127.0.0.11:5672   Debian's, by hand (cinder's services need a real RPC bus);
                                         epmd and the node's distribution port on the same address
    cinder-api        127.0.0.11:8776   uWSGI, cinder.wsgi.api:application, Keystone auth
    cinder-scheduler                     one process
    cinder-volume                        one process, backend `ceph`: RBDDriver on pool `volumes`
                                         as client.cinder (`profile rbd pool=volumes`)

Cinder's database is `cinder` on the lab's MariaDB (SQLite answered "database is locked" under
concurrent uploads). In the lab's Keystone: a `cinder` service user, a `volumev3` service with its
endpoints on 127.0.0.11, and a public volume type `glance-images` (backend `ceph`) for Glance.

Glance's side (lab.controller, when the profile has `cinder`): a `cinder` store in glance-api.conf
(cinder_store_* as user glance in project service), /etc/glance/rootwrap.conf and its filters, the
sudoers rule that lets the workers start os-brick's privsep helper through glance-rootwrap, and
/etc/ceph/ceph.client.cinder.keyring readable by group glance (os-brick's RBD connector opens the
volume with librbd as client.cinder: no kernel map).

Opt-in: HC_LAB_CINDER=1 at `up`.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from lab import ceph, mariadb
from lab.common import HERE, LAB_DIR, STATE, LabError, http_status, log, output, pid_alive, port_open, read_pid

VENV = LAB_DIR / "cinder-venv"
REQUIREMENTS = HERE / "cinder-requirements.txt"
STAMP = VENV / ".hc-requirements-sha256"
ADDR = "127.0.0.11"
API_PORT = 8776
RABBIT_PORT = 5672
RABBIT_DIST_PORT = 25672
HOME = STATE / "cinder"
ETC = HOME / "etc"
RUN = HOME / "run"
LOGS = HOME / "log"
LIB = HOME / "lib"
RABBIT = HOME / "rabbitmq"
POOL = "volumes"
USER = "cinder"
CAPS = ["mon", "profile rbd", "osd", f"profile rbd pool={POOL}", "mgr", f"profile rbd pool={POOL}"]
KEYRING = ceph.CLIENT / f"ceph.client.{USER}.keyring"
BACKEND = "ceph"
VOLUME_TYPE = "glance-images"
API_URL = f"http://{ADDR}:{API_PORT}"
KEYSTONE_URL = "http://127.0.0.2:5000/v3"
# an upload to a cinder store whose cinder-volume is gone waits this long for the volume to leave
# `creating` (glance_store's default is 300 s): the lab's faults stay bounded
STATE_TRANSITION_TIMEOUT = 10
SERVICES = ("cinder-api", "cinder-scheduler", "cinder-volume")
SECRETS = ("cinder_password", "cinder_db_password", "cinder_rabbit_password")


class CinderError(LabError):
    """The lab's Cinder could not be set up or did not answer."""


def secrets_file() -> dict:
    """secrets.json with Cinder's passwords added when absent (lab.common keeps the others)."""
    path = STATE / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    missing = [n for n in SECRETS if n not in data]
    if missing:
        data.update({n: f"hcsecret-{n}-{secrets.token_hex(8)}" for n in missing})
        path.write_text(json.dumps(data, indent=2))
        path.chmod(0o600)
    return data


def bin_(name: str) -> str:
    return str(VENV / "bin" / name)


# ---------------------------------------------------------------- install
def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv() -> bool:
    """Build the cinder venv when missing or when cinder-requirements.txt changed; True if built."""
    if STAMP.exists() and STAMP.read_text().strip() == requirements_hash():
        return False
    t0 = time.monotonic()
    log(f"building {VENV} from {REQUIREMENTS.name} (about 70 s)")
    if VENV.exists():
        shutil.rmtree(VENV)
    output(["/usr/bin/python3", "-m", "venv", str(VENV)], error=CinderError)
    output([bin_("pip"), "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
           timeout=1200, error=CinderError)
    STAMP.write_text(requirements_hash() + "\n")
    log(f"cinder venv ready in {time.monotonic() - t0:.0f}s")
    return True


def link_bindings() -> None:
    site = next((VENV / "lib").glob("python3*/site-packages"))
    for module in ("rados", "rbd"):
        for so in Path("/usr/lib/python3/dist-packages").glob(f"{module}.cpython-*.so"):
            if not (site / so.name).exists():
                (site / so.name).symlink_to(so)
        if not any(site.glob(f"{module}.cpython-*.so")):
            raise CinderError(f"python3-{module} is not installed: run `make deps`")


# ---------------------------------------------------------------- ceph
def ensure_pool_and_user() -> None:
    pools = json.loads(ceph.ceph("osd", "pool", "ls", "--format", "json"))
    if POOL not in pools:
        ceph.ceph("osd", "pool", "create", POOL, "8")
        ceph.ceph("osd", "pool", "application", "enable", POOL, "rbd")
        output(["rbd", "-c", str(ceph.CONF), "--id", "admin", "--keyring", str(ceph.ADMIN_KEYRING),
                "pool", "init", POOL], error=CinderError)
    KEYRING.write_text(ceph.ceph("auth", "get-or-create", f"client.{USER}", *CAPS))
    KEYRING.chmod(0o600)


def client_files() -> dict[str, tuple[str, int]]:
    """What a glance node gets for the cinder store: the client.cinder keyring (group glance)."""
    return {f"/etc/ceph/ceph.client.{USER}.keyring": (KEYRING.read_text(), 0o640)}


# ---------------------------------------------------------------- configs
def cinder_conf(s: dict) -> str:
    return f"""[DEFAULT]
transport_url = rabbit://cinder:{s['cinder_rabbit_password']}@{ADDR}:{RABBIT_PORT}/
auth_strategy = keystone
my_ip = {ADDR}
host = hc-lab-cinder
osapi_volume_listen = {ADDR}
state_path = {LIB}
api_paste_config = {ETC}/api-paste.ini
log_dir = {LOGS}
enabled_backends = {BACKEND}
glance_api_servers = http://127.0.0.10:9292
rpc_response_timeout = 20
# a stopped cinder-volume shows down after 15 s, not 60 (the lab's faults stay short)
report_interval = 5
service_down_time = 15
debug = false

[database]
connection = mysql+pymysql://cinder:{s['cinder_db_password']}@{mariadb.ADDR['db_addr']}:{mariadb.PORT}/cinder

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.10:5000
auth_url = {KEYSTONE_URL}
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = {USER}
password = {s['cinder_password']}

[oslo_concurrency]
lock_path = {LIB}/lock

[oslo_messaging_rabbit]
heartbeat_timeout_threshold = 0

[{BACKEND}]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = {BACKEND}
rbd_pool = {POOL}
rbd_ceph_conf = {ETC}/ceph.conf
rbd_user = {USER}
rbd_flatten_volume_from_snapshot = false
rados_connect_timeout = 10
report_discard_supported = false
"""


def uwsgi_ini() -> str:
    return f"""[uwsgi]
http-socket = {ADDR}:{API_PORT}
add-header = Connection: close
module = cinder.wsgi.api:application
pyargv = --config-file {ETC}/cinder.conf
master = true
processes = 1
threads = 2
enable-threads = true
die-on-term = true
lazy-apps = true
need-app = true
pidfile = {RUN}/cinder-api.pid
logto = {LOGS}/cinder-api-uwsgi.log
procname-prefix-spaced = cinder-api
"""


def rabbit_env() -> dict:
    """rabbitmq-server on the lab address only: AMQP, epmd and the distribution port."""
    return {**os.environ, "RABBITMQ_NODENAME": f"hc-cinder@{ADDR}", "RABBITMQ_USE_LONGNAME": "true",
            "RABBITMQ_NODE_IP_ADDRESS": ADDR, "RABBITMQ_NODE_PORT": str(RABBIT_PORT),
            "RABBITMQ_DIST_PORT": str(RABBIT_DIST_PORT), "ERL_EPMD_ADDRESS": ADDR,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": f"-kernel inet_dist_use_interface {{{ADDR.replace('.', ',')}}}",
            "RABBITMQ_MNESIA_BASE": str(RABBIT / "mnesia"), "RABBITMQ_LOG_BASE": str(RABBIT / "log"),
            "RABBITMQ_CONFIG_FILE": str(RABBIT / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(RABBIT / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(RUN / "rabbitmq.pid")}


def write_configs() -> None:
    s = secrets_file()
    for d in (ETC, RUN, LOGS, LIB, LIB / "lock", RABBIT, RABBIT / "mnesia", RABBIT / "log"):
        d.mkdir(parents=True, exist_ok=True)
    HOME.chmod(0o755)
    for d in (RABBIT, RABBIT / "mnesia", RABBIT / "log"):
        shutil.chown(d, "rabbitmq", "rabbitmq")
    shutil.chown(RUN, "root", "rabbitmq")
    RUN.chmod(0o770)
    # the broker's only user: made at its first start from here (its password never in argv)
    conf = RABBIT / "rabbitmq.conf"
    conf.write_text(f"default_user = cinder\ndefault_pass = {s['cinder_rabbit_password']}\n"
                    f"loopback_users = none\nlisteners.tcp.default = {ADDR}:{RABBIT_PORT}\n")
    conf.chmod(0o640)
    shutil.chown(conf, "root", "rabbitmq")
    (RABBIT / "enabled_plugins").write_text("[].\n")
    shutil.chown(RABBIT / "enabled_plugins", "rabbitmq", "rabbitmq")
    (ETC / "cinder.conf").write_text(cinder_conf(s))
    (ETC / "cinder.conf").chmod(0o600)
    (ETC / "ceph.conf").write_text(ceph.client_conf_text(ceph.fsid()) + f"keyring = {KEYRING}\n")
    paste = VENV / "etc/cinder/api-paste.ini"
    (ETC / "api-paste.ini").write_text(paste.read_text() if paste.exists() else _paste_from_package())
    (ETC / "cinder-api-uwsgi.ini").write_text(uwsgi_ini())


def _paste_from_package() -> str:
    found = list((VENV / "lib").glob("python3*/site-packages/cinder/**/api-paste.ini"))
    if not found:
        raise CinderError(f"no api-paste.ini in {VENV}")
    return found[0].read_text()


# ---------------------------------------------------------------- processes
def pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def pid(name: str) -> int | None:
    found = read_pid(pidfile(name))
    return found if pid_alive(found) else None


def spawn(name: str, cmd: list[str], env: dict | None = None, record: bool = True) -> None:
    out = open(LOGS / f"{name}.out", "ab")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                            cwd="/", env=env)
    if record:
        pidfile(name).write_text(f"{proc.pid}\n")


def _wait(what: str, probe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:  # noqa: BLE001 - the probe's error is what is reported
            last = exc
        time.sleep(0.3)
    raise CinderError(f"{what} not ready within {timeout:.0f}s (last error: {last}; logs in {LOGS})")


def start_rabbit() -> None:
    if port_open(ADDR, RABBIT_PORT):
        return
    spawn("rabbitmq", ["/usr/sbin/rabbitmq-server"], env=rabbit_env(), record=False)
    _wait("rabbitmq", lambda: port_open(ADDR, RABBIT_PORT), 60)


def rabbit_pid() -> int | None:
    found = read_pid(RUN / "rabbitmq.pid")
    return found if pid_alive(found) else None


def start_service(name: str) -> None:
    if pid(name):
        return
    conf = ["--config-file", str(ETC / "cinder.conf")]
    cmd = {"cinder-api": [bin_("uwsgi"), "--ini", str(ETC / "cinder-api-uwsgi.ini")],
           "cinder-scheduler": [bin_("cinder-scheduler"), *conf],
           "cinder-volume": [bin_("cinder-volume"), *conf]}[name]
    spawn(name, cmd)


def stop_pid(found: int | None, grace: float = 10) -> None:
    if not pid_alive(found):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(found, sig)  # each was started in a session of its own: its workers too
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while pid_alive(found) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pid_alive(found):
            return


def stop_service(name: str) -> None:
    stop_pid(pid(name))
    pidfile(name).unlink(missing_ok=True)


def volume_service_up(timeout: float = 60) -> None:
    """Wait until the scheduler sees cinder-volume's backend up (`cinder-manage service list`)."""
    def up() -> bool:
        out = output([bin_("cinder-manage"), "--config-file", str(ETC / "cinder.conf"), "service", "list"],
                     timeout=30, error=CinderError).stdout
        rows = [line.split() for line in out.splitlines()[1:] if line.strip()]
        states = {row[0]: row[4] for row in rows if len(row) > 4}
        return states.get("cinder-volume") == ":-)" and states.get("cinder-scheduler") == ":-)"
    _wait("cinder-volume and cinder-scheduler up", up, timeout)


# ---------------------------------------------------------------- keystone and cinder objects
def provision(admin_password: str, lab_python: str) -> None:
    """The Keystone service, endpoints, `cinder` user and the volume type (lab/cinder_provision.py,
    under the lab venv's openstacksdk; passwords through its environment, never argv)."""
    s = secrets_file()
    env = {**os.environ, "ADMIN_PASSWORD": admin_password, "CINDER_PASSWORD": s["cinder_password"],
           "KEYSTONE_URL": KEYSTONE_URL, "CINDER_URL": API_URL, "VOLUME_TYPE": VOLUME_TYPE, "BACKEND": BACKEND}
    output([lab_python, str(HERE / "cinder_provision.py"), "keystone"], timeout=120, error=CinderError, env=env)


def ensure_volume_type(admin_password: str, lab_python: str) -> None:
    env = {**os.environ, "ADMIN_PASSWORD": admin_password, "KEYSTONE_URL": KEYSTONE_URL,
           "VOLUME_TYPE": VOLUME_TYPE, "BACKEND": BACKEND}
    output([lab_python, str(HERE / "cinder_provision.py"), "volume-type"], timeout=120, error=CinderError,
           env=env)


# ---------------------------------------------------------------- up, down, status
def prepare() -> None:
    """What the controllers' configs need before they render (the client.cinder keyring), and
    what needs no Keystone: the venv, Cinder's database, its configs, the message bus."""
    if not Path("/usr/sbin/rabbitmq-server").exists():
        raise CinderError("rabbitmq-server is not installed: run `make deps` (installs it from Debian)")
    ensure_venv()
    link_bindings()
    ensure_pool_and_user()
    secrets_file()
    mariadb.ensure_database("cinder")
    write_configs()
    start_rabbit()
    if not mariadb.has_table("cinder", "volumes"):
        output([bin_("cinder-manage"), "--config-file", str(ETC / "cinder.conf"), "db", "sync"],
               timeout=300, error=CinderError)


def up(admin_password: str, lab_python: str) -> None:
    """Cinder's services, once the lab's Keystone runs (prepare() first)."""
    provision(admin_password, lab_python)
    for name in SERVICES:
        start_service(name)
    _wait("cinder-api", lambda: http_status(f"{API_URL}/") in (200, 300), 60)
    volume_service_up()
    ensure_volume_type(admin_password, lab_python)


def down() -> None:
    for name in reversed(SERVICES):
        stop_service(name)
    found = rabbit_pid()
    if found:
        out = subprocess.run(["/usr/sbin/rabbitmqctl", "stop"], env=rabbit_env(), capture_output=True,
                             timeout=60, check=False)
        if out.returncode != 0:
            stop_pid(found)
        deadline = time.monotonic() + 20
        while pid_alive(found) and time.monotonic() < deadline:
            time.sleep(0.2)
    # epmd, started by the broker on the lab address, outlives it
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "environ").read_bytes().find(f"ERL_EPMD_ADDRESS={ADDR}".encode()) >= 0 and \
                        (entry / "comm").read_text().strip() == "epmd":
                    os.kill(int(entry.name), signal.SIGTERM)
            except OSError:
                continue


def rss_mib() -> int:
    pids = [p for p in (*(pid(n) for n in SERVICES), rabbit_pid()) if p]
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) not in pids:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total // 1024


def status_rows() -> list[tuple[str, str]]:
    rows = [("cinder rabbitmq", f"pid {rabbit_pid()}" if rabbit_pid() else "down")]
    rows += [(name, f"pid {pid(name)}" if pid(name) else "down") for name in SERVICES]
    if any(p for _, p in rows if p != "down"):
        try:
            rows.append(("cinder-api", f"HTTP {http_status(f'{API_URL}/')} ({rss_mib()} MiB RSS in all)"))
        except OSError as exc:
            rows.append(("cinder-api", f"unreachable ({exc})"))
    return rows
