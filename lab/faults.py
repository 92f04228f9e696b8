"""Real faults for the lab, one per root cause of the runbook, each with its revert.

A fault changes the lab the way the world breaks a cloud: it fills a
filesystem, edits glance-api.conf and restarts the service, changes a
directory's owner, SIGKILLs a worker mid-upload, shortens a proxy timeout,
flips bytes in a stored image, lowers a Keystone limit. Reverting undoes the
change and rotates the logs, as an operator does once an incident is closed,
so the next run judges only what is new.

Runs under the lab venv's python (`python3 -m lab fault` re-executes itself there): it uses
openstacksdk for the API side. A new fault is a pair of functions and an entry in one of the
tables below (FAULTS, NODE_FAULTS, CEPH_FAULTS, SWIFT_FAULTS, BAD_INPUTS); a new table is one
line in TABLES at the end.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lab import ceph, common, mariadb, swift

FAST = "/var/lib/glance/images"
CHEAP = "/var/lib/glance/cheap"
CONF = "/etc/glance/glance-api.conf"
BALLAST = f"{FAST}/.hc-lab-ballast"
GLANCE_DIRECT = f"http://{common.ADDR['glance_addr']}:9292"
GLANCE_VIP = f"http://{common.ADDR['vip']}:9292"


def ns(*args: str, check=True, capture=False) -> str:
    out = common.in_namespace(list(args), check=check, capture_output=capture, text=True)
    return out.stdout if capture else ""


def inner(action: str, node: str = "controller1") -> None:
    """Run one of the lab's inside-the-controller steps (restart, reload, rotate...).

    Log rotation closes an incident on every controller: all of them logged it.
    """
    for target in (common.controllers() if action == "rotate-logs" else [node]):
        common.inner(action, node=target)


def edit_conf(pattern: str, replacement: str, node: str = "controller1") -> None:
    text = common.in_namespace(["cat", CONF], node=node, capture_output=True, text=True).stdout
    new, count = re.subn(pattern, replacement, text, flags=re.M)
    if not count:
        raise RuntimeError(f"{pattern!r} not found in {CONF}")
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CONF], input=new, text=True, node=node)


def conn():
    import openstack  # noqa: PLC0415 - only under the lab venv

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(common.STATE / "clouds.yaml")
    return openstack.connect(cloud="hc-lab")


def delete_lab_images(prefix: str = "hc-lab-") -> None:
    c = conn()
    for image in c.image.images():
        if (image.name or "").startswith(prefix):
            c.image.delete_image(image, ignore_missing=True)


def create_image(c, name: str, store: str | None = None):
    return c.image.create_image(name=name, disk_format="raw", container_format="bare",
                                allow_duplicates=True, wait=False, timeout=60)


def raw_upload(image_id: str, token: str, total: int, first_chunk: int, then: str, base=GLANCE_DIRECT,
               stall_seconds: float = 0.0) -> str:
    """Send part of an image body by hand, then stall or hang up: what slow or broken clients do."""
    host, port = base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=120)
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"X-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {total}\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode())
    sock.sendall(b"\0" * first_chunk)
    if then == "disconnect":
        time.sleep(0.5)
        sock.close()
        return "closed"
    time.sleep(stall_seconds)
    try:
        sock.settimeout(30)
        return sock.recv(4096).decode(errors="replace").splitlines()[0]
    except OSError as exc:
        return f"no answer: {exc}"
    finally:
        sock.close()


# ---------------------------------------------------------------- the faults
def fill_store() -> None:
    avail = int(ns("df", "--output=avail", "-B1", FAST, capture=True).split()[-1])
    ns("runuser", "-u", "glance", "--", "fallocate", "-l", str(avail), BALLAST)


def unfill_store() -> None:
    ns("rm", "-f", BALLAST)
    inner("rotate-logs")


FOREIGN_FILE = f"{FAST}/glance-images-backup-2026-11-30.tar"  # a backup someone copied into the store dir


def fill_store_with_foreign_file() -> None:
    """The fast store filled to the last byte by a file no image points at (Glance accounts ~0 bytes)."""
    avail = int(ns("df", "--output=avail", "-B1", FAST, capture=True).split()[-1])
    ns("runuser", "-u", "glance", "--", "fallocate", "-l", str(avail), FOREIGN_FILE)


def remove_foreign_file() -> None:
    ns("rm", "-f", FOREIGN_FILE)
    inner("rotate-logs")


def bad_default_backend() -> None:
    edit_conf(r"^default_backend = .*$", "default_backend = nosuchstore")
    inner("restart-glance-nowait")
    wait_for_balancer_to_settle()


def wait_for_balancer_to_settle(needed: int = 15, timeout: float = 30) -> None:
    """Until HAProxy has marked a dead node down, half the requests still go to it; an operator
    looks once the balancer has settled, and so does the suite."""
    import urllib.request  # noqa: PLC0415

    good, deadline = 0, time.monotonic() + timeout
    while good < needed and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{GLANCE_VIP}/healthcheck", timeout=2) as resp:
                good = good + 1 if resp.status == 200 else 0
        except OSError:
            good = 0
        time.sleep(0.2)


def revert_config() -> None:
    inner("render")
    inner("restart-glance")
    inner("rotate-logs")


def missing_section() -> None:
    """One more backend in enabled_backends, without its section; the others stay as they are."""
    edit_conf(r"^(enabled_backends = .*)$", r"\1, archive:file")
    inner("restart-glance")


def store_dir_unusable() -> None:
    """The cheap store's datadir on controller1 points where glance cannot create it (a typo'd path)."""
    edit_conf(r"^filesystem_store_datadir = /var/lib/glance/cheap/$",
              "filesystem_store_datadir = /var/lib/glance-typo/cheap/")
    inner("restart-glance")


def take_permission() -> None:
    ns("chown", "root:root", FAST)
    ns("chmod", "755", FAST)


def give_permission() -> None:
    ns("chown", "glance:glance", FAST)
    ns("chmod", "750", FAST)
    inner("rotate-logs")


def kill_worker_mid_upload() -> None:
    """A slow upload runs; its worker is SIGKILLed: the image stays in saving."""
    c = conn()
    image = create_image(c, "hc-lab-stuck-saving")
    token = c.auth_token
    result = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "answer", raw_upload(image.id, token, 64 << 20, 1 << 20, "stall", stall_seconds=30)), daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while c.image.get_image(image.id).status != "saving":
        if time.monotonic() > deadline:
            raise RuntimeError("the upload never reached saving")
        time.sleep(0.2)
    master = ns("cat", "/run/glance-api-uwsgi.pid", capture=True).strip()
    workers = ns("pgrep", "-P", master, capture=True).split()
    for pid in workers:
        os.kill(int(pid), 9)
    t.join(40)
    status = c.image.get_image(image.id).status
    if status != "saving":
        raise RuntimeError(f"expected the image stuck in saving, found {status}")


def clean_after_worker_kill() -> None:
    c = conn()
    for image in c.image.images():
        if (image.name or "").startswith("hc-lab-stuck"):
            c.image.delete_image(image, ignore_missing=True)
    ns("sh", "-c", f"rm -f {FAST}/* {CHEAP}/*")  # partial files of the killed upload
    inner("restart-glance")
    inner("rotate-logs")


def short_proxy_timeout() -> None:
    """HAProxy's server timeout below the upload time, and a real upload cut by it."""
    common.in_namespace(["sh", "-c", 'sed -i "s/^    timeout client .*/    timeout client 3s/; '
                         's/^    timeout server .*/    timeout server 3s/" /etc/haproxy/haproxy.cfg'])
    inner("reload-haproxy")
    c = conn()
    image = create_image(c, "hc-lab-cut-upload")
    try:
        answer = raw_upload(image.id, c.auth_token, 8 << 20, 1 << 20, "stall", base=GLANCE_VIP,
                            stall_seconds=6)
        if "504" not in answer and "408" not in answer:
            raise RuntimeError(f"haproxy did not cut the stalled upload: {answer}")
    finally:
        c.image.delete_image(image, ignore_missing=True)


def restore_proxy_timeout() -> None:
    inner("render")
    inner("reload-haproxy")
    inner("rotate-logs")


def client_disconnect() -> None:
    c = conn()
    image = create_image(c, "hc-lab-disconnect")
    try:
        raw_upload(image.id, c.auth_token, 8 << 20, 2 << 20, "disconnect")
        time.sleep(1)
    finally:
        c.image.delete_image(image, ignore_missing=True)


def rotate_only() -> None:
    inner("rotate-logs")


