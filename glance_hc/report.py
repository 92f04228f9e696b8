"""The report plugin: one verdict, per-check records, and what to do next.

An operator reads the verdict and the root cause x target matrix; automation
reads `health.json` and the node_exporter textfile. All three come from the same
per-check records, and everything in them passes through `glance_hc.redact`.

Contracts with checks and fixtures (see docs/design.md):
  * root cause = first marker of the item that is a key of `ROOT_CAUSES`;
    scope = the `host` or `api` marker;
  * user properties ``hc_target``, ``hc_store``, ``hc_evidence`` (dict: title,
    command, body) and ``hc_metric`` (dict: name, value, unit, labels);
  * run context: ``context(config)`` returns the dict fixtures fill in.

pytest-html is optional: its hooks live on `HtmlReportHooks`, which is only
registered when the html plugin (and so its hookspecs) is loaded.
"""
from __future__ import annotations

import datetime
import html
import json
import math
import os
import re
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from glance_hc.catalogue import API_SCOPE, HOST_SCOPE, ROOT_CAUSES
from glance_hc.redact import redact, redact_obj

CONTEXT_KEY = pytest.StashKey[dict]()
COLLECTOR_PLUGIN_NAME = "glance_hc_health_collector"
HTML_HOOKS_PLUGIN_NAME = "glance_hc_html_hooks"

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"
HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN = "healthy", "degraded", "unhealthy", "unknown"
VERDICTS = (HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN)

# node_exporter reads the textfile as a gauge per check.
PROM_STATUS = {PASSED: 1, FAILED: 0, ERROR: 0, SKIPPED: -1}

# Keep failure messages short: the full traceback is in the html log.
MESSAGE_MAX_LINES = 12
MESSAGE_MAX_CHARS = 2000


def context(config: pytest.Config) -> dict:
    """The run-context dict fixtures fill in (hosts, cloud, deployment, thresholds...)."""
    return config.stash.setdefault(CONTEXT_KEY, {})


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
    target = properties.get("hc_target")
    if target is None and scope == API_SCOPE:
        target = "api"
    return {
        "root_cause": root_cause,
        "scope": scope,
        "target": None if target is None else str(target),
        "store": None if properties.get("hc_store") is None else str(properties["hc_store"]),
    }


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
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if crash is None:
        lines = lines[-MESSAGE_MAX_LINES:]
    text = "\n".join(lines[:MESSAGE_MAX_LINES])
    if len(text) > MESSAGE_MAX_CHARS:
        text = text[: MESSAGE_MAX_CHARS - 3] + "..."
    return text


def skip_reason(report) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}".rstrip(": ")
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = report.longreprtext or ""
    return reason.removeprefix("Skipped: ")


class HealthCollector:
    """Builds one record per check from the reports and writes the outputs."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[str, CheckRecord] = {}
        self.started_at = datetime.datetime.now(datetime.timezone.utc)
        self._started_monotonic = time.monotonic()
        self.duration = 0.0
        self.exitstatus: int | None = None
        self.written: list[Path] = []

    # -- collecting -------------------------------------------------------
    def _record_for(self, nodeid: str) -> CheckRecord:
        if nodeid not in self.records:
            self.records[nodeid] = CheckRecord(nodeid=nodeid)
        return self.records[nodeid]

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome == "rerun":
            return
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
            record = self._record_for(report.nodeid or "<collection>")
            record.outcome = ERROR
            record.message = f"collection error: {short_failure_message(report)}"

    # -- results ----------------------------------------------------------
    @property
    def verdict(self) -> str:
        return compute_verdict(record.outcome for record in self.records.values())

    def summary(self) -> dict[str, int]:
        counts = Counter(record.outcome for record in self.records.values())
        return {
            "total": len(self.records),
            **{outcome: counts.get(outcome, 0) for outcome in (PASSED, FAILED, SKIPPED, ERROR)},
        }

    def check_dicts(self) -> list[dict]:
        """Redacted records: the only form that leaves this process."""
        return redact_obj([record.as_dict() for record in self.records.values()])

    def health_document(self) -> dict:
        return {
            "verdict": self.verdict,
            "started": self.started_at.isoformat(timespec="seconds"),
            "duration": round(self.duration, 3),
            "exit_status": self.exitstatus,
            "context": redact_obj(_jsonable(context(self.config))),
            "summary": self.summary(),
            "checks": self.check_dicts(),
        }

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        self.duration = time.monotonic() - self._started_monotonic
        self.exitstatus = int(exitstatus)
        if hasattr(self.config, "workerinput"):  # xdist worker: the controller writes
            return
        if self.config.option.collectonly:  # nothing ran: keep the last real verdict
            return
        health_json = self.config.getoption("health_json")
        if health_json:
            path = self._output_path(health_json)
            _write_atomically(path, json.dumps(self.health_document(), indent=2, default=str) + "\n")
            self.written.append(path)
        prom_textfile = self.config.getoption("prom_textfile")
        if prom_textfile:
            path = self._output_path(prom_textfile)
            _write_atomically(path, render_prom_textfile(self))
            self.written.append(path)

    def pytest_terminal_summary(self, terminalreporter) -> None:
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


def _jsonable(obj):
    """Context values come from fixtures; make sure json.dumps will not choke."""
    return json.loads(json.dumps(obj, default=str))


def _write_atomically(path: Path, text: str) -> None:
    """Readers (node_exporter, CI) must never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------
