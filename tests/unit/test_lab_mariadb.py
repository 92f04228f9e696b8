"""The pure parts of lab/mariadb.py: Kolla-style connection strings, passwords kept out of argv and
out of error messages, the server's config on a loopback address under the lab's state."""
from __future__ import annotations

import configparser
import ipaddress
import subprocess

import pytest

from lab import common, mariadb

PASSWORDS = {"keystone_db_password": "hcsecret-keystone-0123", "glance_db_password": "hcsecret-glance-4567",
             "glance_kolla_db_password": "hcsecret-kolla-89ab"}


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setattr(mariadb, "secrets_file", lambda: dict(PASSWORDS))
    return PASSWORDS


@pytest.fixture
def client(monkeypatch):
    """The mariadb client as the module calls it: argv and stdin kept, the answer chosen by the test."""
    calls = []
    answer = {"returncode": 0, "stdout": "", "stderr": ""}

    def run(argv, **kw):
        calls.append((argv, kw.get("input")))
        return subprocess.CompletedProcess(argv, answer["returncode"], answer["stdout"], answer["stderr"])

    monkeypatch.setattr(mariadb.subprocess, "run", run)
    return calls, answer


@pytest.mark.parametrize(("database", "expected"), [
    ("glance", "mysql+pymysql://glance:hcsecret-glance-4567@127.0.0.8:3306/glance"),
    ("keystone", "mysql+pymysql://keystone:hcsecret-keystone-0123@127.0.0.8:3306/keystone"),
    ("glance_kolla", "mysql+pymysql://glance_kolla:hcsecret-kolla-89ab@127.0.0.8:3306/glance_kolla"),
])
def test_connection_is_written_as_kolla_writes_it(secrets, database, expected):
    assert mariadb.connection(database) == expected


def test_a_password_travels_on_stdin_never_in_argv(secrets, client):
    calls, _ = client
    mariadb.ensure_database("glance")
    (argv, stdin), = calls
    assert not any(PASSWORDS["glance_db_password"] in arg for arg in argv)
    assert f"IDENTIFIED BY '{PASSWORDS['glance_db_password']}'" in stdin
    assert "GRANT ALL PRIVILEGES ON `glance`.* TO 'glance'@'%'" in stdin


def test_an_error_shows_its_code_not_the_statement(secrets, client):
    _, answer = client
    answer.update(returncode=1, stderr="ERROR 1064 (42000) at line 2: You have an error in your SQL syntax; "
                                       f"check the manual near 'IDENTIFIED BY '{PASSWORDS['glance_db_password']}''")
    with pytest.raises(mariadb.MariaDBError) as err:
        mariadb.ensure_database("glance")
    assert "ERROR 1064 (42000) at line 2" in str(err.value)
    assert PASSWORDS["glance_db_password"] not in str(err.value)


def test_a_password_with_a_quote_is_refused(monkeypatch, client):
    monkeypatch.setattr(mariadb, "secrets_file", lambda: {**PASSWORDS, "glance_db_password": "it's"})
    calls, _ = client
    with pytest.raises(mariadb.MariaDBError, match="quote"):
        mariadb.ensure_database("glance")
    assert calls == []


def test_table_names_are_plain_names_only(client):
    with pytest.raises(mariadb.MariaDBError, match="not a plain name"):
        mariadb.has_table("glance", "images'; DROP DATABASE glance; --")


def test_server_listens_on_its_own_loopback_address_with_its_files_under_the_state():
    text = common.template("mariadb.cnf", datadir=mariadb.DATADIR, socket=mariadb.SOCKET,
                           pidfile=mariadb.PIDFILE, log=mariadb.ERROR_LOG, addr=common.ADDR["db_addr"],
                           port=mariadb.PORT)
    conf = configparser.ConfigParser(allow_no_value=True, interpolation=None)
    conf.read_string(text)
    addr = ipaddress.ip_address(conf["mysqld"]["bind-address"])
    assert addr.is_loopback and str(addr) not in common.NODES.values()
    assert str(addr) not in {v for k, v in common.ADDR.items() if k != "db_addr"}
    for key in ("datadir", "socket", "pid-file", "log-error"):
        assert conf["mysqld"][key].startswith(str(common.STATE) + "/"), key


class FakeHog:
    """subprocess.Popen as lab.mariadb starts the hog: argv and what it was told on stdin kept."""

    def __init__(self, argv, **kw):
        import io  # noqa: PLC0415

        self.argv, self.pid = argv, 424242
        self.told = io.StringIO()
        self.stdin = self.told
        self.stdin.close = lambda: None
        self.stdout = io.StringIO("6\n")  # the count it prints once the server said 1040


def test_out_of_connections_lowers_max_connections_and_keeps_the_hogs_password_off_argv(monkeypatch, tmp_path):
    statements, started = [], []
    counts = iter(["12\n"])  # connections the server has when the fault starts

    def sql(text, timeout=60):
        statements.append(text)
        if "@@GLOBAL.max_connections" in text:
            return "200\n"
        if "COUNT(*) FROM information_schema.processlist;" in text:
            return next(counts)
        if "SELECT id FROM" in text:
            return ""  # no glance connection left to kill
        if "COUNT(*)" in text:
            return "6\n"
        return ""

    monkeypatch.setattr(mariadb, "sql", sql)
    monkeypatch.setattr(mariadb, "HOG_PIDFILE", tmp_path / "hog.pid")
    monkeypatch.setattr(mariadb, "HOG_KEPT", tmp_path / "kept")
    monkeypatch.setattr(mariadb.subprocess, "Popen", lambda argv, **kw: started.append(FakeHog(argv)) or started[-1])
    monkeypatch.setattr(mariadb, "pid_alive", lambda pid: pid == 424242 and (tmp_path / "hog.pid").exists())
    assert mariadb.out_of_connections("glance") == 6
    hog = started[0]
    created = next(s for s in statements if s.startswith("CREATE OR REPLACE USER"))
    password = created.split("IDENTIFIED BY '")[1].split("'")[0]
    assert password and hog.told.getvalue() == password + "\n"
    assert not any(password in arg for arg in hog.argv), "the password never in argv"
    assert "SET GLOBAL max_connections = 20;\n" in statements  # 12 connected + HOG_SLOTS
    assert (tmp_path / "kept").read_text() == "200\n"
    assert any("WHERE user = 'glance'" in s for s in statements), "glance's own connections are ended"


def test_connections_back_puts_max_connections_back_and_drops_the_hog(monkeypatch, tmp_path):
    statements = []
    monkeypatch.setattr(mariadb, "sql", lambda text, timeout=60: statements.append(text) or "")
    monkeypatch.setattr(mariadb, "HOG_PIDFILE", tmp_path / "hog.pid")
    monkeypatch.setattr(mariadb, "HOG_KEPT", tmp_path / "kept")
    (tmp_path / "kept").write_text("200\n")
    mariadb.connections_back()  # no hog running: nothing to stop, the settings still go back
    assert statements == [f"SET GLOBAL max_connections = 200;\nDROP USER IF EXISTS '{mariadb.HOG_USER}'@'%';\n"]
    assert not (tmp_path / "kept").exists()
