"""The lab's object store: a real OpenStack Swift all-in-one (PyPI) plus memcached on 127.0.0.6.

One replica on one device, data on the real disk under $HC_LAB_DIR/state/swift (Swift keeps
its metadata in user xattrs, which a tmpfs may lack), mount_check off. Every service is
started here directly from the swift venv (no swift-init), one process each (workers = 0),
its pid recorded, its output in a log file:

    memcached          127.0.0.6:11211   (Debian's, as user memcache)
    proxy-server       127.0.0.6:8080    tempauth; plus authtoken + keystoneauth with a Keystone
    account-server     127.0.0.6:6202
    container-server   127.0.0.6:6201
    object-server      127.0.0.6:6200
    container-updater  (no port)         pushes container stats to the account, without which
                                         the account's bytes-used, and so account quotas, stay 0

Auth. tempauth always serves /auth/v1.0 with `glance:glance` (account AUTH_glance) and a
reseller admin `reseller:admin` that may set any AUTH_ account's quota. glance_store 5.7.0
cannot use it: its swift driver forces auth_version 3 and gets its token from Keystone v3
(keystoneauth1 V3Password), so Glance needs `up(keystone=KeystoneLink(...))`: the proxy then
also validates Keystone tokens for accounts KEY_<project id> (a prefix of their own, so the
two auth systems never claim the same account), a `swift` service user with ResellerAdmin
is made in Keystone, and an object-store endpoint is put in its catalog. In that mode the
quota and usage helpers act on Glance's account, KEY_<id of project `service`>.

For lab.control: `up()` any time (tempauth only); once the lab's Keystone is provisioned,
`up(lab_keystone_link())` (restarts only the proxy); glance-api.conf gets
`glance_store_options()` and /etc/glance/glance-swift-store.conf `glance_store_reference()`.

Usage: python3 -m lab.swift up [--keystone [URL]] | down | status | quota BYTES | quota-clear | usage
"""
from __future__ import annotations

import argparse
import dataclasses
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

from lab.common import HERE, LAB_DIR, STATE, output

SECRETS = STATE / "secrets.json"
VENV = LAB_DIR / "swift-venv"
REQUIREMENTS = HERE / "swift-requirements.txt"
VENV_STAMP = VENV / ".hc-requirements-sha256"

SWIFT_STATE = STATE / "swift"
ETC = SWIFT_STATE / "etc"
DEVICES = SWIFT_STATE / "node"
DEVICE = "d1"
RUN = SWIFT_STATE / "run"
LOGS = SWIFT_STATE / "log"
CACHE = SWIFT_STATE / "cache"
KEYSTONE_STATE = SWIFT_STATE / "keystone.json"  # present while the proxy runs in Keystone mode

ADDR = "127.0.0.6"
MEMCACHED_PORT = 11211
PROXY_PORT = 8080
RING_PORTS = {"account": 6202, "container": 6201, "object": 6200}
PROXY_URL = f"http://{ADDR}:{PROXY_PORT}"
AUTH_V1_URL = f"{PROXY_URL}/auth/v1.0"
GLANCE_TEMPAUTH_USER = "glance:glance"
RESELLER_TEMPAUTH_USER = "reseller:admin"
GLANCE_TEMPAUTH_ACCOUNT = "AUTH_glance"
KEYSTONE_PREFIX = "KEY"
# The main lab's Keystone (lab.common's keystone_addr); Glance's reference points there.
LAB_KEYSTONE_URL = os.environ.get("HC_LAB_KEYSTONE_URL", "http://127.0.0.2:5000/v3")
GLANCE_PROJECT = "service"  # Glance's own service user lives there, so its images do too
SWIFT_SERVICE_USER = "swift"
HASH_PATH_SUFFIX = "glance-hc-lab"  # fixed: changing it would orphan the stored objects
UP_TIMEOUT = 60.0
STOP_GRACE = 10.0