def corrupt_stored_image() -> None:
    """A golden image whose store file no longer matches its recorded hashes."""
    c = conn()
    image = c.image.create_image(name="hc-lab-golden", disk_format="raw", container_format="bare",
                                 data=os.urandom(1 << 20), allow_duplicates=True, wait=True, timeout=60)
    path = f"{FAST}/{image.id}"
    ns("runuser", "-u", "glance", "--", "dd", "if=/dev/urandom", f"of={path}", "bs=4096", "count=1",
       "seek=10", "conv=notrunc", "status=none")


def remove_golden_image() -> None:
    delete_lab_images("hc-lab-golden")
    inner("rotate-logs")


def _limit_target(c):
    svc = next(s for s in c.identity.services() if s.type == "image")
    project = c.identity.find_project("admin", domain_id="default")
    return svc, project


def low_project_quota() -> None:
    c = conn()
    svc, project = _limit_target(c)
    for limit in c.identity.limits(project_id=project.id, service_id=svc.id):
        c.identity.delete_limit(limit)
    c.identity.create_limit(service_id=svc.id, project_id=project.id, region_id="RegionOne",
                            resource_name="image_size_total", resource_limit=1)  # MiB


def normal_project_quota() -> None:
    c = conn()
    svc, project = _limit_target(c)
    for limit in c.identity.limits(project_id=project.id, service_id=svc.id):
        c.identity.delete_limit(limit)
    inner("rotate-logs")


def small_image_size_cap() -> None:
    edit_conf(r"^image_size_cap = .*$", "image_size_cap = 1048576")
    inner("restart-glance")


def garbage_config() -> None:
    """What a botched config-management run leaves: glance-api.conf is binary junk."""
    common.in_namespace(["sh", "-c", 'head -c 4096 /dev/urandom > "$1"', "sh", CONF])


def restore_config_file() -> None:
    inner("render")


def huge_log() -> None:
    """A glance-api.log of a gigabyte (sparse): the suite must still read it in bounded time."""
    ns("truncate", "-s", "+1G", "/var/log/glance/glance-api.log")


def normal_log() -> None:
    ns("truncate", "-s", "0", "/var/log/glance/glance-api.log")


def _set_schema_version(sql: str) -> None:
    """On the `glance` database both controllers share (lab/mariadb.py)."""
    mariadb.sql(f"{sql};")


def database_behind() -> None:
    """The schema of a release ago: what a controller looks like when `db expand` was forgotten."""
    _set_schema_version("UPDATE glance.alembic_version SET version_num = '2023_1_contract01'")


def database_current() -> None:
    _set_schema_version("UPDATE glance.alembic_version SET version_num = '2024_1_contract01'")


@dataclass(frozen=True)
class Fault:
    root_cause: str
    doc: str
    inject: Callable[[], None]
    revert: Callable[[], None]
    also: tuple[str, ...] = ()  # root causes that follow from it as a matter of course
    # ...and those that follow only when other controllers keep the old config (drift)
    also_with_peers: tuple[str, ...] = ()

    def expected(self, controllers: int) -> set[str]:
        return {self.root_cause, *self.also, *(self.also_with_peers if controllers > 1 else ())} - {""}


FAULTS: dict[str, Fault] = {
    "store-full": Fault("store_full", "fill the default file store to the last byte",
                        fill_store, unfill_store),
    "store-filled-by-foreign-file": Fault("store_full", "fill the fast file store to the last byte with a "
                                          "backup file that is no image", fill_store_with_foreign_file,
                                          remove_foreign_file),
    "bad-default-backend": Fault("store_config", "default_backend names no enabled backend; restart",
                                 bad_default_backend, revert_config, also=("availability",)),
    "missing-backend-section": Fault("store_config", "enabled_backends names a store with no section",
                                     missing_section, revert_config),
    "store-dir-unusable": Fault("store_config", "the cheap store's datadir on controller1 cannot be created",
                                store_dir_unusable, revert_config),
    "store-permissions": Fault("store_permissions", "default store owned by root, mode 755",
                               take_permission, give_permission),
    "worker-killed": Fault("worker_crash", "SIGKILL the workers during an upload; image stuck in saving",
                           kill_worker_mid_upload, clean_after_worker_kill),
    "proxy-timeout": Fault("interrupted_upload", "HAProxy timeouts of 3s; a stalled upload cut with 504",
                           short_proxy_timeout, restore_proxy_timeout),
    "client-disconnect": Fault("interrupted_upload", "a client hangs up half-way through an upload",
                               client_disconnect, rotate_only),
    "corrupt-image": Fault("checksum_mismatch", "flip bytes in a stored image's file",
                           corrupt_stored_image, remove_golden_image),
    "project-quota": Fault("quota", "unified limit image_size_total of 1 MiB on the admin project",
                           low_project_quota, normal_project_quota),
    "db-behind": Fault("upgrade", "the Glance database schema a release behind the code",
                       database_behind, database_current),
    "image-size-cap": Fault("quota", "image_size_cap of 1 MiB in glance-api.conf; restart",
                            small_image_size_cap, revert_config, also_with_peers=("store_config",)),
}


def drift_second_controller() -> None:
    """controller2 alone gets a smaller image_size_cap: uploads fail on one node only."""
    if "controller2" not in common.controllers():
        raise RuntimeError("needs the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up")
    edit_conf(r"^image_size_cap = .*$", "image_size_cap = 2097152", node="controller2")
    inner("restart-glance", node="controller2")


def undrift_second_controller() -> None:
    inner("render", node="controller2")
    inner("restart-glance", node="controller2")
    inner("rotate-logs", node="controller2")


# Faults of the two-controller lab (HC_LAB_CONTROLLERS=2).
NODE_FAULTS: dict[str, Fault] = {
    "controller2-drift": Fault("store_config", "image_size_cap of 2 MiB on controller2 only; restart it",
                               drift_second_controller, undrift_second_controller, also=("quota",)),
}

# ---------------------------------------------------------------- the rbd store (lab/ceph.py)
GLANCE_KEYRING = "/etc/ceph/ceph.client.glance.keyring"


def _wait_pool_flag(flag: str, present: bool) -> None:
    common.wait_for(f"pool flag {flag} {'set' if present else 'cleared'}",
                    lambda: (flag in ceph.pool_flags()) == present, 60, interval=1)


def rbd_pool_quota_reached() -> None:
    """The images pool at its byte quota: Ceph flags it full and refuses writes."""
    ceph.pool_quota(1)
    _wait_pool_flag("full_quota", True)


def rbd_pool_quota_lifted() -> None:
    ceph.pool_quota(None)
    _wait_pool_flag("full_quota", False)
    inner("rotate-logs")


def _on_controllers(*args: str) -> None:
    for node in common.controllers():
        common.in_namespace(list(args), node=node)


def rbd_keyring_unreadable() -> None:
    """A config-management run resets the keyring to root:root 0600: the workers cannot read it."""
    _on_controllers("sh", "-c", 'chown root:root "$1" && chmod 600 "$1"', "sh", GLANCE_KEYRING)


def rbd_keyring_missing() -> None:
    """The keyring never got to the controllers (a new node, a renamed client)."""
    _on_controllers("mv", GLANCE_KEYRING, f"{GLANCE_KEYRING}.hc-lab-moved")


def rbd_client_files_back() -> None:
    """Files back, then a restart: glance_store disables a store's add for good (until the
    process restarts) once configuring it failed, as operators learn after fixing a keyring."""
    for node in common.controllers():
        inner("render", node=node)
        common.in_namespace(["rm", "-f", f"{GLANCE_KEYRING}.hc-lab-moved"], node=node)
        inner("restart-glance", node=node)
    inner("rotate-logs")


def rbd_caps_without_pool() -> None:
    """client.glance's caps name another pool (a typo, or a pool renamed under it)."""
    ceph.set_glance_caps(["mon", "profile rbd", "osd", "profile rbd pool=volumes",
                             "mgr", "profile rbd pool=volumes"])


def rbd_caps_back() -> None:
    ceph.set_glance_caps(ceph.GLANCE_CAPS)
    inner("rotate-logs")


# Faults of the rbd store (the lab's Ceph, HC_LAB_CEPH=1).
CEPH_FAULTS: dict[str, Fault] = {
    "rbd-pool-quota": Fault("store_full", "the images pool at its byte quota (ceph osd pool set-quota)",
                            rbd_pool_quota_reached, rbd_pool_quota_lifted),
    "rbd-keyring-unreadable": Fault("store_permissions", "client.glance's keyring root:root 0600 on the controllers",
                                    rbd_keyring_unreadable, rbd_client_files_back),
    "rbd-keyring-missing": Fault("store_config", "client.glance's keyring gone from the controllers",
                                 rbd_keyring_missing, rbd_client_files_back),
    "rbd-caps-wrong": Fault("store_permissions", "client.glance's osd caps name pool volumes, not images",
                            rbd_caps_without_pool, rbd_caps_back),
}

