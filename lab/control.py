"""The lab from outside: install, namespaces, `up`, `down`, `status`, `scale`.

controller1 is a private mount namespace (its own /etc, /var, /run, /tmp as overlays or tmpfs)
holding sshd, Keystone and Glance under uWSGI, and HAProxy in front; controller2 (and with
HC_LAB_CONTROLLERS=N up to controller16) further glance-api nodes beside it. Seen over ssh each
looks like a traditional controller; outside the namespaces nothing of it exists, so `down`
leaves the machine as it was. Ceph, Swift and the Kolla-style container run outside the
controllers, as storage clusters and containers do (lab/ceph.py, swift.py, kolla.py).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from lab import ceph, cinder, kolla, mariadb, radosgw, swift
from lab.common import (
    ADDR,
    HERE,
    LAB_DIR,
    NODES,
    ROOT,
    RUN,
    STATE,
    STORE_MB_FAST,
    STORE_MB_SMALL,
    SWIFT_ACCOUNT_QUOTA,
    VENV,
    active_faults,
    controllers,
    die,
    ensure_venv,
    http_status,
    in_namespace,
    lab_command,
    log,
    ns_pid,
    ns_pidfile,
    pid_alive,
    port_open,
    run,
    secrets_file,
    template,
    venv_bin,
    wait_for,
)
from lab.controller import render


# ---------------------------------------------------------------- install
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
    for node in list(NODES)[1:]:
        (STATE / f"sshd_config-{node}").write_text(render("sshd_config", ssh_addr=NODES[node]))
    (STATE / "ssh_config").write_text(render("ssh_config", node_hosts="".join(
        render("ssh_config-node", node=node, node_addr=NODES[node]) for node in list(NODES)[1:])))


# ---------------------------------------------------------------- namespaces
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


def start_node(node: str) -> int:
    """A further glance-api node: a copy of controller1's mount table (same stores, same
    database), its own /etc, /run and /var/log/glance."""
    pid = ns_pid(node)
    if pid:
        return pid
    ns_pidfile(node).unlink(missing_ok=True)
    logf = open(STATE / f"ns-{node}.log", "ab")
    subprocess.Popen(
        ["nsenter", "-t", str(ns_pid()), "-m", "--", "unshare", "--mount", "--uts", "--propagation",
         "private", "--", "/bin/sh", str(HERE / "ns_init_node.sh"), str(STATE), node, NODES[node]],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
    )
    wait_for(f"{node} namespace", lambda: ns_pid(node), 15)
    wait_for(f"{node} sshd", lambda: port_open(NODES[node], int(ADDR["ssh_port"])), 15)
    return ns_pid(node)


def start_nodes() -> None:
    """The nodes after controller1 that HC_LAB_CONTROLLERS asks for, side by side (each is
    seconds of glance's start-up), and none of the others."""
    nodes = controllers()[1:]
    for node in nodes:
        start_node(node)
    procs = [(node, subprocess.Popen(lab_command("_in-node", node, python="python3"), cwd=ROOT))
             for node in nodes]
    failed = [node for node, proc in procs if proc.wait() != 0]
    if failed:
        die(f"glance-api did not start on {', '.join(failed)} (see their logs in {STATE})")
    for node in [n for n in NODES if n not in controllers()]:
        stop_node(node)


def node_up(node: str) -> None:
    """`_in-node NODE`: the node's configs and glance-api, once its namespace runs."""
    in_namespace(lab_command("_inner-up", python=venv_bin("python")), node=node, wd=str(ROOT))
    wait_for(f"glance on {node}", lambda: http_status(f"http://{NODES[node]}:9292/healthcheck") == 200, 90)


def scale(count: int) -> None:
    """`python -m lab scale N`: a running lab grows or shrinks to N glance-api nodes, HAProxy
    balancing all of them (for the fleet benchmark; `make lab-up` starts HC_LAB_CONTROLLERS)."""
    if not 1 <= count <= len(NODES):
        die(f"scale: between 1 and {len(NODES)} controllers")
    if not ns_pid():
        die("the lab is not running: `make lab-up`")
    if active_faults():
        die(f"scale: revert the injected faults first ({', '.join(active_faults())})")
    t0 = time.monotonic()
    (STATE / "controllers").write_text(str(count))
    ensure_ssh_material()  # every node's sshd_config and ssh_config entry
    start_nodes()
    in_namespace(lab_command("_inner", "render", python=venv_bin("python")), wd=str(ROOT))
    in_namespace(lab_command("_inner", "reload-haproxy", python=venv_bin("python")), wd=str(ROOT))
    vip = ADDR["vip"]
    wait_for("glance through haproxy", lambda: http_status(f"http://{vip}:9292/healthcheck") == 200, 60)
    log(f"{count} controller(s) in {time.monotonic() - t0:.1f}s; {node_memory_text()}")


def node_memory_text() -> str:
    """The resident memory of each running node's processes, from /proc (the cost per node)."""
    sizes = []
    for node in controllers():
        rss = 0
        for pid in namespace_members(node):
            try:
                with open(f"/proc/{pid}/status") as status_file:
                    rss += next((int(line.split()[1]) for line in status_file if line.startswith("VmRSS:")), 0)
            except OSError:
                continue
        sizes.append(f"{node} {rss // 1024} MiB")
    return "RSS " + ", ".join(sizes)


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


# ---------------------------------------------------------------- up
def clouds_yaml() -> str:
    s = secrets_file()
    return template("clouds.yaml", auth_url=f"http://{ADDR['vip']}:5000/v3",
                    admin_password=s["admin_password"], demo_password=s["demo_password"])


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


def up() -> None:
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
    if not 1 <= count <= len(NODES):
        die(f"HC_LAB_CONTROLLERS={count}: between 1 and {len(NODES)}")
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "controllers").write_text(str(count))
    chosen = {"ceph": os.environ.get("HC_LAB_CEPH", "1") == "1", "swift": os.environ.get("HC_LAB_SWIFT", "1") == "1"}
    # the s3 store (radosgw) runs on the lab's Ceph: on by default with it, HC_LAB_S3=0 leaves it out
    chosen["s3"] = chosen["ceph"] and os.environ.get("HC_LAB_S3", "1") == "1"
    chosen["cinder"] = chosen["ceph"] and os.environ.get("HC_LAB_CINDER", "0") == "1"  # lab/cinder.py: on Ceph
    (STATE / "profile.json").write_text(json.dumps(chosen))
    timings = start_store_clusters(chosen)
    try:  # Keystone's and Glance's database server, before either starts
        timings["mariadb"] = mariadb.up()
    except mariadb.MariaDBError as exc:
        die(f"mariadb: {exc}")
    if chosen["cinder"]:  # its keyring and database before the controllers render their configs
        prepare_cinder(timings)
    else:
        cinder.down()
    ensure_ssh_material()
    start_namespace()
    in_namespace(lab_command("_inner-up", python=venv_bin("python")), wd=str(ROOT))
    if chosen["swift"]:
        start_swift(timings)
    if chosen["cinder"]:
        start_cinder(timings)
    start_nodes()
    (STATE / "clouds.yaml").write_text(clouds_yaml())
    (STATE / "clouds.yaml").chmod(0o600)
    vip = ADDR["vip"]
    wait_for("glance through haproxy", lambda: http_status(f"http://{vip}:9292/healthcheck") == 200, 90)
    left = active_faults()
    if left:  # a run stopped mid-test left faults in: start from a healthy lab all the same
        log(f"reverting faults left injected: {', '.join(left)}")
        for name in left:
            run(lab_command("fault", "revert", name), check=False, cwd=ROOT)
    if os.environ.get("HC_LAB_KOLLA") == "1":
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
    if chosen.get("s3"):
        t = time.monotonic()
        try:
            radosgw.up()
        except (radosgw.RadosgwError, ceph.CephError) as exc:
            die(f"radosgw: {exc}")
        timings["radosgw"] = time.monotonic() - t
    else:
        radosgw.down()
    if not chosen["swift"]:
        swift.down()
    return timings