UPDATER_MAIN = ("import sys; from swift.common import utils; utils.set_swift_dir(sys.argv.pop(1)); "
                "from swift.container.updater import main; main()")

# start order; `down` goes the other way
SERVICES = ("memcached", "account", "container", "object", "container-updater", "proxy")


class SwiftLabError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class KeystoneLink:
    """The Keystone whose tokens the proxy should also accept (the one Glance logs in to)."""
    auth_url: str          # e.g. http://127.0.0.2:5000/v3
    admin_password: str    # user admin, project admin, domain Default: to register swift there
    region: str = "RegionOne"


def lab_keystone_link() -> KeystoneLink:
    """The main lab's Keystone, with the admin password lab.common keeps in secrets.json."""
    admin = ensure_secrets().get("admin_password")
    if not admin:
        raise SwiftLabError(f"no admin_password in {SECRETS}: is the main lab set up?")
    return KeystoneLink(LAB_KEYSTONE_URL, admin)


def log(msg: str) -> None:
    print(f"[swift] {msg}", flush=True)


# ---------------------------------------------------------------- install
def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def venv_current() -> bool:
    return VENV_STAMP.exists() and VENV_STAMP.read_text().strip() == requirements_hash()


def ensure_installed() -> bool:
    """Build the swift venv when missing or when swift-requirements.txt changed; True if built.

    Debian's /usr/bin/python3, not pyenv's: the same interpreter the lab's other venvs use.
    A changed requirements file rebuilds from scratch so nothing unpinned lingers.
    """
    if venv_current():
        return False
    if shutil.which("memcached") is None:
        raise SwiftLabError("memcached is missing: apt-get install memcached")
    t0 = time.monotonic()
    log(f"building {VENV} from {REQUIREMENTS.name}")
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    if VENV.exists():
        shutil.rmtree(VENV)
    _run(["/usr/bin/python3", "-m", "venv", str(VENV)])
    _run([str(VENV / "bin/pip"), "install", "-q", "--disable-pip-version-check",
          "-r", str(REQUIREMENTS)])
    VENV_STAMP.write_text(requirements_hash() + "\n")
    log(f"swift venv ready in {time.monotonic() - t0:.0f}s")
    return True


def _run(cmd: list[str], ok_codes: tuple[int, ...] = (0,)) -> str:
    return output(cmd, timeout=900, error=SwiftLabError, ok_codes=ok_codes).stdout


# ---------------------------------------------------------------- secrets
def ensure_secrets(*names: str) -> dict:
    """The lab's secrets.json with `names` added when absent; other keys are kept as they are."""
    STATE.mkdir(parents=True, exist_ok=True)
    data = json.loads(SECRETS.read_text()) if SECRETS.exists() else {}
    missing = [n for n in names if n not in data]
    if missing:
        for name in missing:
            data[name] = secrets.token_urlsafe(18)
        tmp = SECRETS.with_name(SECRETS.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.chmod(0o600)
        os.replace(tmp, SECRETS)
    return data


def swift_keys() -> dict:
    return ensure_secrets("swift_glance_key", "swift_reseller_key")


# ---------------------------------------------------------------- configuration (pure)
def swift_conf_text() -> str:
    return (f"[swift-hash]\nswift_hash_path_suffix = {HASH_PATH_SUFFIX}\nswift_hash_path_prefix =\n\n"
            "[storage-policy:0]\nname = Policy-0\ndefault = yes\n")


def _common_default(name: str, port: int) -> str:
    """[DEFAULT] of every server: one process, root, our dirs, logs to stderr via -v.

    Without /dev/log Swift's syslog handler falls back to UDP; pointing it at 127.0.0.6 keeps
    even that on the lab's address (nothing listens, the datagrams are dropped).
    """
    return (f"[DEFAULT]\nbind_ip = {ADDR}\nbind_port = {port}\nworkers = 0\nuser = root\n"
            f"swift_dir = {ETC}\ndevices = {DEVICES}\nmount_check = false\n"
            f"log_name = {name}\nlog_level = INFO\nlog_udp_host = {ADDR}\n"
            f"recon_cache_path = {CACHE}\neventlet_debug = false\n")


def server_conf_text(kind: str) -> str:
    """account-, container- or object-server.conf (the container one also drives the updater)."""
    text = _common_default(f"{kind}-server", RING_PORTS[kind])
    text += f"\n[pipeline:main]\npipeline = healthcheck recon {kind}-server\n"
    text += f"\n[app:{kind}-server]\nuse = egg:swift#{kind}\n"
    text += "\n[filter:healthcheck]\nuse = egg:swift#healthcheck\n"
    text += "\n[filter:recon]\nuse = egg:swift#recon\n"
    if kind == "container":
        text += "\n[container-updater]\ninterval = 30\nconcurrency = 1\n"
    if kind == "object":
        text += "\n[object-updater]\ninterval = 5\n"
    return text


def proxy_pipeline(keystone: bool) -> str:
    """The sample proxy-server.conf's tempauth pipeline; Keystone's filters go before tempauth.

    Order matters: keystoneauth always sets swift.authorize, while tempauth only overrides it
    for its own AUTH_ tokens and accounts, so with tempauth last both systems keep their own.
    """
    auth = "authtoken keystoneauth tempauth" if keystone else "tempauth"
    return ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats container_sync "
            f"bulk tempurl ratelimit {auth} copy container-quotas account-quotas slo dlo "
            "versioned_writes symlink proxy-logging proxy-server")


