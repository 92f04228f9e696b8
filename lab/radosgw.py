"""The lab's S3 store: Debian's radosgw (the Ceph Object Gateway) on the lab's Ceph.

One radosgw daemon (`client.rgw.lab`, beast frontend on 127.0.0.11:7480) storing into the lab
cluster's default zone pools (it creates them at its first start, ~9 s), a `glance` rgw user whose
access and secret keys are generated once and kept in the state dir (never printed), and a bucket
`glance` made at `up`: glance_store's s3 driver runs with s3_store_create_bucket_on_put = false,
as a deployment whose buckets are made by an operator does. Ceph's memstore loses everything with
its OSD, so the user and the bucket are made again whenever they are missing.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from lab import ceph
from lab.common import STATE, VENV, output, pid_alive, port_open, read_pid

RGW = STATE / "radosgw"
CONF = RGW / "ceph.conf"          # the cluster's conf plus radosgw's own section
KEYRING = RGW / "ceph.client.rgw.lab.keyring"
KEYS = RGW / "glance-keys.json"   # the glance user's S3 keys (0600)
PIDFILE = RGW / "radosgw.pid"
NAME = "client.rgw.lab"
ADDR = "127.0.0.11"
PORT = 7480
URL = f"http://{ADDR}:{PORT}"
USER = "glance"
BUCKET = "glance"
RGW_CAPS = ["mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"]


class RadosgwError(RuntimeError):
    """The lab's radosgw could not be set up or reached."""


def log(msg: str) -> None:
    print(f"[lab/radosgw] {msg}", flush=True)


def admin(*args: str, timeout: float = 30, check: bool = True) -> str:
    """radosgw-admin against the lab cluster as client.admin, bounded."""
    cmd = ["radosgw-admin", "-c", str(CONF), "--id", "admin", "--keyring", str(ceph.ADMIN_KEYRING), *args]
    return output(cmd, timeout=timeout, check=check, error=RadosgwError).stdout


def keys() -> dict:
    """The glance user's access and secret keys, made once (never printed)."""
    if KEYS.exists():
        return json.loads(KEYS.read_text())
    RGW.mkdir(parents=True, exist_ok=True)
    found = {"access_key": "HCLAB" + secrets.token_hex(8).upper(), "secret_key": secrets.token_urlsafe(30)}
    KEYS.write_text(json.dumps(found))
    KEYS.chmod(0o600)
    return found


def _conf_text() -> str:
    return (ceph.CONF.read_text() + f"\n[{NAME}]\nrgw_frontends = beast endpoint={ADDR}:{PORT}\n"
            f"keyring = {KEYRING}\nlog_file = {RGW}/radosgw.log\n"
            "rgw_enable_usage_log = false\n")


def _pid() -> int | None:
    pid = read_pid(PIDFILE)
    return pid if pid_alive(pid) else None


def running() -> bool:
    return _pid() is not None


def _ensure_user() -> None:
    k = keys()
    out = admin("user", "info", f"--uid={USER}", check=False)
    if '"user_id"' in out and k["access_key"] in out:
        return
    admin("user", "create", f"--uid={USER}", "--display-name=Glance image store",
          f"--access-key={k['access_key']}", f"--secret-key={k['secret_key']}")