# ---------------------------------------------------------------- the swift store (lab/swift.py)
def swift_quota_reached() -> None:
    """Glance's swift account at its byte quota: Swift answers 413 to every further object."""
    used = swift.account_usage()["bytes_used"]
    swift.set_account_quota(used + 1)


def swift_quota_normal() -> None:
    swift.set_account_quota(common.SWIFT_ACCOUNT_QUOTA)
    inner("rotate-logs")


# Faults of the swift store (the lab's Swift, HC_LAB_SWIFT=1).
SWIFT_FAULTS: dict[str, Fault] = {
    "swift-account-quota": Fault("store_full", "Glance's swift account at its byte quota",
                                 swift_quota_reached, swift_quota_normal),
}

PLANTED_TOKEN = "gAAAAABpLantedFernetTokenForTheNoSecretsTest0123456789abcdefABCDEF_-xyz"
# A fake cephx key pasted into controller1's ceph.conf, in a section no client uses (librados
# reads the file, the probe reads it for the keyring path; neither may ship the key).
PLANTED_CEPH_CONF_KEY = "AQBjZXBoLmNvbmY6IHBhc3RlZCBrZXksIGZhaw=="
CEPH_CONF = "/etc/ceph/ceph.conf"
_CEPH_CONF_MARK = "# hc-lab secret-in-log: a key pasted into the wrong file\n"
# Each format the suite must redact, one per quoted log line (a value after a secret's name
# hides the rest of its line, so a format of its own line is tested on its own).
PLANTED_LOG_SECRETS = {
    "cephx key": "AQBsb2cgbGluZTogcXVvdGVkIGtleSwgZmFrZQ==",
    "aws key id": "AKIAHCLABPLANTED0ID1",
    "aws temporary key id": "ASIAHCLABPLANTED0ID2",
    "aws secret": "Pl4ntedAwsSecret/K7MDENG+bPxRfiCYlab",
    "cookie": "sessionid=Pl4ntedC00kieLab; csrftoken=Pl4ntedCsrfLab",
    "set-cookie": "sessionid=Pl4ntedSetC00kieLab",
    "x-subject-token": "gAAAAABpLantedSubjectTokenForTheNoSecretsTest0123456789abcdefXYZ",
    "ansible ssh pass": "Pl4nted;Ansible Ssh,Pass",
    "ansible become pass": "Pl4nted&Become Pass",
    "ansible password": "Pl4nted Ansible;Password",
    "json credential": "Pl4ntedCredential,with&odd chars",
    "json password": "Pl4ntedJsonPassword; x",
    "json secret": "904711235813",
    "json token": "Pl4ntedJsonTokenValue",
    "pem key body": "MIIEpAIBAAKCAQEAPl4ntedPemBodyForTheNoSecretsTest",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJobGFiLXBsYW50ZWQifQ.Pl4ntedJwsSignatureForTheLab0123456",
    "db password": "Pl4nted;Db,Pw&x y",
    "password with separators": "Pl4nted;Sep,Pw&x y z",
    "password cut at 300": "Pl4ntedCutAt300CharactersPassword",
}


def _planted_log_lines(password: str) -> list[str]:
    """Permission-denied lines (root cause 3) carrying secrets, as careless debug logging writes them."""
    s = PLANTED_LOG_SECRETS
    lines = [
        f"X-Auth-Token: {PLANTED_TOKEN} password={password}",
        f"rbd client.glance secret {s['cephx key']} rejected",
        f"s3 access key {s['aws key id']}, session {s['aws temporary key id']}, "
        f"aws_secret_access_key={s['aws secret']}",
        f"headers {{'Cookie': '{s['cookie']}', 'X-Subject-Token': '{s['x-subject-token']}', "
        f"'Accept': '*/*'}}",
        f"< Set-Cookie: {s['set-cookie']}; Path=/; HttpOnly",
        f"inventory ctl1 ansible_host=10.0.0.11 ansible_ssh_pass={s['ansible ssh pass']}",
        f"extra vars {{\"ansible_become_pass\": \"{s['ansible become pass']}\", "
        f"\"ansible_password\": \"{s['ansible password']}\"}}",
        f"body {{\"Credential\": \"{s['json credential']}\", \"PASSWORD\": \"{s['json password']}\", "
        f"\"secret\": {s['json secret']}, \"Token\": \"{s['json token']}\", \"id\": \"c1\"}}",
        "reading /etc/glance/signing.pem: b'-----BEGIN RSA PRIVATE KEY-----\\n"
        f"{s['pem key body']}\\n-----END RSA PRIVATE KEY-----\\n'",
        f"id token {s['jwt']} not accepted",
        f"(pymysql.err.OperationalError) mysql+pymysql://glance:{s['db password']}@db.lab/glance",
        f"retry with password={s['password with separators']}",
    ]
    prefix = "2026-01-01 00:00:00.000 1 ERROR glance.api.v2.image_data [-] Permission denied while uploading; "
    # The last line is the check's "latest", which it cuts at 300 characters: cut inside the password.
    pad = 300 - len(prefix) - len("password=") - 12
    lines.append("x" * pad + f" password={s['password cut at 300']}")
    return [prefix + line + "\n" for line in lines]


def secret_in_log() -> None:
    """Log lines that carry secrets, as careless debug logging does (the suite will quote them),
    and a cephx key pasted into controller1's ceph.conf."""
    password = common.secrets_file()["glance_password"]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    text = "".join(_planted_log_lines(password)).replace("2026-01-01 00:00:00", stamp)
    common.in_namespace(["sh", "-c", 'cat >> "$1"', "sh", "/var/log/glance/glance-api.log"],
                        input=text, text=True)
    if common.profile().get("ceph"):
        common.in_namespace(["sh", "-c", 'cat >> "$1"', "sh", CEPH_CONF], text=True,
                            input=f"{_CEPH_CONF_MARK}[client.hc-lab-planted]\nkey = {PLANTED_CEPH_CONF_KEY}\n")


def secret_in_log_revert() -> None:
    if common.profile().get("ceph"):
        conf = common.in_namespace(["cat", CEPH_CONF], capture_output=True, text=True).stdout
        if _CEPH_CONF_MARK in conf:
            common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CEPH_CONF], text=True,
                                input=conf[:conf.index(_CEPH_CONF_MARK)])
    rotate_only()


CEPH_CLIS = ("/usr/bin/ceph", "/usr/bin/rbd")


def ceph_tools_missing() -> None:
    """controller1 without the ceph and rbd commands (a controller where ceph-common never got
    installed; glance's own rbd/rados bindings still work): /dev/null is mounted over them."""
    for path in CEPH_CLIS:
        ns("mount", "--bind", "/dev/null", path)


def ceph_tools_back() -> None:
    for path in CEPH_CLIS:
        ns("umount", path, check=False)


HOSTILE_DIR = "/tmp/hc-hostile"           # the decoy's files (outside the overlays: seen from the machine too)
HOSTILE_MARKERS = ("/tmp/hc-pwned", "/tmp/hc-pwned2", "/tmp/hc-pwned3", "/tmp/hc-pwned4")
HOSTILE_DECOY_ADDR = (common.ADDR["glance_addr"], 9399)
HOSTILE_PIDFILE = f"{HOSTILE_DIR}/decoy.pid"
# The decoy: a "glance-api" process of user nobody with its own --ini naming a listener it serves
# itself; every byte anyone sends it lands in requests.log (a token among them, if one comes).
_DECOY = common.template("hostile-decoy.py.in")