def proxy_conf_text(glance_key: str, reseller_key: str, keystone: dict | None = None) -> str:
    """proxy-server.conf; `keystone` holds auth_url and the swift service user's password.

    The account/container info cache is rechecked every 2 s (default 60) so a quota change or
    an upload shows up in the next request's quota decision.
    """
    text = _common_default("proxy-server", PROXY_PORT)
    text += f"\n[pipeline:main]\npipeline = {proxy_pipeline(keystone is not None)}\n"
    text += ("\n[app:proxy-server]\nuse = egg:swift#proxy\nallow_account_management = true\n"
             "account_autocreate = true\nrecheck_account_existence = 2\n"
             "recheck_container_existence = 2\nnode_timeout = 10\nconn_timeout = 1\n")
    text += (f"\n[filter:tempauth]\nuse = egg:swift#tempauth\nreseller_prefix = AUTH\n"
             f"token_life = 86400\n"
             f"user_glance_glance = {glance_key} .admin\n"
             f"user_reseller_admin = {reseller_key} .reseller_admin\n")
    if keystone is not None:
        base = keystone["auth_url"].rstrip("/")
        base = base[:-3] if base.endswith("/v3") else base
        text += (f"\n[filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n"
                 f"www_authenticate_uri = {base}\nauth_url = {base}\nauth_type = password\n"
                 f"project_domain_id = default\nuser_domain_id = default\n"
                 f"project_name = {GLANCE_PROJECT}\nusername = {SWIFT_SERVICE_USER}\n"
                 f"password = {keystone['password']}\ninterface = public\n"
                 f"delay_auth_decision = true\nmemcached_servers = {ADDR}:{MEMCACHED_PORT}\n"
                 "cache = swift.cache\ninclude_service_catalog = false\n")
        text += (f"\n[filter:keystoneauth]\nuse = egg:swift#keystoneauth\n"
                 f"reseller_prefix = {KEYSTONE_PREFIX}\noperator_roles = admin, member\n"
                 "reseller_admin_role = ResellerAdmin\n")
    filters = ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats",
               "container_sync", "bulk", "tempurl", "ratelimit", "copy", "container-quotas",
               "account-quotas", "slo", "dlo", "versioned_writes", "symlink")
    for name in filters:
        egg = {"proxy-logging": "proxy_logging", "container-quotas": "container_quotas",
               "account-quotas": "account_quotas"}.get(name, name)
        text += f"\n[filter:{name}]\nuse = egg:swift#{egg}\n"
    text += f"\n[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = {ADDR}:{MEMCACHED_PORT}\n"
    return text


