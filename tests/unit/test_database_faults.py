"""The database and Keystone faults of issue 26, judged on the real lines glance-api and Keystone
logged in the lab (tests/data/logs/issue26, made by tests/tools/capture_database_faults.py): each
is one availability fault named narrowly, on the host whose glance-api logged it; a traceback, a
retry or keystonemiddleware's restatement is never a second one; Keystone failing is told apart
from Glance failing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from glance_hc import classify, logscan
from glance_hc.causes import availability

DATA = Path(__file__).parent.parent / "data" / "logs" / "issue26"
CASES = ("database-down", "database-restart", "database-out-of-connections", "keystone-out-of-connections")


def log_lines(case: str, node: str = "controller1") -> list[logscan.LogLine]:
    """A captured glance-api log as the suite reads it: stamped lines, the host's source name."""
    out, stamp = [], ""
    for raw in (DATA / case / f"{node}-glance-api.log").read_text().splitlines():
        if raw[:4].isdigit():
            stamp = raw[:23]
        out.append(logscan.parse_stamped("log /var/log/glance/glance-api.log", f"{stamp}\t{raw}"))
    return out


def answers(case: str) -> list[dict]:
    return json.loads((DATA / case / "answers.json").read_text())


def request_lines(case: str, answer: dict) -> list[str]:
    return [line.text for line in log_lines(case, answer["node"]) if answer["request_id"] in line.text]


@pytest.mark.parametrize(("case", "node", "faults"), [
    # the server stopped: a token glance-api had validated meets its database (2003); a new token
    # meets Keystone, which shares the server and fails too (keystonemiddleware's line)
    ("database-down", "controller1", {availability.UNREACHABLE, availability.KEYSTONE}),
    ("database-down", "controller2", {availability.UNREACHABLE, availability.KEYSTONE}),
    ("database-restart", "controller1", {availability.CONNECTION_LOST}),
    ("database-restart", "controller2", {availability.CONNECTION_LOST}),
    ("database-out-of-connections", "controller1", {availability.OUT_OF_CONNECTIONS}),
    ("database-out-of-connections", "controller2", {availability.OUT_OF_CONNECTIONS}),
    ("keystone-out-of-connections", "controller1", {availability.KEYSTONE}),
])
def test_each_failed_request_is_one_availability_fault_named_narrowly(case, node, faults):
    """One counted line per failed request (its traceback and restatements are consequences), of
    availability only, with the fault in the operator's words."""
    readings = logscan.read(log_lines(case, node))
    counted = [r for r in readings if r.counts]
    failed = [a for a in answers(case) if a.get("node") == node and a["status"] != 200]
    assert failed, "the capture holds failed requests"
    assert len(counted) == len(failed), [r.line.text[:160] for r in counted]
    assert {r.fault for r in counted} == faults
    assert all(r.root_causes == ("availability",) for r in readings), "another cause claims a line"


def near(case: str, answer: dict) -> list[str]:
    """What the suite hands the classifier: the request's own lines, else the host's recent lines of
    the cause (keystonemiddleware logs under the worker's previous request context, not this one's)."""
    return request_lines(case, answer) or [r.line.text for r in logscan.read(log_lines(case, answer["node"]))
                                           if r.counts]


@pytest.mark.parametrize(("case", "status", "rule", "fault"), [
    ("database-down", 500, "500-database-unreachable", availability.UNREACHABLE),
    ("database-restart", 500, "500-database-connection-lost", availability.CONNECTION_LOST),
    ("database-out-of-connections", 500, "500-database-out-of-connections", availability.OUT_OF_CONNECTIONS),
    ("keystone-out-of-connections", 401, "keystone-failing", availability.KEYSTONE),
    ("database-down", 401, "keystone-failing", availability.KEYSTONE),  # Keystone on the same server, down too
])
def test_a_failed_call_is_classified_by_its_lines(case, status, rule, fault):
    """The answer glance-api really gave and the lines of the host decide the rule."""
    answer = next(a for a in answers(case) if a.get("status") == status)
    result = classify.classify(status, answer["body"], None, near(case, answer))
    assert (result.rules_matched[0], result.root_cause, result.fault) == (rule, "availability", fault)
    assert result.evidence


def test_keystone_lines_carry_no_request_id_of_their_own_request():
    """Why near() falls back: the 401's own request id is not on keystonemiddleware's lines."""
    answer = next(a for a in answers("keystone-out-of-connections") if a.get("status") == 401)
    assert request_lines("keystone-out-of-connections", answer) == []


def test_out_of_connections_remediation_is_max_connections_against_the_pools():
    answer = next(a for a in answers("database-out-of-connections") if a.get("status") == 500)
    result = classify.classify(500, answer["body"], None, request_lines("database-out-of-connections", answer))
    said = " ".join(result.remediation)
    for words in ("max_connections", "max_pool_size", "max_overflow", "workers", "controllers"):
        assert words in said, words
    assert "Too many connections" in result.reason


def test_keystone_failing_names_keystone_not_glance_or_its_database():
    answer = next(a for a in answers("keystone-out-of-connections") if a.get("status") == 401)
    result = classify.classify(401, answer["body"], None, near("keystone-out-of-connections", answer))
    assert "Keystone" in result.reason and "not glance-api" in result.reason
    assert any("Keystone's log" in step for step in result.remediation)
    # Glance's own pool kept working: the calls with a token it had validated before were answered
    assert {a["status"] for a in answers("keystone-out-of-connections") if a.get("token") == "warm"} == {200}


def test_a_plain_401_without_keystone_lines_stays_the_generic_unauthorized():
    assert classify.classify(401, "", None, []).rules_matched[0] == "unauthorized"


