"""What a pytest report carries out of the process, passed through `glance_hc.redact`.

No rule of its own: `glance_hc.redact` decides what is a secret; this module finds every
place a report holds text (captured output, the traceback, xfail reasons, user properties,
JUnit's suite properties) and sends it there. The plugin calls `redact_report` on every
test and collection report, so JUnit XML, pytest-html, the terminal and the collector
all read redacted fields.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from glance_hc.redact import clip, redact, redact_obj

# What a local or an argument may show of its value in a traceback (pytest's own bound).
TRACEBACK_VALUE_MAX = 240


def whole_values_longrepr(item: pytest.Item, excinfo):
    """The traceback rebuilt with whole locals and arguments, redacted, then cut.

    pytest cuts the repr of a local (`-l`) or an argument (long style) in the middle
    before any plugin sees it: the tail of a secret survives the cut with no name left
    in front of it to recognise. Rebuilt as with -vvv (nothing cut), each value is
    redacted first and cut after. None when pytest shows no values or cannot rebuild.
    """
    config = item.config
    if not (config.getoption("showlocals", False) or config.getoption("tbstyle", "auto") in ("auto", "long")):
        return None
    try:
        from _pytest._code import code as pytest_code  # noqa: PLC0415 - no public hook for this
        from _pytest._io.saferepr import saferepr  # noqa: PLC0415
    except ImportError:
        return None
    verbose, safeformat = config.option.verbose, getattr(pytest_code, "safeformat", None)
    config.option.verbose = max(verbose, 3)
    # Whole locals on one line each (pprint would split a long string into pieces at spaces:
    # a password holding spaces would then lose its name in front of its later words).
    pytest_code.safeformat = lambda value: saferepr(value, maxsize=None)
    try:
        longrepr = item.repr_failure(excinfo)
    except Exception:  # noqa: BLE001 - keep pytest's own traceback, redacted as text
        return None
    finally:
        config.option.verbose = verbose
        if safeformat is not None:
            pytest_code.safeformat = safeformat
    chain = getattr(longrepr, "chain", None) or [(getattr(longrepr, "reprtraceback", None), None, None)]
    for reprtraceback, _crash, _descr in chain:
        for entry in getattr(reprtraceback, "reprentries", None) or []:
            reprlocals = getattr(entry, "reprlocals", None)
            if reprlocals is not None:
                reprlocals.lines = [clip(line, TRACEBACK_VALUE_MAX) for line in reprlocals.lines]
            reprargs = getattr(entry, "reprfuncargs", None)
            if reprargs is not None:
                reprargs.args = [(name, clip(str(value), TRACEBACK_VALUE_MAX)) for name, value in reprargs.args]
    return longrepr



def redact_report(report):
    """The one choke point for what a report carries out of the process.

    JUnit XML (properties, failure and skip messages, system-out), pytest-html, the
    terminal and the collector's records all read these fields: captured output, the
    traceback, an xfail reason and every user property (``record_property`` and the
    suite's ``hc_*`` records: titles, commands, bodies, metric labels).
    """
    report.sections = [(header, redact(content)) for header, content in report.sections]
    report.longrepr = redacted_longrepr(report.longrepr)
    if isinstance(getattr(report, "wasxfail", None), str):
        report.wasxfail = redact(report.wasxfail)
    if getattr(report, "user_properties", None):
        report.user_properties = [
            (redact(str(name)), redact_property(value)) for name, value in report.user_properties
        ]
    return report


def redact_property(value):
    """A user property as it will be written: JUnit writes str(value), so an object
    the redaction cannot look into is turned into its redacted text."""
    if value is None or isinstance(value, (bool, int, float, str, dict, list, tuple)):
        return redact_obj(value)
    return redact(str(value))


def redact_junit_suite_properties(session: pytest.Session) -> None:
    """`record_testsuite_property` values go to junit.xml without a report: redact them
    before the junitxml plugin writes the file (its sessionfinish runs after the caller's)."""
    try:
        from _pytest.junitxml import xml_key  # noqa: PLC0415 - pytest's own key, no public API
    except ImportError:
        return
    xml = session.config.stash.get(xml_key, None)
    properties = getattr(xml, "global_properties", None)
    if properties:
        properties[:] = [(redact(str(name)), redact(str(value))) for name, value in properties]


@dataclass
class _CrashMessage:
    """Stands in for pytest's reprcrash: `-ra` and junitxml read `.message`."""

    path: str
    lineno: int
    message: str


class RedactedLongrepr:
    """A traceback whose text held a secret, shown as plain redacted text."""

    def __init__(self, text: str, reprcrash: _CrashMessage | None):
        self.text = text
        self.reprcrash = reprcrash

    def toterminal(self, tw) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def redacted_longrepr(longrepr):
    """Keep pytest's rich traceback unless redaction changes it (then plain text)."""
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, lineno, reason)
        path, lineno, reason = longrepr
        return (path, lineno, redact(str(reason)))
    text = str(longrepr)
    clean = redact(text)
    if clean == text:
        return longrepr
    crash = getattr(longrepr, "reprcrash", None)
    reprcrash = (
        _CrashMessage(str(crash.path), crash.lineno, redact(crash.message)) if crash is not None else None
    )
    return RedactedLongrepr(clean, reprcrash)