def glance_store_reference(auth_address: str = LAB_KEYSTONE_URL, user: str = "service:glance",
                           key: str | None = None, ref: str = "ref1") -> str:
    """A glance-swift-store.conf reference section as glance_store 5.7.0's swift driver reads it.

    By default Glance's own service user in the main lab's Keystone (its password is
    secrets.json's glance_password); the proxy accepts it once `up(lab_keystone_link())` ran.

    utils.SwiftParams._load_config wants auth_address, user (project:user) and key, and takes
    user/project domains (default: id `default`). auth_address must be Keystone v3: the
    driver forces auth_version to 3 and authenticates with keystoneauth1's V3Password, so
    Swift's tempauth URL (/auth/v1.0) cannot work; auth_version is not written (deprecated,
    only 3 accepted).
    """
    if key is None:
        key = ensure_secrets().get("glance_password")
        if not key:
            raise SwiftLabError(f"no glance_password in {SECRETS}: pass key= or set the main lab up first")
    return (f"[{ref}]\nauth_address = {auth_address}\nuser = {user}\nkey = {key}\n"
            "user_domain_id = default\nproject_domain_id = default\n")


def glance_store_options(backend: str = "swift", container: str = "glance", ref: str = "ref1",
                         config_file: str = "/etc/glance/glance-swift-store.conf") -> str:
    """The glance-api.conf section of a multistore swift backend (`enabled_backends = NAME:swift`).

    The storage URL comes from Keystone's catalog (service type object-store, public), which
    `up(keystone=...)` registers; single tenant, one container.
    """
    return (f"[{backend}]\nstore_description = Swift all-in-one on {ADDR} (glance-hc lab)\n"
            f"swift_store_container = {container}\nswift_store_create_container_on_put = True\n"
            f"swift_store_config_file = {config_file}\ndefault_swift_reference = {ref}\n"
            "swift_store_endpoint_type = publicURL\nswift_store_multi_tenant = False\n"
            "swift_store_auth_insecure = False\n")


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)
    return True


def service_conf(name: str) -> str:
    """The config file a swift service reads ("" for memcached, which has none)."""
    return {"memcached": "", "proxy": "proxy-server.conf",
            "container-updater": "container-server.conf"}.get(name, f"{name}-server.conf")


def render_configs(keys: dict, keystone: dict | None) -> set[str]:
    """Write swift's configs; the services whose config changed (they must restart)."""
    files = {"swift.conf": (swift_conf_text(), 0o644),
             "proxy-server.conf": (proxy_conf_text(keys["swift_glance_key"], keys["swift_reseller_key"],
                                                   keystone), 0o600)}
    files.update({f"{kind}-server.conf": (server_conf_text(kind), 0o644) for kind in RING_PORTS})
    written = {name for name, (text, mode) in files.items() if write_if_changed(ETC / name, text, mode)}
    return {n for n in SERVICES if service_conf(n) and ({"swift.conf", service_conf(n)} & written)}


def ensure_rings() -> None:
    """One ring per kind: part power 8, one replica, one device on 127.0.0.6."""
    builder_cmd = str(VENV / "bin/swift-ring-builder")
    for kind, port in RING_PORTS.items():
        if (ETC / f"{kind}.ring.gz").exists():
            continue
        builder = str(ETC / f"{kind}.builder")
        if not Path(builder).exists():
            _run([builder_cmd, builder, "create", "8", "1", "1"])
            _run([builder_cmd, builder, "add", f"r1z1-{ADDR}:{port}/{DEVICE}", "100"])
        _run([builder_cmd, builder, "rebalance"], ok_codes=(0, 1))  # 1 = warnings only