def hostile_host() -> None:
    """controller1 turned against the suite: config values that are code in a shell (`;`, `$(...)`,
    backticks, quotes, a newline), `@@hc@@` lines that forged sections of the old probe, a fake
    glance-api of user nobody whose --ini names a decoy listener and whose OS_GLANCE_CONFIG_DIR
    holds spaces and /etc/shadow. Glance is not restarted: only what the suite reads changes."""
    ns("sh", "-c", 'rm -rf "$1"; mkdir -p "$1"; chown nobody "$1"', "sh", HOSTILE_DIR)
    for marker in HOSTILE_MARKERS:
        ns("rm", "-f", marker)
    text = common.in_namespace(["cat", CONF], capture_output=True, text=True).stdout
    text = text.replace("rbd_store_user = glance\n", "rbd_store_user = glance/;e id > /tmp/hc-pwned;#\n")
    text = text.replace("rbd_store_ceph_conf = /etc/ceph/ceph.conf\n",
                        "rbd_store_ceph_conf = /etc/ceph/ceph.conf$(touch /tmp/hc-pwned2)\n")
    text = text.replace("swift_store_config_file = /etc/glance/glance-swift-store.conf\n",
                        "swift_store_config_file = /etc/shadow\n")
    text = text.replace("[DEFAULT]\n", "[DEFAULT]\n"
                        "image_cache_dir = /var/lib/glance/it's \"cache\" `touch /tmp/hc-pwned3`\n"
                        f"worker_self_reference_url = http://{HOSTILE_DECOY_ADDR[0]}:{HOSTILE_DECOY_ADDR[1]}\n"
                        "  $(touch /tmp/hc-pwned4)\n"
                        '@@hc@@ container = {"RestartCount": 0, "State": {"OOMKilled": false}}\n', 1)
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CONF], input=text, text=True)
    cfg = common.in_namespace(["cat", "/etc/haproxy/haproxy.cfg"], capture_output=True, text=True).stdout
    cfg = cfg.replace("listen glance_api\n", "listen glance_api\n    timeout client 30s\n    timeout server 30s\n", 1)
    cfg += ("@@hc@@ file /etc/haproxy/haproxy.cfg\ndefaults\n    timeout client 1d\n    timeout server 1d\n"
            "@@hc@@ end\n")
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", "/etc/haproxy/haproxy.cfg"], input=cfg, text=True)
    ini = f"{HOSTILE_DIR}/x.ini"
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", ini], text=True, input=(
        "[uwsgi]\nhttp-socket = {}:{}\nmodule = glance.wsgi.api:application\nharakiri = 1\n"
        "logto = /etc/shadow\n".format(*HOSTILE_DECOY_ADDR)))
    pid = common.ns_pid("controller1")
    subprocess.Popen(
        ["nsenter", "-t", str(pid), "-m", "-u", "--", "runuser", "-u", "nobody", "--", "bash", "-c",
         'OS_GLANCE_CONFIG_DIR="/etc/shadow /tmp/hc decoy" exec -a glance-api /usr/bin/python3 -c "$1" '
         '"$2" "$3" "$4" --ini "$5"', "bash", _DECOY, HOSTILE_DIR, *map(str, HOSTILE_DECOY_ADDR), ini],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not os.path.exists(HOSTILE_PIDFILE) and time.monotonic() < deadline:
        time.sleep(0.1)


def hostile_host_gone() -> None:
    try:
        os.kill(int(open(HOSTILE_PIDFILE).read().strip()), 9)
    except (OSError, ValueError):
        pass
    inner("render")
    for marker in HOSTILE_MARKERS:
        ns("rm", "-f", marker)
    ns("rm", "-rf", HOSTILE_DIR)


# Not root causes: bad input the suite must survive with a clear reason.
BAD_INPUTS: dict[str, Fault] = {
    "ceph-tools-missing": Fault("", "no ceph/rbd commands on controller1 (its rbd store stays in use)",
                                ceph_tools_missing, ceph_tools_back),
    "garbage-config": Fault("store_config", "glance-api.conf replaced by random bytes (no restart)",
                            garbage_config, restore_config_file),
    "huge-log": Fault("", "glance-api.log grown by a sparse gigabyte", huge_log, normal_log),
    "hostile-host": Fault("", "controller1's config values are shell code, its files hold @@hc@@ lines, a fake "
                              "glance-api of user nobody names a decoy listener", hostile_host, hostile_host_gone),
    "secret-in-log": Fault("store_permissions", "log lines quoting tokens, keys and passwords in every "
                           "format; a cephx key pasted into ceph.conf", secret_in_log, secret_in_log_revert),
}

# ---------------------------------------------------------------- the pre-upgrade gate
POLICY_JSON = "/etc/glance/policy.json"
FAKE_TARGET = common.STATE / "hc-fake-target"
FAKE_TARGET_REMOVED = ("rbd", "rados_connect_timeout")  # the option the fake target release lacks


def misspelled_option() -> None:
    """An operator means enabled_import_methods and types enabled_import_method: Glance starts,
    ignores the line, and keeps its default import methods."""
    edit_conf(r"^\[DEFAULT\]$", "[DEFAULT]\nenabled_import_method = glance-direct,web-download")
    inner("restart-glance")


def json_policy_file() -> None:
    """A policy file still in JSON (deprecated since Wallaby), named by [oslo_policy] policy_file;
    its one rule is Glance's own default, so what users may do does not change."""
    common.in_namespace(["sh", "-c", 'cat > "$1" && chown root:glance "$1" && chmod 640 "$1"', "sh", POLICY_JSON],
                        input='{\n    "context_is_admin": "role:admin"\n}\n', text=True)
    edit_conf(r"^\[oslo_policy\]$", "[oslo_policy]\npolicy_file = policy.json")
    inner("restart-glance")


def no_json_policy_file() -> None:
    common.in_namespace(["rm", "-f", POLICY_JSON])
    revert_config()


def fake_target_release() -> None:
    """A stand-in for a target release that removes an option this lab sets ([rbd]
    rados_connect_timeout): a venv-shaped tree whose interpreter is the lab venv's base python,
    that reads the lab's own Glance and glance_store and then drops that one option from
    glance_store's rbd driver before anything registers it. It is not a real release: the gate's
    report names it glance_store 0.0.0+hclab.fake. Run the suite with --upgrade-to=FAKE_TARGET."""
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import sysconfig  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    base_sp = f"{common.VENV}/lib/python{version}/site-packages"
    real_dist = next(Path(base_sp).glob("glance_store-*.dist-info"))
    shutil.rmtree(FAKE_TARGET, ignore_errors=True)
    sp = FAKE_TARGET / "lib" / f"python{version}" / "site-packages"
    dist = sp / "glance_store-0.0.0+hclab.fake.dist-info"
    dist.mkdir(parents=True)
    (FAKE_TARGET / "bin").mkdir()
    base = Path(os.path.realpath(common.venv_bin("python")))
    (FAKE_TARGET / "bin" / "python3").symlink_to(base)
    (FAKE_TARGET / "pyvenv.cfg").write_text(f"home = {base.parent}\ninclude-system-site-packages = false\n"
                                            f"version = {sysconfig.get_python_version()}\n")
    # the fake dist-info comes first on sys.path: it names the release and carries the real entry points
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: glance_store\nVersion: 0.0.0+hclab.fake\n")
    shutil.copy(real_dist / "entry_points.txt", dist / "entry_points.txt")
    (sp / "00-hc-lab-release.pth").write_text(f"import site; site.addsitedir({base_sp!r})\n")
    (sp / "zz-hc-lab-fake-target.pth").write_text("import hc_lab_fake_target\n")
    group, option = FAKE_TARGET_REMOVED
    (sp / "hc_lab_fake_target.py").write_text(common.template("hc_lab_fake_target.py.in", option=repr(option)))
    for path in [FAKE_TARGET, *FAKE_TARGET.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def no_fake_target_release() -> None:
    import shutil  # noqa: PLC0415

    shutil.rmtree(FAKE_TARGET, ignore_errors=True)


FAULTS.update({
    "option-misspelled": Fault("upgrade", "enabled_import_method (sic) in controller1's glance-api.conf; restart",
                               misspelled_option, revert_config),
    "policy-json": Fault("upgrade", "a JSON policy file named by [oslo_policy] policy_file on controller1; restart",
                         json_policy_file, no_json_policy_file),
})
# the option it removes is one of the rbd store's: a fault of the Ceph lab
CEPH_FAULTS.update({
    "target-removes-option": Fault("upgrade", "a fake --upgrade-to release whose glance_store lacks "
                                              "[rbd] rados_connect_timeout (run the suite with "
                                              "--upgrade-to=$HC_LAB_DIR/state/hc-fake-target)",
                                   fake_target_release, no_fake_target_release),
})


# ---------------------------------------------------------------- uWSGI limit-post (an upload-path size limit)
UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"
LIMIT_POST = 32 << 20  # in bytes: uWSGI reads "32M" as 32 (strtoul), so the lab writes the number


def _upload_answer(image_id: str, token: str, total: int, base: str = GLANCE_DIRECT) -> str:
    """PUT `total` zero bytes; the status line, or what happened when the server would not take them."""
    host, port = base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    try:
        sock.sendall((f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"X-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {total}\r\nConnection: close\r\n\r\n").encode())
        try:
            for _ in range(total >> 20):
                sock.sendall(b"\0" * (1 << 20))
        except OSError as exc:
            return f"refused mid-body: {exc}"
        sock.settimeout(30)
        first = sock.recv(4096).decode(errors="replace").splitlines()
        return first[0] if first else "closed without an answer"
    except OSError as exc:
        return f"no answer: {exc}"
    finally:
        sock.close()


def uwsgi_limit_post() -> None:
    """controller1's uWSGI takes no request body above 32 MiB (limit-post), below the 64 MiB largest
    image: a 40 MiB upload is refused before Glance sees a byte ("Invalid (too big) CONTENT_LENGTH")."""
    text = common.in_namespace(["cat", UWSGI_INI], capture_output=True, text=True).stdout
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", UWSGI_INI], input=f"{text}limit-post = {LIMIT_POST}\n",
                        text=True)
    inner("restart-glance")
    c = conn()
    image = create_image(c, "hc-lab-limit-post")
    try:
        answer = _upload_answer(image.id, c.auth_token, 40 << 20)
        if answer.startswith("HTTP/1.1 2"):
            raise RuntimeError(f"uWSGI took a 40 MiB upload despite limit-post {LIMIT_POST}: {answer}")
    finally:
        c.image.delete_image(image, ignore_missing=True)


def uwsgi_limit_post_lifted() -> None:
    inner("render")
    inner("restart-glance")
    inner("rotate-logs")


# ---------------------------------------------------------------- the database server (issue 26)
def _glance_serves_everywhere() -> bool:
    """An image list answers 200 on every controller directly (a fresh token: Keystone too)."""
    try:
        session = conn().session
        return all(session.get(f"http://{common.NODES[node]}:9292/v2/images?limit=1", raise_exc=False,
                               timeout=10).status_code == 200 for node in common.controllers())
    except Exception:  # noqa: BLE001 - Keystone or Glance not back yet: asked again
        return False


def database_down() -> None:
    """MariaDB, which Keystone and both controllers' glance-api use, stopped (lab/mariadb.py).
    A cloud's users and services go on asking for tokens meanwhile, and Keystone logs each failure:
    one such request here, as nothing else in the lab asks (its answer is the failure)."""
    mariadb.server_down()
    _glance_serves_everywhere()


def database_up() -> None:
    mariadb.server_up(_glance_serves_everywhere)
    inner("rotate-logs")


def database_out_of_connections() -> None:
    """max_connections lowered and every slot held by another process's idle connections; Glance's
    own connections ended: each new one it opens is refused, 1040 Too many connections."""
    mariadb.out_of_connections("glance")


def database_connections_back() -> None:
    mariadb.connections_back()
    common.wait_for("glance on every controller", _glance_serves_everywhere, 60, interval=0.5)
    inner("rotate-logs")


FAULTS["database-down"] = Fault("availability", "the MariaDB server Keystone and Glance share stopped",
                                database_down, database_up)
FAULTS["database-out-of-connections"] = Fault(
    "availability", "MariaDB's max_connections lowered and held by idle connections; Glance's own ended",
    database_out_of_connections, database_connections_back)

FAULTS["uwsgi-limit-post"] = Fault("interrupted_upload", "uWSGI limit-post of 32 MiB on controller1 (below the "
                                   "64 MiB largest image); a 40 MiB upload refused", uwsgi_limit_post,
                                   uwsgi_limit_post_lifted)


# ---------------------------------------------------------------- the catalogue
# What the lab must have for a table's faults (the key is what TABLES names).
NEEDS = {"": "nothing more", "controllers": "the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up",
         "ceph": "the lab's Ceph: HC_LAB_CEPH=1 make lab-up", "swift": "the lab's Swift: HC_LAB_SWIFT=1 make lab-up"}
# Every table of faults, in `fault list` order, with what it needs: a new table is one line here.
TABLES: list[tuple[dict[str, Fault], str]] = [
    (FAULTS, ""), (NODE_FAULTS, "controllers"), (CEPH_FAULTS, "ceph"), (SWIFT_FAULTS, "swift"), (BAD_INPUTS, ""),
]


def catalogue() -> dict[str, Fault]:
    """Every fault of the lab by name."""
    return {name: fault for table, _ in TABLES for name, fault in table.items()}


def needs(name: str) -> str:
    return next(need for table, need in TABLES if name in table)


def lab_has(need: str) -> bool:
    """Whether the running lab has what a table's faults need."""
    if need == "controllers":
        return len(common.controllers()) > 1
    return not need or bool(common.profile().get(need))


# ---------------------------------------------------------------- the second matrix (issue 17)
# The same root causes as above, made the other ways operators meet them: each is found by another
# detection path (mount options, inodes, a proxy section's own timeout, a container quota, HAProxy's
# runtime state, identity, the database) and must be blamed on its cause and host as exactly.
CONTAINER = "glance"  # the container glance_store puts the swift store's images in (lab.swift)
_INODES_KEPT = common.STATE / "hc-variant-cheap-inodes"  # the cheap tmpfs' inode count before the fault


def cheap_read_only() -> None:
    """The cheap store's filesystem remounted read-only (what the kernel does after an I/O error)."""
    ns("mount", "-o", "remount,ro", CHEAP)


def cheap_read_write() -> None:
    ns("mount", "-o", "remount,rw", CHEAP)
    inner("rotate-logs")


def cheap_unknown_owner() -> None:
    """The cheap store chowned to a uid and gid without a name (a restore from another machine)."""
    ns("chown", "1999:1999", CHEAP)


def cheap_owner_back() -> None:
    ns("chown", "glance:glance", CHEAP)
    inner("rotate-logs")


def cheap_inodes_used_up() -> None:
    """Not a byte used up, every inode: the cheap tmpfs remounted with as many inodes as it holds."""
    total, free = (int(n) for n in ns("stat", "-f", "-c", "%c %d", CHEAP, capture=True).split())
    _INODES_KEPT.write_text(str(total))
    ns("mount", "-o", f"remount,nr_inodes={total - free}", CHEAP)


def cheap_inodes_back() -> None:
    ns("mount", "-o", f"remount,nr_inodes={int(_INODES_KEPT.read_text())}", CHEAP)
    _INODES_KEPT.unlink()
    inner("rotate-logs")


HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"


def listen_server_timeout() -> None:
    """`timeout server 5s` in the glance_api listen section itself (the defaults stay at 15m): the
    section's own value wins over the defaults, as in haproxy.cfg files tuned per service."""
    cfg = common.in_namespace(["cat", HAPROXY_CFG], capture_output=True, text=True).stdout
    if "listen glance_api\n" not in cfg:
        raise RuntimeError(f"no `listen glance_api` section in {HAPROXY_CFG}")
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", HAPROXY_CFG], text=True,
                        input=cfg.replace("listen glance_api\n", "listen glance_api\n    timeout server 5s\n", 1))
    inner("reload-haproxy")


