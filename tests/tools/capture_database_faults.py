"""Capture glance-api's and Keystone's real lines on the database faults (issue 26) from the lab.

Run from the repo root, as root, with the lab up and no fault injected, under the lab lock:
    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        HC_LAB_DIR=/opt/glance-hc-lab .venv/bin/python -m tests.tools.capture_database_faults [CASE...]
Cases (each injects through `python -m lab fault`, as the fault matrix does, and reverts in `finally`):
  database-down                the MariaDB server stopped (lab fault database-down)
  database-restart             the server restarted under running Keystone and glance-api while
                               their queries wait on a table lock (they lose the connection mid-query)
  database-out-of-connections  max_connections held by another process, Glance's connections ended
                               (lab fault database-out-of-connections)
  keystone-out-of-connections  the same, Keystone's connections ended instead (Glance's pool works)
  client-errors                pymysql's own words for a connection the server ended while idle
                               (2006) and for a deadlock (1213), from the lab's server (no service)
In each, with two tokens issued before the fault (one already validated by every glance-api worker,
one never seen by them): a new token asked of Keystone, and an image list on each controller with
each token. Writes what each log gained (controller1's and controller2's glance-api.log, Keystone's
keystone.log and its uWSGI log) into tests/data/logs/issue26/<case>/, and the answers into
answers.json there (tokens never written).
"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import openstack

from lab import common, mariadb
from tests.e2e import lab

OUT = Path(__file__).resolve().parent.parent / "data" / "logs" / "issue26"
LOGS = {  # file name in the capture -> (node, path)
    "controller1-glance-api.log": ("controller1", "/var/log/glance/glance-api.log"),
    "controller2-glance-api.log": ("controller2", "/var/log/glance/glance-api.log"),
    "keystone.log": ("controller1", "/var/log/keystone/keystone.log"),
    "keystone-uwsgi.log": ("controller1", "/var/log/keystone/keystone-uwsgi.log"),
}
# the lab's health checks and every successful request fill the window; they say nothing of the fault
NOISE = ("GET /healthcheck", "GET /v3 => generated", "HTTP/1.1\" status: 200", "=> generated 0 bytes",
         "status: 200 len:", "\"GET / HTTP/1.0\"")


def size(node: str, path: str) -> int:
    out = common.in_namespace(["stat", "-c", "%s", path], node=node, capture_output=True, text=True, check=False)
    return int(out.stdout.strip() or 0)


def sizes() -> dict[str, int]:
    return {name: size(node, path) for name, (node, path) in LOGS.items()}


def gained(since: dict[str, int]) -> dict[str, str]:
    return {name: common.in_namespace(["tail", "-c", f"+{since[name] + 1}", path], node=node, capture_output=True,
                                      text=True, check=False).stdout for name, (node, path) in LOGS.items()}


def image_list(node: str, token: str) -> dict:
    rid = f"req-{uuid.uuid4()}"
    req = urllib.request.Request(f"http://{common.NODES[node]}:9292/v2/images?limit=1",
                                 headers={"X-Auth-Token": token, "X-OpenStack-Request-ID": rid})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, body = resp.status, resp.read(400).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(400).decode(errors="replace")
    except OSError as exc:
        status, body = "error", repr(exc)
    return {"node": node, "request_id": rid, "status": status, "seconds": round(time.monotonic() - started, 2),
            "body": body.strip()}


def new_token() -> dict:
    started = time.monotonic()
    try:
        openstack.connect(cloud="hc-lab").session.get_token()
        said = "issued"
    except Exception as exc:  # noqa: BLE001 - what Keystone answered is the capture
        said = f"{type(exc).__name__}: {exc}"
    return {"keystone": said[:400], "seconds": round(time.monotonic() - started, 2)}


def tokens() -> tuple[str, str]:
    """(warm, cold): warm is validated by every glance-api worker before the fault (keystonemiddleware
    keeps it in its cache), cold never reached glance-api."""
    warm = openstack.connect(cloud="hc-lab").session.get_token()
    cold = openstack.connect(cloud="hc-lab").session.get_token()
    for node in lab.controllers():
        for _ in range(8):  # uWSGI's 2 workers each see it
            assert image_list(node, warm)["status"] == 200, f"{node} does not list images before the fault"
    return warm, cold


def calls(warm: str, cold: str) -> list[dict]:
    done = [new_token()]
    for node in lab.controllers():
        done += [{"token": "warm", **image_list(node, warm)}, {"token": "cold", **image_list(node, cold)}]
    return done


def write_case(name: str, text_by_log: dict[str, str], answers: list[dict]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    for log, text in text_by_log.items():
        kept = [line for line in text.splitlines() if line.strip() and not any(n in line for n in NOISE)]
        (folder / log).write_text("".join(f"{line}\n" for line in kept))
    (folder / "answers.json").write_text(json.dumps(answers, indent=2) + "\n")
    print("wrote", folder)
    for answer in answers:
        print("  ", answer)


def case_fault(name: str) -> None:
    warm, cold = tokens()
    since = sizes()
    lab.fault("inject", name)
    try:
        time.sleep(1)
        answers = calls(warm, cold)
        time.sleep(1)
        text = gained(since)
    finally:
        lab.fault("revert", name)
    write_case(name, text, answers)


def case_database_restart() -> None:
    """The server restarted while glance-api's queries wait on a table lock root holds: each query
    loses its connection mid-way. Calls before and after the restart see a dead pool."""
    warm, cold = tokens()
    since = sizes()
    holder = subprocess.Popen(["mariadb", f"--defaults-file={mariadb.CNF}", "-u", "root"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write("LOCK TABLES glance.images WRITE;\nSELECT SLEEP(30);\n")
    holder.stdin.flush()
    time.sleep(1)
    answers: list[dict] = []
    waiting = [threading.Thread(target=lambda n=node: answers.append({"token": "warm", "during": "restart",
                                                                       **image_list(n, warm)}))
               for node in lab.controllers()]
    for thread in waiting:
        thread.start()
    time.sleep(2)
    mariadb.down()
    holder.wait(timeout=30)
    mariadb.up()
    for thread in waiting:
        thread.join(timeout=90)
    answers += calls(warm, cold)
    time.sleep(1)
    write_case("database-restart", gained(since), answers)
    lab.fault("revert", "database-down")  # waits until Glance serves everywhere, rotates the logs


def case_keystone_out_of_connections() -> None:
    """Keystone's connections ended while the server is full: Keystone fails, Glance's own pool works."""
    warm, cold = tokens()
    since = sizes()
    try:
        mariadb.out_of_connections("keystone")
        time.sleep(1)
        answers = calls(warm, cold)
        time.sleep(1)
        text = gained(since)
    finally:
        mariadb.connections_back()
    write_case("keystone-out-of-connections", text, answers)
    lab.fault("revert", "database-out-of-connections")  # waits until Glance serves, rotates the logs


CLIENT_CODE = r"""
import threading, time, pymysql
sock = __import__("sys").argv[1]
said = []
def err(e):
    said.append(f"(pymysql.err.{type(e).__name__}) {e.args!r}")
