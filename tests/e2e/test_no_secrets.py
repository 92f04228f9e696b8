"""No secret planted in the lab (configs, clouds.yaml, a log line) reaches any report or the terminal."""
from __future__ import annotations

import json

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab]


def planted_secrets() -> list[str]:
    """The lab's passwords and keys (Swift's among them), the planted token, and the cephx keys of
    the keyrings the controllers hold: the probe reads caps with the admin keyring."""
    secrets = list(json.loads((lab.STATE / "secrets.json").read_text()).values())
    for keyring in (lab.STATE / "ceph").glob("**/ceph.client.*.keyring"):
        secrets += [line.split("=", 1)[1].strip() for line in keyring.read_text().splitlines()
                    if line.strip().startswith("key")]
    return secrets + [lab.FAULTS_MODULE.PLANTED_TOKEN]


def test_secrets_never_reach_reports_or_terminal(tmp_path):
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    lab.fault("inject", "secret-in-log")
    try:
        result = lab.run_suite(tmp_path, "--prom-textfile", str(tmp_path / "glance.prom"), "-rA", "-l")
    finally:
        lab.fault("revert", "secret-in-log")
    # the planted line was seen and quoted: the test would prove nothing otherwise
    quoted = [c for c in result.checks("failed") if c["nodeid"].endswith("test_no_permission_errors_in_logs[controller1]")]
    assert quoted, "the planted log line was not reported"
    outputs = {path.name: path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file()}
    outputs["terminal"] = result.stdout
    assert {"health.html", "health.json", "junit.xml", "glance.prom", "terminal"} <= set(outputs)
    for secret in planted_secrets():
        leaks = [name for name, text in outputs.items() if secret in text]
        assert not leaks, f"a planted secret ({secret[:12]}...) appears in {leaks}"