def _glance_pid(node: str) -> str:
    return common.in_namespace(["cat", "/run/glance-api-uwsgi.pid"], node=node, capture_output=True,
                               text=True).stdout.strip()


def controller2_stopped() -> None:
    """glance-api stopped on controller2 (a node an operator took down and forgot), until HAProxy's
    health check has marked it DOWN: a node stopped, beside controller2-drift's node misconfigured."""
    if "controller2" not in common.controllers():
        raise RuntimeError("needs the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up")
    common.in_namespace(["kill", "-TERM", _glance_pid("controller2")], node="controller2")
    wait_for_balancer_to_settle()


def controller2_started() -> None:
    inner("restart-glance", node="controller2")
    inner("rotate-logs")


KEYSTONE_PID = "/run/keystone-uwsgi.pid"
KEYSTONE_URL = f"http://{common.ADDR['vip']}:5000/v3"


def _keystone_answers() -> bool:
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(KEYSTONE_URL, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def keystone_stopped() -> None:
    """Keystone's uWSGI stopped on controller1: no token for anyone, Glance itself keeps running."""
    pid = common.in_namespace(["cat", KEYSTONE_PID], capture_output=True, text=True).stdout.strip()
    common.in_namespace(["kill", "-TERM", pid])
    common.wait_for("keystone gone", lambda: not _keystone_answers(), 30, interval=0.5)


def keystone_started() -> None:
    common.in_namespace([common.venv_bin("python"), "-c",
                         "from lab import controller; controller.start_uwsgi('keystone', "
                         "'/etc/keystone/keystone-uwsgi.ini', '/run/keystone-uwsgi.pid', "
                         "'/var/log/keystone/keystone-uwsgi.out')"], wd=str(common.ROOT))
    common.wait_for("keystone via haproxy", _keystone_answers, 60, interval=0.5)
    inner("rotate-logs")


def database_unopenable() -> None:
    """Glance's database user loses its grants on the `glance` database (a botched grant run): both
    controllers, restarted, can no longer open it, and every API call answers 500."""
    mariadb.sql("REVOKE ALL PRIVILEGES ON `glance`.* FROM 'glance'@'%';\nFLUSH PRIVILEGES;")
    for node in common.controllers():  # pooled connections go: each new one is refused
        inner("restart-glance", node=node)


def database_openable() -> None:
    mariadb.ensure_database("glance")
    for node in common.controllers():
        inner("restart-glance", node=node)
    inner("rotate-logs")


def _container_url() -> tuple[str, str]:
    token, account = swift.glance_account_access()
    return token, f"{account}/{CONTAINER}"


def swift_container_quota_reached() -> None:
    """A quota on Glance's swift container (X-Container-Meta-Quota-Bytes) one byte above what it
    holds; the account quota stays as it is. Swift's container_quotas answers 413."""
    token, url = _container_url()
    status, headers, _ = swift.http("HEAD", url, {"X-Auth-Token": token})
    used = int(headers.get("x-container-bytes-used", 0)) if status < 300 else 0
    method = "POST" if status < 300 else "PUT"  # no container yet: made with its quota
    status, _, body = swift.http(method, url, {"X-Auth-Token": token, "X-Container-Meta-Quota-Bytes": str(used + 1)})
    if status not in (200, 201, 202, 204):
        raise RuntimeError(f"{method} {url} with a quota answered {status}: {body[:200]!r}")


def swift_container_quota_lifted() -> None:
    token, url = _container_url()
    swift.http("POST", url, {"X-Auth-Token": token, "X-Remove-Container-Meta-Quota-Bytes": "x"})
    inner("rotate-logs")


def controller2_cosmetic() -> None:
    """controller2's glance-api.conf differs only in form: comments, blank lines, `key=value`
    without spaces, its sections in another order. Not a fault: nothing may fail."""
    if "controller2" not in common.controllers():
        raise RuntimeError("needs the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up")
    text = common.in_namespace(["cat", CONF], node="controller2", capture_output=True, text=True).stdout
    head, *sections = re.split(r"(?m)^(?=\[)", text)
    default = [s for s in sections if s.startswith("[DEFAULT]")]
    others = [s for s in sections if not s.startswith("[DEFAULT]")]
    body = "".join(default + others[::-1])
    body = re.sub(r"(?m)^([A-Za-z_][\w.-]*) = ", r"\1=", body)
    body = re.sub(r"(?m)^(\[[^\]]+\])$", r"\1\n# edited by hand on controller2\n", body)
    new = "# glance-api.conf, controller2 (kept by hand)\n\n" + head + body
    common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CONF], node="controller2", input=new, text=True)
    inner("restart-glance", node="controller2")


