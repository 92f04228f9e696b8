"""Classification of a failed upload, table-driven on tests/data/api/*.json: answers and log lines
captured from the lab (captured: real; a few with a fault made by hand, `fault_by_hand`) or, where
the lab cannot produce them, built from Glance's and HAProxy's own wording (captured: synthetic)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from glance_hc import canary, classify
from glance_hc.catalogue import ROOT_CAUSES
from glance_hc.causes import CAUSES

DATA = Path(__file__).parent.parent / "data" / "api"
CASES = sorted(DATA.glob("*.json"))
RULES = [rule for cause in CAUSES for rule in cause.rules]
PSEUDO = {canary.CONNECT_FAILED, canary.CONNECT_TIMEOUT, canary.CONNECTION_RESET, canary.READ_TIMEOUT,
          canary.CLIENT_DEADLINE, canary.CLIENT_DISCONNECT, canary.STUCK, canary.HASH_MISMATCH,
          canary.SIZE_MISMATCH, canary.NO_DATA, canary.MISSING_HASH, canary.WRONG_STORE, canary.TASK_FAILURE}


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


# ---------------------------------------------------------------------------- the set of rules


def test_every_rule_has_one_place_in_the_precedence_and_lives_with_its_root_cause():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert sorted(classify.PRECEDENCE) == sorted(names)
    for cause in CAUSES:
        assert all(rule.root_cause == cause.key for rule in cause.rules), cause.key
    assert {rule.root_cause for rule in classify.RULES} | {classify.FALLBACK.root_cause} <= set(ROOT_CAUSES)


def test_canary_uses_the_shared_rules():
    assert canary.classify is classify.classify and canary.RULES is classify.RULES


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_says_where_it_comes_from_and_its_examples_classify_to_it(rule):
    assert rule.examples or rule.source, f"{rule.name}: no example case and no source"
    for name in rule.examples:
        case = load(name)
        assert case["expected"]["rule"] == rule.name, f"{name} is the example of {case['expected']['rule']}"
    for status in rule.statuses:
        assert isinstance(status, int) or status in PSEUDO, f"{rule.name}: unknown status {status!r}"


def test_api_data_covers_every_root_cause_and_is_mostly_real():
    data = [json.loads(path.read_text()) for path in CASES]
    produced = {rule.root_cause for rule in classify.RULES}
    assert produced <= {d["expected"]["root_cause"] for d in data}, "a case for every cause a rule names"
    real = [d for d in data if d["captured"] == "real"]
    assert len(real) >= 14
    # real answers come from a healthy lab, or say the fault that was made by hand for them
    assert all(d.get("lab_faults", "none") == "none" for d in real)
    assert all(d.get("fault_by_hand") for d in real if d["expected"]["rule"] in ("500-read-only", "500-database"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_classify_captured_answers(path):
    case = json.loads(path.read_text())
    status = case["expected"].get("as_status", case["status"])
    result = classify.classify(status, case["body"], case["image_after"], case["log_lines"])
    assert (result.root_cause, result.rules_matched[0]) == (case["expected"]["root_cause"], case["expected"]["rule"])
    assert result.reason and result.title == ROOT_CAUSES[result.root_cause].title
    assert result.remediation


# ---------------------------------------------------------------------------- status codes first


def test_store_disabled_is_permissions_only_when_logs_say_so():
    case = load("store-disabled-410-permission-denied")
    with_logs = classify.classify(410, case["body"], case["image_after"], case["log_lines"])
    without = classify.classify(410, case["body"], case["image_after"], [])
    assert (with_logs.root_cause, without.root_cause) == ("store_permissions", "store_config")


def test_glance_status_codes_decide_before_log_text():
    """A 413 with a permission line in the context is still full or quota; a 503 with a full-disk
    line is still Glance's own 'insufficient permissions'."""
    denied = ["controller1 log /var/log/glance/glance-api.log: OSError: [Errno 13] Permission denied"]
    assert classify.classify(413, load("store-full-413")["body"], None, denied).root_cause == "store_full"
    full = ["controller1 log /var/log/glance/glance-api.log: [Errno 28] No space left on device"]
    assert classify.classify(503, load("write-denied-503")["body"], None, full).root_cause == "store_permissions"


def test_500_is_store_config_unless_the_logs_name_another_cause():
    body = load("internal-error-500")["body"]
    assert classify.classify(500, body, None, []).root_cause == "store_config"
    assert classify.classify(500, body, None, load("chunked-body-direct-500")["log_lines"]).root_cause == \
        "interrupted_upload"
    assert classify.classify(500, body, None, ["... died, killed by signal 9 ..."]).root_cause == "worker_crash"
    assert classify.classify(500, body, None, ["OSError: [Errno 13] Permission denied"]).root_cause == \
        "store_permissions"