# gone away: the server ended an idle connection (wait_timeout), the client writes to it
c = pymysql.connect(unix_socket=sock, user="root")
c.cursor().execute("SET SESSION wait_timeout = 1")
time.sleep(2.5)
try:
    c.cursor().execute("SELECT 1")
except pymysql.err.MySQLError as e:
    err(e)
# a deadlock: two transactions each wait on the row the other holds
a, b = (pymysql.connect(unix_socket=sock, user="root", autocommit=False) for _ in range(2))
a.cursor().execute("CREATE DATABASE IF NOT EXISTS hc_lab_scratch")
a.cursor().execute("CREATE OR REPLACE TABLE hc_lab_scratch.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
a.cursor().execute("INSERT INTO hc_lab_scratch.t VALUES (1, 0), (2, 0)")
a.commit()
a.cursor().execute("UPDATE hc_lab_scratch.t SET v = 1 WHERE id = 1")
b.cursor().execute("UPDATE hc_lab_scratch.t SET v = 2 WHERE id = 2")
def second():
    try:
        a.cursor().execute("UPDATE hc_lab_scratch.t SET v = 1 WHERE id = 2")
    except pymysql.err.MySQLError as e:
        err(e)
t = threading.Thread(target=second)
t.start()
time.sleep(0.5)
try:
    b.cursor().execute("UPDATE hc_lab_scratch.t SET v = 2 WHERE id = 1")
except pymysql.err.MySQLError as e:
    err(e)
t.join()
for conn in (a, b):
    try:
        conn.rollback()
    except pymysql.err.MySQLError:
        pass
c = pymysql.connect(unix_socket=sock, user="root")
c.cursor().execute("DROP DATABASE hc_lab_scratch")
print("\n".join(said))
"""


def case_client_errors() -> None:
    """What pymysql (the driver oslo.db uses for Glance and Keystone) says, in SQLAlchemy's form
    `(pymysql.err.X) args`, for what the faults above do not make: a connection the server ended
    while idle (2006) and a deadlock between two transactions (1213). Run against the lab's server
    with the lab venv's pymysql; written to client-errors/pymysql.txt."""
    out = subprocess.run([common.venv_bin("python"), "-c", CLIENT_CODE, str(mariadb.SOCKET)], capture_output=True,
                         text=True, timeout=60, check=True)
    folder = OUT / "client-errors"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pymysql.txt").write_text(out.stdout)
    print("wrote", folder, out.stdout)


CASES = {"database-down": lambda: case_fault("database-down"), "database-restart": case_database_restart,
         "database-out-of-connections": lambda: case_fault("database-out-of-connections"),
         "keystone-out-of-connections": case_keystone_out_of_connections, "client-errors": case_client_errors}


if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(CASES):
        CASES[wanted]()
