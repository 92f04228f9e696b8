"""The lab's database server: Debian's MariaDB, one server on its own loopback address.

Keystone and Glance keep their databases on it as clouds run them (Kolla's mariadb, a distro's
mariadb-server): `mysql+pymysql://USER:PASS@ADDR:3306/DB`, one user per database with a password
generated into the lab's secrets.json. Both controllers share the `glance` database; the
Kolla-style container has one of its own (`glance_kolla`: it is a deployment of its own, with its
own store). SQLite would do for one client at a time; under the suite's concurrent canaries it
answers "database is locked".

The datadir, socket, pid file and error log live under $HC_LAB_DIR/state/mariadb, the server runs
as user mysql with a config read from there only (--defaults-file: the machine's /etc/mysql is not
used), and root reaches it over the unix socket (unix_socket authentication: no root password).
SQL travels on the client's stdin, never in argv, and an error shows only its code, never the
statement (it may hold a password).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from lab.common import ADDR, STATE, LabError, log, pid_alive, port_open, read_pid, secrets_file, template, tool, venv_bin

PORT = 3306
DB_DIR = STATE / "mariadb"
DATADIR = DB_DIR / "data"
CNF = DB_DIR / "my.cnf"
SOCKET = DB_DIR / "run" / "mariadb.sock"
PIDFILE = DB_DIR / "run" / "mariadb.pid"
ERROR_LOG = DB_DIR / "mariadb.err"
MARIADBD = "/usr/sbin/mariadbd"
# database -> (user, the name of its password in secrets.json)
DATABASES = {
    "keystone": ("keystone", "keystone_db_password"),
    "glance": ("glance", "glance_db_password"),
    "glance_kolla": ("glance_kolla", "glance_kolla_db_password"),
    "cinder": ("cinder", "cinder_db_password"),  # lab/cinder.py (HC_LAB_CINDER=1)
}


class MariaDBError(LabError):
    """The database server could not be set up or did not answer."""


def missing() -> bool:
    return not Path(MARIADBD).exists() or not shutil.which("mariadb")


def connection(database: str) -> str:
    """The `[database] connection` of a service, as Kolla writes it."""
    user, secret = DATABASES[database]
    return f"mysql+pymysql://{user}:{secrets_file()[secret]}@{ADDR['db_addr']}:{PORT}/{database}"


def pid() -> int | None:
    found = read_pid(PIDFILE)
    return found if pid_alive(found) else None


def sql(statements: str, timeout: float = 60) -> str:
    """Statements run as root over the socket; their output (tab-separated, no headers).

    Root may take the one slot MariaDB keeps past max_connections; while the server still counts
    root's previous session as it closes, that slot answers 1040: asked again, briefly."""
    deadline = time.monotonic() + min(timeout, 10)
    while True:
        try:
            out = subprocess.run(["mariadb", f"--defaults-file={CNF}", "-u", "root", "--batch",
                                  "--skip-column-names"],
                                 input=statements, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise MariaDBError(f"the mariadb client did not finish within {timeout:.0f}s") from None
        if out.returncode == 0 or "ERROR 1040" not in out.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if out.returncode != 0:
        # "ERROR 1064 (42000) at line 1: ... near '<the statement>'": the code only
        first = (out.stderr.strip().splitlines() or ["no message"])[0]
        raise MariaDBError(f"mariadb client failed ({out.returncode}): {first.split(':')[0]}")
    return out.stdout


def has_table(database: str, table: str) -> bool:
    for name in (database, table):
        if not name.replace("_", "").isalnum():
            raise MariaDBError(f"not a plain name: {name!r}")
    return sql(f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{database}' "
               f"AND table_name = '{table}';").strip() == "1"


def ensure_database(database: str) -> None:
    """The database and its user, with the password secrets.json holds (idempotent)."""
    user, secret = DATABASES[database]
    password = secrets_file()[secret]
    if "'" in password or "\\" in password:
        raise MariaDBError(f"the password {secret} holds a quote or backslash")
    sql(f"CREATE DATABASE IF NOT EXISTS `{database}`;\n"
        f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}';\n"
        f"ALTER USER '{user}'@'%' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%';\n")


def reset_database(database: str) -> None:
    """An empty database (its user and grants stay): for Glance when its stores start empty."""
    sql(f"DROP DATABASE IF EXISTS `{database}`;\nCREATE DATABASE `{database}`;\n")