# ---------------------------------------------------------------- processes
def service_cmd(name: str) -> list[str]:
    if name == "memcached":
        return [shutil.which("memcached") or "memcached", "-l", ADDR, "-p", str(MEMCACHED_PORT),
                "-U", "0", "-u", "memcache", "-m", "64", "-c", "1024"]
    if name == "container-updater":
        # Swift's daemons read /etc/swift/swift.conf whatever swift_dir says; point them at ours
        # first instead of writing into the machine's /etc.
        return [str(VENV / "bin/python3"), "-c", UPDATER_MAIN, str(ETC), str(ETC / "container-server.conf"), "-v"]
    binary = "swift-proxy-server" if name == "proxy" else f"swift-{name}-server"
    return [str(VENV / "bin" / binary), str(ETC / service_conf(name)), "-v"]


def pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def logfile(name: str) -> Path:
    return LOGS / f"{name}.log"


def _is_ours(pid: int, name: str) -> bool:
    """The pid still runs the command we started (not a recycled pid, not a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    cmd = service_cmd(name)
    if name == "memcached":
        program, marker = b"memcached", ADDR
    elif name == "container-updater":
        program, marker = b"swift.container.updater", cmd[-2]
    else:  # a swift script runs as `python3 SCRIPT CONF -v`
        program, marker = os.fsencode(os.path.basename(cmd[0])), cmd[1]
    return (state != "Z" and any(program in arg for arg in cmdline[:3])
            and os.fsencode(marker) in cmdline)


def service_pid(name: str) -> int | None:
    try:
        pid = int(pidfile(name).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_ours(pid, name) else None


def start_service(name: str) -> int:
    if pid := service_pid(name):
        return pid
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(logfile(name), "ab") as out:
        # Own session: swift's daemons kill their own process group on SIGTERM.
        proc = subprocess.Popen(service_cmd(name), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    pidfile(name).write_text(f"{proc.pid}\n")
    # Until the child has exec'd, /proc shows our own command line: wait for the real one.
    deadline = time.monotonic() + 5
    while not _is_ours(proc.pid, name):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SwiftLabError(f"{name} did not start (exit {proc.poll()}); {logfile(name)} ends with:\n"
                                f"{log_tail(name)}")
        time.sleep(0.02)
    return proc.pid


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def stop_service(name: str, grace: float = STOP_GRACE) -> None:
    """SIGTERM the recorded pid, SIGKILL after `grace`; a pid that is not ours is left alone."""
    pid = service_pid(name)
    if pid is None:
        pidfile(name).unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _is_ours(pid, name) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _is_ours(pid, name):
        os.kill(pid, signal.SIGKILL)
        while _is_ours(pid, name):
            time.sleep(0.05)
    pidfile(name).unlink(missing_ok=True)


def pids() -> dict[str, int]:
    """The live pids of the services (children of forking daemons included, as name/N)."""
    found = {}
    for name in SERVICES:
        pid = service_pid(name)
        if pid:
            found[name] = pid
            for i, kid in enumerate(_children(pid)):
                found[f"{name}/{i}"] = kid
    return found


def rss_kib() -> int:
    """Sum of VmRSS over every swift and memcached process this module started."""
    total = 0
    for pid in pids().values():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def log_tail(name: str, lines: int = 25) -> str:
    try:
        return "\n".join(logfile(name).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- HTTP (127.0.0.6 only, no proxies)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, headers: dict | None = None, body: bytes | None = None,
         timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """(status, lower-cased headers, body); HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((ADDR, port)) == 0


def tempauth_login(user: str, key: str) -> tuple[str, str]:
    """(token, storage URL) from tempauth's v1 endpoint."""
    status, headers, body = http("GET", AUTH_V1_URL, {"X-Auth-User": user, "X-Auth-Key": key})
    if status != 200:
        raise SwiftLabError(f"tempauth login of {user} answered {status}: {body[:200]!r}")
    return headers["x-auth-token"], headers["x-storage-url"]


