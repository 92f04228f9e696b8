"""Tempest's results judged against the lab's expected outcome (the acceptance test's verdict).

Tempest's results come from its subunit stream (stestr's last run) as JUnit XML, never from its
prose. The expected outcome is data (lab/templates/tempest-expected.toml): the skips the lab
means (no Nova, no cache, no locations...) and Tempest's own quirks that fail here, each with
its reason and the words of Tempest's message it must match. Anything else fails the verdict,
and so does an entry that no longer matches anything (a quirk fixed, a test renamed), so the
list cannot go stale silently. Standard library only: it runs under Debian's python3.
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

# Tempest's test names carry their attributes: test_x[id-<uuid>,smoke]
_ATTRS = re.compile(r"^(?P<name>[^\[]+)(?P<attrs>\[.*\])?$")
# a class-level fixture as unittest names it: "setUpClass (tempest.api.image.v2.test_x.XTest)"
_FIXTURE = re.compile(r"^(?P<fixture>setUpClass|tearDownClass|setUpModule|tearDownModule) \((?P<owner>[^)]+)\)$")
_MESSAGE_CHARS = 600


@dataclasses.dataclass(frozen=True)
class Result:
    """One of Tempest's tests (or class fixtures) as the run ended it."""

    id: str          # tempest.api.image.v2.test_images.ImportImagesTest.test_image_glance_direct_import
    status: str      # passed | skipped | failed
    message: str = ""  # the skip reason, or the failure's whole text
    attrs: str = ""  # [id-<uuid>,smoke]
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Expectation:
    """An expected skip or an expected failure (quirk): which tests, why, and what Tempest says."""

    kind: str        # skip | failure
    test: str        # a test id, a module or class (every test in it), or a prefix ending in *
    reason: str
    match: str       # a regular expression searched in Tempest's message
    intermittent: bool = False  # a failure that may pass on a lucky run (never stale by passing)
    needs: str = ""  # a premise this run must confirm before the entry may excuse anything

    def names(self, test_id: str) -> bool:
        if self.test.endswith("*"):
            return test_id.startswith(self.test[:-1])
        return test_id == self.test or test_id.startswith(self.test + ".")

    def covers(self, result: Result) -> bool:
        return self.names(result.id) and re.search(self.match, result.message) is not None