def controller2_cosmetic_back() -> None:
    inner("render", node="controller2")
    inner("restart-glance", node="controller2")
    inner("rotate-logs")


# The second matrix's tables (tests/e2e/test_fault_matrix_variants.py): not in the first matrix.
VARIANT_FAULTS: dict[str, Fault] = {
    "store-read-only": Fault("store_permissions", "the cheap store's tmpfs remounted read-only (no restart)",
                             cheap_read_only, cheap_read_write),
    "store-unknown-owner": Fault("store_permissions", "the cheap store owned by 1999:1999, a uid without a name",
                                 cheap_unknown_owner, cheap_owner_back),
    "store-inodes-used-up": Fault("store_full", "the cheap store's tmpfs remounted with no free inode, bytes to spare",
                                  cheap_inodes_used_up, cheap_inodes_back),
    "listen-timeout": Fault("interrupted_upload", "timeout server 5s in the glance_api listen section (defaults "
                            "keep 15m)", listen_server_timeout, restore_proxy_timeout),
    "keystone-stopped": Fault("availability", "Keystone's uWSGI stopped on controller1", keystone_stopped,
                              keystone_started),
    "database-unopenable": Fault("availability", "Glance's database user without its grants on the glance "
                                 "database; both controllers restarted: every API call answers 500",
                                 database_unopenable, database_openable),
}
VARIANT_NODE_FAULTS: dict[str, Fault] = {
    "controller2-stopped": Fault("availability", "glance-api stopped on controller2; HAProxy marks it DOWN",
                                 controller2_stopped, controller2_started),
    "controller2-cosmetic": Fault("", "controller2's glance-api.conf differs in comments, spacing and section "
                                      "order only; restart it", controller2_cosmetic, controller2_cosmetic_back),
}
VARIANT_SWIFT_FAULTS: dict[str, Fault] = {
    "swift-container-quota": Fault("store_full", "a quota on Glance's swift container one byte above its use",
                                   swift_container_quota_reached, swift_container_quota_lifted),
}
VARIANT_TABLES = (VARIANT_FAULTS, VARIANT_NODE_FAULTS, VARIANT_SWIFT_FAULTS)
TABLES += [(VARIANT_FAULTS, ""), (VARIANT_NODE_FAULTS, "controllers"), (VARIANT_SWIFT_FAULTS, "swift")]


# ---------------------------------------------------------------- images left mid-way (forensics, issue 18)
def import_cut_by_restart() -> None:
    """A glance-direct import whose glance-api (controller1) restarts mid-import: the image stays in
    importing, its task in processing. The import goes to the swift store while Swift's proxy is
    stopped (SIGSTOP: the import's write waits on it), so the restart lands mid-import every time."""
    c = conn()
    image = create_image(c, "hc-lab-stuck-importing")
    staged = c.image.put(f"{GLANCE_DIRECT}/v2/images/{image.id}/stage", data=b"\0" * (1 << 20), raise_exc=False,
                         headers={"Content-Type": "application/octet-stream"})
    if staged.status_code != 204:
        raise RuntimeError(f"staging the image answered HTTP {staged.status_code}")
    proxy = swift.service_pid("proxy")
    if not proxy:
        raise RuntimeError("the lab's swift proxy is not running")
    os.kill(proxy, signal.SIGSTOP)
    try:
        answer = c.image.post(f"{GLANCE_DIRECT}/v2/images/{image.id}/import", raise_exc=False,
                              json={"method": {"name": "glance-direct"}, "stores": ["swift"]})
        if answer.status_code != 202:
            raise RuntimeError(f"the import answered HTTP {answer.status_code}: {answer.text[:300]}")
        common.wait_for("the image in importing", lambda: c.image.get_image(image.id).status == "importing", 30)
        time.sleep(1)  # the import's task is on its way to the stopped proxy
        inner("stop-glance")
    finally:
        os.kill(proxy, signal.SIGCONT)
    inner("start-glance")
    status = c.image.get_image(image.id).status
    if status != "importing":
        raise RuntimeError(f"expected the image left in importing, found {status}")


def clean_after_import_cut() -> None:
    delete_lab_images("hc-lab-stuck-importing")
    inner("rotate-logs")


# Images a real fault leaves half-way, for forensics (`--image`, `--explain-stuck`): not in the fault
# matrix, whose stale age does not reach them.
IMAGE_CASES: dict[str, Fault] = {
    "import-cut-by-restart": Fault("worker_crash", "a glance-direct import to swift cut by a restart of controller1's "
                                   "glance-api; image left in importing", import_cut_by_restart,
                                   clean_after_import_cut),
}
TABLES.append((IMAGE_CASES, "swift"))


# ---------------------------------------------------------------- the staging store (issue 19)
# Not in either fault matrix: tests/e2e/test_staging.py injects each and runs only the staging checks.
STAGING = "/var/lib/glance/staging"
STAGING_LEFTOVER_ID = common.STATE / "hc-staging-leftover-id"  # the planted file's image id, for the revert
STAGING_FOREIGN = f"{STAGING}/import-debug-notes.txt"  # a file someone left there: no image's
STAGING_AGE = 3 * 86400  # the planted files' age: far beyond the suite's default --stale-age (2h)


def staging_leftover() -> None:
    """controller1's staging dir (shared with the other nodes) gets what failed imports and people leave:
    1 MiB named by an image id Glance has never had, and a file that is no image's, both 3 days old."""
    import uuid  # noqa: PLC0415

    image_id = str(uuid.uuid4())
    STAGING_LEFTOVER_ID.write_text(image_id)
    stamp = f"@{int(time.time()) - STAGING_AGE}"
    for path, size in ((f"{STAGING}/{image_id}", 1 << 20), (STAGING_FOREIGN, 4096)):
        ns("runuser", "-u", "glance", "--", "fallocate", "-l", str(size), path)
        ns("touch", "-h", "-d", stamp, path)


def staging_leftover_removed() -> None:
    try:
        image_id = STAGING_LEFTOVER_ID.read_text().strip()
    except OSError:
        image_id = ""
    ns("rm", "-f", STAGING_FOREIGN, *([f"{STAGING}/{image_id}"] if image_id else []))
    STAGING_LEFTOVER_ID.unlink(missing_ok=True)
    inner("rotate-logs")