def s3(action: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """One boto3 call as the glance user, in the lab venv (the lab itself runs on the stdlib);
    the keys go through the environment, never a command line."""
    k = keys()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": k["access_key"], "AWS_SECRET_ACCESS_KEY": k["secret_key"],
           "HC_RGW_URL": URL}
    code = ("import os, sys, boto3\n"
            "c = boto3.client('s3', endpoint_url=os.environ['HC_RGW_URL'], region_name='us-east-1')\n"
            "a = sys.argv[1]\n"
            "if a == 'create-bucket': c.create_bucket(Bucket=sys.argv[2])\n"
            "elif a == 'head-bucket': c.head_bucket(Bucket=sys.argv[2])\n"
            "else: sys.exit('unknown action ' + a)\n")
    return subprocess.run([str(VENV / "bin/python"), "-c", code, action, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def ensure_bucket(bucket: str = BUCKET) -> None:
    if s3("head-bucket", bucket).returncode == 0:
        return
    done = s3("create-bucket", bucket)
    if done.returncode != 0:
        raise RadosgwError(f"creating bucket {bucket} failed: {done.stderr.strip()[-400:]}")


def up() -> None:
    """Start radosgw (Ceph must run), make the glance user and its bucket; idempotent."""
    t0 = time.monotonic()
    RGW.mkdir(parents=True, exist_ok=True)
    if _pid() and (not CONF.exists() or ceph.fsid() not in CONF.read_text()):
        down()  # the cluster was made anew (memstore): a gateway of the old one serves nothing
    CONF.write_text(_conf_text())
    KEYRING.write_text(ceph.ceph("auth", "get-or-create", NAME, *RGW_CAPS))
    KEYRING.chmod(0o600)
    if not _pid():
        out = open(RGW / "radosgw.out", "ab")
        proc = subprocess.Popen(["radosgw", "-f", "-c", str(CONF), "-n", NAME], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True)
        PIDFILE.write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while not port_open(ADDR, PORT):
        if not _pid():
            raise RadosgwError(f"radosgw exited at start: see {RGW}/radosgw.out and {RGW}/radosgw.log")
        if time.monotonic() > deadline:
            raise RadosgwError(f"radosgw not listening on {ADDR}:{PORT} within 60s")
        time.sleep(0.2)
    _ensure_user()
    deadline = time.monotonic() + 30
    while True:  # a user just made may take a moment to be seen by the gateway's cache
        try:
            ensure_bucket()
            break
        except RadosgwError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    log(f"ready in {time.monotonic() - t0:.1f}s ({rss_mib()} MiB RSS)")


def down() -> None:
    pid = _pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    PIDFILE.unlink(missing_ok=True)


def rss_mib() -> int:
    pid = _pid()
    if not pid:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def status_rows() -> list[tuple[str, str]]:
    pid = _pid()
    if not pid:
        return [("radosgw (s3)", "down")] if RGW.exists() else []
    return [("radosgw (s3)", f"pid {pid}, {'listening on ' + URL if port_open(ADDR, PORT) else 'not listening'}")]


def glance_store_options() -> str:
    """The [s3] backend section of glance-api.conf."""
    k = keys()
    return (f"[s3]\nstore_description = S3 store (the lab's radosgw)\ns3_store_host = {URL}\n"
            f"s3_store_access_key = {k['access_key']}\ns3_store_secret_key = {k['secret_key']}\n"
            f"s3_store_bucket = {BUCKET}\ns3_store_create_bucket_on_put = false\n"
            "s3_store_bucket_url_format = path\n")


# ---------------------------------------------------------------- what the faults change
def remove_bucket(bucket: str = BUCKET) -> None:
    """The bucket gone, with whatever it held (the lab's images there are canaries, deleted anyway)."""
    admin("bucket", "rm", f"--bucket={bucket}", "--purge-objects", timeout=60)


def bucket_quota(max_bytes: int | None, bucket: str = BUCKET) -> None:
    """A byte quota on the bucket (enforced at once), or none."""
    if max_bytes is None:
        admin("quota", "disable", "--quota-scope=bucket", f"--bucket={bucket}")
        admin("quota", "set", "--quota-scope=bucket", f"--bucket={bucket}", "--max-size=-1")
        return
    admin("quota", "set", "--quota-scope=bucket", f"--bucket={bucket}", f"--max-size={max_bytes}")
    admin("quota", "enable", "--quota-scope=bucket", f"--bucket={bucket}")


def bucket_bytes(bucket: str = BUCKET) -> int:
    """Bytes the bucket holds, as radosgw's own stats count them."""
    stats = json.loads(admin("bucket", "stats", f"--bucket={bucket}"))
    return int(stats.get("usage", {}).get("rgw.main", {}).get("size", 0))
