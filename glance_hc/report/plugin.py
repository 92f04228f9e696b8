"""The report's pytest hooks: options, the collector, and redaction of every report.

Each test and collection report is tagged with what its check is about (root cause, scope,
target, store) and passed through `scrub.redact_report` before any output reads it; the
collector and, when pytest-html is loaded, its hooks are registered for the run.
"""
from __future__ import annotations

import pytest

from glance_hc import history  # run history, forecasts (issue 22)
from glance_hc.redact import redact
from glance_hc.report.collector import HealthCollector
from glance_hc.report.context import context
from glance_hc.report.records import check_identity
from glance_hc.report.scrub import redact_junit_suite_properties, redact_report, whole_values_longrepr

COLLECTOR_PLUGIN_NAME = "glance_hc_health_collector"
HTML_HOOKS_PLUGIN_NAME = "glance_hc_html_hooks"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("glance_hc", "Glance health report")
    group.addoption(
        "--health-json",
        dest="health_json",
        metavar="PATH",
        default="reports/health.json",
        help="write the verdict and per-check records as JSON (default: %(default)s; '' to disable).",
    )
    group.addoption(
        "--prom-textfile",
        dest="prom_textfile",
        metavar="PATH",
        default=None,
        help="also write a node_exporter textfile collector file (written atomically).",
    )


def pytest_configure(config: pytest.Config) -> None:
    collector = HealthCollector(config)
    config.pluginmanager.register(collector, COLLECTOR_PLUGIN_NAME)
    context(config)  # exists from the start, so config.stash[CONTEXT_KEY] never raises
    if not config.pluginmanager.is_registered(history):  # forecast checks need --history (issue 22)
        config.pluginmanager.register(history, "glance_hc.history")
    # pytest-html's hookspecs exist only when it is loaded; unknown pytest_html_*
    # hooks would fail validation, hence the separate, conditional object.
    if config.pluginmanager.hasplugin("html"):
        from glance_hc.report.html_hooks import HtmlReportHooks  # noqa: PLC0415 - only with pytest-html

        config.pluginmanager.register(HtmlReportHooks(collector), HTML_HOOKS_PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in (HTML_HOOKS_PLUGIN_NAME, COLLECTOR_PLUGIN_NAME):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Tag each report with what the check is about, for the collector and the html rows.

    Captured output (stdout, stderr, log) is redacted here so that no report,
    the terminal included, shows a secret a check happened to print.
    """
    report = yield
    for name, value in check_identity(item).items():
        setattr(report, f"hc_{name}", None if value is None else redact(value))
    if report.failed and call.excinfo is not None and not isinstance(report.longrepr, (str, tuple)):
        report.longrepr = whole_values_longrepr(item, call.excinfo) or report.longrepr
    return redact_report(report)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A module that fails to import shows its traceback (and any secret in it) too."""
    return redact_report((yield))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Before the junitxml plugin writes its file (its sessionfinish runs after this one)."""
    redact_junit_suite_properties(session)