def _staging_mounts(node: str) -> int:
    """How many mounts are stacked on the staging dir in a node's namespace."""
    text = common.in_namespace(["cat", "/proc/self/mountinfo"], node=node, capture_output=True, text=True).stdout
    return sum(1 for line in text.splitlines() if len(line.split()) > 4 and line.split()[4] == STAGING)


def _restart_glance_everywhere(nodes: tuple[str, ...]) -> None:
    """glance-api restarted on the nodes side by side (each restart waits for its node and the VIP)."""
    errors: list[BaseException] = []

    def one(node: str) -> None:
        try:
            inner("restart-glance", node=node)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(node,)) for node in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise RuntimeError(f"restarting glance-api failed: {errors[0]}")


def staging_not_shared() -> None:
    """controller2 gets its own, empty staging dir (a tmpfs of its own namespace, as a node whose staging
    is on its local disk), and both controllers the VIP as worker_self_reference_url (one conf copied to
    every node): an import reaching the node that did not stage the image is not proxied to the other."""
    if "controller2" not in common.controllers():
        raise RuntimeError("needs the two-controller lab: HC_LAB_CONTROLLERS=2 make lab-up")
    if _staging_mounts("controller2") < 2:
        common.in_namespace(["mount", "-t", "tmpfs", "-o", f"size={common.STORE_MB_SMALL}m,mode=750", "tmpfs",
                             STAGING], node="controller2")
    common.in_namespace(["chown", "glance:glance", STAGING], node="controller2")
    for node in ("controller1", "controller2"):
        edit_conf(r"^worker_self_reference_url = .*$", f"worker_self_reference_url = {GLANCE_VIP}", node=node)
    _restart_glance_everywhere(("controller1", "controller2"))


def staging_shared_again() -> None:
    if "controller2" in common.controllers() and _staging_mounts("controller2") > 1:
        common.in_namespace(["umount", STAGING], node="controller2")
    nodes = tuple(n for n in ("controller1", "controller2") if n in common.controllers())
    for node in nodes:
        inner("render", node=node)
    _restart_glance_everywhere(nodes)
    inner("rotate-logs")


STAGING_FAULTS: dict[str, Fault] = {
    "staging-leftover": Fault("store_full", "a 3-day-old file named by an image id Glance never had, and a file "
                              "that is no image's, in controller1's staging dir", staging_leftover,
                              staging_leftover_removed),
}
STAGING_NODE_FAULTS: dict[str, Fault] = {
    "staging-not-shared-no-self-ref": Fault(
        "store_config", "controller2's own empty staging dir, and the VIP as worker_self_reference_url on both "
        "controllers; both restarted", staging_not_shared, staging_shared_again),
}
TABLES += [(STAGING_FAULTS, ""), (STAGING_NODE_FAULTS, "controllers")]


# ---------------------------------------------------------------- the image cache (issue #19)
IMAGE_CACHE = "/var/lib/glance/image-cache"
IMAGE_CACHE_MAX = 1 << 20          # image_cache_max_size of the fault: 1 MiB
CACHE_IMAGE_SIZE = 768 << 10       # two of them cached: 1.5 MiB, over the max
CACHE_IMAGE_PREFIX = "hc-lab-cache-"


