"""What the benchmarks need from the lab and the machine, outside the suite's own code.

* the lab's paths (state dir, ssh_config, the controllers' mount-namespace pids);
* commands inside a controller's namespace (`nsenter -m`), to read the glance-api uWSGI
  request logs and to seed / remove rows in the Glance database;
* an `ssh` wrapper put first on PATH for a suite run, logging which host each remote
  command went to (testinfra's ssh backend runs `ssh` by name through a shell);
* a temporary ssh_config of N host aliases that all reach the lab's controllers;
* the machine and version facts a report names.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shlex
import subprocess
from collections import Counter
from pathlib import Path

LAB_DIR = Path(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab"))
STATE = LAB_DIR / "state"
SSH_CONFIG = STATE / "ssh_config"
CLOUDS_YAML = STATE / "clouds.yaml"
LAB_PYTHON = LAB_DIR / "venv" / "bin" / "python"
NS_PIDFILES = {"controller1": STATE / "run" / "ns.pid", "controller2": STATE / "run" / "ns-controller2.pid"}
NODE_ADDR = {"controller1": "127.0.0.2", "controller2": "127.0.0.3"}
UWSGI_LOG = "/var/log/glance/glance-api-uwsgi.log"
GLANCE_CONF = "/etc/glance/glance-api.conf"  # its [database] connection: the lab's MariaDB
SEEDED_PREFIX = "hc-bench-seeded-"  # rows written straight into the database (P4)


class LabError(RuntimeError):
    """The lab is not there or a command inside it failed."""


# ------------------------------------------------------------------ namespaces


def ns_pid(node: str) -> int:
    try:
        pid = int(NS_PIDFILES[node].read_text().strip())
    except (KeyError, OSError, ValueError) as exc:
        raise LabError(f"no namespace pid for {node}: {exc}") from exc
    if not Path(f"/proc/{pid}").exists():
        raise LabError(f"the namespace of {node} (pid {pid}) is not running")
    return pid


def nodes() -> list[str]:
    """The controllers whose namespace runs."""
    found = []
    for node in NS_PIDFILES:
        try:
            ns_pid(node)
        except LabError:
            continue
        found.append(node)
    return found


def in_ns(node: str, argv: list[str], *, user: str | None = None, stdin: str | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """Run argv inside the node's mount namespace (as `user` through runuser), text in and out."""
    cmd = ["nsenter", "-t", str(ns_pid(node)), "-m", "--"]
    if user:
        cmd += ["runuser", "-u", user, "--"]
    return subprocess.run(cmd + argv, input=stdin, capture_output=True, text=True, timeout=timeout)


def faults_injected() -> list[str]:
    """The faults the lab says are in (state/faults.json); [] when none or unknown."""
    import json  # noqa: PLC0415

    try:
        found = json.loads((STATE / "faults.json").read_text())
    except (OSError, ValueError):
        return []
    return [str(f) for f in found] if isinstance(found, list) else []


# ------------------------------------------------------------------ request logs


def log_sizes(path: str = UWSGI_LOG) -> dict[str, int]:
    """{node: size of its uWSGI request log} now: the offsets to read new lines from later."""
    sizes = {}
    for node in nodes():
        out = in_ns(node, ["stat", "-c", "%s", path], timeout=30)
        sizes[node] = int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else 0
    return sizes


def log_lines_since(offsets: dict[str, int], path: str = UWSGI_LOG) -> dict[str, list[str]]:
    """{node: lines written to its uWSGI log after the offsets}; a log that shrank is read whole."""
    lines = {}
    for node, offset in offsets.items():
        out = in_ns(node, ["sh", "-c", 'size=$(stat -c %s "$1"); if [ "$size" -lt "$2" ]; then cat "$1"; '
                                       'else tail -c +"$(($2 + 1))" "$1"; fi', "sh", path, str(offset)],
                    timeout=60)
        lines[node] = out.stdout.splitlines() if out.returncode == 0 else []
    return lines


_UWSGI_REQUEST = re.compile(r"\] (?P<method>[A-Z]+) (?P<path>/\S*) => generated .*?\(HTTP/[\d.]+ (?P<status>\d{3})\)")
_IMAGE_ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PER_IMAGE = re.compile(rf"^/v2/images/{_IMAGE_ID}")
_LIST = re.compile(r"^/v2/images/?(\?.*)?$")