def lock_out(database: str) -> None:
    """The database's user loses its grants and its open connections: every new statement of the
    service answers `(pymysql.err.OperationalError) (1044, "Access denied for user ...")`, as when
    a grant was dropped by hand or the database restored without its users. Undone by let_in."""
    user, _ = DATABASES[database]
    sql(f"REVOKE ALL PRIVILEGES ON `{database}`.* FROM '{user}'@'%';\n")
    ids = sql(f"SELECT id FROM information_schema.processlist WHERE user = '{user}';").split()
    for ident in ids:  # one at a time: a connection may end between the list and its KILL
        try:
            sql(f"KILL CONNECTION {int(ident)};\n")
        except MariaDBError:
            continue


def let_in(database: str) -> None:
    user, _ = DATABASES[database]
    sql(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%';\n")


def write_config() -> None:
    for d in (DB_DIR, DB_DIR / "run", DATADIR):
        d.mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "mysql", "mysql")
        d.chmod(0o750)
    CNF.write_text(template("mariadb.cnf", datadir=DATADIR, socket=SOCKET, pidfile=PIDFILE, log=ERROR_LOG,
                            addr=ADDR["db_addr"], port=PORT))
    CNF.chmod(0o644)


def answers() -> bool:
    return SOCKET.exists() and port_open(ADDR["db_addr"], PORT) and sql("SELECT 1;", timeout=5).strip() == "1"


def up() -> float:
    """Start the server (initialising its datadir the first time) and make the lab's databases;
    returns the seconds it took."""
    t0 = time.monotonic()
    if missing():
        raise MariaDBError("mariadb-server is not installed: run `make deps` (installs it from Debian)")
    write_config()
    if pid() is None:
        if not (DATADIR / "mysql").is_dir():
            log(f"initialising MariaDB's datadir in {DATADIR}")
            tool(["mariadb-install-db", f"--defaults-file={CNF}", "--skip-test-db",
                  "--auth-root-authentication-method=socket"], "mariadb-install-db")
        with open(ERROR_LOG, "ab") as out:
            subprocess.Popen([MARIADBD, f"--defaults-file={CNF}"], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=out, start_new_session=True, cwd="/")
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if answers():
                break
        except MariaDBError as exc:
            last = exc
        time.sleep(0.2)
    else:
        raise MariaDBError(f"MariaDB did not answer on {ADDR['db_addr']}:{PORT} within 60s "
                           f"(last error: {last}; see {ERROR_LOG})")
    for database in ("keystone", "glance"):
        ensure_database(database)
    return time.monotonic() - t0


def down() -> None:
    """Stop the server (a clean InnoDB shutdown on SIGTERM); its datadir stays."""
    found = pid()
    if found is None:
        return
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 5)):
        os.kill(found, sig)
        deadline = time.monotonic() + grace
        while pid_alive(found) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pid_alive(found):
            break
    if pid_alive(found):
        raise MariaDBError(f"mariadbd (pid {found}) would not stop")
    PIDFILE.unlink(missing_ok=True)
    log("mariadb stopped")


def rss_mib(process: int) -> float | None:
    try:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def status_rows() -> list[tuple[str, str]]:
    found = pid()
    if found is None:
        return [("mariadb", "down")]
    rss = rss_mib(found)
    where = f"{ADDR['db_addr']}:{PORT}"
    return [("mariadb", f"pid {found}, RSS {rss:.0f} MiB, {where}" if rss is not None else f"pid {found}, {where}")]


# ---------------------------------------------------------------- faults (lab/faults.py)
HOG_USER = "hc_lab_hog"          # "another service": a user with no privilege but to connect
HOG_PIDFILE = DB_DIR / "run" / "hog.pid"
HOG_LOG = DB_DIR / "run" / "hog.log"       # the hog's stderr: why it ended, when it did
HOG_KEPT = DB_DIR / "hog-max-connections"  # max_connections before the fault, for the revert
HOG_SLOTS = 8                    # max_connections is lowered to what is connected now plus these
# The hog: opens connections until the server refuses one (1040), keeps every one idle and takes
# each slot that frees again, until SIGTERM. Its password comes on stdin, never in argv.
_HOG = r"""
import sys, time, pymysql
host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
password = sys.stdin.readline().strip()
held, told = [], False
while True:
    try:
        held.append(pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=5))
        continue
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != 1040:
            raise
    if not told:
        print(len(held), flush=True)
        told = True
    time.sleep(0.05)
"""