def _download_through_controller1(image_id: str, token: str) -> int:
    """GET the image's data from controller1 itself (not the VIP): its cache middleware tees it into
    the cache (glance/api/middleware/cache.py); the bytes read."""
    import urllib.request  # noqa: PLC0415
    req = urllib.request.Request(f"{GLANCE_DIRECT}/v2/images/{image_id}/file", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return len(resp.read())


def cache_over_size() -> None:
    """controller1 caches images (keystone+cachemanagement, a 1 MiB image_cache_max_size) and no pruner
    runs: two 768 KiB images downloaded through it, each twice (the second read comes from the cache)."""
    ns("install", "-d", "-o", "glance", "-g", "glance", "-m", "750", IMAGE_CACHE)
    edit_conf(r"^\[DEFAULT\]$", f"[DEFAULT]\nimage_cache_dir = {IMAGE_CACHE}\nimage_cache_max_size = {IMAGE_CACHE_MAX}")
    edit_conf(r"^flavor = keystone$", "flavor = keystone+cachemanagement")
    inner("restart-glance")
    c = conn()
    token = c.session.get_token()
    for k in range(2):
        image = c.image.create_image(name=f"{CACHE_IMAGE_PREFIX}{k}", disk_format="raw", container_format="bare",
                                     data=os.urandom(CACHE_IMAGE_SIZE), allow_duplicates=True, wait=True, timeout=60)
        for _ in range(2):
            if _download_through_controller1(image.id, token) != CACHE_IMAGE_SIZE:
                raise RuntimeError(f"short download of {image.id} through controller1")
    deadline = time.monotonic() + 15
    while _cache_bytes() <= IMAGE_CACHE_MAX:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{IMAGE_CACHE} on controller1 holds {_cache_bytes()} bytes, not over the max")
        time.sleep(0.3)


def _cache_bytes() -> int:
    """Bytes of the cached images (the top of the cache dir, as Glance's pruner counts them)."""
    out = ns("find", IMAGE_CACHE, "-maxdepth", "1", "-type", "f", "-printf", "%s\n", capture=True, check=False)
    return sum(int(x) for x in out.split() if x.isdigit())


def cache_off_again() -> None:
    """The cache cleared through its own API (its DB records too), the config rendered back, the dir emptied."""
    import urllib.request  # noqa: PLC0415

    try:
        c = conn()
        req = urllib.request.Request(f"{GLANCE_DIRECT}/v2/cache", method="DELETE",
                                     headers={"X-Auth-Token": c.session.get_token()})
        with urllib.request.urlopen(req, timeout=30):
            pass
    except Exception:  # noqa: BLE001 - the cache may be off already (revert twice): the files go below
        pass
    delete_lab_images(CACHE_IMAGE_PREFIX)
    inner("render")
    inner("restart-glance")
    ns("sh", "-c", 'rm -rf -- "$1"/* "$1"/.[!.]*', "sh", IMAGE_CACHE, check=False)
    inner("rotate-logs")


CACHE_FAULTS: dict[str, Fault] = {
    "cache-over-size": Fault("store_full", "controller1 caches images (keystone+cachemanagement, image_cache_max_size "
                             "1 MiB), 1.5 MiB downloaded through it, no pruner", cache_over_size, cache_off_again),
}
TABLES += [(CACHE_FAULTS, "")]


# ---------------------------------------------------------------- the s3 store (lab/radosgw.py)
S3_WRONG_SECRET = "hc-lab-wrong-secret-0000000000000000000000"  # planted: reports must not show it either


def s3_bucket_missing() -> None:
    """The bucket glance_store writes to is gone (s3_store_create_bucket_on_put = false: nobody makes it)."""
    from lab import radosgw  # noqa: PLC0415 - only with the s3 store

    radosgw.remove_bucket()


def s3_bucket_back() -> None:
    from lab import radosgw  # noqa: PLC0415

    radosgw.ensure_bucket()
    inner("rotate-logs")


def s3_wrong_secret() -> None:
    """A wrong s3_store_secret_key on every controller (a rotated key not rolled out); restart."""
    for node in common.controllers():
        edit_conf(r"^s3_store_secret_key = .*$", f"s3_store_secret_key = {S3_WRONG_SECRET}", node=node)
        inner("restart-glance", node=node)


def s3_secret_back() -> None:
    for node in common.controllers():
        inner("render", node=node)
        inner("restart-glance", node=node)
    inner("rotate-logs")


def s3_bucket_quota_reached() -> None:
    """The bucket at its byte quota (radosgw-admin quota set --quota-scope=bucket): radosgw refuses
    every further object with 403 QuotaExceeded."""
    from lab import radosgw  # noqa: PLC0415

    radosgw.bucket_quota(radosgw.bucket_bytes() + 1)


def s3_bucket_quota_lifted() -> None:
    from lab import radosgw  # noqa: PLC0415

    radosgw.bucket_quota(None)
    inner("rotate-logs")


# Faults of the s3 store (the lab's radosgw, on by default with Ceph; HC_LAB_S3=0 leaves it out). Not in
# the fault matrices: tests/e2e/test_s3_store.py injects each and runs the s3 checks and canary only.
S3_FAULTS: dict[str, Fault] = {
    "s3-bucket-missing": Fault("store_config", "the s3 store's bucket deleted (create_bucket_on_put is false)",
                               s3_bucket_missing, s3_bucket_back),
    "s3-wrong-secret": Fault("store_config", "a wrong s3_store_secret_key in glance-api.conf; restart",
                             s3_wrong_secret, s3_secret_back),
    "s3-bucket-quota": Fault("store_full", "the s3 store's bucket at its byte quota (radosgw bucket quota)",
                             s3_bucket_quota_reached, s3_bucket_quota_lifted),
}
NEEDS["s3"] = "the lab's radosgw on its Ceph: HC_LAB_CEPH=1 HC_LAB_S3=1 make lab-up"
TABLES += [(S3_FAULTS, "s3")]


# ---------------------------------------------------------------- interoperable import (issue #19)
# Not in either fault matrix: tests/e2e/test_import_canary.py injects each and runs only the import
# canaries. The staging and cheap tmpfs are one filesystem for every controller (one mount each).
STAGING_BALLAST = f"{STAGING}/.hc-lab-ballast"
CHEAP_BALLAST = f"{CHEAP}/.hc-lab-ballast"
FILTER_MARK = "# hc-lab web-download-refused"


def _fill(path: str, ballast: str) -> None:
    avail = int(ns("df", "--output=avail", "-B1", path, capture=True).split()[-1])
    ns("runuser", "-u", "glance", "--", "fallocate", "-l", str(avail), ballast)


def fill_staging() -> None:
    """The staging store (os_glance_staging_store, a tmpfs shared by the controllers) filled to the last byte:
    a stage call has nowhere to write; a plain upload (to the fast store) is not touched."""
    _fill(STAGING, STAGING_BALLAST)


def unfill_staging() -> None:
    ns("rm", "-f", STAGING_BALLAST)
    inner("rotate-logs")


def fill_cheap() -> None:
    """The small `cheap` file store filled to the last byte, as fill_store does the default one."""
    _fill(CHEAP, CHEAP_BALLAST)


def unfill_cheap() -> None:
    ns("rm", "-f", CHEAP_BALLAST)
    inner("rotate-logs")


def refuse_http_downloads() -> None:
    """[import_filtering_opts] allowed_schemes = https on every controller, restarted: an http web-download
    URL is refused by the filter (400) before any task or store is tried."""
    nodes = tuple(common.controllers())
    for node in nodes:
        edit_conf(r"^\[DEFAULT\]$", f"{FILTER_MARK}\n[import_filtering_opts]\nallowed_schemes = https\n\n[DEFAULT]",
                  node=node)
    _restart_glance_everywhere(nodes)


def allow_http_downloads_again() -> None:
    """The fault's lines taken out again (not a render: another lab version may have written the rest)."""
    nodes = tuple(common.controllers())
    for node in nodes:
        text = common.in_namespace(["cat", CONF], node=node, capture_output=True, text=True).stdout
        if FILTER_MARK in text:
            edit_conf(rf"^{re.escape(FILTER_MARK)}\n\[import_filtering_opts\]\nallowed_schemes = https\n\n", "",
                      node=node)
    _restart_glance_everywhere(nodes)
    inner("rotate-logs")


IMPORT_FAULTS: dict[str, Fault] = {
    "staging-full": Fault("store_full", "the staging dir (os_glance_staging_store) filled to the last byte",
                          fill_staging, unfill_staging),
    "cheap-store-full": Fault("store_full", "the small cheap file store filled to the last byte",
                              fill_cheap, unfill_cheap),
    "web-download-refused": Fault("store_config", "[import_filtering_opts] allowed_schemes = https on every "
                                  "controller (restarted): an http web-download URL does not pass the filter",
                                  refuse_http_downloads, allow_http_downloads_again),
}
TABLES += [(IMPORT_FAULTS, "")]


# ---------------------------------------------------------------- the cinder store (issue #20)
# Not in either fault matrix: tests/e2e/test_cinder_store.py injects each and runs the cinder store's
# checks and its canary. They need the lab's Cinder (HC_LAB_CINDER=1).
from lab import cinder  # noqa: E402 - the cinder store's faults only


def cinder_admin():
    """A keystoneauth session as the lab's admin, and the service project's id (Glance's volumes')."""
    from keystoneauth1 import session  # noqa: PLC0415 - only under the lab venv
    from keystoneauth1.identity import v3  # noqa: PLC0415

    auth = v3.Password(auth_url=cinder.KEYSTONE_URL, username="admin", password=common.secrets_file()["admin_password"],
                       project_name="admin", user_domain_name="Default", project_domain_name="Default")
    sess = session.Session(auth=auth, timeout=30)
    service = sess.get(f"{cinder.KEYSTONE_URL}/projects?name=service").json()["projects"][0]["id"]
    return sess, f"{cinder.API_URL}/v3/{sess.get_project_id()}", service


def cinder_volume_quota() -> None:
    """The service project (where Glance's cinder store creates its volumes) at its volumes quota:
    the limit lowered to what it uses now, as a project that filled it."""
    sess, api, service = cinder_admin()
    used = sess.get(f"{api}/os-quota-sets/{service}?usage=True").json()["quota_set"]["volumes"]["in_use"]
    sess.put(f"{api}/os-quota-sets/{service}", json={"quota_set": {"volumes": used}})


def cinder_quota_back() -> None:
    sess, api, service = cinder_admin()
    sess.delete(f"{api}/os-quota-sets/{service}")  # back to the defaults
    inner("rotate-logs")


def cinder_type_missing() -> None:
    """The volume type glance-api.conf names (cinder_volume_type) deleted in Cinder: glance-api only
    warned at start, every upload to the store fails."""
    sess, api, _ = cinder_admin()
    found = [t for t in sess.get(f"{api}/types").json()["volume_types"] if t["name"] == cinder.VOLUME_TYPE]
    for vtype in found:
        sess.delete(f"{api}/types/{vtype['id']}")


def cinder_type_back() -> None:
    cinder.ensure_volume_type(common.secrets_file()["admin_password"], common.venv_bin("python"))
    inner("rotate-logs")


def cinder_sudoers_missing() -> None:
    """controller2 lost the sudoers rule for glance-rootwrap (a config-management run that did not know
    the cinder store); its glance-api restarts, so no privsep helper started before survives."""
    common.in_namespace(["rm", "-f", "/etc/sudoers.d/glance-rootwrap"], node="controller2")
    inner("restart-glance", node="controller2")


def cinder_keyring_missing() -> None:
    """controller2 lacks /etc/ceph/ceph.client.cinder.keyring: os-brick cannot open the volume."""
    common.in_namespace(["rm", "-f", f"/etc/ceph/ceph.client.{cinder.USER}.keyring"], node="controller2")


def cinder_node_back() -> None:
    inner("render", node="controller2")
    inner("restart-glance", node="controller2")
    inner("rotate-logs")


def cinder_keyring_back() -> None:
    inner("render", node="controller2")
    inner("rotate-logs")


def cinder_volume_stopped() -> None:
    """cinder-volume stopped: new volumes stay in `creating` (or go to `error` once the scheduler sees
    the service down); glance_store waits cinder_state_transition_timeout for each."""
    cinder.stop_service("cinder-volume")


def cinder_volume_started() -> None:
    """cinder-volume back; the volumes the failed uploads left (stuck in creating, which cinder-volume
    puts in error at its start) deleted, as an operator closing the incident does."""
    cinder.start_service("cinder-volume")
    cinder.volume_service_up()
    sess, api, service = cinder_admin()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        vols = sess.get(f"{api}/volumes/detail?all_tenants=1&project_id={service}").json()["volumes"]
        left = [v for v in vols if (v.get("name") or "").startswith("image-")]
        if not left:
            break
        for vol in left:
            if vol["status"] not in ("deleting", "creating"):
                sess.post(f"{api}/volumes/{vol['id']}/action", json={"os-force_delete": {}}, raise_exc=False)
        time.sleep(1)
    inner("rotate-logs")


CINDER_FAULTS: dict[str, Fault] = {
    "cinder-volume-quota": Fault("store_full", "the service project's Cinder volumes quota used up",
                                 cinder_volume_quota, cinder_quota_back),
    "cinder-type-missing": Fault("store_config", "the volume type cinder_volume_type names deleted in Cinder",
                                 cinder_type_missing, cinder_type_back),
    "cinder-sudoers-missing": Fault("store_permissions", "controller2 lacks the sudoers rule for glance-rootwrap",
                                    cinder_sudoers_missing, cinder_node_back),
    "cinder-keyring-missing": Fault("store_permissions", "controller2 lacks the client.cinder keyring",
                                    cinder_keyring_missing, cinder_keyring_back),
    "cinder-volume-stopped": Fault("store_config", "cinder-volume stopped: volumes are never created",
                                   cinder_volume_stopped, cinder_volume_started),
}
NEEDS["cinder"] = "the lab's Cinder: HC_LAB_CINDER=1 python3 -m lab up"
TABLES += [(CINDER_FAULTS, "cinder")]