def classify_requests(lines: list[str]) -> dict:
    """Count glance-api requests in uWSGI log lines: image list pages, per-image calls, others.

    The load balancer's `/healthcheck` probes are left out: they are not the client's.
    """
    counts = Counter()
    examples: dict[str, list[str]] = {}
    for line in lines:
        m = _UWSGI_REQUEST.search(line)
        if not m:
            continue
        path = m.group("path")
        if path.startswith("/healthcheck"):
            continue
        kind = ("list" if m.group("method") == "GET" and _LIST.match(path)
                else "per_image" if _PER_IMAGE.match(path) else "other")
        counts[kind] += 1
        counts["total"] += 1
        examples.setdefault(kind, [])
        if len(examples[kind]) < 3:
            examples[kind].append(f"{m.group('method')} {path} -> {m.group('status')}")
    return {"total": counts["total"], "list": counts["list"], "per_image": counts["per_image"],
            "other": counts["other"], "examples": examples}


# ------------------------------------------------------------------ the database (P4)

# Run inside controller1's namespace as the glance user with the lab venv's python (PyMySQL), the
# program on stdin; it connects with glance-api.conf's own `[database] connection` (MariaDB, see
# lab/mariadb.py), so no password travels in argv. `seed TEMPLATE_ID PREFIX COUNT` clones the
# rows Glance wrote for a template image (images + its property/tag/location/member rows) COUNT
# times with new ids and names; `clean PREFIX` removes every row of images named PREFIX*; `count
# PREFIX` counts them.
DB_SCRIPT = r"""
import configparser, json, sys, uuid
from urllib.parse import unquote, urlsplit
import pymysql
conf, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
parser = configparser.ConfigParser(interpolation=None, strict=False)
parser.read(conf)
url = urlsplit(parser.get("database", "connection"))
con = pymysql.connect(host=url.hostname, port=url.port or 3306, user=unquote(url.username or ""),
                      password=unquote(url.password or ""), database=url.path.lstrip("/"),
                      cursorclass=pymysql.cursors.DictCursor, autocommit=False)
cur = con.cursor()
CHILDREN = ("image_properties", "image_tags", "image_locations", "image_members")
def ids_of(prefix):
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "SELECT id FROM images WHERE name LIKE %s", (escaped + "%",)
def fetch(sql, params):
    cur.execute(sql, params)
    return cur.fetchall()
if action == "seed":
    template, prefix, count = args[0], args[1], int(args[2])
    found = fetch("SELECT * FROM images WHERE id = %s", (template,))
    if not found:
        sys.exit(f"template image {template} is not in the database")
    row = found[0]
    cols = list(row)
    children = {t: fetch(f"SELECT * FROM {t} WHERE image_id = %s", (template,)) for t in CHILDREN}
    try:
        new_ids = [str(uuid.uuid4()) for _ in range(count)]
        rows = []
        for i, new_id in enumerate(new_ids):
            values = dict(row)
            values["id"], values["name"] = new_id, f"{prefix}{i:05d}"
            rows.append([values[c] for c in cols])
        cur.executemany(f"INSERT INTO images ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})", rows)
        for table, found in children.items():
            for child in found:
                ccols = [c for c in child if c != "id"]  # the integer key: the server numbers it
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(ccols)}) VALUES ({', '.join(['%s'] * len(ccols))})",
                    [[new_id if c == "image_id" else child[c] for c in ccols] for new_id in new_ids])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    print(json.dumps({"seeded": count, "columns": cols, "template_row": row,
                      "children": {t: list(found) for t, found in children.items()}}, default=str))
elif action == "clean":
    sub, params = ids_of(args[0])
    try:
        removed = {}
        ids = [r["id"] for r in fetch(sub, params)]
        for table in (*CHILDREN, "images"):
            key = "id" if table == "images" else "image_id"
            removed[table] = 0
            for i in range(0, len(ids), 1000):
                chunk = ids[i:i + 1000]
                removed[table] += cur.execute(
                    f"DELETE FROM {table} WHERE {key} IN ({', '.join(['%s'] * len(chunk))})", chunk)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    print(json.dumps({"removed": removed}))
elif action == "count":
    sub, params = ids_of(args[0])
    print(json.dumps({"count": fetch(f"SELECT count(*) AS n FROM ({sub}) AS seeded", params)[0]["n"]}))
else:
    sys.exit(f"unknown action {action}")
"""