@pytest.mark.parametrize(("line", "role", "fault"), [
    # what pymysql says, captured from the lab's server (client-errors/pymysql.txt)
    ("(pymysql.err.OperationalError) (2006, \"MySQL server has gone away (BrokenPipeError(32, 'Broken pipe'))\")",
     logscan.CAUSE, availability.CONNECTION_LOST),
    ("(pymysql.err.OperationalError) (1213, 'Deadlock found when trying to get lock; try restarting transaction')",
     logscan.CAUSE, availability.DEADLOCK),
    # oslo.db retrying (DEBUG): whatever it retried, the call may well have succeeded
    ("2026-12-02 04:19:03.598 31159 DEBUG oslo_db.api [-] Performing DB retry for function "
     "glance.db.sqlalchemy.api.image_update", logscan.CONSEQUENCE, None),
    ("2026-12-02 04:19:03.598 31159 ERROR oslo_db.api [-] DB exceeded retry limit.: "
     "oslo_db.exception.DBDeadlock: (pymysql.err.OperationalError) (1213, 'Deadlock found when trying to get lock; "
     "try restarting transaction')", logscan.CAUSE, availability.DEADLOCK),
])
def test_database_words_have_their_role(line, role, fault):
    meaning = logscan.role_of(line)
    assert meaning is not None and (meaning.role, meaning.root_causes) == (role, ("availability",))
    if role == logscan.CAUSE:
        assert meaning.fault == fault


def test_a_retried_deadlock_alone_is_no_fault():
    lines = [logscan.parse_stamped("log glance-api.log", "2026-12-02 04:19:03\t2026-12-02 04:19:03.598 31159 DEBUG "
                                   "oslo_db.api [-] Performing DB retry for function glance.db.sqlalchemy.api.x")]
    assert logscan.lines_for("availability", lines) == []


def test_client_error_capture_holds_what_the_patterns_quote():
    text = (DATA / "client-errors" / "pymysql.txt").read_text()
    assert "(2006, \"MySQL server has gone away" in text and "(1213, 'Deadlock found" in text


@pytest.mark.parametrize("case", CASES)
def test_host_filter_keeps_the_lines_of_these_faults(case):
    """The probe's filter (every pattern's regex) keeps each counted line, so the host sees them."""
    import re  # noqa: PLC0415

    keep = re.compile("|".join(f"(?:{p})" for p in logscan.host_filter_patterns()), re.I)
    counted = [r.line.text for r in logscan.read(log_lines(case)) if r.counts]
    assert counted and all(keep.search(text) for text in counted)


def test_the_probes_cheap_test_keeps_them_too():
    """The probe tries each pattern's required literals before its regex: none may miss these lines."""
    import re  # noqa: PLC0415

    pairs = list(zip(logscan.host_filter_patterns(), logscan.host_filter_keywords(), strict=True))
    for case in CASES:
        for reading in logscan.read(log_lines(case)):
            if not reading.counts:
                continue
            low = reading.line.text.lower()
            assert any(re.search(p, reading.line.text, re.I) and cheap_test_keeps(words, low)
                       for p, words in pairs), reading.line.text[:200]


def cheap_test_keeps(words, low: str) -> bool:
    """One pattern's literals (None: regex only): any alternative whose literals the line all holds."""
    if words is None:
        return True
    return any(all(w in low for w in ([alt] if isinstance(alt, str) else alt)) for alt in words)


@pytest.mark.parametrize(("case", "fault"), [
    ("database-down", availability.UNREACHABLE),
    ("keystone-out-of-connections", availability.OUT_OF_CONNECTIONS),
])
def test_keystones_own_lines_name_the_database_fault_it_met(case, fault):
    """Keystone's log (read where Keystone runs) says why it answered 500: the same words, one
    availability fault per request."""
    heads = [line for line in (DATA / case / "keystone.log").read_text().splitlines()
             if " CRITICAL keystone " in line and "Unhandled error" in line]
    assert heads
    for line in heads:
        meaning = logscan.role_of(line)
        assert meaning is not None and (meaning.role, meaning.root_causes, meaning.fault) == (
            logscan.CAUSE, ("availability",), fault), line[:200]


class _Refusing:
    def __init__(self, exc):
        self.exc = exc

    def authorize(self):
        raise self.exc


def _keystones_answer_in_the_lab() -> str:
    said = answers("database-down")[0]["keystone"]  # "ConnectFailure: Unable to establish connection ..."
    return said.split(": ", 1)[1]


@pytest.mark.parametrize("make", [
    # what openstacksdk raised in the lab when Keystone's worker hung up on its database error
    lambda: __import__("openstack").exceptions.SDKException(_keystones_answer_in_the_lab()),
    lambda: __import__("keystoneauth1").exceptions.http.InternalServerError(http_status=500),
], ids=["hung-up", "http-500"])
def test_a_token_keystone_fails_to_issue_names_keystone_not_glance(monkeypatch, make):
    import openstack  # noqa: PLC0415

    from glance_hc.fixtures import cloud  # noqa: PLC0415

    monkeypatch.setattr(openstack, "connect", lambda **kw: _Refusing(make()))
    state = cloud.connect("hc-lab", 10)
    assert state.error and "Keystone failed to issue a token" in state.error and "not Glance" in state.error


def test_a_refused_password_is_still_a_refused_password(monkeypatch):
    import openstack  # noqa: PLC0415
    from keystoneauth1 import exceptions as ksa_exc  # noqa: PLC0415

    from glance_hc.fixtures import cloud  # noqa: PLC0415

    monkeypatch.setattr(openstack, "connect", lambda **kw: _Refusing(ksa_exc.Unauthorized()))
    assert "credentials were refused" in cloud.connect("hc-lab", 10).error
