"""Inside a controller: its configs rendered from lab/templates, its services started and restarted.

Run in the controller's namespace under the lab venv (`python -m lab _inner-up` and `_inner
ACTION`, see lab.common.inner); the config renders are shared with the outside (ssh configs).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from lab import ceph, cinder, mariadb, radosgw, swift
from lab.common import (
    ADDR,
    HEALTHY_TIMEOUTS,
    HERE,
    NODE,
    NODES,
    STATE,
    VENV,
    controllers,
    die,
    http_status,
    pid_alive,
    profile,
    read_pid,
    secrets_file,
    template,
    tool,
    venv_bin,
    wait_for,
)


def extra_stores() -> tuple[str, str]:
    """(`, name:type` entries for enabled_backends, their sections) for the profile's stores."""
    backends, sections = "", ""
    if profile().get("ceph"):
        backends += ", rbd:rbd"
        sections += template("glance-api-rbd.conf")
    if profile().get("swift"):
        backends += ", swift:swift"
        sections += "\n" + swift.glance_store_options()
    if profile().get("s3"):
        backends += ", s3:s3"
        sections += "\n" + radosgw.glance_store_options()
    if profile().get("cinder"):
        backends += ", cinder:cinder"
        sections += "\n" + template("glance-api-cinder.conf", glance_password=secrets_file()["glance_password"],
                                     keystone_addr=ADDR["keystone_addr"], volume_type=cinder.VOLUME_TYPE,
                                     timeout=cinder.STATE_TRANSITION_TIMEOUT)
    return backends, sections


def template_vars(node: str | None = None) -> dict:
    node = node or NODE
    servers = "\n".join(f"    server {n} {NODES[n]}:9292 check inter 1s fall 5 rise 1" for n in controllers())
    backends, sections = extra_stores()
    return {**ADDR, **secrets_file(), **HEALTHY_TIMEOUTS, "state": str(STATE), "node": node,
            "glance_addr": NODES[node], "glance_servers": servers,
            # two workers on the first two controllers; one on each further node (a fleet of them)
            "glance_processes": "2" if node in list(NODES)[:2] else "1",
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
    """lab/templates/NAME filled with the lab's values (and `extra`)."""
    return template(name, **{**template_vars(), **extra})


# ---------------------------------------------------------------- files and daemons
def write(path: str, text: str, mode=0o640, owner="root", group="root") -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    p.chmod(mode)
    shutil.chown(p, owner, group)


def spawn(cmd: list[str], logfile: str, relay: bool = False) -> None:
    """Start a daemon with its output appended to logfile. relay: through a `cat` that holds the
    O_APPEND descriptor, for a daemon that resets its stdout's flags (HAProxy's `log stdout` sets
    O_NONBLOCK with F_SETFL, dropping O_APPEND: after rotate-logs truncates the file it would go on
    writing at its old offset, leaving a hole of NULs that every log read then scans)."""
    out = open(logfile, "ab")
    if not relay:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, cwd="/")
        return
    cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=out, stderr=out, start_new_session=True, cwd="/")
    subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=cat.stdin, stderr=cat.stdin, start_new_session=True,
                     cwd="/")
    cat.stdin.close()  # cat ends once the daemon, and every process it handed the pipe to, has exited


def render_configs() -> None:
    os.makedirs("/etc/glance", exist_ok=True)
    shutil.chown("/etc/glance", "root", "glance")
    os.chmod("/etc/glance", 0o750)
    write("/etc/glance/glance-api.conf", render("glance-api.conf"), group="glance")
    write("/etc/glance/glance-api-paste.ini",
          (VENV / "etc/glance/glance-api-paste.ini").read_text(), group="glance")
    write("/etc/glance/glance-api-uwsgi.ini", render("glance-api-uwsgi.ini"), group="glance")
    write("/etc/keystone/keystone.conf", render("keystone.conf"), group="keystone")
    write("/etc/keystone/keystone-uwsgi.ini", render("keystone-uwsgi.ini"), group="keystone")
    write("/etc/haproxy/haproxy.cfg", render("haproxy.cfg"), mode=0o644)
    if profile().get("ceph"):
        for path, (text, mode) in ceph.client_files().items():
            # the glance keyring is the workers' to read; the admin keyring only root's
            write(path, text, mode=mode, group="glance" if "client.glance" in path else "root")
    if profile().get("cinder"):
        render_cinder_store()
    if profile().get("swift"):
        write("/etc/glance/glance-swift-store.conf", swift.glance_store_reference(), group="glance")
    for d, owner in (("/var/log/keystone", "keystone"), ("/var/lib/keystone", "keystone"),
                     ("/var/log/haproxy", "root"), ("/var/lib/glance/lock", "glance")):
        os.makedirs(d, exist_ok=True)
        shutil.chown(d, owner, owner)


