"""The shapes of what a root cause knows: its log patterns (with a role each) and its rules.

Plain data with a little matching logic and no imports from the rest of the suite, so that the
catalogue, the log scanner and the classifier can all read it without import cycles.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# What a matched log line means. Only a CAUSE line is evidence for a root cause; the others
# are shown beside the cause they follow, never counted as a second one.
CAUSE = "cause"                  # the fault itself: "No space left on device", "killed by signal 9"
CONSEQUENCE = "consequence"      # what follows a fault: the generic 500, a respawn, a broken pipe
CLEANUP = "cleanup"              # Glance tidying up after a failed upload
STARTUP = "start-up warning"     # printed once when a service starts, whatever happens later
ROLES = (CAUSE, CONSEQUENCE, CLEANUP, STARTUP)


@dataclass(frozen=True)
class LogPattern:
    """One kind of log line: a Python regex (matched case-insensitively, on the host too), its
    role, and the real lines it was written from (`examples`, each found verbatim in one of the
    files under tests/data that `source` lists, comma-separated; otherwise `source` names the
    upstream code that prints it).
    `fault`: the fault in the operator's words when the line names one more precisely than its
    root cause does (e.g. "read-only filesystem")."""

    regex: str
    role: str = CAUSE
    examples: tuple[str, ...] = ()
    source: str = ""
    fault: str | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r} for {self.regex!r}")
        re.compile(self.regex)


@dataclass(frozen=True)
class Rule:
    """One line of the classification table: all given conditions must hold.

    `statuses`: HTTP codes or the canary's pseudo-statuses ("connection-reset", ...; empty = any);
    `body`: regex searched case-insensitively in the answer's body; `image_status`: statuses of the
    image record read after the failure; `log`: regex searched in the correlated log lines that are
    evidence (cause lines and context, never cleanup, consequence or start-up lines); `log_cause`:
    some correlated line is a cause line of that root cause (its patterns, in its cause module).
    `fault` and `remediation` say what broke and what to do in the operator's words when they
    are narrower than the root cause's own; `examples` are the tests/data/api cases this rule was
    written from and must classify; `source` where its wording comes from when no case exists.
    """

    name: str
    root_cause: str
    reason: str
    statuses: tuple = ()
    body: str | None = None
    image_status: tuple[str, ...] = ()
    log: str | None = None
    log_cause: str | None = None
    fault: str | None = None
    remediation: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    source: str = ""

    def matches(self, status, body: str, image_status: str | None, evidence: list[str],
                causes_in_log: frozenset[str] = frozenset()) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if self.body and not re.search(self.body, body or "", re.I | re.S):
            return False
        if self.image_status and image_status not in self.image_status:
            return False
        if self.log_cause and self.log_cause not in causes_in_log:
            return False
        if self.log and not any(re.search(self.log, line, re.I) for line in evidence):
            return False
        return True


@dataclass(frozen=True)
class Cause:
    """A root cause of the runbook: what the report shows (title, step, symptom, remediation)
    and what finds it (log patterns, classification rules)."""

    key: str
    title: str
    runbook_step: str
    symptom: str
    # the lab faults that make this cause for real (lab/faults.py: `python3 -m lab fault inject
    # NAME`), each blamed on it by the fault matrices (tests/e2e/test_fault_matrix*.py)
    lab_faults: tuple[str, ...] = ()
    remediation: tuple[str, ...] = field(default_factory=tuple)
    patterns: tuple[LogPattern, ...] = ()
    rules: tuple[Rule, ...] = ()
