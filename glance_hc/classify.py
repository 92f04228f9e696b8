"""The root cause of a failed upload (or download) from what the client got, the image record
read afterwards and the log lines correlated with the request: one set of rules, shared by the
canary and by forensics of a user's image.

The rules are data, each in the module of the root cause it names (glance_hc/causes/<key>.py),
with the real answers it was written from (tests/data/api). Glance's own status codes come first
(410 store add disabled, 413 full or quota, 503 permissions, 500 with the log's reason), then the
log text. Only log lines that are evidence count: a cleanup, a consequence or a start-up warning
(glance_hc.logscan roles) never decides a cause. Which rule wins when several match is a property
of the whole set: PRECEDENCE.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from glance_hc import logscan
from glance_hc.causes import BY_KEY, CAUSES
from glance_hc.causes.model import CAUSE, Rule

__all__ = ["FALLBACK", "PRECEDENCE", "RULES", "Classification", "Rule", "body_message", "cause_of_message",
           "classify"]

# First match wins. Specific before generic within a status; a fault that the request's own
# lines name (a read-only store, an unusable database) before context lines from the host.
PRECEDENCE: tuple[str, ...] = (
    # 413: glance answers it for a full store and for every kind of quota
    "store-full", "quota", "413-disk-full-log", "413-quota-log", "413",
    # 410: the store was disabled when glance-api configured it, or the image was deleted meanwhile
    "store-disabled-missing-dir", "store-disabled-rbd-client-files", "store-disabled-read-only",
    "store-disabled-permissions", "store-disabled", "deleted-during-upload",
    # 503: glance's own (store write refused, store timeout) or the proxy's (no live server)
    "write-denied", "store-timeout", "no-live-server", "keystone-failing", "503",
    # the connection to glance-api broke
    "bad-gateway", "reset-answer-lost", "connection-reset",
    # timeouts and hang-ups on the way
    "gateway-timeout", "request-timeout", "client-timeout", "client-disconnect", "size-mismatch-400",
    "unknown-store", "web-download-filtered",
    # the image itself tells: a saving that never ends is a dead worker
    "stuck-saving", "stuck-importing", "import-lock-preempted", "import-task-disk-full", "killed",
    # 500: the log says what broke
    "500-database-out-of-connections", "500-database-unreachable", "500-database-connection-lost",
    "500-database-deadlock", "500-database", "500-cinder-quota", "500-cinder-volume-type", "500-cinder-volume-stuck",
    "500-cinder-privsep", "500-cinder-keyring",
    # the s3 driver's own words (glance_store/_drivers/s3.py): before the generic disk-full and 500
    "500-s3-bucket-missing", "500-s3-quota", "500-s3-access-denied", "500-s3-bucket-refused",
    "500-s3-keys-refused",
    "500-read-only", "500-store-dir-missing", "500-ceph-blocked", "500-disk-full",
    "500-permissions", "500-worker-died", "500-body-unreadable", "500-quota", "500",
    # verification of what was stored
    "checksum", "no-data", "missing-hash", "wrong-store", "stuck",
    # reaching the API at all
    "unauthorized", "cannot-connect",
)

_BY_NAME: dict[str, Rule] = {rule.name: rule for cause in CAUSES for rule in cause.rules}
RULES: tuple[Rule, ...] = tuple(_BY_NAME[name] for name in PRECEDENCE)

FALLBACK = Rule("unexpected", "availability", "glance-api refused the upload with an unexpected answer",
                examples=("upload-twice-409", "upload-unknown-image-404"))


@dataclass(frozen=True)
class Classification:
    root_cause: str
    reason: str
    rules_matched: tuple[str, ...]
    fault: str | None = None            # the fault in the operator's words, when narrower than the cause
    remediation: tuple[str, ...] = ()   # what to do: the rule's own advice, else the cause's
    evidence: tuple[str, ...] = ()      # the log lines the deciding rule read

    @property
    def title(self) -> str:
        cause = BY_KEY.get(self.root_cause)
        return cause.title if cause else self.root_cause


def body_message(text: str, limit: int = 400) -> str:
    """The readable part of an error body (webob HTML, text/plain or JSON) on one line."""
    if not text:
        return ""
    # the status line is said elsewhere: drop webob's and HAProxy's <title>/<h1> and the
    # first line of webob's text/plain pages ("413 Request Entity Too Large\n\n...")
    text = re.sub(r"(?is)<head>.*?</head>|<title>.*?</title>|<h1>.*?</h1>", " ", text)
    text = re.sub(r"^\s*\d{3} [A-Za-z][A-Za-z -]*\r?\n\s*\r?\n", "", text)
    text = re.sub(r"(?i)<br\s*/?>", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def evidence_of(log_lines: Iterable[str]) -> tuple[list[str], frozenset[str]]:
    """The lines a rule may read (cause lines, and context no pattern knows such as the host
    checks' findings) and the root causes the cause lines name."""
    kept, causes = [], set()
    for line in log_lines:
        meaning = logscan.role_of(line)
        if meaning is None:
            kept.append(line)
        elif meaning.role == CAUSE:
            kept.append(line)
            causes.update(meaning.root_causes)
    return kept, frozenset(causes)


def _deciding_lines(rule: Rule, lines: list[str]) -> list[str]:
    """The lines that made `rule` match: its regex, its cause's patterns, else the first cause line."""
    if rule.log:
        return [line for line in lines if re.search(rule.log, line, re.I)]
    wanted = rule.log_cause
    found = [line for line in lines if (wanted in logscan.root_causes_of(line) if wanted
                                        else logscan.root_causes_of(line))]
    # no pattern knows the fault: Glance's own words for the failure are the best there is
    return found or [line for line in lines if _GLANCE_ERROR.search(line)]


_GLANCE_ERROR = re.compile(r"caught error: |unhandled error: |due to internal error: ", re.I)


_MESSAGE = re.compile(r"\] (?:caught error: |unhandled error: )?(.*)$", re.I)


def _quote(line: str, limit: int = 200) -> str:
    m = _MESSAGE.search(line)
    text = (m.group(1) if m else line).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def classify(http_status, body_text: str, image_record_after: dict | None, log_lines: Iterable[str],
             rules: tuple[Rule, ...] = RULES) -> Classification:
    """The root cause of a failed canary step (or of a user's failed upload): the first rule that
    matches wins.

    `http_status` is an HTTP code or one of the canary's pseudo-statuses ("connection-reset", ...);
    `log_lines` are the lines correlated with the request (by request id or image id) plus any
    context lines (host findings, start-up lines of the store's host).
    """
    lines = [str(line) for line in (log_lines or [])]
    evidence, causes = evidence_of(lines)
    image_status = (image_record_after or {}).get("status")
    matched = [rule for rule in rules if rule.matches(http_status, body_text or "", image_status, evidence, causes)]
    rule = matched[0] if matched else FALLBACK
    what = f"HTTP {http_status}" if isinstance(http_status, int) else str(http_status)
    detail = body_message(body_text or "", 240)
    deciding = _deciding_lines(rule, evidence) if (rule.log or rule.log_cause or rule.statuses == (500,)) else []
    reason = f"{rule.reason} ({what}{': ' + detail if detail else ''}"
    if image_status:
        reason += f"; image {image_status}"
    reason += ")"
    if deciding:
        reason += f"; the log says: {_quote(deciding[0])}"
    cause = BY_KEY.get(rule.root_cause)
    return Classification(rule.root_cause, reason, tuple(r.name for r in matched) or (FALLBACK.name,),
                          fault=rule.fault, remediation=rule.remediation or (cause.remediation if cause else ()),
                          evidence=tuple(deciding[:5]))


def cause_of_message(text: str) -> tuple[str, str] | None:
    """(root cause, why) for a message with no HTTP status, such as a failed task's: the first rule
    whose body regex it matches (its other conditions cannot be known), else a cause line's pattern."""
    if not text:
        return None
    for rule in RULES:
        if rule.body and not rule.log and not rule.log_cause and re.search(rule.body, text, re.I | re.S):
            return rule.root_cause, f"rule {rule.name}: {rule.reason}"
    causes = logscan.root_causes_of(text)
    if causes:
        return causes[0], f"a {causes[0]} log pattern matches it"
    return None
