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
import importlib.metadata
import json
import math
import os
import platform
import re
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from glance_hc import history, trends  # run history, forecasts, pictures (issue 22)
from glance_hc.catalogue import API_SCOPE, HOST_SCOPE, ROOT_CAUSES
from glance_hc.sizes import KIB, human
from glance_hc.redact import MASK, clip, is_secret_name, redact, redact_obj

CONTEXT_KEY = pytest.StashKey[dict]()
# A canary that failed names the root cause it classified; the report files it there.
ROOT_CAUSE_OVERRIDE = "hc_root_cause_override"
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


# Distributions whose versions the report names (the Glance version comes from
# the hosts or the cloud, where fixtures record it).
VERSIONED_DISTRIBUTIONS = ("pytest", "pytest-html", "pytest-testinfra", "openstacksdk")
_SUITE_ROOT = Path(__file__).resolve().parents[1]


def suite_version() -> str:
    """glance_hc.__version__ when set, else the checkout's `git describe`."""
    import glance_hc  # noqa: PLC0415 - the package this module belongs to

    version = getattr(glance_hc, "__version__", None)
    if version:
        return str(version)
    try:
        out = subprocess.run(
            ["git", "-C", str(_SUITE_ROOT), "describe", "--always", "--dirty", "--tags"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git {out.stdout.strip()}" if out.returncode == 0 and out.stdout.strip() else "unknown"


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _glance_version(ctx: dict) -> str | None:
    """Glance's version where a fixture recorded it: per host, or for the cloud."""
    found = []
    hosts = ctx.get("hosts")
    if isinstance(hosts, dict):
        for name, info in hosts.items():
            if isinstance(info, dict) and info.get("glance_version"):
                found.append(f"{info['glance_version']} on {name}")
    cloud = ctx.get("cloud")
    if isinstance(cloud, dict):
        for key in ("glance_version", "image_api_version"):
            if cloud.get(key):
                found.append(f"{key.replace('_', ' ')} {cloud[key]}")
    return ", ".join(found) or None


def _thresholds_in_force(config: pytest.Config) -> dict | None:
    """The suite's thresholds as given (ini or flag), when fixtures did not record them."""
    options = config.pluginmanager.get_plugin("glance_hc.fixtures.options")
    names = getattr(options, "THRESHOLDS", None)
    raw_threshold = getattr(options, "raw_threshold", None)
    if not names or raw_threshold is None:
        return None
    try:
        return {name: raw_threshold(config, name) for name in names}
    except Exception:  # noqa: BLE001 - the report must not fail for want of a table row
        return None


def complete_context(config: pytest.Config) -> dict:
    """Add what every run has to the context: thresholds in force and versions."""
    ctx = context(config)
    if "thresholds" not in ctx:
        thresholds = _thresholds_in_force(config)
        if thresholds:
            ctx["thresholds"] = thresholds
    versions = ctx.setdefault("versions", {})
    if isinstance(versions, dict):
        versions.setdefault("suite", suite_version())
        versions.setdefault("python", platform.python_version())
        for name in VERSIONED_DISTRIBUTIONS:
            versions.setdefault(name, _distribution_version(name))
        glance = _glance_version(ctx)
        if glance:
            versions.setdefault("glance", glance)
    return ctx


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


class HealthCollector:
    """Builds one record per check from the reports and writes the outputs."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[str, CheckRecord] = {}
        self.started_at = datetime.datetime.now(datetime.timezone.utc)
        self._started_monotonic = time.monotonic()
        self.duration = 0.0
        self.exitstatus: int | None = None
        self.interrupted = False
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
        """Redacted records: the only form that leaves this process."""
        return redact_obj([record.as_dict() for record in self.records.values()])

    def health_document(self) -> dict:
        return history.annotate(self.config, {  # + the `changes` and `forecasts` blocks with --history
            "verdict": self.verdict,
            "started": self.started_at.isoformat(timespec="seconds"),
            "duration": round(self.duration, 3),
            "exit_status": self.exitstatus,
            "context": redact_obj(_jsonable(context(self.config))),
            "summary": self.summary(),
            "checks": self.check_dicts(),
        })

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
            _write_atomically(path, json.dumps(self.health_document(), indent=2, default=str) + "\n")
            self.written.append(path)
        prom_textfile = self.config.getoption("prom_textfile")
        if prom_textfile:
            path = self._output_path(prom_textfile)
            _write_atomically(path, render_prom_textfile(self))
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


def _jsonable(obj):
    """Context values come from fixtures; make sure json.dumps will not choke."""
    return json.loads(json.dumps(obj, default=str))


def _write_atomically(path: Path, text: str) -> None:
    """Readers (node_exporter, CI) must never see a half-written file: a temporary file in
    the same directory, renamed over the report.

    The report holds evidence from the hosts, so it gets the mode any new file of the caller
    gets (0666 less the umask), never more: who may read it is the operator's umask and the
    directory's group to decide (README, "Reports and their permissions").
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 widened to what open() would give
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask, read without changing it (Linux); else set and restored at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


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
    lines += history.prom_lines(collector.config, collector.health_document())  # alert level, changes, forecasts
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
    if not config.pluginmanager.is_registered(history):  # forecast checks need --history (issue 22)
        config.pluginmanager.register(history, "glance_hc.history")
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
        setattr(report, f"hc_{name}", None if value is None else redact(value))
    if report.failed and call.excinfo is not None and not isinstance(report.longrepr, (str, tuple)):
        report.longrepr = _whole_values_longrepr(item, call.excinfo) or report.longrepr
    return redact_report(report)


# What a local or an argument may show of its value in a traceback (pytest's own bound).
TRACEBACK_VALUE_MAX = 240


def _whole_values_longrepr(item: pytest.Item, excinfo):
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


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A module that fails to import shows its traceback (and any secret in it) too."""
    return redact_report((yield))


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


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """`record_testsuite_property` values go to junit.xml without a report: redact them
    before the junitxml plugin writes the file (its sessionfinish runs after this one)."""
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


# --------------------------------------------------------------------------
# pytest-html 4.x
#
# The page an operator opens: the verdict and the root cause x target matrix
# first, then every failed check (claim, what was found, evidence, remediation),
# every skip with its reason, the figures and the run's context. pytest-html's
# own table (all checks, failed first, passed hidden until asked for) and its
# environment table come last. Everything dynamic passes through `_esc`.

_VERDICT_COLOURS = {
    HEALTHY: "#2e7d32",
    DEGRADED: "#b45f06",
    UNHEALTHY: "#c62828",
    UNKNOWN: "#616161",
}
_VERDICT_MEANING = {
    HEALTHY: "every check passed",
    DEGRADED: "nothing failed, but some checks could not look: a skip is not a pass",
    UNHEALTHY: "at least one check found a fault",
    UNKNOWN: "no check ran",
}
_CELL_COLOURS = {"fail": "#f8d7da", "skip": "#fff3cd", "pass": "#d4edda", "none": "#f5f5f5"}
_OUTCOME_LABEL = {FAILED: "FAILED", ERROR: "ERROR", SKIPPED: "SKIPPED", PASSED: "passed"}

# The page is pytest-html's; these rules only restyle it. The body becomes a
# column so that its environment table can move below the results without JS.
_HC_STYLE = """<style>
body{display:flex;flex-direction:column;color:#222;font-size:14px;max-width:1500px;margin:0 auto;padding:0 12px}
body>h1,body>p{order:0;margin:.4em 0}
body>.summary{order:1}
body>#results-table{order:2;color:#333;font-size:13px}
#environment-header{order:3;margin-top:2em}
#environment{order:4}
.summary__data{flex:none}
.summary__data>h2:first-child{display:none}
a{color:#0b57d0}
#hc-report{color:#222;font-size:14px;line-height:1.4}
#hc-report h2{font-size:20px;margin:1.2em 0 .4em;border-bottom:2px solid #ddd;padding-bottom:.15em}
#hc-report h3{font-size:16px;margin:.2em 0}
.hc-evidence pre,.hc-block pre,#hc-report pre{font-family:Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px;background:#f6f8fa;
  border:1px solid #e1e4e8;border-radius:4px;padding:.5em .7em;margin:.3em 0;white-space:pre-wrap;
  word-break:break-word;max-height:20em;overflow:auto;color:#222}
.hc-evidence code,.hc-block code,#hc-report code{font-family:Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
.hc-verdict{color:#fff;padding:.5em 1em;margin:.3em 0 .6em;border-radius:6px}
.hc-verdict__title{font-size:28px;font-weight:bold}
.hc-verdict__counts{font-size:15px;margin-top:.15em}
.hc-verdict__detail{font-size:14px;margin-top:.35em}
.hc-verdict__detail li{margin:.1em 0}
.hc-verdict a{color:#fff}
.hc-matrix{border-collapse:collapse;margin:.4em 0}
.hc-matrix th,.hc-matrix td{border:1px solid #bbb;padding:.35em .7em;text-align:center;white-space:nowrap}
.hc-matrix thead th{background:#eee}
.hc-matrix th[scope=row]{text-align:left;font-weight:normal;background:#fafafa}
.hc-matrix th[scope=row] small{color:#666}
.hc-matrix td a{color:#222;text-decoration:none;display:block}
.hc-matrix td a:hover{text-decoration:underline}
.hc-cell--fail{font-weight:bold}
.hc-cell--fail a{color:#8a1020 !important}
.hc-n0{color:#999;font-weight:normal}
.hc-legend{font-size:12px;color:#555}
.hc-legend span{display:inline-block;padding:0 .5em;margin-right:.4em;border:1px solid #bbb}
.hc-cause{border:1px solid #e0a0a6;border-left:6px solid #c62828;border-radius:4px;padding:.4em .8em;margin:.8em 0;background:#fffafa}
.hc-cause__title{font-size:17px !important;color:#8a1020}
.hc-failure{border-top:1px solid #eed;padding:.4em 0 .3em;margin:.3em 0}
.hc-claim{font-size:15px;font-weight:bold;margin:.2em 0}
.hc-failure__meta{font-size:13px;color:#444;margin:.1em 0 .3em}
.hc-badge{display:inline-block;padding:0 .45em;border-radius:3px;font-size:12px;font-weight:bold;color:#fff;background:#c62828;margin-right:.4em}
.hc-badge--error{background:#6a1b9a}
.hc-badge--skipped{background:#b45f06}
.hc-label{font-weight:bold;margin:.3em 0 .1em}
.hc-claim .hc-label{font-weight:normal;color:#555}
.hc-evidence h4,.hc-block h4{font-size:14px;margin:.5em 0 .1em}
.hc-remediation code{background:#dfeedf;padding:0 .2em;border-radius:3px}
.extraHTML{max-width:calc(100vw - 60px)}
.hc-remediation{background:#eef6ee;border:1px solid #b7d8b7;border-radius:4px;padding:.3em .8em;margin:.5em 0}
.hc-remediation ol{margin:.2em 0 .3em 1.2em;padding:0}
.hc-nodeid{font-family:Menlo,Consolas,monospace;font-size:12px;color:#555}
.hc-skip-group{border-left:6px solid #e0a100;background:#fffaf0;padding:.4em .8em;margin:.5em 0;border-radius:4px}
.hc-skip-group ul{margin:.2em 0 .2em 1.2em;padding:0}
.hc-kv{border-collapse:collapse;margin:.3em 0}
.hc-kv th,.hc-kv td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.hc-kv thead th{background:#eee}
.hc-kv>tbody>tr>th{background:#fafafa;white-space:nowrap}
.hc-kv .hc-kv{margin:0}
.hc-num{text-align:right !important;font-variant-numeric:tabular-nums}
.hc-cell-checks{margin:.4em 0;scroll-margin-top:1em}
.hc-cell-checks:target,.hc-failure:target{outline:3px solid #0b57d0}
.hc-cell-checks ul{margin:.1em 0 .1em 1.2em;padding:0;font-size:13px}
.hc-o-passed{color:#2e7d32}.hc-o-failed,.hc-o-error{color:#c62828;font-weight:bold}.hc-o-skipped{color:#b45f06}
.hc-muted{color:#666}
</style>"""

# Runs before pytest-html's app.js (which sits in the page's footer): unless
# the address already says otherwise, the results table opens with passed
# checks hidden (the Passed box shows them) and skipped rows folded (their
# reasons are listed above), so failed rows with their details come first.
_HC_SCRIPT = """<script>
(function () {
  try {
    var url = new URL(window.location.href);
    var changed = false;
    if (!url.searchParams.has("visible")) {
      url.searchParams.set("visible", "failed,error,skipped,xfailed,xpassed,rerun");
      changed = true;
    }
    if (!url.searchParams.has("collapsed")) {
      url.searchParams.set("collapsed", "passed,skipped,xfailed");
      changed = true;
    }
    if (changed) { window.history.replaceState(null, "", url.href); }
  } catch (e) { /* the table then lists every check, failed first */ }
})();
</script>"""

NO_TARGET = "n/a"


def _esc(value) -> str:
    """Every string that reaches html: redacted first, then escaped."""
    return html.escape(redact("" if value is None else str(value)))


def _anchor(root_cause: str, target: str) -> str:
    return "hc-cell-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{root_cause}--{target}")


def _check_anchor(index: int) -> str:
    return f"hc-check-{index}"


def _cell_state(counts: Counter) -> str:
    if counts[FAILED] or counts[ERROR]:
        return "fail"
    if counts[SKIPPED]:
        return "skip"
    if counts[PASSED]:
        return "pass"
    return "none"


def _natural_key(text: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def matrix_targets(checks: list[dict], run_context: dict) -> list[str]:
    """Hosts (from the context and the checks) in natural order, "api" last."""
    hosts: list[str] = []
    known = run_context.get("hosts") if isinstance(run_context, dict) else None
    for host in known or []:
        if str(host) not in hosts and str(host) != "api":
            hosts.append(str(host))
    for check in checks:
        target = check["target"] or NO_TARGET
        if target not in hosts and target != "api":
            hosts.append(target)
    return sorted(hosts, key=_natural_key) + ["api"]


def _cause_label(key: str) -> str:
    cause = ROOT_CAUSES.get(key)
    return cause.title if cause else "unclassified"


def _count_html(n: int, word: str) -> str:
    return f'<span class="hc-n{0 if n == 0 else ""}">{n}&nbsp;{word}</span>'


def render_summary_html(collector: HealthCollector) -> list[str]:
    """Everything above pytest-html's own table, as html fragments."""
    checks = collector.check_dicts()
    for index, check in enumerate(checks):
        check["anchor"] = _check_anchor(index)
    run_context = redact_obj(_jsonable(context(collector.config)))
    parts = [_HC_STYLE, _HC_SCRIPT, '<div id="hc-report">']
    parts.append(_verdict_html(collector, checks))
    parts.append(_matrix_html(checks, run_context))
    parts.append(_failures_html(checks))
    parts.append(_skips_html(checks))
    parts.append(trends.html_section(collector.config, collector.health_document()))  # history, pictures
    parts.append(_figures_html(checks))
    parts.append(_context_html(collector, run_context))
    parts.append(_cells_html(checks, run_context))
    parts.append(
        '<h2 id="hc-all-results">All checks</h2><p class="hc-muted">pytest-html\'s table: failed and '
        "errored checks first, with their evidence, remediation and log; skipped rows are folded. "
        "Passed checks are hidden: tick <b>Passed</b> to list them. Click a row to fold or unfold it.</p>"
    )
    parts.append("</div>")
    return parts


def _cells_by_key(checks: list[dict]) -> dict[tuple[str, str], list[dict]]:
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for check in checks:
        cells[(check["root_cause"] or "", check["target"] or NO_TARGET)].append(check)
    return cells


def _root_cause_rows(checks: list[dict]) -> list[str]:
    rows = list(ROOT_CAUSES)
    rows += sorted({c["root_cause"] for c in checks if c["root_cause"] and c["root_cause"] not in ROOT_CAUSES})
    if any(check["root_cause"] is None for check in checks):
        rows.append("")
    return rows


def _verdict_html(collector: HealthCollector, checks: list[dict]) -> str:
    verdict = collector.verdict
    summary = collector.summary()
    counts = (
        f"{summary[FAILED]} failed, {summary[ERROR]} errors, {summary[SKIPPED]} skipped "
        f"(could not look), {summary[PASSED]} passed - {summary['total']} checks"
    )
    if collector.duration:
        counts += f" in {collector.duration:.1f} s"
    details = []
    bad = [c for c in checks if c["outcome"] in (FAILED, ERROR)]
    if bad:
        order = {key: i for i, key in enumerate(_root_cause_rows(checks))}
        by_cell = Counter((c["root_cause"] or "", c["target"] or NO_TARGET) for c in bad)
        by_cell = dict(sorted(by_cell.items(), key=lambda item: (order.get(item[0][0], len(order)),
                                                                 _natural_key(item[0][1]))))
        items = "".join(
            f'<li><a href="#{_anchor(key, target)}">{_esc(_cause_label(key))} on {_esc(target)}</a>: '
            f"{n} failing check{'s' if n > 1 else ''}</li>"
            for (key, target), n in by_cell.items()
        )
        details.append(f"<div>Failing:</div><ul>{items}</ul>")
    skipped = [c for c in checks if c["outcome"] == SKIPPED]
    if skipped:
        targets = Counter(c["target"] or NO_TARGET for c in skipped)
        where = ", ".join(f"{_esc(t)} ({n})" for t, n in sorted(targets.items(), key=lambda i: _natural_key(i[0])))
        details.append(f'<div>Could not look: {where} - <a href="#hc-skipped">why</a></div>')
    return (
        f'<div class="hc-verdict hc-verdict--{_esc(verdict)}" style="background:{_VERDICT_COLOURS[verdict]}">'
        f'<div class="hc-verdict__title">Glance upload health: {_esc(verdict.upper())}</div>'
        f'<div class="hc-verdict__counts">{_esc(_VERDICT_MEANING[verdict].capitalize())}. {_esc(counts)}</div>'
        f'<div class="hc-verdict__detail">{"".join(details)}</div></div>'
    )


def _matrix_html(checks: list[dict], run_context: dict) -> str:
    targets = matrix_targets(checks, run_context)
    cells = _cells_by_key(checks)
    head = "<tr><th>Root cause</th>" + "".join(f"<th>{_esc(t)}</th>" for t in targets) + "</tr>"
    rows = []
    for key in _root_cause_rows(checks):
        label = f"{_esc(_cause_label(key))} <small>{_esc(key)}</small>" if key else "unclassified"
        row = [f'<th scope="row">{label}</th>']
        for target in targets:
            in_cell = cells.get((key, target), [])
            if not in_cell:
                row.append(
                    f'<td class="hc-cell hc-cell--none" style="background:{_CELL_COLOURS["none"]}">-</td>'
                )
                continue
            counts = Counter(check["outcome"] for check in in_cell)
            state = _cell_state(counts)
            failed = counts[FAILED] + counts[ERROR]
            text = " / ".join(
                (_count_html(failed, "fail"), _count_html(counts[SKIPPED], "skip"), _count_html(counts[PASSED], "pass"))
            )
            row.append(
                f'<td class="hc-cell hc-cell--{state}" style="background:{_CELL_COLOURS[state]}" '
                f'data-root-cause="{_esc(key)}" data-target="{_esc(target)}" data-failed="{failed}" '
                f'data-skipped="{counts[SKIPPED]}" data-passed="{counts[PASSED]}">'
                f'<a href="#{_anchor(key, target)}">{text}</a></td>'
            )
        rows.append("<tr>" + "".join(row) + "</tr>")
    legend = "".join(
        f'<span style="background:{_CELL_COLOURS[state]}">{word}</span>'
        for state, word in (("fail", "a check failed"), ("skip", "could not look"), ("pass", "all passed"),
                            ("none", "no check"))
    )
    return (
        '<h2 id="hc-matrix-title">Root cause x target</h2>'
        f'<table class="hc-matrix" id="hc-matrix"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        f'<div class="hc-legend">{legend} Click a cell for its checks.</div>'
    )


def _failures_html(checks: list[dict]) -> str:
    """One block per root cause: its failed checks, then the catalogue's remediation once."""
    bad = [c for c in checks if c["outcome"] in (FAILED, ERROR)]
    if not bad:
        return '<section id="hc-failed"><h2>Failed checks</h2><p>None.</p></section>'
    groups: dict[str, list[dict]] = defaultdict(list)
    for check in bad:
        groups[check["root_cause"] or ""].append(check)
    blocks = []
    for key in _root_cause_rows(checks):
        in_group = groups.get(key)
        if not in_group:
            continue
        in_group.sort(key=lambda c: (_natural_key(c["target"] or ""), _natural_key(c["store"] or "")))
        targets = sorted({c["target"] or NO_TARGET for c in in_group}, key=_natural_key)
        errored = all(c["outcome"] == ERROR for c in in_group)
        blocks.append(
            f'<div class="hc-cause" data-root-cause="{_esc(key)}">'
            f'<h3 class="hc-cause__title">{_esc(_cause_label(key))} <span class="hc-muted">({_esc(key or "no marker")})'
            f"</span> - {len(in_group)} failing on {_esc(', '.join(targets))}</h3>"
            + "".join(_failure_card(check) for check in in_group)
            + remediation_html(key or None, errored)
            + "</div>"
        )
    return f'<section id="hc-failed"><h2>Failed checks ({len(bad)})</h2>' + "".join(blocks) + "</section>"


def _display_message(message: str | None) -> str:
    """The claim's own words: pytest's `AssertionError: ` prefix adds nothing for an operator."""
    text = message or ""
    for prefix in ("AssertionError: ", "Failed: "):
        text = text.removeprefix(prefix)
    return text


def _failure_card(check: dict) -> str:
    errored = check["outcome"] == ERROR
    where = f"on <b>{_esc(check['target'] or NO_TARGET)}</b>"
    if check["store"]:
        where += f", store <b>{_esc(check['store'])}</b>"
    evidence = "".join(evidence_html(entry) for entry in check["evidence"])
    return (
        f'<div class="hc-failure{" hc-failure--error" if errored else ""}" id="{check["anchor"]}" '
        f'data-nodeid="{_esc(check["nodeid"])}">'
        f'<div class="hc-failure__meta"><span class="hc-badge{" hc-badge--error" if errored else ""}">'
        f'{_OUTCOME_LABEL[check["outcome"]]}</span>{where} '
        f'<span class="hc-nodeid">{_esc(check["nodeid"])}</span></div>'
        f'<div class="hc-claim"><span class="hc-label">Claim:</span> {_esc(check["claim"])}</div>'
        f'<div class="hc-label">{"Error" if errored else "Found"}</div>'
        f'<pre class="hc-message">{_esc(_display_message(check["message"]))}</pre>'
        f"{evidence}</div>"
    )


def _skips_html(checks: list[dict]) -> str:
    skipped = [c for c in checks if c["outcome"] == SKIPPED]
    if not skipped:
        return ""
    groups: dict[str, list[dict]] = defaultdict(list)
    for check in skipped:
        groups[check["message"] or "no reason given"].append(check)
    blocks = []
    for reason, in_group in sorted(groups.items(), key=lambda item: -len(item[1])):
        items = "".join(
            f'<li id="{check["anchor"]}">{_esc(check["claim"])} <span class="hc-muted">- '
            f'{_esc(_cause_label(check["root_cause"] or ""))} on {_esc(check["target"] or NO_TARGET)}</span></li>'
            for check in in_group
        )
        count = f"{len(in_group)} check{'s' if len(in_group) > 1 else ''}"
        listing = (
            f"<ul>{items}</ul>" if len(in_group) <= 5
            else f"<details><summary>{count}</summary><ul>{items}</ul></details>"
        )
        blocks.append(
            f'<div class="hc-skip-group"><span class="hc-badge hc-badge--skipped">SKIPPED</span>'
            f'{count} could not look because:<pre class="hc-skip-reason">{_esc(reason)}</pre>{listing}</div>'
        )
    return (
        f'<section id="hc-skipped"><h2>Skipped checks ({len(skipped)})</h2>'
        '<p class="hc-muted">A skipped check proves nothing: fix what stopped it and run again.</p>'
        + "".join(blocks)
        + "</section>"
    )


def _figures_html(checks: list[dict]) -> str:
    figures = [(check, metric) for check in checks for metric in check["metrics"]]
    if not figures:
        return ""
    # The canary's figures (what a user's upload sees) first, the rest in run order.
    figures.sort(key=lambda item: not item[1]["name"].startswith("canary"))
    rows = "".join(
        f"<tr><td>{_esc(metric['name'])}</td>"
        f"<td class=\"hc-num\">{_esc(_figure_value(metric['value'], metric['unit']))}</td>"
        f"<td>{_esc(metric['unit'])}</td>"
        f"<td>{_esc(', '.join(f'{k}={v}' for k, v in metric['labels'].items()))}</td>"
        f"<td>{_esc(check['target'])}</td><td class=\"hc-o-{_esc(check['outcome'])}\">{_esc(check['outcome'])}</td>"
        f"<td class=\"hc-nodeid\">{_esc(check['claim'])}</td></tr>"
        for check, metric in figures
    )
    return (
        '<section id="hc-figures"><h2>Figures</h2><table class="hc-kv" id="hc-figures-table"><thead><tr><th>Metric</th>'
        "<th>Value</th><th>Unit</th><th>Labels</th><th>Target</th><th>Outcome</th><th>Check</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _figure_value(value, unit=None) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if unit in ("bytes", "B") and isinstance(value, (int, float)) and abs(value) >= KIB:
        return f"{human(value)} ({value:g})" if isinstance(value, float) else f"{human(value)} ({value})"
    if unit == "ratio" and isinstance(value, (int, float)):
        return f"{value:g} ({100 * value:.1f}%)"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return str(value)


def _context_html(collector: HealthCollector, run_context: dict) -> str:
    rows = []
    ctx = dict(run_context) if isinstance(run_context, dict) else {}
    hosts = ctx.pop("hosts", None)
    if hosts:
        rows.append(("Hosts", _hosts_html(hosts)))
    cloud = ctx.pop("cloud", None)
    if cloud is not None:
        rows.append(("Cloud", _value_html(cloud)))
    thresholds = ctx.pop("thresholds", None)
    if thresholds is not None:
        rows.append(("Thresholds in force", _value_html(thresholds)))
    versions = ctx.pop("versions", None)
    if isinstance(versions, dict):
        versions = {**versions}
        versions.setdefault("glance", "not recorded")
        rows.append(("Versions", _value_html(versions)))
    elif versions is not None:
        rows.append(("Versions", _value_html(versions)))
    started = collector.started_at.astimezone().isoformat(timespec="seconds")
    rows.append(("Started", _esc(started)))
    rows.append(("Duration", _esc(f"{collector.duration:.1f} s")))
    if collector.exitstatus is not None:
        rows.append(("pytest exit status", _esc(collector.exitstatus)))
    for key, value in ctx.items():
        rows.append((_esc(key), _value_html(value)))
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return (
        f'<section id="hc-context"><h2>Run context</h2>'
        f'<table class="hc-kv" id="hc-context-table"><tbody>{body}</tbody></table></section>'
    )


def _hosts_html(hosts) -> str:
    if isinstance(hosts, list):
        hosts = {str(host): {} for host in hosts}
    if not isinstance(hosts, dict):
        return _value_html(hosts)
    columns: list[str] = []
    for info in hosts.values():
        for key in info if isinstance(info, dict) else {}:
            if key not in columns:
                columns.append(key)
    if not columns:
        return _esc(", ".join(sorted(hosts, key=_natural_key)))
    head = "<tr><th>host</th>" + "".join(f"<th>{_esc(c)}</th>" for c in columns) + "</tr>"
    rows = []
    for name in sorted(hosts, key=_natural_key):
        info = hosts[name] if isinstance(hosts[name], dict) else {}
        rows.append(
            f"<tr><th>{_esc(name)}</th>"
            + "".join(f"<td>{_value_html(info.get(c))}</td>" for c in columns)
            + "</tr>"
        )
    return f'<table class="hc-kv hc-hosts"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _value_html(value) -> str:
    if isinstance(value, dict):
        if not value:
            return ""
        if all(not isinstance(v, (dict, list)) for v in value.values()):
            rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_plain(v))}</td></tr>" for k, v in value.items())
            return f'<table class="hc-kv"><tbody>{rows}</tbody></table>'
        return f"<pre>{_esc(json.dumps(value, indent=2, default=str))}</pre>"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return _esc(", ".join(_plain(v) for v in value))
        return f"<pre>{_esc(json.dumps(value, indent=2, default=str))}</pre>"
    return _esc(_plain(value))


def _plain(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cells_html(checks: list[dict], run_context: dict) -> str:
    cells = _cells_by_key(checks)
    if not cells:
        return ""
    targets = matrix_targets(checks, run_context)
    order = {key: i for i, key in enumerate(_root_cause_rows(checks))}
    listing = []
    for key, target in sorted(cells, key=lambda kt: (order.get(kt[0], len(order)), targets.index(kt[1])
                                                      if kt[1] in targets else len(targets))):
        in_cell = sorted(cells[(key, target)], key=lambda c: (c["outcome"] == PASSED, c["outcome"] == SKIPPED))
        items = []
        for check in in_cell:
            outcome = check["outcome"]
            line = f'<span class="hc-o-{_esc(outcome)}">{_esc(outcome)}</span> '
            if outcome in (FAILED, ERROR, SKIPPED):
                line += f'<a href="#{check["anchor"]}">{_esc(check["claim"])}</a>'
                if check["message"]:
                    line += f' <span class="hc-muted">- {_esc(clip(check["message"].splitlines()[0], 200, marker=""))}</span>'
            else:
                line += _esc(check["claim"])
            items.append(f"<li>{line}</li>")
        listing.append(
            f'<div class="hc-cell-checks" id="{_anchor(key, target)}">'
            f"<b>{_esc(_cause_label(key))}</b> <span class=\"hc-muted\">({_esc(key or 'no marker')})</span> "
            f"on <b>{_esc(target)}</b><ul>{''.join(items)}</ul></div>"
        )
    # Not collapsed: the matrix cells link here and a closed <details> hides the target.
    return '<section id="hc-cells"><h2>Checks by cell</h2>' + "".join(listing) + "</section>"


def evidence_html(entry: dict) -> str:
    command = f"<div><code>$ {_esc(entry['command'])}</code></div>" if entry["command"] else ""
    return (
        f'<div class="hc-evidence"><h4>Evidence: {_esc(entry["title"])}</h4>{command}'
        f"<pre>{_esc(entry['body'])}</pre></div>"
    )


def evidence_text(entry: dict) -> str:
    command = f"$ {entry['command']}\n" if entry["command"] else ""
    return redact(command + entry["body"])


def remediation_html(root_cause: str | None, errored: bool) -> str:
    cause = ROOT_CAUSES.get(root_cause or "")
    if cause is None:
        return (
            '<div class="hc-block hc-remediation"><h4>Remediation</h4><p>This check has no root-cause '
            "marker, so there is no runbook entry for it.</p></div>"
        )
    note = (
        "<p><i>The check errored before it could judge; fix what stopped it, then:</i></p>"
        if errored
        else ""
    )
    steps = "".join(f"<li>{_code_spans(_esc(step))}</li>" for step in cause.remediation)
    return (
        f'<div class="hc-block hc-remediation"><h4>Remediation: {_esc(cause.title)}</h4>'
        f"<p>{_esc(cause.runbook_step)}. {_code_spans(_esc(cause.symptom))}</p>{note}<ol>{steps}</ol></div>"
    )


def _code_spans(escaped: str) -> str:
    """`command` in the catalogue's text -> <code>: applied to already escaped html only."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped)


def skip_html(reason: str) -> str:
    return (
        '<div class="hc-block hc-skip"><h4>Skipped: this check could not look</h4>'
        f"<pre>{_esc(reason)}</pre></div>"
    )


def _metadata_html(value):
    """pytest-html's javascript inserts environment values (and nested keys) as html."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {_metadata_html(k) if isinstance(k, str) else k: _metadata_html(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_metadata_html(item) for item in value]
    return value


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
                    metadata[key] = _metadata_html(redact_obj(value))

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
                cells[index] = f'<td class="col-testId">{_esc(test_id)}</td>'
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