# ---------------------------------------------------------------- Keystone (only with a KeystoneLink)
def keystone_token(auth_url: str, user: str, password: str, project: str) -> tuple[str, dict]:
    """A project-scoped token (Default domain) and the token body."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    try:
        status, headers, out = http("POST", f"{auth_url.rstrip('/')}/auth/tokens",
                                    {"Content-Type": "application/json"}, json.dumps(body).encode())
    except OSError as exc:
        raise SwiftLabError(f"Keystone at {auth_url} unreachable: {exc}") from None
    if status != 201:
        raise SwiftLabError(f"Keystone login of {user} in {project} answered {status}: {out[:300]!r}")
    return headers["x-subject-token"], json.loads(out)["token"]


def register_in_keystone(link: KeystoneLink, swift_password: str) -> None:
    """Idempotently: user swift (admin and ResellerAdmin in project service) and the
    object-store service with public/internal/admin endpoints pointing at this proxy."""
    api = link.auth_url.rstrip("/")
    token, _ = keystone_token(api, "admin", link.admin_password, "admin")

    def call(method: str, path: str, payload: dict | None = None, ok=(200, 201, 204)) -> dict:
        status, _, out = http(method, f"{api}{path}", {"X-Auth-Token": token, "Content-Type": "application/json"},
                              json.dumps(payload).encode() if payload is not None else None)
        if status not in ok:
            raise SwiftLabError(f"Keystone {method} {path} answered {status}: {out[:300]!r}")
        return json.loads(out) if out else {}

    def find_or_create(collection: str, key: str, query: str, new: dict) -> dict:
        found = call("GET", f"/{collection}?{query}")[collection]
        return found[0] if found else call("POST", f"/{collection}", {key: new})[key]

    project = find_or_create("projects", "project", f"name={GLANCE_PROJECT}&domain_id=default",
                             {"name": GLANCE_PROJECT, "domain_id": "default"})
    user = find_or_create("users", "user", f"name={SWIFT_SERVICE_USER}&domain_id=default",
                          {"name": SWIFT_SERVICE_USER, "domain_id": "default", "password": swift_password,
                           "default_project_id": project["id"]})
    call("PATCH", f"/users/{user['id']}", {"user": {"password": swift_password}})
    for role_name in ("admin", "ResellerAdmin"):
        role = find_or_create("roles", "role", f"name={role_name}", {"name": role_name})
        call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    service = next((s for s in call("GET", "/services?type=object-store")["services"]), None) \
        or call("POST", "/services", {"service": {"name": "swift", "type": "object-store",
                                                  "description": "glance-hc lab Swift"}})["service"]
    url = f"{PROXY_URL}/v1/{KEYSTONE_PREFIX}_%(project_id)s"
    endpoints = call("GET", f"/endpoints?service_id={service['id']}")["endpoints"]
    for iface in ("public", "internal", "admin"):
        have = [e for e in endpoints if e["interface"] == iface and e.get("region_id") == link.region]
        if not have:
            call("POST", "/endpoints", {"endpoint": {"service_id": service["id"], "interface": iface,
                                                     "region_id": link.region, "url": url}})
        elif have[0]["url"] != url:
            call("PATCH", f"/endpoints/{have[0]['id']}", {"endpoint": {"url": url}})


def keystone_mode() -> dict | None:
    """The Keystone settings the running proxy was configured with, or None (tempauth only)."""
    try:
        return json.loads(KEYSTONE_STATE.read_text())
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------- the glance account
def glance_account_access() -> tuple[str, str]:
    """(reseller-admin token, URL of the account Glance stores into).

    tempauth only: AUTH_glance, as tempauth's reseller admin. With Keystone: KEY_<project
    service id>, as the swift user, whose ResellerAdmin role lets it set the quota.
    """
    ks = keystone_mode()
    if ks is None:
        token, _ = tempauth_login(RESELLER_TEMPAUTH_USER, swift_keys()["swift_reseller_key"])
        return token, f"{PROXY_URL}/v1/{GLANCE_TEMPAUTH_ACCOUNT}"
    password = ensure_secrets("swift_service_password")["swift_service_password"]
    token, body = keystone_token(ks["auth_url"], SWIFT_SERVICE_USER, password, GLANCE_PROJECT)
    return token, f"{PROXY_URL}/v1/{KEYSTONE_PREFIX}_{body['project']['id']}"


def set_account_quota(nbytes: int | None) -> None:
    """Account quota of Glance's account (X-Account-Meta-Quota-Bytes); None removes it."""
    token, url = glance_account_access()
    if nbytes is None:
        headers = {"X-Remove-Account-Meta-Quota-Bytes": "x"}
    elif nbytes < 0:
        raise SwiftLabError(f"a quota is a byte count >= 0, not {nbytes}")
    else:
        headers = {"X-Account-Meta-Quota-Bytes": str(int(nbytes))}
    status, _, body = http("POST", url, {"X-Auth-Token": token, **headers})
    if status not in (200, 204):
        raise SwiftLabError(f"setting the quota on {url} answered {status}: {body[:200]!r}")


