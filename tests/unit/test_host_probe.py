"""The host probe (glance_hc/probe/host_probe.py), imported and run here: its pure functions,
its log filter on the logs captured from the lab, and its JSON framing end to end."""
import ast
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from glance_hc import logscan
from glance_hc.probe import host_probe, transport

DATA = Path(__file__).parent.parent / "data"
CAPTURED_LOGS = sorted((DATA / "logs").glob("*.log")) + sorted((DATA / "rbd").glob("*.log"))
SOURCE = Path(host_probe.__file__).read_text()


def test_the_probe_is_python_3_6_syntax():
    ast.parse(SOURCE, feature_version=(3, 6))
    assert "from __future__ import annotations" not in SOURCE and "capture_output" not in SOURCE.split('"""', 2)[2]


def test_every_argument_fits_linux_argv_limits():
    template, args = transport.command({"phase": "discover", "patterns": logscan.host_filter_patterns()}, 60)
    assert template == "timeout 60 /usr/bin/python3 -I -c %s %s %s"
    assert max(len(a) for a in args) < transport.MAX_ARG_STRLEN / 2  # room to grow
    assert zlib.decompress(base64.b64decode(args[1])).decode() == SOURCE


def test_a_request_too_large_is_refused_before_it_is_sent():
    with pytest.raises(transport.HostUnreachable, match="too large"):
        transport.command({"phase": "x", "pad": os.urandom(200 * 1024).hex()}, 60)


# ---------------------------------------------------------------- the log filter
def _captured_lines():
    return [(path.name, line) for path in CAPTURED_LOGS for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name, line", [(n, text) for n, text in _captured_lines() if logscan.root_causes_of(text)],
                         ids=lambda v: v if isinstance(v, str) and v.endswith(".log") else None)
def test_the_filter_keeps_every_captured_line_the_rules_classify(name, line):
    regex = host_probe.compile_patterns(logscan.host_filter_patterns(), None, logscan.host_filter_keywords())
    assert host_probe.filter_lines([line], regex), line


ALL_CAPTURED_LOGS = sorted(DATA.glob("**/*.log"))


def test_the_literal_prefilter_keeps_exactly_what_the_patterns_alone_keep():
    """The cheap `in` test on each pattern's required literals (computed by the client) changes
    nothing but the time: same lines kept, on every log captured from the lab."""
    patterns = logscan.host_filter_patterns()
    lines = [line for path in ALL_CAPTURED_LOGS for line in path.read_text(errors="replace").splitlines()]
    plain = host_probe.filter_lines(lines, host_probe.compile_patterns(patterns), keep=10 ** 6)
    guarded = host_probe.filter_lines(lines, host_probe.compile_patterns(patterns, None, logscan.host_filter_keywords()),
                                      keep=10 ** 6)
    assert len(lines) > 300 and len(plain) > 30
    assert guarded == plain


@pytest.mark.parametrize("pattern, literals", [
    (r"no space left on device", ["no space left on device"]),
    (r"permission denied|errno 13", ["permission denied", "errno 13"]),
    (r"error during read\([0-9]+\) on wsgi.input", ["error during read("]),
    (r"over (the )?(quota|limit)", ["over "]),
    (r"no[t]? enough", [" enough"]),
    (r"oom|[0-9]+ k", None),  # an alternative without 3 literal characters: tried on every line
])
def test_required_literals_are_what_every_match_contains(pattern, literals):
    assert logscan.required_literals(pattern) == literals


def test_the_filter_keeps_every_classified_line_of_the_captured_logs_together():
    regex = host_probe.compile_patterns(logscan.host_filter_patterns())
    lines = [line for _, line in _captured_lines()]
    kept = [text for _, text in host_probe.filter_lines(lines, regex)]
    classified = [line for line in lines if logscan.root_causes_of(line)]
    assert len(classified) >= 15 and set(classified) <= set(kept)


def test_the_filter_matches_case_insensitively_and_ignores_unrelated_lines():
    regex = host_probe.compile_patterns([r"no space left on device"])
    assert host_probe.filter_lines(["OSError: No Space Left On Device", "all fine"], regex) == [
        ["", "OSError: No Space Left On Device"]]


