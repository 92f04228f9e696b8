"""glance_hc/probe/gate_check.py itself, run as the gate runs it (`python -I -c TEXT ARGS`) in an
interpreter that has Glance: the lab's venv (Glance 33, glance_store 5.7), on a config file of
tests/data/gate. Nothing of the lab runs: only its venv is used."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from glance_hc import gate

DATA = Path(__file__).resolve().parents[1] / "data" / "gate"
PYTHON = Path(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab")) / "venv" / "bin" / "python"


def _run(*argv: str) -> dict:
    if not PYTHON.exists():
        pytest.skip(f"no interpreter with Glance at {PYTHON} (make lab-up builds it)")
    done = subprocess.run([str(PYTHON), "-I", "-c", gate.program_text(), *argv], capture_output=True,
                          text=True, timeout=120)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def typos() -> gate.Release:
    return gate.release(_run("--config-file", str(DATA / "typos.conf"), "--no-db-check"), "running")


def test_glance_upgrade_checks_run_where_glance_status_crashes(typos):
    assert typos.error is None and typos.checks_error is None
    assert {c["name"]: c["code"] for c in typos.checks}["Policy File JSON to YAML Migration"] == "failure"
    assert not gate.crashed_checks(typos)


@pytest.mark.parametrize("section,option,kind", [
    ("DEFAULT", "image_size_capp", "unknown"),
    ("DEFAULT", "client_socket_timeout", "unknown"),
    ("database", "sqlite_db", "unknown"),
    ("oslo_policy", "enforce_scope", "unknown"),
    ("fsat", "filesystem_store_datadir", "unknown-section"),
])
def test_validator_finds(typos, section, option, kind):
    assert kind in {f.kind for f in typos.findings if (f.section, f.option) == (section, option)}


def test_backend_groups_and_keystoneauth_options_are_known(typos):
    # [fast]/[rbd]/[swift] exist only at run time; [keystone_authtoken]/[oslo_limit] take their
    # auth plugin's options: none of them is a finding
    assert not [f for f in typos.findings if f.section in
                ("fast", "cheap", "rbd", "swift", "os_glance_staging_store", "keystone_authtoken", "oslo_limit")]


def test_policy_overrides_of_rules_the_release_lacks(typos):
    assert typos.policy["format"] == "json"
    assert [f["rule"] for f in typos.policy["findings"]] == ["get_imagez"]


def test_a_missing_target_release_says_where_it_looked():
    doc = _run("--config-file", str(DATA / "typos.conf"), "--no-db-check", "--upgrade-to", "/nonexistent/venv")
    assert "no python interpreter at /nonexistent/venv" in gate.release(doc["target"], "target").error
