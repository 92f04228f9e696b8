"""pytest-html 4.x hooks: our summary above its table, our columns, extras and redaction.

Registered by the plugin only when pytest-html is loaded (its hookspecs exist only then).
pytest-html inserts cells, extras and environment values as html: everything put there
is redacted and escaped here.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pytest

from glance_hc.redact import MASK, is_secret_name, redact, redact_obj
from glance_hc.report.html import (
    escape_text,
    evidence_html,
    evidence_text,
    metadata_html,
    remediation_html,
    render_summary_html,
    skip_html,
)
from glance_hc.report.records import check_identity, evidence_of, skip_reason

if TYPE_CHECKING:
    from glance_hc.report.collector import HealthCollector


class HtmlReportHooks:
    """pytest-html 4.x hooks; registered only when pytest-html is loaded."""

    def __init__(self, collector: HealthCollector):
        self.collector = collector

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session) -> None:
        """pytest-metadata's environment table is a report too (CI variables land in it)."""
        try:
            from pytest_metadata.plugin import metadata_key  # noqa: PLC0415
        except ImportError:
            return
        metadata = session.config.stash.get(metadata_key, None)
        if isinstance(metadata, dict):
            for key, value in list(metadata.items()):
                if isinstance(key, str) and is_secret_name(key) and value not in (None, ""):
                    metadata[key] = MASK
                else:
                    metadata[key] = metadata_html(redact_obj(value))

    def pytest_html_report_title(self, report) -> None:
        report.title = "Glance upload health"

    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        prefix.extend(render_summary_html(self.collector))

    def pytest_html_results_table_header(self, cells) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="rootCause">Root cause</th>')
        cells.insert(3, '<th class="sortable" data-column-type="target">Target</th>')

    def pytest_html_results_table_row(self, report, cells) -> None:
        # pytest-html puts the node id in as html; a test id made from a remote
        # config (a store name) must stay text.
        test_id = report.nodeid if report.when in ("call", None) else f"{report.nodeid}::{report.when}"
        for index, cell in enumerate(cells):
            if cell.startswith('<td class="col-testId">'):
                cells[index] = f'<td class="col-testId">{escape_text(test_id)}</td>'
        root_cause = getattr(report, "hc_root_cause", None) or ""
        target = getattr(report, "hc_target", None) or ""
        cells.insert(2, f'<td class="col-rootCause">{escape_text(root_cause)}</td>')
        cells.insert(3, f'<td class="col-target">{escape_text(target)}</td>')

    def pytest_html_results_table_html(self, report, data) -> None:
        """The log pane shows the traceback and captured output: redact those too."""
        data[:] = [html.escape(redact(html.unescape(chunk))) for chunk in data]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        report = yield
        # pytest-html shows the call row, plus setup/teardown rows that did not pass.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._attach_extras(item, report)
        elif report.when == "teardown" and report.failed:
            self._attach_extras(item, report, with_evidence=False)
        return report

    def _attach_extras(self, item, report, with_evidence: bool = True) -> None:
        from pytest_html import extras  # noqa: PLC0415 - only importable when pytest-html is installed

        attached = list(getattr(report, "extras", []))
        if with_evidence:
            for entry in evidence_of(report.user_properties):
                attached.append(extras.html(evidence_html(entry)))
                attached.append(extras.text(evidence_text(entry), name=escape_text(entry["title"])))
        if report.failed:
            errored = report.when != "call"
            attached.append(extras.html(remediation_html(check_identity(item)["root_cause"], errored)))
        elif report.skipped:
            attached.append(extras.html(skip_html(skip_reason(report))))
        report.extras = attached