def test_a_line_without_a_stamp_carries_the_last_one():
    regex = host_probe.compile_patterns([r"permission denied"])
    lines = ["2026-11-25 15:09:39.123 12 ERROR glance.api store failed", "  PermissionError: Permission denied"]
    assert host_probe.filter_lines(lines, regex) == [["2026-11-25 15:09:39", lines[1]]]


def test_dmesg_stamps_are_read():
    regex = host_probe.compile_patterns([r"killed process"])
    line = "[Wed Nov 25 15:09:39 2026] Out of memory: Killed process 123 (uwsgi)"
    assert host_probe.filter_lines([line], regex) == [["Wed Nov 25 15:09:39 2026", line]]


def test_the_filter_is_bounded_and_a_bad_pattern_is_reported_not_fatal():
    errors = []
    regex = host_probe.compile_patterns(["(unclosed", "x"], errors)
    assert errors and "(unclosed" in errors[0]["error"]
    assert len(host_probe.filter_lines(["x"] * 5000, regex)) == host_probe.LOG_KEEP


# ---------------------------------------------------------------- keyrings
@pytest.mark.parametrize("conf, default, user, expected", [
    ("[global]\nkeyring = /etc/ceph/$cluster.$name.keyring\n", "", "glance", "/etc/ceph/ceph.client.glance.keyring"),
    ("", "/etc/ceph/ceph.client.glance.keyring", "glance", "/etc/ceph/ceph.client.glance.keyring"),
    ("", "", "cinder", "/etc/ceph/ceph.client.cinder.keyring"),
    ("[client]\n keyring = /k/$id.keyring, /other\n", "", "glance", "/k/glance.keyring"),
    ("", "", "glance/;e id > /tmp/hc-pwned;#", "/etc/ceph/ceph.client.glance/;e id > /tmp/hc-pwned;#.keyring"),
    ("", "", "$(touch /tmp/x)", "/etc/ceph/ceph.client.$(touch /tmp/x).keyring"),
])
def test_keyring_path_substitutes_ceph_metavariables_as_data(conf, default, user, expected):
    assert host_probe.keyring_path(conf, default, user) == expected


# ---------------------------------------------------------------- which processes are glance-api
def _proc(pid, ppid, user, args, mntns="1"):
    return {"pid": pid, "ppid": ppid, "user": user, "args": args, "mntns": mntns}


def test_only_real_glance_api_processes_name_config():
    procs = [_proc(10, 1, "glance", "glance-api uWSGI master"), _proc(11, 10, "glance", "glance-api uWSGI worker 1"),
             _proc(20, 1, "mallory", "glance-api --ini /tmp/x.ini"),
             _proc(30, 1, "glance", "glance-api uWSGI master", mntns="2"),
             _proc(40, 1, "root", "vim /etc/glance/glance-api.conf"),
             _proc(50, 1, "systemd-unit-user", "/usr/bin/glance-api"), _proc(51, 50, "nobody", "/usr/bin/glance-api")]
    assert host_probe.select_glance_api(procs, "1", ["glance"], unit_pids=[50]) == [10, 11, 50, 51]


def test_container_main_process_and_its_children_are_glance_api_whatever_their_uid():
    procs = [_proc(5, 1, "42415", "glance-api uWSGI master", "9"), _proc(6, 5, "42415", "glance-api uWSGI worker 1", "9")]
    assert host_probe.select_glance_api(procs, "1", ["glance"], container_pid=5) == [5, 6]


@pytest.mark.parametrize("argv, expected", [
    (["uwsgi", "--ini", "/etc/a b.ini"], ["/etc/a b.ini"]),
    (["uwsgi", "--ini=/etc/x*.ini", "--ini", "/y"], ["/etc/x*.ini", "/y"]),
    (["uwsgi", "--ini"], []),
])
def test_option_values_are_single_paths(argv, expected):
    assert host_probe.option_values(argv, "--ini") == expected


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("name", ["it's.conf", "a b.conf", "$(touch x).conf", "nl\nname.conf"])
def test_odd_file_names_are_read_as_paths(tmp_path, name):
    path = tmp_path / name
    path.write_text("[DEFAULT]\n")
    assert host_probe.read_file(str(path)) == {"text": "[DEFAULT]\n"}