SUDOERS_RULE = "/etc/sudoers.d/glance-rootwrap"


def render_cinder_store() -> None:
    """What a glance node needs for the cinder store, as distro packages install it: rootwrap's
    config and the cinder store's filters (from the glance wheel), glance-rootwrap on sudo's PATH,
    the sudoers rule for it (os-brick starts its privsep helper through it), the cinder keyring."""
    etc = VENV / "etc/glance"
    conf = (etc / "rootwrap.conf").read_text()
    conf = re.sub(r"^exec_dirs=.*$", f"exec_dirs={VENV}/bin,/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin",
                  conf, flags=re.M)
    write("/etc/glance/rootwrap.conf", conf, mode=0o644)
    for filters in (etc / "rootwrap.d").glob("*.filters"):
        write(f"/etc/glance/rootwrap.d/{filters.name}", filters.read_text(), mode=0o644)
    os.chmod("/etc/glance/rootwrap.d", 0o755)
    link = Path("/usr/local/bin/glance-rootwrap")
    if not link.is_symlink():
        link.unlink(missing_ok=True)
        link.symlink_to(venv_bin("glance-rootwrap"))
    write(SUDOERS_RULE, "Defaults:glance !requiretty\n"
          "glance ALL = (root) NOPASSWD: /usr/local/bin/glance-rootwrap /etc/glance/rootwrap.conf *\n", mode=0o440)
    for path, (text, mode) in cinder.client_files().items():
        write(path, text, mode=mode, group="glance")


# ---------------------------------------------------------------- services
def keystone_bootstrapped() -> bool:
    """Keystone's database on MariaDB holds its admin user (keystone-manage bootstrap ran)."""
    return mariadb.has_table("keystone", "local_user") and mariadb.sql(
        "SELECT COUNT(*) FROM keystone.local_user WHERE name = 'admin';").strip() != "0"


def keystone_bootstrap() -> bool:
    """db_sync, keys and bootstrap when Keystone's database is empty (a new lab, or one that kept
    it in SQLite before: it is made again on MariaDB); True when it ran. Each step is idempotent
    (fernet_setup and credential_setup keep keys that exist)."""
    if keystone_bootstrapped():
        return False
    Path("/var/lib/keystone/keystone.sqlite").unlink(missing_ok=True)  # the lab's database before MariaDB
    (STATE / "glance-endpoint-id").unlink(missing_ok=True)  # an id in the old database: provision again
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
    return True


def start_uwsgi(name: str, ini: str, pidfile: str, logfile: str) -> None:
    if pid_alive(read_pid(Path(pidfile))):
        return
    spawn([venv_bin("uwsgi"), "--ini", ini], logfile)


def glance_db_reset() -> None:
    """The stores are fresh tmpfs at every namespace start: the image records go too (an empty
    `glance` database on MariaDB, its user and grants kept, then db_sync)."""
    Path("/var/lib/glance/glance.sqlite").unlink(missing_ok=True)  # the lab's database before MariaDB
    mariadb.reset_database("glance")
    tool(["runuser", "-u", "glance", "--", venv_bin("glance-manage"), "--config-file",
          "/etc/glance/glance-api.conf", "db_sync"], "glance-manage db_sync")
    # /run is the namespace's own tmpfs: the mark goes when the stores go.
    Path("/run/glance-db-synced").write_text("1")
    METADEFS_MARK.unlink(missing_ok=True)


def glance_db_needs_reset() -> bool:
    return not Path("/run/glance-db-synced").exists() or not mariadb.has_table("glance", "alembic_version")


METADEFS_MARK = Path("/run/glance-metadefs-loaded")


def load_metadefs() -> None:
    """Glance's metadata definitions (the namespaces Horizon and Nova read), loaded as devstack
    and Kolla load them. Idempotent: glance-manage skips a namespace that exists; the mark on the
    namespace's /run saves the call at later starts and goes with the database."""
    tool(["runuser", "-u", "glance", "--", venv_bin("glance-manage"), "--config-file",
          "/etc/glance/glance-api.conf", "db_load_metadefs", str(VENV / "etc/glance/metadefs")],
         "glance-manage db_load_metadefs")
    METADEFS_MARK.write_text("1")