def db_script(action: str, *args: str, timeout: float = 300) -> dict:
    """Run DB_SCRIPT in controller1's namespace as the glance user; its JSON answer."""
    import json  # noqa: PLC0415

    out = in_ns("controller1", [str(LAB_PYTHON), "-", GLANCE_CONF, action, *args], user="glance",
                stdin=DB_SCRIPT, timeout=timeout)
    if out.returncode != 0:
        raise LabError(f"database {action} failed (exit {out.returncode}): {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ ssh


SSH_WRAPPER = r'''#!/bin/bash
# glance-hc bench: log the host each ssh command goes to, then run the real ssh.
h=-
for a in "$@"; do
  case " $HC_BENCH_HOSTS " in *" $a "*) h=$a; break;; esac
done
echo "$EPOCHREALTIME $h" >> "$HC_BENCH_SSH_LOG"
exec /usr/bin/ssh "$@"
'''


def install_ssh_wrapper(bindir: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / "ssh"
    path.write_text(SSH_WRAPPER)
    path.chmod(0o755)
    return path


def ssh_wrapper_env(bindir: Path, log: Path, hosts: list[str]) -> dict:
    return {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "HC_BENCH_SSH_LOG": str(log),
            "HC_BENCH_HOSTS": " ".join(hosts)}


def ssh_calls(log: Path) -> Counter:
    """{host: number of ssh commands} from the wrapper's log."""
    counts: Counter = Counter()
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                counts[parts[1]] += 1
    return counts


FLEET_ENTRY = """Host {alias}
    HostName {addr}
    Port 2222
    User hcops
    IdentityFile {key}
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 5
    ServerAliveInterval 5
    ServerAliveCountMax 2
"""


def write_fleet_ssh_config(path: Path, count: int, prefix: str = "hc-bench-h") -> list[str]:
    """An ssh_config of `count` aliases taking turns over the lab's controllers; the alias names."""
    targets = [NODE_ADDR[n] for n in (nodes() or ["controller1"])]
    key = STATE / "ssh" / "id_ed25519"
    aliases = [f"{prefix}{i + 1}" for i in range(count)]
    path.write_text("# glance-hc bench: a fleet of aliases over the lab's controllers\n" + "\n".join(
        FLEET_ENTRY.format(alias=a, addr=targets[i % len(targets)], key=key) for i, a in enumerate(aliases)))
    return aliases


# ------------------------------------------------------------------ machine and versions


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def machine() -> dict:
    meminfo = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            meminfo[key] = value.strip()
    except OSError:
        pass
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    os_name = ""
    try:
        os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                        if line.startswith("PRETTY_NAME=")), "")
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "cpu_model": cpu,
            "memory_total": meminfo.get("MemTotal"), "memory_available": meminfo.get("MemAvailable"),
            "kernel": platform.release(), "os": os_name, "hostname": platform.node(),
            "loadavg": list(os.getloadavg())}


def versions() -> dict:
    found = {"python": platform.python_version()}
    for dist in ("openstacksdk", "keystoneauth1", "pytest", "pytest-testinfra", "pytest-html", "requests"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    if LAB_PYTHON.exists():
        code = ("import importlib.metadata as m\n"
                "for d in ('glance', 'glance_store', 'keystone', 'uWSGI'):\n"
                "    try: print(d, m.version(d))\n"
                "    except Exception: print(d, 'not installed')\n")
        out = subprocess.run([str(LAB_PYTHON), "-c", code], capture_output=True, text=True, timeout=60)
        for line in out.stdout.splitlines():
            name, _, version = line.partition(" ")
            found[f"lab {name}"] = version
    root = Path(__file__).resolve().parents[1]
    found["suite"] = _first_line(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"])
    found["curl"] = _first_line(["curl", "--version"])
    found["ssh"] = _first_line(["ssh", "-V"])
    found["haproxy"] = _first_line(["haproxy", "-v"])
    found["coreutils"] = _first_line(["md5sum", "--version"])
    return found


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