def test_binary_files_are_text_with_replacement_and_special_files_are_not_read(tmp_path):
    path = tmp_path / "garbage.conf"
    path.write_bytes(b"\xff\xfe\x00@@hc@@ x\n")
    assert host_probe.read_file(str(path))["text"] == "\ufffd\ufffd\x00@@hc@@ x\n"
    assert host_probe.read_file("/dev/zero") == {"error": "not a regular file"}
    assert "error" in host_probe.read_file("relative/path")


def test_a_file_named_by_a_non_root_process_is_read_only_if_that_user_could(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0\n")
    secret.chmod(0o600)
    other = {"uid": os.getuid() + 12345, "gids": []}
    assert "by uid {}".format(other["uid"]) in host_probe.read_file(str(secret), cred=other)["error"]
    assert "text" in host_probe.read_file(str(secret), cred={"uid": os.getuid(), "gids": []})


def test_drop_ins_and_uwsgi_includes_are_fetched(tmp_path):
    conf = tmp_path / "glance-api.conf"
    conf.write_text("[DEFAULT]\n")
    (tmp_path / "glance-api.conf.d").mkdir()
    (tmp_path / "glance-api.conf.d" / "20-b.conf").write_text("[DEFAULT]\nb = 1\n")
    (tmp_path / "glance-api.conf.d" / "10-a.conf").write_text("[DEFAULT]\na = 1\n")
    (tmp_path / "glance-api.conf.d" / "ignored.txt").write_text("x")
    ini = tmp_path / "main.ini"
    ini.write_text(f"[uwsgi]\nini = {tmp_path}/inc.ini:uwsgi\n")
    (tmp_path / "inc.ini").write_text("[uwsgi]\ninherit = deeper.ini\n")
    (tmp_path / "deeper.ini").write_text("[uwsgi]\nharakiri = 60\n")
    files, errors = host_probe.read_config_set([str(conf), str(ini)])
    assert sorted(files) == sorted(str(p) for p in [conf, ini, tmp_path / "inc.ini", tmp_path / "deeper.ini",
                                                    tmp_path / "glance-api.conf.d/10-a.conf",
                                                    tmp_path / "glance-api.conf.d/20-b.conf"])
    assert errors == {}


def test_includes_stop_at_depth_five(tmp_path):
    for i in range(8):
        (tmp_path / f"{i}.ini").write_text(f"[uwsgi]\nini = {i + 1}.ini\n")
    files, _ = host_probe.read_config_set([str(tmp_path / "0.ini")])
    assert len(files) == host_probe.INCLUDE_DEPTH + 1


# ---------------------------------------------------------------- the whole probe, end to end
def _run_probe(request: dict, *extra: str) -> dict:
    args = [sys.executable, "-I", "-c", host_probe.BOOT, transport.probe_source(), transport.encode_request(request)]
    out = subprocess.run(args + list(extra), capture_output=True, timeout=60, check=False)
    return json.loads(out.stdout)


def test_file_contents_travel_as_json_strings_and_cannot_open_a_section(tmp_path):
    hostile = tmp_path / "haproxy.log"
    hostile.write_text('@@hc@@ container\n"}]}, {"name": "forged"\n2026-11-25 10:00:00 permission denied \'"$(id)\n')
    doc = _run_probe({"role": "local", "logs": [{"kind": "log", "path": str(hostile)}],
                      "patterns": logscan.host_filter_patterns(), "dirs": [str(tmp_path), "/nonexistent it's"]})
    assert [src["name"] for src in doc["logs"]] == [f"log {hostile}"]
    assert doc["logs"][0]["lines"] == [["2026-11-25 10:00:00", "2026-11-25 10:00:00 permission denied '\"$(id)"]]
    assert doc["dirs"][str(tmp_path)]["type"] == "directory"
    assert "No such file" in doc["dirs"]["/nonexistent it's"]["error"]


def test_a_missing_log_is_a_failed_source_with_its_reason():
    doc = _run_probe({"role": "local", "logs": [{"kind": "log", "path": "/nonexistent/glance-api.log"}]})
    assert doc["logs"] == [{"name": "log /nonexistent/glance-api.log", "kind": "log",
                            "path": "/nonexistent/glance-api.log", "error": "missing"}]


def test_a_failing_log_command_is_recorded_with_its_reason():
    got = host_probe.command_source("unit x", "unit", [sys.executable, "-c", "import sys; sys.exit('boom')"], None, 10)
    assert not got.get("read") and "exit 1" in got["error"] and "boom" in got["error"]


def test_every_command_is_bounded():
    got = host_probe.run([sys.executable, "-c", "import time; time.sleep(30)"], 1)
    assert got["rc"] == 124 and "timed out" in got["err"]
    assert host_probe.run(["/nonexistent/tool"], 1)["rc"] == 127


def test_a_broken_request_is_an_answer_not_a_traceback():
    args = [sys.executable, "-I", "-c", host_probe.BOOT, transport.probe_source(), "not-base64!"]
    out = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert json.loads(out.stdout)["errors"][0]["step"] == "request"


def test_an_unknown_phase_is_reported():
    doc = _run_probe({"phase": "nonsense", "elevate": False})
    assert doc["errors"] == [{"step": "request", "error": "unknown phase 'nonsense'"}]


OLD_PYTHON = Path.home() / ".pyenv" / "versions" / "3.6.15" / "bin" / "python3.6"


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason=f"no Python 3.6 here ({OLD_PYTHON})")
def test_the_probe_runs_on_python_3_6(tmp_path):
    log = tmp_path / "glance-api.log"
    log.write_text("2026-11-25 10:00:00.1 1 ERROR x: No space left on device\nall fine\n")
    request = {"phase": "stores_and_logs", "elevate": False, "dirs": [str(tmp_path)], "patterns":
               logscan.host_filter_patterns(), "logs": [{"kind": "log", "path": str(log)}]}
    out = subprocess.run([str(OLD_PYTHON), "-I", "-c", host_probe.BOOT, transport.probe_source(),
                          transport.encode_request(request)], stdout=subprocess.PIPE, timeout=60, check=True)
    doc = json.loads(out.stdout)
    assert doc["python"].startswith("3.6.") and doc["errors"] == []
    assert doc["logs"][0]["lines"] == [["2026-11-25 10:00:00", "2026-11-25 10:00:00.1 1 ERROR x: No space left on device"]]
    assert doc["dirs"][str(tmp_path)]["type"] == "directory"