def account_usage() -> dict:
    """Glance's account as Swift's HEAD reports it (bytes and objects lag the container
    updater by up to its 30 s interval: each pass forks a sweep costing most of a CPU-second)."""
    token, url = glance_account_access()
    status, headers, body = http("HEAD", url, {"X-Auth-Token": token})
    if status not in (200, 204):
        raise SwiftLabError(f"HEAD {url} answered {status}: {body[:200]!r}")
    quota = headers.get("x-account-meta-quota-bytes")
    return {"account": url.rsplit("/", 1)[1],
            "bytes_used": int(headers.get("x-account-bytes-used", 0)),
            "object_count": int(headers.get("x-account-object-count", 0)),
            "container_count": int(headers.get("x-account-container-count", 0)),
            "quota_bytes": int(quota) if quota is not None else None}


# ---------------------------------------------------------------- up / down / status
def _healthcheck_ok() -> bool:
    try:
        return http("GET", f"{PROXY_URL}/healthcheck", timeout=3)[0] == 200
    except OSError:
        return False


def _glance_account_ok() -> bool:
    """An authenticated HEAD of AUTH_glance through tempauth (memcache holds the token)."""
    try:
        token, url = tempauth_login(GLANCE_TEMPAUTH_USER, swift_keys()["swift_glance_key"])
        return http("HEAD", url, {"X-Auth-Token": token}, timeout=5)[0] in (200, 204)
    except (OSError, SwiftLabError):
        return False


def healthy() -> bool:
    """Every service runs under its recorded pid, the proxy's /healthcheck is 200 and
    glance:glance can HEAD its account."""
    return all(service_pid(n) for n in SERVICES) and _healthcheck_ok() and _glance_account_ok()


def up(keystone: KeystoneLink | None = None, timeout: float = UP_TIMEOUT) -> None:
    """Start what is not running; with `keystone`, also accept its tokens (see the module doc).

    Idempotent: a healthy lab with unchanged configs is left as it is. Raises SwiftLabError
    with the failing service's log tail when it does not come up within `timeout`.
    """
    if shutil.which("memcached") is None:
        raise SwiftLabError("memcached is missing: apt-get install memcached")
    if not venv_current():
        down()
        ensure_installed()
    keys = swift_keys()
    ks_conf = None
    if keystone is not None:
        # Every time, not only on changes: a Keystone rebuilt since the last `up` lacks them.
        password = ensure_secrets("swift_service_password")["swift_service_password"]
        register_in_keystone(keystone, password)
        ks_conf = {"auth_url": keystone.auth_url, "password": password}
        write_if_changed(KEYSTONE_STATE, json.dumps({"auth_url": keystone.auth_url,
                                                     "region": keystone.region}) + "\n")
    else:
        KEYSTONE_STATE.unlink(missing_ok=True)
    changed = render_configs(keys, ks_conf)
    if not changed and healthy():
        return
    for name in reversed(SERVICES):
        if name in changed:
            stop_service(name)
    ensure_rings()
    (DEVICES / DEVICE).mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    ports = {"memcached": MEMCACHED_PORT, "proxy": PROXY_PORT, **RING_PORTS}
    deadline = time.monotonic() + timeout
    start_service("memcached")
    _wait("memcached", lambda: port_open(MEMCACHED_PORT), deadline)
    for name in SERVICES[1:]:  # the servers only talk to each other on requests: start them together
        start_service(name)
    for name, port in ports.items():
        _wait(name, lambda p=port: port_open(p), deadline)
    _wait("proxy", _healthcheck_ok, deadline, what="GET /healthcheck = 200")
    _wait("proxy", _glance_account_ok, deadline, what="HEAD of AUTH_glance as glance:glance")
    for name in SERVICES:  # the updater has no port to wait for: it must at least still run
        if not service_pid(name):
            raise SwiftLabError(f"{name} exited; {logfile(name)} ends with:\n{log_tail(name)}")


