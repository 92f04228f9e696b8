"""The data model: one record per check, and what it says about the run.

A check's root cause, scope, target and store come from its item (markers and the
``hc_*`` user properties of the design contracts, docs/design.md); its outcome and message
from pytest's reports. Every output (JSON, textfile, html) is made from these records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from glance_hc.catalogue import API_SCOPE, HOST_SCOPE, ROOT_CAUSES
from glance_hc.redact import clip, redact

# A canary that failed names the root cause it classified; the report files it there.
ROOT_CAUSE_OVERRIDE = "hc_root_cause_override"

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"
HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN = "healthy", "degraded", "unhealthy", "unknown"
VERDICTS = (HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN)

# Keep failure messages short: the full traceback is in the html log.
MESSAGE_MAX_LINES = 12
MESSAGE_MAX_CHARS = 2000


def compute_verdict(outcomes) -> str:
    """A skip never reads as healthy: a check that could not look proves nothing."""
    outcomes = list(outcomes)
    if not outcomes:
        return UNKNOWN
    if any(outcome in (FAILED, ERROR) for outcome in outcomes):
        return UNHEALTHY
    if any(outcome == SKIPPED for outcome in outcomes):
        return DEGRADED
    return HEALTHY


# --------------------------------------------------------------------------
# What a check is about, read from its item


def check_identity(item: pytest.Item) -> dict[str, Any]:
    """Root cause, scope, target and store of a check, as the design contracts say."""
    root_cause = None
    scope = None
    for marker in item.iter_markers():
        if root_cause is None and marker.name in ROOT_CAUSES:
            root_cause = marker.name
        if scope is None and marker.name in (HOST_SCOPE, API_SCOPE):
            scope = marker.name
    properties = _last_user_properties(item.user_properties)
    override = properties.get(ROOT_CAUSE_OVERRIDE)
    if override in ROOT_CAUSES:
        root_cause = str(override)
    target = properties.get("hc_target")
    if target is None and scope == API_SCOPE:
        target = "api"
    return {
        "root_cause": root_cause,
        "scope": scope,
        "target": None if target is None else str(target),
        "store": None if properties.get("hc_store") is None else str(properties["hc_store"]),
    }


def claim_of_nodeid(nodeid: str) -> str:
    """What a check claims, read from its name: one claim per check, named as a sentence.

    ``checks/x.py::test_file_store_has_free_inodes[controller1-fast]`` ->
    ``File store has free inodes [controller1-fast]``.
    """
    name = nodeid.rsplit("::", 1)[-1]
    base, bracket, params = name.partition("[")
    words = base.removeprefix("test_").replace("_", " ").strip() or base
    claim = words[:1].upper() + words[1:]
    return f"{claim} [{params}" if bracket else claim


def _last_user_properties(user_properties) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for name, value in user_properties:
        last[name] = value
    return last


def evidence_of(user_properties) -> list[dict]:
    return [_evidence_entry(value) for name, value in user_properties if name == "hc_evidence"]


def metrics_of(user_properties) -> list[dict]:
    return [_metric_entry(value) for name, value in user_properties if name == "hc_metric"]


def _evidence_entry(value) -> dict:
    if not isinstance(value, dict):
        value = {"title": "evidence", "body": value}
    return {
        "title": str(value.get("title") or "evidence"),
        "command": None if value.get("command") is None else str(value["command"]),
        "body": "" if value.get("body") is None else str(value["body"]),
    }


def _metric_entry(value) -> dict:
    value = dict(value) if isinstance(value, dict) else {"name": "unnamed", "value": value}
    labels = value.get("labels") or {}
    return {
        "name": str(value.get("name") or "unnamed"),
        "value": value.get("value"),
        "unit": value.get("unit"),
        "labels": {str(k): str(v) for k, v in dict(labels).items()},
    }


# --------------------------------------------------------------------------
# Per-check records


@dataclass
class CheckRecord:
    nodeid: str
    outcome: str = PASSED
    root_cause: str | None = None
    scope: str | None = None
    target: str | None = None
    store: str | None = None
    message: str | None = None
    duration: float = 0.0
    user_properties: list = field(default_factory=list)

    def as_dict(self) -> dict:
        cause = ROOT_CAUSES.get(self.root_cause or "")
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "root_cause": self.root_cause,
            "root_cause_title": cause.title if cause else None,
            "runbook_step": cause.runbook_step if cause else None,
            "scope": self.scope,
            "target": self.target,
            "store": self.store,
            "claim": claim_of_nodeid(self.nodeid),
            "message": self.message,
            "duration": round(self.duration, 3),
            "evidence": evidence_of(self.user_properties),
            "metrics": metrics_of(self.user_properties),
            "remediation": list(cause.remediation) if cause else [],
        }


def short_failure_message(report) -> str:
    """The assertion message, not the traceback: what the operator reads first."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None and crash.message else report.longreprtext
    lines = [line for line in redact(text or "").splitlines() if line.strip()]
    if crash is None:
        lines = lines[-MESSAGE_MAX_LINES:]
    return clip("\n".join(lines[:MESSAGE_MAX_LINES]), MESSAGE_MAX_CHARS)


def skip_reason(report) -> str:
    if hasattr(report, "wasxfail"):
        return redact(f"xfail: {report.wasxfail}".rstrip(": "))
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = report.longreprtext or ""
    return redact(reason.removeprefix("Skipped: "))
