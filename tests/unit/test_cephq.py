"""The probe's librados shortcut (CEPHQ) and its fall-back to the `ceph` CLI.

The shortcut runs in the interpreter named by the `ceph` script's shebang; where that
interpreter has no rados module it must say so (exit 97) so the probe runs the CLI.
"""
import subprocess
import sys

from glance_hc import probe_scripts

PRELUDE = probe_scripts._RBD.split("RBD_AS_USER='", 1)[0]  # XW() and CEPHQ, nothing that runs


def _fake_ceph(tmp_path, interpreter: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ceph = bin_dir / "ceph"
    ceph.write_text(f"#!{interpreter}\nimport sys\nprint('cli', *sys.argv[1:])\n")
    ceph.chmod(0o755)
    return bin_dir


def _cephq(bin_dir, *args: str) -> subprocess.CompletedProcess:
    script = PRELUDE + 'sh -c "$CEPHQ" sh "$@"'
    return subprocess.run(["sh", "-c", script, "sh", *args], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})


def test_cephq_exits_97_where_the_ceph_interpreter_has_no_rados(tmp_path):
    bin_dir = _fake_ceph(tmp_path, sys.executable)  # the suite's venv: no python3-rados
    result = _cephq(bin_dir, "/etc/ceph/ceph.conf", "glance", "df", "detail=detail")
    assert result.returncode == 97, result.stdout + result.stderr


def test_df_falls_back_to_the_ceph_cli_without_rados(tmp_path):
    bin_dir = _fake_ceph(tmp_path, sys.executable)
    rbd_as_user = probe_scripts._RBD.split("RBD_AS_USER='", 1)[1].split("\n'\n", 1)[0]
    script = PRELUDE + 'export CEPHQ; sh -c "$1" sh /etc/ceph/ceph.conf /k glance images rbd ""'
    result = subprocess.run(["sh", "-c", script, "sh", rbd_as_user], capture_output=True, text=True, timeout=30,
                            env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert "@@hc@@ rbd-df rbd\n@@rc=0\ncli -c /etc/ceph/ceph.conf --id glance --connect-timeout 10 df detail " \
           "--format json" in result.stdout, result.stdout + result.stderr