def start_swift(timings: dict[str, float]) -> None:
    """Swift once Keystone runs: glance_store's swift driver authenticates with Keystone v3 only,
    so the proxy takes Keystone tokens (and keeps tempauth for the lab's own quota work)."""
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


def prepare_cinder(timings: dict[str, float]) -> None:
    t = time.monotonic()
    try:
        cinder.prepare()
    except (cinder.CinderError, mariadb.MariaDBError, ceph.CephError) as exc:
        die(f"cinder: {exc}")
    timings["cinder"] = time.monotonic() - t


def start_cinder(timings: dict[str, float]) -> None:
    """Cinder's services once Keystone runs (its service user, endpoints and volume type)."""
    t = time.monotonic()
    try:
        cinder.up(secrets_file()["admin_password"], venv_bin("python"))
    except (cinder.CinderError, mariadb.MariaDBError, ceph.CephError) as exc:
        die(f"cinder: {exc}")
    timings["cinder"] = timings.get("cinder", 0.0) + time.monotonic() - t


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


# ---------------------------------------------------------------- down, status
def down() -> None:
    if shutil.which("podman"):
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
    cinder.down()
    radosgw.down()  # before the cluster it stores into
    ceph.down()
    swift.down()
    if not ns_pid():
        stop_database()
        log("lab is not running")
        return
    for node in reversed(NODES):
        stop_node(node)
    stop_database()  # after its clients
    log("lab stopped: no lab process left; its mounts went with its namespaces")


def stop_database() -> None:
    try:
        mariadb.down()
    except mariadb.MariaDBError as exc:
        die(f"mariadb: {exc}")


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


def status() -> None:
    for name, state in service_rows():
        print(f"{name:24} {state}")
    for name, state in [*mariadb.status_rows(), *ceph.status_rows(), *radosgw.status_rows(), *swift.status_rows(),
                        *cinder.status_rows()]:
        print(f"{name:24} {state}")
    faults = active_faults()
    print(f"{'injected faults':24} {', '.join(faults) or 'none'}")
    if shutil.which("podman"):
        for name, state in kolla.status_rows():
            print(f"{name:24} {state}")