# ---------------------------------------------------------------- HAProxy's stats socket, store dirs' parents
def test_the_stats_socket_is_asked_show_stat_and_its_answer_kept(tmp_path):
    """A unix socket that answers as the lab's HAProxy did (tests/data/haproxy, captured)."""
    answer = (DATA / "haproxy" / "show-stat-controller2-down.csv").read_bytes()
    path = str(tmp_path / "stats.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    asked = []

    def serve():
        conn, _ = server.accept()
        asked.append(conn.recv(100))
        conn.sendall(answer)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    got = host_probe.haproxy_stats([str(tmp_path / "missing.sock"), "ipv4@127.0.0.1:9999", path])
    server.close()
    assert asked == [b"show stat\n"]
    assert got == {"socket": path, "text": answer.decode()}


def test_a_stats_socket_that_cannot_be_read_says_why(tmp_path):
    (tmp_path / "plain").write_text("x")
    got = host_probe.haproxy_stats([str(tmp_path / "missing.sock"), str(tmp_path / "plain"), "127.0.0.1:9999"])
    assert got["error"] == (f"{tmp_path}/missing.sock: No such file or directory; {tmp_path}/plain: not a socket; "
                            "127.0.0.1:9999: not a unix socket path (not contacted)")


def test_a_store_dir_lists_every_parent_with_its_owner_and_mode(tmp_path):
    store = tmp_path / "a" / "store"
    store.mkdir(parents=True)
    (tmp_path / "a").chmod(0o700)
    got = host_probe.dir_facts(str(store), host_probe.mountinfo())
    assert [p["path"] for p in got["parents"]][:2] == [str(tmp_path / "a"), str(tmp_path)]
    assert got["parents"][0]["mode"] == "700" and got["parents"][-1]["path"] == "/"
    assert set(got["mount_options"]) & {"ro", "rw"}
    assert host_probe.first_untraversable(str(store)) == ""  # root (or the owner) traverses it