# node_exporter textfile

_PROM_NAME_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_PROM_LABEL_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def prom_metric_name(name: str) -> str:
    name = _PROM_NAME_INVALID.sub("_", name)
    if not name.startswith("glance_hc_"):
        name = f"glance_hc_{name}"
    return name


def prom_label_name(name: str) -> str:
    name = _PROM_LABEL_INVALID.sub("_", name) or "_"
    return f"_{name}" if name[0].isdigit() else name


def prom_escape(value: str) -> str:
    """Label value escaping of the text exposition format: backslash, quote, newline."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prom_labels(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    body = ",".join(f'{prom_label_name(k)}="{prom_escape(v)}"' for k, v in labels.items())
    return "{" + body + "}"


def prom_value(value) -> str | None:
    if isinstance(value, bool):
        value = int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return repr(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def render_prom_textfile(collector: HealthCollector) -> str:
    """Families are written whole (HELP, TYPE, samples) as the format requires."""
    checks = collector.check_dicts()
    lines = [
        "# HELP glance_hc_check_status Result of one health check: 1 passed, 0 failed or error, -1 skipped.",
        "# TYPE glance_hc_check_status gauge",
    ]
    for check in checks:
        labels = {
            "check": check["nodeid"],
            "root_cause": check["root_cause"] or "",
            "target": check["target"] or "",
            "store": check["store"] or "",
        }
        lines.append(f"glance_hc_check_status{prom_labels(labels)} {PROM_STATUS[check['outcome']]}")

    verdict = collector.verdict
    lines += [
        "# HELP glance_hc_verdict Overall verdict of the last run (1 on the current verdict).",
        "# TYPE glance_hc_verdict gauge",
    ]
    lines += [
        f'glance_hc_verdict{{verdict="{name}"}} {int(name == verdict)}' for name in VERDICTS
    ]
    summary = collector.summary()
    lines += [
        "# HELP glance_hc_checks Number of checks by outcome in the last run.",
        "# TYPE glance_hc_checks gauge",
    ]
    lines += [
        f'glance_hc_checks{{outcome="{outcome}"}} {summary[outcome]}'
        for outcome in (PASSED, FAILED, SKIPPED, ERROR)
    ]
    lines += [
        "# HELP glance_hc_last_run_timestamp_seconds When the last run started; alert when stale.",
        "# TYPE glance_hc_last_run_timestamp_seconds gauge",
        f"glance_hc_last_run_timestamp_seconds {collector.started_at.timestamp():.3f}",
        "# HELP glance_hc_run_duration_seconds How long the last run took.",
        "# TYPE glance_hc_run_duration_seconds gauge",
        f"glance_hc_run_duration_seconds {collector.duration:.3f}",
    ]

    # Check metrics: one family per name; the check's target and store are added
    # as labels when missing so the same metric from two hosts does not collide.
    families: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    units: dict[str, str] = {}
    for check in checks:
        for metric in check["metrics"]:
            value = prom_value(metric["value"])
            if value is None:
                continue
            name = prom_metric_name(metric["name"])
            labels = dict(metric["labels"])
            if check["target"] and "target" not in labels:
                labels["target"] = check["target"]
            if check["store"] and "store" not in labels:
                labels["store"] = check["store"]
            label_text = prom_labels(dict(sorted(labels.items())))
            families[name][label_text] = (label_text, value)  # last sample wins
            if metric["unit"]:
                units.setdefault(name, str(metric["unit"]))
    for name, samples in families.items():
        unit = units.get(name)
        help_text = f"Measured by the health checks (unit: {unit})." if unit else "Measured by the health checks."
        lines += [f"# HELP {name} {prom_escape(help_text)}", f"# TYPE {name} gauge"]
        lines += [f"{name}{label_text} {value}" for label_text, value in samples.values()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# pytest hooks of the module


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
    # pytest-html's hookspecs exist only when it is loaded; unknown pytest_html_*
    # hooks would fail validation, hence the separate, conditional object.
    if config.pluginmanager.hasplugin("html"):
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
        setattr(report, f"hc_{name}", value)
    report.sections = [(header, redact(content)) for header, content in report.sections]
    report.longrepr = redacted_longrepr(report.longrepr)
    return report


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


# --------------------------------------------------------------------------
# pytest-html 4.x

_VERDICT_COLOURS = {
    HEALTHY: "#2e7d32",
    DEGRADED: "#ef8f00",
    UNHEALTHY: "#c62828",
    UNKNOWN: "#616161",
}
_CELL_COLOURS = {"fail": "#f8d7da", "skip": "#fff3cd", "pass": "#d4edda", "none": "#f5f5f5"}

_HC_STYLE = """<style>
.hc-verdict{font-size:2em;font-weight:bold;color:#fff;padding:.5em 1em;margin:.5em 0;border-radius:6px}
.hc-matrix{border-collapse:collapse;margin:.5em 0}
.hc-matrix th,.hc-matrix td{border:1px solid #ccc;padding:.3em .6em;text-align:center}
.hc-matrix th[scope=row]{text-align:left}
.hc-matrix a{color:inherit;text-decoration:none;display:block}
.hc-cell-checks{margin:.3em 0}
.hc-kv{border-collapse:collapse}
.hc-kv th,.hc-kv td{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.hc-evidence pre,.hc-block pre{max-height:24em;overflow:auto;background:#f7f7f7;padding:.5em;white-space:pre-wrap}
</style>"""

NO_TARGET = "n/a"


def _esc(value) -> str:
    """Every string that reaches html: redacted first, then escaped."""
    return html.escape(redact("" if value is None else str(value)))


def _anchor(root_cause: str, target: str) -> str:
    return "hc-cell-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{root_cause}--{target}")


def _cell_state(counts: Counter) -> str:
    if counts[FAILED] or counts[ERROR]:
        return "fail"
    if counts[SKIPPED]:
        return "skip"
    if counts[PASSED]:
        return "pass"
    return "none"


def matrix_targets(checks: list[dict], run_context: dict) -> list[str]:
    """Hosts first (from the context, then any the checks ran on), "api" last."""
    targets: list[str] = []
    hosts = run_context.get("hosts") if isinstance(run_context, dict) else None
    if isinstance(hosts, dict):
        hosts = list(hosts)
    for host in hosts or []:
        if str(host) not in targets:
            targets.append(str(host))
    for check in checks:
        target = check["target"] or NO_TARGET
        if target not in targets and target != "api":
            targets.append(target)
    targets.append("api")
    return targets


def render_summary_html(collector: HealthCollector) -> list[str]:
    """Verdict banner, matrix, checks per cell, run context and figures."""
    checks = collector.check_dicts()
    run_context = redact_obj(_jsonable(context(collector.config)))
    verdict = collector.verdict
    summary = collector.summary()
    parts = [_HC_STYLE]

    parts.append(
        f'<div class="hc-verdict hc-verdict--{_esc(verdict)}" '
        f'style="background:{_VERDICT_COLOURS[verdict]}">Glance upload health: {_esc(verdict.upper())}'
        f'<div style="font-size:.45em;font-weight:normal">'
        f"{summary[PASSED]} passed, {summary[FAILED]} failed, {summary[ERROR]} errors, "
        f"{summary[SKIPPED]} skipped</div></div>"
    )

    targets = matrix_targets(checks, run_context)
    root_causes = list(ROOT_CAUSES)
    if any(check["root_cause"] is None for check in checks):
        root_causes.append("")
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for check in checks:
        cells[(check["root_cause"] or "", check["target"] or NO_TARGET)].append(check)

    rows = ["<tr><th>Root cause</th>" + "".join(f"<th>{_esc(t)}</th>" for t in targets) + "</tr>"]
    for key in root_causes:
        cause = ROOT_CAUSES.get(key)
        label = f"{cause.title} ({key})" if cause else "unclassified"
        row = [f'<th scope="row">{_esc(label)}</th>']
        for target in targets:
            in_cell = cells.get((key, target), [])
            counts = Counter(check["outcome"] for check in in_cell)
            state = _cell_state(counts)
            if not in_cell:
                row.append(f'<td class="hc-cell hc-cell--none" style="background:{_CELL_COLOURS["none"]}">-</td>')
                continue
            text = (
                f"{counts[PASSED]} pass / {counts[FAILED] + counts[ERROR]} fail / {counts[SKIPPED]} skip"
            )
            row.append(
                f'<td class="hc-cell hc-cell--{state}" style="background:{_CELL_COLOURS[state]}">'
                f'<a href="#{_anchor(key, target)}">{text}</a></td>'
            )
        rows.append("<tr>" + "".join(row) + "</tr>")
    parts.append('<h2>Root cause x target</h2><table class="hc-matrix">' + "".join(rows) + "</table>")

    listing = []
    for (key, target), in_cell in cells.items():
        items = "".join(
            f"<li><b>{_esc(check['outcome'])}</b> {_esc(check['nodeid'])}"
            + (f" - {_esc(check['message'].splitlines()[0])}" if check["message"] else "")
            + "</li>"
            for check in in_cell
        )
        listing.append(
            f'<div class="hc-cell-checks" id="{_anchor(key, target)}">'
            f"<b>{_esc(key or 'unclassified')} on {_esc(target)}</b><ul>{items}</ul></div>"
        )
    if listing:
        # Not collapsed: the matrix cells link here and a closed <details> hides the target.
        parts.append('<h3>Checks by cell</h3><div class="hc-cell-list">' + "".join(listing) + "</div>")

    if run_context:
        context_rows = "".join(
            f"<tr><th>{_esc(key)}</th><td>{_context_value_html(value)}</td></tr>"
            for key, value in run_context.items()
        )
        parts.append(f'<h2>Run context</h2><table class="hc-kv">{context_rows}</table>')

    figures = [
        (check, metric) for check in checks for metric in check["metrics"]
    ]
    if figures:
        figure_rows = "".join(
            f"<tr><td>{_esc(metric['name'])}</td><td>{_esc(metric['value'])}</td>"
            f"<td>{_esc(metric['unit'])}</td>"
            f"<td>{_esc(', '.join(f'{k}={v}' for k, v in metric['labels'].items()))}</td>"
            f"<td>{_esc(check['target'])}</td><td>{_esc(check['nodeid'])}</td></tr>"
            for check, metric in figures
        )
        parts.append(
            '<h2>Figures</h2><table class="hc-kv"><tr><th>Metric</th><th>Value</th>'
            "<th>Unit</th><th>Labels</th><th>Target</th><th>Check</th></tr>"
            f"{figure_rows}</table>"
        )
    return parts


def _context_value_html(value) -> str:
    if isinstance(value, (dict, list)):
        return f"<pre>{_esc(json.dumps(value, indent=2, default=str))}</pre>"
    return _esc(value)


def evidence_html(entry: dict) -> str:
    command = f"<div><code>$ {_esc(entry['command'])}</code></div>" if entry["command"] else ""
    return (
        f'<div class="hc-evidence"><h4>{_esc(entry["title"])}</h4>{command}'
        f"<pre>{_esc(entry['body'])}</pre></div>"
    )


def evidence_text(entry: dict) -> str:
    command = f"$ {entry['command']}\n" if entry["command"] else ""
    return redact(command + entry["body"])


def remediation_html(root_cause: str | None, errored: bool) -> str:
    cause = ROOT_CAUSES.get(root_cause or "")
    if cause is None:
        return (
            '<div class="hc-block"><h4>Remediation</h4><p>This check has no root-cause '
            "marker, so there is no runbook entry for it.</p></div>"
        )
    note = (
        "<p><i>The check errored before it could judge; fix what stopped it, then:</i></p>"
        if errored
        else ""
    )
    steps = "".join(f"<li>{_esc(step)}</li>" for step in cause.remediation)
    return (
        f'<div class="hc-block hc-remediation"><h4>Remediation: {_esc(cause.title)}</h4>'
        f"<p>{_esc(cause.runbook_step)}. {_esc(cause.symptom)}</p>{note}<ol>{steps}</ol></div>"
    )


def skip_html(reason: str) -> str:
    return (
        '<div class="hc-block hc-skip"><h4>Skipped: this check could not look</h4>'
        f"<pre>{_esc(reason)}</pre></div>"
    )


class HtmlReportHooks:
    """pytest-html 4.x hooks; registered only when pytest-html is loaded."""

    def __init__(self, collector: HealthCollector):
        self.collector = collector

    def pytest_html_report_title(self, report) -> None:
        report.title = "Glance upload health"

    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        prefix.extend(render_summary_html(self.collector))

    def pytest_html_results_table_header(self, cells) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="rootCause">Root cause</th>')
        cells.insert(3, '<th class="sortable" data-column-type="target">Target</th>')

    def pytest_html_results_table_row(self, report, cells) -> None:
        root_cause = getattr(report, "hc_root_cause", None) or ""
        target = getattr(report, "hc_target", None) or ""
        cells.insert(2, f'<td class="col-rootCause">{_esc(root_cause)}</td>')
        cells.insert(3, f'<td class="col-target">{_esc(target)}</td>')

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
        from pytest_html import extras  # only importable when pytest-html is installed

        attached = list(getattr(report, "extras", []))
        if with_evidence:
            for entry in evidence_of(report.user_properties):
                attached.append(extras.html(evidence_html(entry)))
                attached.append(extras.text(evidence_text(entry), name=_esc(entry["title"])))
        if report.failed:
            errored = report.when != "call"
            attached.append(extras.html(remediation_html(check_identity(item)["root_cause"], errored)))
        elif report.skipped:
            attached.append(extras.html(skip_html(skip_reason(report))))
        report.extras = attached
