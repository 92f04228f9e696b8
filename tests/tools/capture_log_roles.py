"""Capture real log lines of faults whose lines are easy to misread (issue 17) from the lab.

Run from the repo root, as root, with the lab up and no fault injected, under the lab lock:
    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        .venv/bin/python -m tests.tools.capture_log_roles
Each case makes a fault by hand on controller1 for a few seconds and reverts it in `finally`:
  read-only   the cheap store remounted read-only, one upload to it (Glance: 500, EROFS, and
              the cleanup line "Unable to remove partial image data ... [Errno 30]")
  vanished    the cheap store's directory gone (lazily unmounted, moved aside), one upload
              ("[Errno 2] No such file or directory" in the same cleanup line)
  database    /var/lib/glance (the sqlite file's directory) not writable: an image create fails
              with sqlite's "unable to open database file"
  own-canary  an upload sent with the suite's own request-id mark, cut by the client half-way
              (what a suite killed during its canary leaves)
  harakiri    a throwaway uWSGI (the lab's binary, its own port) with harakiri and a slow app:
              the start-up warning, a harakiri kill and the respawn
Writes what each log gained into tests/data/logs/issue17/ and the API answers of the read-only
and database cases into tests/data/api/.

`vanished` detaches controller1's cheap store from the one controller2 shares (a fresh tmpfs
comes back in its place): canaries through the balancer then leave files on one node. The tool
restarts the lab after that case (`python3 -m lab down`, `up`), as nothing else can share it again.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openstack

from glance_hc import canary as C
from glance_hc import logscan

ROOT = Path(__file__).resolve().parent.parent.parent

LAB = Path(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab"))
SSH = ["ssh", "-F", str(LAB / "state" / "ssh_config"), "controller1"]
DIRECT = "http://127.0.0.2:9292"
LOGS = {"glance-api.log": "/var/log/glance/glance-api.log",
        "glance-api-uwsgi.log": "/var/log/glance/glance-api-uwsgi.log",
        "haproxy.log": "/var/log/haproxy/haproxy.log"}
OUT = ROOT / "tests" / "data" / "logs" / "issue17"
API = ROOT / "tests" / "data" / "api"
c = openstack.connect(cloud="hc-lab")


def on_host(*argv: str, check: bool = True) -> str:
    """One command on controller1; argv is passed as separate words (quoted by ssh's remote shell)."""
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
    out = subprocess.run([*SSH, quoted], capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise RuntimeError(f"{argv}: {out.stderr.strip()}")
    return out.stdout


def sizes() -> dict[str, int]:
    return {name: int(on_host("sudo", "stat", "-c", "%s", path).strip()) for name, path in LOGS.items()}


def gained(since: dict[str, int]) -> dict[str, str]:
    return {name: on_host("sudo", "tail", "-c", f"+{since[name] + 1}", path) for name, path in LOGS.items()}


def upload_one(store: str):
    made = C.create_image(c, f"hc-test-capture-{store}-{os.getpid()}", endpoint_override=DIRECT + "/v2")
    iid = made.json["id"]
    return iid, C.upload(c, iid, C.PatternSource(1 << 20, seed=5), store, endpoint_override=DIRECT + "/v2",
                         timeout=(30, 60))


def save_api(name: str, how: str, fault: str, up, iid, lines, expected) -> None:
    record = C.image_record(c, iid) if iid else None
    keep = ("status", "size", "checksum", "os_hash_algo", "os_hash_value", "stores", "name")
    data = {"name": name, "lab_faults": "none", "fault_by_hand": fault, "captured": "real", "how": how,
            "status": up.status, "body": up.body, "request_id": up.request_id,
            "image_after": {k: v for k, v in (record or {}).items() if k in keep} if record else None,
            "log_lines": lines, "expected": expected}
    (API / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print("saved", name, up.status)


def request_lines(text_by_log: dict[str, str], *needles: str) -> list[str]:
    return [f"log {LOGS[name]}: {line}" for name, text in text_by_log.items() for line in text.splitlines()
            if any(n and n in line for n in needles)]


def case_read_only() -> None:
    since = sizes()
    on_host("sudo", "mount", "-o", "remount,ro", "/var/lib/glance/cheap")
    iid = None
    try:
        iid, up = upload_one("cheap")
    finally:
        on_host("sudo", "mount", "-o", "remount,rw", "/var/lib/glance/cheap")
    time.sleep(1)
    text = gained(since)
    save_api("read-only-store-500", "upload to the cheap file store after `mount -o remount,ro` of its tmpfs "
             "(direct to controller1)", "cheap store remounted read-only for the upload, then rw again", up, iid,
             request_lines(text, up.global_request_id, up.request_id, iid),
             {"root_cause": "store_permissions", "rule": "500-read-only"})
    C.delete_and_confirm(c, iid)
    write_case("read-only", text)


def case_vanished() -> None:
    since = sizes()
    on_host("sudo", "umount", "-l", "/var/lib/glance/cheap")
    on_host("sudo", "mv", "/var/lib/glance/cheap", "/var/lib/glance/cheap.hc-capture")
    iid = None
    try:
        iid, up = upload_one("cheap")
    finally:
        on_host("sudo", "mv", "/var/lib/glance/cheap.hc-capture", "/var/lib/glance/cheap")
        on_host("sudo", "mount", "-t", "tmpfs", "-o", "size=98304k,mode=750", "tmpfs", "/var/lib/glance/cheap")
        on_host("sudo", "chown", "glance:glance", "/var/lib/glance/cheap")
    time.sleep(1)
    print("vanished:", up.describe())
    C.delete_and_confirm(c, iid)
    write_case("vanished", gained(since))


def case_database() -> None:
    since = sizes()
    on_host("sudo", "chmod", "555", "/var/lib/glance")
    try:
        made = C.create_image(c, f"hc-test-capture-db-{os.getpid()}", endpoint_override=DIRECT + "/v2")
    finally:
        on_host("sudo", "chmod", "755", "/var/lib/glance")
    time.sleep(1)
    text = gained(since)
    print("database:", made.describe())
    if made.ok:
        C.delete_and_confirm(c, made.json["id"])
    else:
        save_api("database-unwritable-500", "POST /v2/images while /var/lib/glance (the sqlite database's "
                 "directory) is mode 555: sqlite cannot create its journal (direct to controller1)",
                 "/var/lib/glance chmod 555 for the call, then 755", made, None,
                 request_lines(text, made.global_request_id, made.request_id),
                 {"root_cause": "availability", "rule": "500-database"})
    write_case("database", text)


def case_own_canary() -> None:
    since = sizes()
    made = C.create_image(c, f"{C.CANARY_PREFIX}capture-{os.getpid()}", endpoint_override=DIRECT + "/v2")
    iid = made.json["id"]
    rid = logscan.suite_request_id()
    s = socket.create_connection(("127.0.0.2", 9292), timeout=30)
    hdrs = {"Host": "127.0.0.2:9292", "X-Auth-Token": c.session.get_token(),
            "Content-Type": "application/octet-stream", "Content-Length": str(8 << 20),
            "X-OpenStack-Request-ID": rid}
    s.sendall((f"PUT /v2/images/{iid}/file HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
               + "\r\n").encode())
    s.sendall(b"\x5a" * (2 << 20))
    time.sleep(0.5)
    s.close()
    time.sleep(2)
    C.delete_and_confirm(c, iid)
    text = gained(since)
    (OUT / "own-canary.json").write_text(json.dumps({"request_id": rid, "image_id": iid}, indent=2) + "\n")
    write_case("own-canary", text)


APP = "import time\ndef application(env, start):\n    time.sleep(float(env.get('QUERY_STRING') or 0))\n" \
      "    start('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"


def case_harakiri() -> None:
    uwsgi = str(LAB / "venv" / "bin" / "uwsgi")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "app.py").write_text(APP)
        log = Path(tmp, "uwsgi.log")
        proc = subprocess.Popen([uwsgi, "--http-socket", "127.0.0.1:19299", "--master", "--processes", "1",
                                 "--harakiri", "2", "--wsgi-file", str(Path(tmp, "app.py")),
                                 "--die-on-term", "--logto", str(log)], cwd=tmp)
        try:
            time.sleep(2)
            subprocess.run(["curl", "-s", "-m", "8", "http://127.0.0.1:19299/?5"], check=False)
            time.sleep(3)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        (OUT / "uwsgi-harakiri.log").write_text(log.read_text())


# the lab's health checks and Keystone's traffic fill the window; they say nothing about the fault
NOISE = ("GET /healthcheck", "keystone_external", "HTTP/1.0 200")


def write_case(name: str, text_by_log: dict[str, str]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    for log, text in text_by_log.items():
        kept = [line for line in text.splitlines() if not any(n in line for n in NOISE)]
        (folder / log).write_text("".join(f"{line}\n" for line in kept))
    print("wrote", folder)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    status = subprocess.run([sys.executable, "-m", "lab", "status"], capture_output=True, text=True,
                            cwd=ROOT).stdout
    assert "injected faults          none" in status, "the lab has injected faults: not capturing"
    wanted = sys.argv[1:] or ["read-only", "vanished", "database", "own-canary", "harakiri"]
    for case in wanted:
        globals()["case_" + case.replace("-", "_")]()
    if "vanished" in wanted:
        print("the cheap store is no longer shared between the controllers: restarting the lab")
        for step in ("down", "up"):
            subprocess.run([sys.executable, "-m", "lab", step], check=True, cwd=ROOT)