@dataclasses.dataclass
class Verdict:
    results: list[Result]
    passed: list[Result] = dataclasses.field(default_factory=list)
    expected_skips: list[tuple[Result, Expectation]] = dataclasses.field(default_factory=list)
    expected_failures: list[tuple[Result, Expectation]] = dataclasses.field(default_factory=list)
    unexpected_failures: list[Result] = dataclasses.field(default_factory=list)
    unexpected_skips: list[Result] = dataclasses.field(default_factory=list)
    # an expected failure that passed (its quirk is gone), an entry that matched no test at all
    stale: list[tuple[Expectation, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.passed) and not (self.unexpected_failures or self.unexpected_skips or self.stale)


# ---------------------------------------------------------------- reading
def parse_junit(text: str) -> list[Result]:
    """subunit2junitxml's XML as Results; a class fixture's failure or skip keeps its own id
    (<class>.setUpClass), since it stands for every test of the class."""
    root = ET.fromstring(text)
    results = []
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        full = f"{classname}.{name}" if classname else name
        fixture = _FIXTURE.match(full)
        if fixture:
            test_id, attrs = f"{fixture['owner']}.{fixture['fixture']}", ""
        else:
            parts = _ATTRS.match(full)
            test_id, attrs = (parts["name"], parts["attrs"] or "") if parts else (full, "")
        status, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status, message = "failed", (child.text or child.get("message") or child.get("type") or "")
            elif child.tag == "skipped":
                status, message = "skipped", (child.text or child.get("message") or "")
        results.append(Result(test_id, status, message, attrs, float(case.get("time") or 0)))
    return results


def load_expected(path: Path) -> list[Expectation]:
    data = tomllib.loads(path.read_text())
    out = []
    for kind, table in (("skip", "skip"), ("failure", "failure")):
        for entry in data.get(table, []):
            missing = [k for k in ("test", "reason", "match") if not entry.get(k)]
            if missing:
                raise ValueError(f"{path}: a [[{table}]] entry lacks {', '.join(missing)}: {entry}")
            re.compile(entry["match"])
            out.append(Expectation(kind, entry["test"], entry["reason"], entry["match"],
                                   bool(entry.get("intermittent", False)), entry.get("needs", "")))
    return out


# ---------------------------------------------------------------- judging
def judge(results: list[Result], expected: list[Expectation]) -> Verdict:
    verdict = Verdict(results)
    used: set[int] = set()
    skips = [(i, e) for i, e in enumerate(expected) if e.kind == "skip"]
    failures = [(i, e) for i, e in enumerate(expected) if e.kind == "failure"]
    for result in results:
        if result.status == "passed":
            quirk = next(((i, e) for i, e in failures if result.id == e.test), None)
            if quirk and not quirk[1].intermittent:
                verdict.stale.append((quirk[1], f"{result.id} passed: its quirk is gone, take it off the list"))
            if quirk:
                used.add(quirk[0])
            verdict.passed.append(result)
        elif result.status == "skipped":
            found = next(((i, e) for i, e in skips if e.covers(result)), None)
            if found:
                used.add(found[0])
                verdict.expected_skips.append((result, found[1]))
            else:
                verdict.unexpected_skips.append(result)
        else:
            found = next(((i, e) for i, e in failures if e.covers(result)), None)
            if found:
                used.add(found[0])
                verdict.expected_failures.append((result, found[1]))
            else:
                verdict.unexpected_failures.append(result)
    for i, entry in enumerate(expected):
        if i not in used:
            verdict.stale.append((entry, f"expected {entry.kind} matched no test: renamed, gone, or its message changed?"))
    return verdict


# ---------------------------------------------------------------- saying it
def exception_text(message: str, limit: int = _MESSAGE_CHARS) -> str:
    """What Tempest's failure says, without its traceback's frames: the exception lines of the
    last traceback (Tempest's own Details: ... included), else the message's last lines."""
    lines = message.rstrip().splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")),
                default=None)
    if start is None:
        kept = [line for line in lines[-6:] if line.strip()]
    else:
        kept = [line for line in lines[start + 1:] if line.strip() and not line.startswith(" ")]
    text = " | ".join(line.strip() for line in kept)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def summary(verdict: Verdict, header: str) -> str:
    v = verdict
    counts = (f"passed {len(v.passed)}, skipped {len(v.expected_skips) + len(v.unexpected_skips)} "
              f"({len(v.unexpected_skips)} unexpected), expected failures {len(v.expected_failures)}, "
              f"unexpected failures {len(v.unexpected_failures)}, stale expectations {len(v.stale)}")
    lines = [header, f"{counts}: {'PASS' if v.ok else 'FAIL'}"]
    if not v.results:
        lines.append("Tempest reported no test at all")
    elif not v.passed:
        lines.append("no test passed")

    def section(title: str, rows: list[str]) -> None:
        if rows:
            lines.extend(["", f"{title}:", *rows])

    section("unexpected failures (the lab's fault until shown otherwise)",
            [f"  {r.id}{r.attrs}\n    {exception_text(r.message)}" for r in v.unexpected_failures])
    section("unexpected skips (not in the expected list)",
            [f"  {r.id}\n    {exception_text(r.message)}" for r in v.unexpected_skips])
    section("stale expectations (lab/templates/tempest-expected.toml)",
            [f"  {e.test}: {why}" for e, why in v.stale])
    section("expected failures (Tempest's quirks, or what the lab cannot have)",
            [f"  {r.id}: {e.reason}" for r, e in v.expected_failures])
    reasons: dict[str, list[str]] = {}
    for r, e in v.expected_skips:
        reasons.setdefault(e.reason, []).append(r.id)
    section("expected skips", [f"  {len(ids)} x {reason}" for reason, ids in reasons.items()])
    return "\n".join(lines) + "\n"
