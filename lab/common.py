"""What every part of the lab shares: where it lives, what was chosen at `up`, how it runs commands.

Every other lab module imports this one and nothing imports them back here, so there is no
import circle. It needs only the standard library: the lab starts under Debian's
/usr/bin/python3 before any venv exists.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent          # the lab package
ROOT = HERE.parent                              # the checkout: `python -m lab` runs from here
TEMPLATES = HERE / "templates"
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
    "db_addr": "127.0.0.8",  # MariaDB (lab/mariadb.py), Keystone's and Glance's databases
}
# The controllers: controller1 always; further glance-api nodes (sharing controller1's stores and
# database, as nodes on one NFS export do) with HC_LAB_CONTROLLERS=N (default 2, at most
# MAX_CONTROLLERS): controller2 on 127.0.0.3, controller3 and on at 127.0.1.3 and on (127.0.0.4
# and up are the container's, the database's and the VIP's).
MAX_CONTROLLERS = 16


def _node_address(k: int) -> str:
    return {1: "127.0.0.2", 2: "127.0.0.3"}.get(k, f"127.0.1.{k}")


NODES = {f"controller{k}": _node_address(k) for k in range(1, MAX_CONTROLLERS + 1)}
NODE = os.environ.get("HC_LAB_NODE", "controller1")  # the node an inner command acts for
STORE_MB_FAST = int(os.environ.get("HC_LAB_STORE_MB", "1536"))
STORE_MB_SMALL = int(os.environ.get("HC_LAB_SMALL_STORE_MB", "96"))
SWIFT_ACCOUNT_QUOTA = 1 << 30  # Glance's swift account in the lab: 1 GiB
HEALTHY_TIMEOUTS = {"timeout_client": "15m", "timeout_server": "15m"}


class LabError(RuntimeError):
    """A lab step failed; the message says which command and how."""


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def die(msg: str) -> None:
    print(f"[lab] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- running commands
def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def output(cmd: list[str], timeout: float = 60, check: bool = True, error: type[Exception] = LabError,
           ok_codes: tuple[int, ...] = (0,), **kw) -> subprocess.CompletedProcess:
    """A command with its output captured, bounded in time; a failure raises `error` with the
    command and the end of what it printed. The one way the lab's parts (ceph, swift, kolla)
    run a tool whose answer they read."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise error(f"`{' '.join(cmd)}` did not finish within {timeout:.0f}s") from None
    if check and out.returncode not in ok_codes:
        raise error(f"`{' '.join(cmd)}` failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-800:]}")
    return out


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


def venv_bin(name: str) -> str:
    return str(VENV / "bin" / name)


def lab_command(*args: str, python: str | None = None) -> list[str]:
    """`python -m lab ARGS`: run from ROOT (see in_namespace's wd, and `cwd=ROOT` elsewhere)."""
    return [python or sys.executable, "-m", "lab", *args]


# ---------------------------------------------------------------- processes
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


# ---------------------------------------------------------------- the controllers' namespaces
def ns_pidfile(node: str = "controller1") -> Path:
    return RUN / ("ns.pid" if node == "controller1" else f"ns-{node}.pid")


def ns_pid(node: str = "controller1") -> int | None:
    pid = read_pid(ns_pidfile(node))
    return pid if pid_alive(pid) else None


def in_namespace(args: list[str], check=True, node: str = "controller1", wd: str | None = None, **kw):
    """A command inside a controller's mount and UTS namespaces (wd: its working directory there)."""
    pid = ns_pid(node)
    if not pid:
        die(f"{node} is not running: `make lab-up`")
    env = {**os.environ, **kw.pop("env", {}), "HC_LAB_NODE": node}
    where = [f"--wd={wd}"] if wd else []
    return run(["nsenter", "-t", str(pid), "-m", "-u", *where, "--", *args], check=check, env=env, **kw)


def inner(action: str, node: str = "controller1") -> None:
    """One of the lab's inside-the-controller steps (render, restart-glance, rotate-logs...)."""
    in_namespace(lab_command("_inner", action, python=venv_bin("python")), node=node, wd=str(ROOT))


# ---------------------------------------------------------------- what `up` chose
def controllers() -> list[str]:
    """The nodes this lab runs, as chosen at `up` (kept in the state dir for later commands)."""
    try:
        count = int((STATE / "controllers").read_text())
    except (OSError, ValueError):
        count = 1
    return list(NODES)[:max(1, min(count, len(NODES)))]


def profile() -> dict:
    """Which optional parts the running lab has (chosen at `up`, kept for faults and renders)."""
    path = STATE / "profile.json"
    return json.loads(path.read_text()) if path.exists() else {}


def secrets_file() -> dict:
    """The lab's passwords; missing ones are added (lab/swift.py keeps its keys in the same file)."""
    path = STATE / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in ("admin_password", "glance_password", "demo_password", "rabbit_password",
                                "keystone_db_password", "glance_db_password", "glance_kolla_db_password")
               if name not in data]
    if missing:
        STATE.mkdir(parents=True, exist_ok=True)
        data.update({name: f"hcsecret-{name}-{secrets.token_hex(8)}" for name in missing})
        path.write_text(json.dumps(data, indent=2))
        path.chmod(0o600)
    return data


def active_faults() -> list[str]:
    path = STATE / "faults.json"
    return json.loads(path.read_text()) if path.exists() else []


def set_active_faults(names: list[str]) -> None:
    (STATE / "faults.json").write_text(json.dumps(sorted(set(names))))


# ---------------------------------------------------------------- templates
def template(name: str, **values) -> str:
    """lab/templates/NAME filled with `values` (str.format: a literal brace is written twice)."""
    text = (TEMPLATES / name).read_text()
    return text.format(**values) if values else text