def server_down() -> None:
    """The database fault `database-down`: the server stopped (a crash, an OOM kill, a node lost)."""
    down()


def server_up(glance_answers, timeout: float = 90) -> float:
    """Start the server again and wait until `glance_answers()` says Glance serves again (its pooled
    connections are dead: oslo.db's ping on checkout replaces them). Returns the seconds it took."""
    t0 = time.monotonic()
    up()
    deadline = time.monotonic() + timeout
    while not glance_answers():
        if time.monotonic() > deadline:
            raise MariaDBError(f"Glance did not answer within {timeout:.0f}s of MariaDB's start")
        time.sleep(0.5)
    return time.monotonic() - t0


def _kill_connections_of(user: str) -> int:
    if not user.replace("_", "").isalnum():
        raise MariaDBError(f"not a plain name: {user!r}")
    killed = 0
    for ident in sql(f"SELECT id FROM information_schema.processlist WHERE user = '{user}';").split():
        try:
            sql(f"KILL CONNECTION {int(ident)};\n")
            killed += 1
        except MariaDBError:  # it ended between the list and its KILL
            continue
    return killed


def connections_held_by_hog() -> int | None:
    """How many connections the hog holds, None when it is not running."""
    found = read_pid(HOG_PIDFILE)
    if not pid_alive(found):
        return None
    return int(sql(f"SELECT COUNT(*) FROM information_schema.processlist WHERE user = '{HOG_USER}';").strip())


def out_of_connections(database: str = "glance") -> int:
    """The database fault `database-out-of-connections`: max_connections lowered at runtime
    (SET GLOBAL) and every slot held by idle connections of a process this module owns (the hog,
    as another service leaking connections would), then `database`'s user's connections killed (as
    a worker recycle or wait_timeout ends them): each new connection it opens is refused with
    `(1040, 'Too many connections')`. Root keeps the slot MariaDB reserves for SUPER. Returns the
    number of connections the hog holds. Undone by connections_back, also when it fails half way
    (the lab's `fault inject` reverts a failed injection)."""
    if connections_held_by_hog() is not None:
        raise MariaDBError("the hog is already running: revert database-out-of-connections first")
    password = secrets.token_hex(16)
    sql(f"CREATE OR REPLACE USER '{HOG_USER}'@'%' IDENTIFIED BY '{password}';\n")
    kept = sql("SELECT @@GLOBAL.max_connections;").strip()
    HOG_KEPT.write_text(kept + "\n")
    connected = int(sql("SELECT COUNT(*) FROM information_schema.processlist;").strip())
    sql(f"SET GLOBAL max_connections = {connected + HOG_SLOTS};\n")
    with HOG_LOG.open("w") as hog_log:  # the hog keeps its own copy of the descriptor
        hog = subprocess.Popen([venv_bin("python"), "-c", _HOG, ADDR["db_addr"], str(PORT), HOG_USER],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=hog_log,
                               text=True, start_new_session=True, cwd="/")
    HOG_PIDFILE.write_text(f"{hog.pid}\n")
    hog.stdin.write(password + "\n")
    hog.stdin.close()
    ready = hog.stdout.readline().strip()  # the count once the server said 1040
    if not ready.isdigit():
        said = (HOG_LOG.read_text().strip().splitlines() or ["nothing"])[-1]
        raise MariaDBError(f"the hog ended before the server was full: {said}")
    user = DATABASES[database][0]
    for _ in range(20):  # until the hog has taken the slots the killed connections freed
        if not _kill_connections_of(user):
            break
        time.sleep(0.2)
    return connections_held_by_hog() or 0


def connections_back() -> None:
    """The hog stopped (its connections close), max_connections as it was, the hog's user gone."""
    found = read_pid(HOG_PIDFILE)
    if pid_alive(found):
        os.kill(found, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while pid_alive(found) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(found):
            os.kill(found, signal.SIGKILL)
    HOG_PIDFILE.unlink(missing_ok=True)
    kept = HOG_KEPT.read_text().strip() if HOG_KEPT.exists() else "200"
    sql(f"SET GLOBAL max_connections = {int(kept)};\nDROP USER IF EXISTS '{HOG_USER}'@'%';\n")
    HOG_KEPT.unlink(missing_ok=True)