def test_a_reset_is_a_dead_worker_only_when_the_image_stayed_in_saving():
    assert classify.classify(canary.CONNECTION_RESET, "", {"status": "saving"}, []).root_cause == "worker_crash"
    lost = classify.classify(canary.CONNECTION_RESET, "", {"status": "queued"}, [])
    assert lost.rules_matched[0] == "reset-answer-lost" and lost.root_cause == "availability"


@pytest.mark.parametrize(("status", "root_cause"), [
    (canary.HASH_MISMATCH, "checksum_mismatch"), (canary.SIZE_MISMATCH, "checksum_mismatch"),
    (canary.NO_DATA, "checksum_mismatch"), (canary.MISSING_HASH, "checksum_mismatch"),
    (canary.WRONG_STORE, "store_config"), (canary.READ_TIMEOUT, "interrupted_upload"),
    (canary.CLIENT_DEADLINE, "interrupted_upload"), (canary.CONNECT_TIMEOUT, "availability"),
    (canary.CONNECT_FAILED, "availability"), (401, "availability"), (418, "availability"),
])
def test_pseudo_statuses(status, root_cause):
    assert classify.classify(status, "", {"status": "queued"}, []).root_cause == root_cause


def test_body_message_reads_webob_haproxy_and_plain_pages():
    assert classify.body_message(load("unknown-store-400")["body"]) == "Store for identifier nosuch not found"
    assert classify.body_message(load("haproxy-502")["body"]) == \
        "The server returned an invalid or incomplete response."
    assert classify.body_message("413 Request Entity Too Large\n\nThe quota.\n\n  ") == "The quota."
    assert classify.body_message("") == ""
    assert classify.body_message("x" * 1000, 50).endswith("...")


# ---------------------------------------------------------------------------- the true fault, in words


def test_a_read_only_store_is_named_as_such_with_its_own_remedy():
    """Issue 17: the log said [Errno 30] Read-only file system, the classifier said 'the log names
    no other cause ... most often a broken store configuration'."""
    case = load("read-only-store-500")
    result = classify.classify(500, case["body"], case["image_after"], case["log_lines"])
    assert result.root_cause == "store_permissions" and result.fault == "read-only filesystem"
    assert "mounted read-only" in result.reason and "[Errno 30] Read-only file system" in result.reason
    assert "names no other cause" not in result.reason and "store configuration" not in result.reason
    assert any("remount" in step for step in result.remediation)


def test_an_unusable_database_is_availability_not_store_config():
    case = load("database-unwritable-500")
    result = classify.classify(500, case["body"], case["image_after"], case["log_lines"])
    assert (result.root_cause, result.fault) == ("availability", "database unavailable")
    assert "database" in result.reason and "attempt to write a readonly database" in result.reason
    assert any("database" in step for step in result.remediation)
    # sqlite's other wording for the same fault (a file it cannot open)
    line = ("controller1 log /var/log/glance/glance-api.log: ERROR glance.common.wsgi [None req-x] Caught "
            "error: (sqlite3.OperationalError) unable to open database file")
    assert classify.classify(500, case["body"], None, [line]).rules_matched[0] == "500-database"


def test_a_vanished_store_directory_is_store_config_not_a_cut_upload():
    lines = [f"controller1 log /var/log/glance/glance-api.log: {line}" for line in
             (Path(__file__).parent.parent / "data" / "logs" / "issue17" / "vanished" / "glance-api.log")
             .read_text().splitlines()]
    result = classify.classify(500, load("internal-error-500")["body"], {"status": "queued"}, lines)
    assert (result.root_cause, result.rules_matched[0]) == ("store_config", "500-store-dir-missing")
    assert result.fault == "store directory missing" and "[Errno 2]" in result.reason


@pytest.mark.parametrize("errno_text", ["[Errno 30] Read-only file system", "[Errno 2] No such file or directory"])
def test_glance_cleanup_line_alone_decides_nothing(errno_text):
    """Glance's "Unable to remove partial image data" says why a partial file stayed, after an upload
    that failed for its own reason: it is never a cut upload, nor the cause of the 500."""
    case = load("read-only-store-500")
    cleanup = next(line for line in case["log_lines"] if "Unable to remove partial image data" in line)
    cleanup = cleanup.replace("[Errno 30] Read-only file system", errno_text)
    result = classify.classify(500, case["body"], case["image_after"], [cleanup])
    assert result.root_cause != "interrupted_upload"
    assert result.rules_matched[0] == "500" and not result.evidence


def test_uwsgi_harakiri_start_up_warning_is_no_worker_death():
    warning = next(line for line in (Path(__file__).parent.parent / "data" / "logs" / "issue17" /
                                     "uwsgi-harakiri.log").read_text().splitlines() if "without post buffering" in line)
    result = classify.classify(500, load("internal-error-500")["body"], None, [f"controller1 {warning}"])
    assert result.root_cause != "worker_crash"
