"""The node_exporter textfile: one gauge per check, the verdict, counts and the checks' metrics.

Written whole per family (HELP, TYPE, samples) as the text exposition format requires; the
`check` label is the check's node id, the contract alerting rules match on.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from glance_hc import history
from glance_hc.report.records import ERROR, FAILED, PASSED, SKIPPED, VERDICTS

if TYPE_CHECKING:
    from glance_hc.report.collector import HealthCollector

# node_exporter reads the textfile as a gauge per check.
PROM_STATUS = {PASSED: 1, FAILED: 0, ERROR: 0, SKIPPED: -1}

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


def render_textfile(collector: HealthCollector) -> str:
    """The run's textfile, with the history's families (alert level, changes, forecasts)."""
    return render_run(collector, history.prom_lines(collector.config, collector.health_document()))


def render_run(run, extra: list[str] = ()) -> str:
    """Families are written whole (HELP, TYPE, samples) as the format requires. `run` gives
    verdict, summary(), check_dicts(), started_at and duration (the collector, or merged shards)."""
    checks = run.check_dicts()
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

    verdict = run.verdict
    lines += [
        "# HELP glance_hc_verdict Overall verdict of the last run (1 on the current verdict).",
        "# TYPE glance_hc_verdict gauge",
    ]
    lines += [
        f'glance_hc_verdict{{verdict="{name}"}} {int(name == verdict)}' for name in VERDICTS
    ]
    summary = run.summary()
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
        f"glance_hc_last_run_timestamp_seconds {run.started_at.timestamp():.3f}",
        "# HELP glance_hc_run_duration_seconds How long the last run took.",
        "# TYPE glance_hc_run_duration_seconds gauge",
        f"glance_hc_run_duration_seconds {run.duration:.3f}",
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
    lines += list(extra)
    return "\n".join(lines) + "\n"

