"""The gate program's report as the gate checks read it, on real reports of
glance_hc/probe/gate_check.py (tests/data/gate, captured with tests/tools/capture_gate.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from glance_hc import gate

DATA = Path(__file__).resolve().parents[1] / "data" / "gate"


def _report(name: str) -> gate.GateReport:
    return gate.parse(0, (DATA / name).read_text())


def test_glance_upgrade_checks_run_on_the_multistore_lab():
    rel = _report("lab-controller1-dead-options.json").running
    assert rel.error is None and rel.checks_error is None
    # the checks Glance 33 ships, each with its own verdict (glance-status itself crashes here)
    assert [c["name"] for c in rel.checks] == ["Sheepdog Driver Removal", "Policy File JSON to YAML Migration",
                                               "Config option owner_is_tenant removal"]
    assert not gate.failing_checks(rel) and not gate.crashed_checks(rel)
    assert rel.versions["glance"] == "33.0.0"


def test_options_glance_33_does_not_read_are_found_with_file_and_section():
    rel = _report("lab-controller1-dead-options.json").running
    found = {(f.file, f.section, f.option) for f in gate.findings(rel, gate.UNKNOWN_KINDS)}
    assert found == {("/etc/glance/glance-api.conf", "DEFAULT", "client_socket_timeout"),
                     ("/etc/glance/glance-api.conf", "oslo_policy", "enforce_scope")}
    # the backends' own groups ([fast], [rbd], [swift]: store_description) are known, not findings
    assert not any(f.section in ("fast", "cheap", "rbd", "swift") for f in rel.findings)


def test_a_typo_a_misspelled_backend_section_and_a_json_policy_file():
    rel = _report("typos-json-policy.json").running
    by_option = {(f.section, f.option): f for f in rel.findings}
    assert by_option[("DEFAULT", "image_size_capp")].kind == "unknown"
    assert by_option[("DEFAULT", "image_size_capp")].extra["did_you_mean"] == "image_size_cap"
    assert by_option[("fsat", "filesystem_store_datadir")].kind == "unknown-section"
    assert by_option[("database", "sqlite_db")].kind == "unknown"
    failed = gate.failing_checks(rel)
    assert [c["name"] for c in failed] == ["Policy File JSON to YAML Migration"]
    assert "oslopolicy-convert-json-to-yaml" in failed[0]["details"]  # Glance's own advice
    assert rel.policy["format"] == "json"
    assert any("get_imagez" in line for line in gate.policy_findings(rel))


def test_a_run_that_could_not_be_made_says_why():
    rel = _report("config-missing.json").running
    assert rel.error.startswith("ConfigFilesNotFoundError while reading the config files")
    assert rel.checks == [] and rel.findings == []


@pytest.mark.parametrize("text", ["", "Traceback (most recent call last):\n  boom", "[1, 2]", "{\"upgrade_checks\": 5}"])
def test_garbage_is_a_reason_never_a_crash(text):
    report = gate.parse(1, text)
    assert report.running is not None
    assert report.running.checks == []


def test_a_target_release_is_read_apart_from_the_running_one():
    doc = json.loads((DATA / "lab-controller1-dead-options.json").read_text())
    target = json.loads((DATA / "typos-json-policy.json").read_text())
    target["path"] = "/opt/glance-next"
    doc["target"] = target
    report = gate.parse(0, json.dumps(doc))
    assert report.target.label == "target /opt/glance-next"
    assert gate.failing_checks(report.target) and not gate.failing_checks(report.running)


@pytest.mark.parametrize("rc,step", [(0, None), (3, "expand"), (4, "migrate"), (5, "contract"), (1, None)])
def test_db_check_in_words(rc, step):
    got, words = gate.db_words(rc, "Your database is not up to date.")
    assert got == step
    assert (step or ("current" if rc == 0 else "could not tell")) in words


def test_the_request_passes_files_as_data():
    req = gate.request("/etc/glance/glance-api.conf", ["/etc/glance/glance-api.conf.d"], "/opt/next; rm -rf /", 60)
    assert req["program"] == gate.program_text()
    assert req["argv"] == ["--config-file", "/etc/glance/glance-api.conf", "--config-dir",
                           "/etc/glance/glance-api.conf.d", "--no-db-check", "--timeout", "60",
                           "--upgrade-to", "/opt/next; rm -rf /"]


def test_no_program_result_is_a_reason():
    rc, text = gate.from_python([])
    assert rc == -1 and "did not run" in text
    rc, text = gate.from_python([{"rc": 1, "stdout": "", "stderr": "Traceback\nImportError: no glance"}])
    assert "ImportError: no glance" in text