def start_haproxy() -> None:
    pid = read_pid(Path("/run/haproxy-lab.pid"))
    if pid_alive(pid):
        return
    spawn(["haproxy", "-W", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy-lab.pid"],
          "/var/log/haproxy/haproxy.log", relay=True)


CONF_STARTED = Path("/run/glance-api-conf-started")  # "PID SHA256": the config the running glance-api read


def start_glance() -> None:
    """glance-api, restarted when its config changed since it started (a store added by `up` with
    another profile, or a glance-api this code did not start): a service reads its config at start."""
    conf = hashlib.sha256(Path("/etc/glance/glance-api.conf").read_bytes()).hexdigest()
    running = read_pid(Path("/run/glance-api-uwsgi.pid"))
    if pid_alive(running) and (not CONF_STARTED.exists() or CONF_STARTED.read_text() != f"{running} {conf}"):
        stop_pidfile("/run/glance-api-uwsgi.pid")
    start_uwsgi("glance", "/etc/glance/glance-api-uwsgi.ini", "/run/glance-api-uwsgi.pid",
                "/var/log/glance/glance-api-uwsgi.out")
    wait_for("glance-api's pid file", lambda: pid_alive(read_pid(Path("/run/glance-api-uwsgi.pid"))), 30)
    CONF_STARTED.write_text(f"{read_pid(Path('/run/glance-api-uwsgi.pid'))} {conf}")


def inner_up_node() -> None:
    """A further glance-api node: its own config and workers; keystone and haproxy stay on controller1."""
    render_configs()
    start_glance()


def inner_up() -> None:
    if NODE != "controller1":
        return inner_up_node()
    render_configs()
    if keystone_bootstrap():  # a new database: a Keystone still running on the old one restarts
        stop_pidfile("/run/keystone-uwsgi.pid")
        Path("/var/lib/keystone/.provisioned").unlink(missing_ok=True)
    start_uwsgi("keystone", "/etc/keystone/keystone-uwsgi.ini", "/run/keystone-uwsgi.pid",
                "/var/log/keystone/keystone-uwsgi.out")
    wait_for("keystone", lambda: http_status(f"http://{ADDR['keystone_addr']}:5000/v3") == 200, 60)
    start_haproxy()  # the catalog's endpoints are on the VIP
    wait_for("keystone via haproxy", lambda: http_status(f"http://{ADDR['vip']}:5000/v3") == 200, 30)
    if not Path("/var/lib/keystone/.provisioned").exists() or not (STATE / "glance-endpoint-id").exists():
        tool([venv_bin("python"), str(HERE / "provision.py")], "provisioning Keystone (lab/provision.py)",
             env={**os.environ, **{k.upper(): str(v) for k, v in template_vars().items()}})
        Path("/var/lib/keystone/.provisioned").write_text("1")
        render_configs()  # with the endpoint id provision.py recorded
    if glance_db_needs_reset():  # a fresh namespace: empty stores, so a fresh start all round
        stop_pidfile("/run/glance-api-uwsgi.pid")  # none runs in a fresh namespace; one on the old database
        glance_db_reset()
        inner_action("rotate-logs")
    if not METADEFS_MARK.exists():
        load_metadefs()
    start_glance()


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (a uWSGI master's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def stop_pidfile(pidfile: str, grace: float = 15) -> None:
    """The service and its workers, as an init system stops a unit: SIGTERM to the master, and after
    the grace SIGKILL to whatever of it is left (a worker stuck in a request outlives its master and
    keeps the listening socket: the next start would find the address in use)."""
    pid = read_pid(Path(pidfile))
    if not pid_alive(pid):
        return
    workers = _children(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(pid_alive(p) for p in (pid, *workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for left in [p for p in (pid, *workers) if pid_alive(p)]:
        try:
            os.kill(left, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in (pid, *workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
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
    elif action == "stop-glance":  # the first half of a restart, for a fault that acts in between; a
        # worker busy with a request outlives the master's SIGTERM: killed after 3 s, as an init's stop timeout does
        stop_pidfile("/run/glance-api-uwsgi.pid", grace=3)
    elif action in ("restart-glance", "restart-glance-nowait", "start-glance"):
        stop_pidfile("/run/glance-api-uwsgi.pid")
        start_glance()
        if action != "restart-glance-nowait":
            wait_for("glance-api after restart", glance_healthy, 60)
            wait_for_vip_steady()
        else:
            time.sleep(4)
    elif action == "reload-haproxy":
        os.kill(read_pid(Path("/run/haproxy-lab.pid")), signal.SIGUSR2)
        time.sleep(1)
    elif action == "rotate-logs":
        for log_file in [*Path("/var/log/glance").glob("*.log"), Path("/var/log/haproxy/haproxy.log"),
                         Path("/var/log/keystone/keystone.log")]:
            if log_file.exists():
                old = Path(f"{log_file}.1")  # the session's history, for post-mortems; bounded
                mode = "ab" if old.exists() and old.stat().st_size < 256 << 20 else "wb"
                with open(log_file, "rb") as src, open(old, mode) as dst:
                    shutil.copyfileobj(src, dst)
                os.truncate(log_file, 0)
    else:
        die(f"unknown inner action {action}")
