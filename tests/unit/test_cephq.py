"""The probe's librados shortcut (role cephq) and its fall-back to the `ceph` CLI.

The shortcut runs in the interpreter named by the `ceph` script's shebang; where that
interpreter has no rados module it must say so (exit 97) so the probe runs the CLI.
"""
import sys

import pytest

from glance_hc.probe import host_probe, transport


def _fake_ceph(tmp_path, interpreter: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ceph = bin_dir / "ceph"
    ceph.write_text(f"#!{interpreter}\nimport sys\nprint('cli', *sys.argv[1:])\n")
    ceph.chmod(0o755)
    return bin_dir


def test_cephq_exits_97_where_the_ceph_interpreter_has_no_rados():
    got = host_probe.cephq(transport.probe_source(), sys.executable,  # the suite's venv: no python3-rados
                           "/etc/ceph/ceph.conf", "glance", "df", {"detail": "detail"})
    assert got["rc"] == 97, got


def test_df_falls_back_to_the_ceph_cli_without_rados(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{_fake_ceph(tmp_path, sys.executable)}:/usr/bin:/bin")
    assert host_probe.ceph_python() == sys.executable
    store = {"name": "rbd", "conf": "/etc/ceph/ceph.conf", "keyring": "/k", "user": "glance", "pool": "images"}
    seen = host_probe.rbd_as_user(store, transport.probe_source())
    assert seen["df"] == {"rc": 0, "output": "cli -c /etc/ceph/ceph.conf --id glance --connect-timeout 10 df "
                                             "detail --format json\n"}
    assert seen["keyring_read_rc"] == 1  # /k does not exist


@pytest.mark.parametrize("user", ["glance/;e id > /tmp/hc-pwned;#", "$(touch /tmp/x)", "a b", "`id`"])
def test_a_hostile_cephx_user_reaches_the_cli_as_one_argument(tmp_path, monkeypatch, user):
    monkeypatch.setenv("PATH", f"{_fake_ceph(tmp_path, sys.executable)}:/usr/bin:/bin")
    store = {"name": "rbd", "conf": "/etc/ceph/ceph.conf", "keyring": "/k", "user": user, "pool": "images"}
    seen = host_probe.rbd_as_user(store, transport.probe_source())
    assert seen["df"]["output"].startswith(f"cli -c /etc/ceph/ceph.conf --id {user} --connect-timeout")


def test_caps_are_never_read_with_another_interpreter_as_root(tmp_path, monkeypatch):
    """Root runs no interpreter but its own: a ceph CLI of a venv gets no admin query."""
    other = tmp_path / "venv-python"
    other.write_text("#!/bin/sh\nexit 0\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", f"{_fake_ceph(tmp_path, str(other))}:/usr/bin:/bin")
    monkeypatch.setattr(host_probe.os, "access", lambda path, mode: True)
    monkeypatch.setattr(host_probe, "cephq", lambda *a, **k: {"rc": 97, "out": "", "err": ""})
    seen = {"tools": ["ceph"]}
    ctx = host_probe.Context("", "root", "root", {})
    host_probe.rbd_caps(ctx, {"user": "glance", "conf": "/etc/ceph/ceph.conf"}, seen)
    assert seen["caps"]["rc"] is None and "which root does not run" in seen["caps"]["output"]


def test_cephx_keys_are_blanked_before_they_leave_the_host():
    text = '[{"entity":"client.glance","key": "AQBxyz==","caps":{}}]'
    assert "AQB" not in host_probe.blank_keys(text) and '"key": "(not read)"' in host_probe.blank_keys(text)
