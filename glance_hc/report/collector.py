"""The collector: builds one record per check from pytest's reports and writes the outputs.

Registered by the plugin for the run; health.json, the node_exporter textfile and the
html summary all read its records, redacted (`check_dicts`).
"""
from __future__ import annotations

import copy
import datetime
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from glance_hc import history  # run history, forecasts (issue 22)
from glance_hc.redact import redact_obj
from glance_hc.report import json_out, prometheus
from glance_hc.report.context import complete_context
from glance_hc.report.files import write_atomically
from glance_hc.report.records import (
    DEGRADED,
    ERROR,
    FAILED,
    HEALTHY,
    PASSED,
    SKIPPED,
    UNHEALTHY,
    UNKNOWN,
    CheckRecord,
    compute_verdict,
    short_failure_message,
    skip_reason,
)


class HealthCollector:
    """Builds one record per check from the reports and writes the outputs."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[str, CheckRecord] = {}
        self.started_at = datetime.datetime.now(datetime.UTC)
        self._started_monotonic = time.monotonic()
        self.duration = 0.0
        self.exitstatus: int | None = None
        self.interrupted = False
        self.written: list[Path] = []
        self._redacted: tuple[int, list[dict]] | None = None  # check_dicts() for one state of records
        self._changes = 0  # bumped whenever a record changes

    # -- collecting -------------------------------------------------------
    def _record_for(self, nodeid: str) -> CheckRecord:
        if nodeid not in self.records:
            self.records[nodeid] = CheckRecord(nodeid=nodeid)
        return self.records[nodeid]

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome == "rerun":
            return
        self._changes += 1
        record = self._record_for(report.nodeid)
        record.duration += report.duration
        record.user_properties = list(report.user_properties)
        for name in ("root_cause", "scope", "target", "store"):
            value = getattr(report, f"hc_{name}", None)
            if value is not None:
                setattr(record, name, value)

        if report.when == "call":
            if report.failed:
                record.outcome, record.message = FAILED, short_failure_message(report)
            elif report.skipped:
                record.outcome, record.message = SKIPPED, skip_reason(report)
        elif report.failed and record.outcome not in (FAILED, ERROR):
            record.outcome = ERROR
            record.message = f"error in {report.when}: {short_failure_message(report)}"
        elif report.when == "setup" and report.skipped:
            record.outcome, record.message = SKIPPED, skip_reason(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A check module that does not import is a broken check, not a healthy one."""
        if report.failed:
            self._changes += 1
            record = self._record_for(report.nodeid or "<collection>")
            record.outcome = ERROR
            record.message = f"collection error: {short_failure_message(report)}"

    # -- results ----------------------------------------------------------
    @property
    def verdict(self) -> str:
        if self.interrupted:
            return UNKNOWN  # a run cut short by Ctrl-C or SIGTERM proves nothing either way
        return compute_verdict(record.outcome for record in self.records.values())

    def summary(self) -> dict[str, int]:
        counts = Counter(record.outcome for record in self.records.values())
        return {
            "total": len(self.records),
            **{outcome: counts.get(outcome, 0) for outcome in (PASSED, FAILED, SKIPPED, ERROR)},
        }

    def check_dicts(self) -> list[dict]:
        """Redacted records: the only form that leaves this process.

        health.json, the textfile, the history and the html summary each ask for them at the end
        of a run: they are redacted once per state of the records (a fleet's run has ~60 strings
        per record to scan), and each caller gets its own copy."""
        if self._redacted is None or self._redacted[0] != self._changes:
            self._redacted = (self._changes, redact_obj([record.as_dict() for record in self.records.values()]))
        return copy.deepcopy(self._redacted[1])

    def health_document(self) -> dict:
        """health.json's document (with --history, its `changes` and `forecasts` blocks too)."""
        return json_out.health_document(self)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        # pytest also stops on collection errors through Session.Interrupted: that run is judged
        self.interrupted = not isinstance(excinfo.value, pytest.Session.Interrupted)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        self.duration = time.monotonic() - self._started_monotonic
        self.exitstatus = int(exitstatus)
        if hasattr(self.config, "workerinput"):  # xdist worker: the controller writes
            return
        complete_context(self.config)
        if self.config.option.collectonly:  # nothing ran: keep the last real verdict
            return
        health_json = self.config.getoption("health_json")
        if health_json:
            path = self._output_path(health_json)
            write_atomically(path, json_out.render(self.health_document()))
            self.written.append(path)
        prom_textfile = self.config.getoption("prom_textfile")
        if prom_textfile:
            path = self._output_path(prom_textfile)
            write_atomically(path, prometheus.render_textfile(self))
            self.written.append(path)
        if history.record(self.config, self.health_document()):  # --history DIR keeps this run
            self.written.append(history.of(self.config).saved)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.records and not any(r.root_cause for r in self.records.values()):
            return  # no health check ran (the suite's own tests): no verdict to give
        verdict = self.verdict
        markup = {"red": verdict == UNHEALTHY, "yellow": verdict in (DEGRADED, UNKNOWN)}
        markup["green"] = verdict == HEALTHY
        terminalreporter.write_sep("=", f"Glance upload health: {verdict.upper()}", **markup)
        for path in self.written:
            terminalreporter.write_line(f"written: {path}")

    def _output_path(self, value: str) -> Path:
        path = Path(os.path.expandvars(value)).expanduser()
        if not path.is_absolute():
            path = self.config.invocation_params.dir / path
        return path