def _wait(name: str, probe, deadline: float, what: str = "listening") -> None:
    while not probe():
        if not service_pid(name):
            raise SwiftLabError(f"{name} exited while starting; {logfile(name)} ends with:\n{log_tail(name)}")
        if time.monotonic() > deadline:
            raise SwiftLabError(f"{name} not ready ({what}) in time; {logfile(name)} ends with:\n"
                                f"{log_tail(name)}")
        time.sleep(0.2)


def down() -> None:
    """Stop every service `up` started, by recorded pid; a second call finds nothing to do."""
    for name in reversed(SERVICES):
        stop_service(name)
    KEYSTONE_STATE.unlink(missing_ok=True)  # the mode is the running proxy's; `up` says it anew


def status_rows() -> list[tuple[str, str]]:
    rows = []
    for name in SERVICES:
        pid = service_pid(name)
        rows.append((f"swift {name}", f"pid {pid}" if pid else "down"))
    ks = keystone_mode()
    rows.append(("swift auth", f"tempauth + Keystone {ks['auth_url']}" if ks else "tempauth"))
    if _healthcheck_ok():
        rows.append((f"{PROXY_URL}/healthcheck", "HTTP 200"))
        try:
            use = account_usage()
            quota = "none" if use["quota_bytes"] is None else f"{use['quota_bytes']} bytes"
            rows.append((f"swift account {use['account']}",
                         f"{use['bytes_used']} bytes in {use['object_count']} objects, quota {quota}"))
        except (OSError, SwiftLabError) as exc:
            rows.append(("swift glance account", f"unreadable ({exc})"))
    else:
        rows.append((f"{PROXY_URL}/healthcheck", "not answering"))
    rss = rss_kib()
    if rss:
        rows.append(("swift+memcached RSS", f"{rss / 1024:.0f} MiB"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--keystone", nargs="?", const=LAB_KEYSTONE_URL, metavar="URL",
                      help=f"also accept this Keystone's tokens (default {LAB_KEYSTONE_URL}; its "
                      "admin password is secrets.json's admin_password)")
    sub.add_parser("down")
    sub.add_parser("status")
    p_quota = sub.add_parser("quota")
    p_quota.add_argument("nbytes", type=int)
    sub.add_parser("quota-clear")
    sub.add_parser("usage")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            link = dataclasses.replace(lab_keystone_link(), auth_url=args.keystone) if args.keystone else None
            t0 = time.monotonic()
            up(link)
            log(f"up in {time.monotonic() - t0:.1f}s: {PROXY_URL} ({'Keystone + ' if link else ''}tempauth)")
        elif args.cmd == "down":
            down()
        elif args.cmd == "status":
            for name, state in status_rows():
                print(f"{name:40} {state}")
        elif args.cmd == "quota":
            set_account_quota(args.nbytes)
        elif args.cmd == "quota-clear":
            set_account_quota(None)
        elif args.cmd == "usage":
            print(json.dumps(account_usage()))
    except SwiftLabError as exc:
        print(f"[swift] error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
