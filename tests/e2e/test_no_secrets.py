"""No secret planted in the lab (configs, ceph.conf, clouds.yaml, log lines in every format the
redaction knows) reaches any report or the terminal, whole or as the part left by a cut."""
from __future__ import annotations

import json

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab]

# The secret-in-log fault's lines, as the failing log check must show them (redacted).
QUOTED_REDACTED = [
    "X-Auth-Token: ***",
    "rbd client.glance secret *** rejected",
    "s3 access key ***, session ***, aws_secret_access_key=***",
    "headers {'Cookie': '***', 'X-Subject-Token': '***', 'Accept': '*/*'}",
    "< Set-Cookie: ***",
    "ansible_ssh_pass=***",
    'extra vars {"ansible_become_pass": "***", "ansible_password": "***"}',
    'body {"Credential": "***", "PASSWORD": "***", "secret": ***, "Token": "***", "id": "c1"}',
    "b'-----BEGIN RSA PRIVATE KEY-----\\n***\\n-----END RSA PRIVATE KEY-----\\n'",
    "id token *** not accepted",
    "mysql+pymysql://glance:***@db.lab/glance",
    "retry with password=***",
]


def planted_secrets() -> dict[str, str]:
    """The lab's passwords and keys (Swift's among them), the planted tokens, keys and passwords
    of the fault, and the cephx keys of the keyrings the controllers hold: the probe reads caps
    with the admin keyring."""
    secrets = {f"lab {name}": value for name, value in json.loads((lab.STATE / "secrets.json").read_text()).items()}
    for keyring in (lab.STATE / "ceph").glob("**/ceph.client.*.keyring"):
        secrets.update({f"{keyring.name} key": line.split("=", 1)[1].strip() for line in keyring.read_text().splitlines()
                        if line.strip().startswith("key")})
    rgw_keys = lab.STATE / "radosgw" / "glance-keys.json"  # the s3 store's secret, in every glance-api.conf
    if rgw_keys.exists():
        secrets["s3 store secret key"] = json.loads(rgw_keys.read_text())["secret_key"]
    faults = lab.FAULTS_MODULE
    secrets["planted X-Auth-Token"] = faults.PLANTED_TOKEN
    secrets["cephx key pasted into ceph.conf"] = faults.PLANTED_CEPH_CONF_KEY
    secrets.update({f"planted {name}": value for name, value in faults.PLANTED_LOG_SECRETS.items()})
    return secrets


def planted_fragments() -> dict[str, str]:
    """What would be left of each planted secret by a cut or a partial match: its first 11
    characters (the check cuts its "latest" line at 300 characters, inside a password)."""
    faults = lab.FAULTS_MODULE
    values = {"X-Auth-Token": faults.PLANTED_TOKEN, "ceph.conf key": faults.PLANTED_CEPH_CONF_KEY,
              **faults.PLANTED_LOG_SECRETS}
    return {name: value[:11] for name, value in values.items() if len(value) > 11}


def test_secrets_never_reach_reports_or_terminal(tmp_path):
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    lab.fault("inject", "secret-in-log")
    try:
        result = lab.run_suite(tmp_path, "--prom-textfile", str(tmp_path / "glance.prom"), "-rA", "-l")
    finally:
        lab.fault("revert", "secret-in-log")
    # the planted lines were seen and quoted: the test would prove nothing otherwise
    quoted = [c for c in result.checks("failed") if c["nodeid"].endswith("test_no_permission_errors_in_logs[controller1]")]
    assert quoted, "the planted log lines were not reported"
    shown = "\n".join(entry["body"] for entry in quoted[0]["evidence"])
    missing = [line for line in QUOTED_REDACTED if line not in shown]
    assert not missing, f"planted lines not quoted (or not redacted as expected): {missing}\n{shown}"
    assert "Permission denied while uploading; xxxx" in quoted[0]["message"], "the cut line is the latest"

    outputs = {path.name: path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file()}
    outputs["terminal"] = result.stdout
    assert {"health.html", "health.json", "junit.xml", "glance.prom", "terminal"} <= set(outputs)
    for name, secret in planted_secrets().items():
        leaks = [output for output, text in outputs.items() if secret in text]
        assert not leaks, f"{name} ({secret[:4]}...) appears in {leaks}"
    for name, fragment in planted_fragments().items():
        leaks = [output for output, text in outputs.items() if fragment in text]
        assert not leaks, f"the start of {name} ({fragment[:4]}...) appears in {leaks}"
