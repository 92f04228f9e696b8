"""The html summary an operator opens, rendered from templates/ with static/ inlined.

The page is pytest-html's; above its table go the verdict and the root cause x target
matrix, then every failed check (claim, what was found, evidence, remediation), every skip
with its reason, the history and pictures, the figures, the run's context and the checks of
each cell. This module turns the collector's redacted records into plain view data; the
templates lay it out. The page stays one self-contained file: the css and js are inlined.

Two rules hold for everything a template prints: it is redacted (`finalize`, through
`glance_hc.redact`) and then escaped (autoescape). Only `Markup` made here or by a macro
(fragments already built from redacted, escaped parts) passes as it is.

Template lines are layout only: the loader strips each line and joins it to the next, so
the page has no whitespace the templates do not spell out (`{{ " " }}` where one is meant).
"""
from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

from glance_hc import trends  # history and pictures (issue 22)
from glance_hc.catalogue import ROOT_CAUSES
from glance_hc.redact import clip, redact, redact_obj
from glance_hc.report.context import context, jsonable
from glance_hc.report.records import DEGRADED, ERROR, FAILED, HEALTHY, PASSED, SKIPPED, UNHEALTHY, UNKNOWN
from glance_hc.sizes import KIB, human

if TYPE_CHECKING:
    from glance_hc.report.collector import HealthCollector

_HERE = Path(__file__).resolve().parent
TEMPLATES = _HERE / "templates"
STATIC = _HERE / "static"

VERDICT_COLOURS = {
    HEALTHY: "#2e7d32",
    DEGRADED: "#b45f06",
    UNHEALTHY: "#c62828",
    UNKNOWN: "#616161",
}
VERDICT_MEANING = {
    HEALTHY: "every check passed",
    DEGRADED: "nothing failed, but some checks could not look: a skip is not a pass",
    UNHEALTHY: "at least one check found a fault",
    UNKNOWN: "no check ran",
}
CELL_COLOURS = {"fail": "#f8d7da", "skip": "#fff3cd", "pass": "#d4edda", "none": "#f5f5f5"}
OUTCOME_LABEL = {FAILED: "FAILED", ERROR: "ERROR", SKIPPED: "SKIPPED", PASSED: "passed"}
NO_TARGET = "n/a"
_CODE_SPAN = re.compile(r"`([^`<>]+)`")


# --------------------------------------------------------------------------
# The environment


class _JoinedLinesLoader(jinja2.FileSystemLoader):
    """Each template line stripped and joined to the next: indentation is for the reader."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        return "".join(line.strip() for line in source.splitlines()), filename, uptodate


def _redacted(value):
    """Jinja's finalize: every printed value passes through the one redaction rule."""
    if isinstance(value, Markup):
        return value
    return redact("" if value is None else str(value))


def _code_spans(text) -> Markup:
    """`command` in the catalogue's text -> <code>, applied to redacted, escaped text only."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(redact(str(text))))))


def _plain(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _value_kind(value) -> str:
    """How the context table shows a value: a small table, a list, json, or text."""
    if isinstance(value, dict):
        if not value:
            return "empty"
        return "table" if all(not isinstance(v, (dict, list)) for v in value.values()) else "json"
    if isinstance(value, list):
        return "list" if all(not isinstance(v, (dict, list)) for v in value) else "json"
    return "text"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_JoinedLinesLoader(TEMPLATES),
        autoescape=True,
        finalize=_redacted,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["code_spans"] = _code_spans
    env.globals.update(
        plain=_plain,
        plain_list=lambda values: ", ".join(_plain(v) for v in values),
        pretty_json=lambda value: json.dumps(value, indent=2, default=str),
        value_kind=_value_kind,
        cell_colours=CELL_COLOURS,
    )
    return env


def _macros():
    return environment().get_template("macros.html").module


@cache
def _static(name: str) -> Markup:
    """Our own css and js, inlined as they are (the page is one self-contained file)."""
    return Markup((STATIC / name).read_text(encoding="utf-8"))


def escape_text(value) -> str:
    """For html pytest-html inserts (table cells, extras' names): redacted first, then escaped."""
    return html.escape(redact("" if value is None else str(value)))


# --------------------------------------------------------------------------
# Fragments pytest-html shows in a check's row (extras)


def evidence_html(entry: dict) -> str:
    return str(_macros().evidence(entry))


def evidence_text(entry: dict) -> str:
    command = f"$ {entry['command']}\n" if entry["command"] else ""
    return redact(command + entry["body"])


def remediation_html(root_cause: str | None, errored: bool) -> str:
    return str(_macros().remediation(ROOT_CAUSES.get(root_cause or ""), errored))


def skip_html(reason: str) -> str:
    return str(_macros().skip(reason))


def metadata_html(value):
    """pytest-html's javascript inserts environment values (and nested keys) as html."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {metadata_html(k) if isinstance(k, str) else k: metadata_html(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [metadata_html(item) for item in value]
    return value


# --------------------------------------------------------------------------
# The summary above pytest-html's table


def render_summary_html(collector: HealthCollector) -> list[str]:
    """Everything above pytest-html's own table, as html fragments."""
    run_context = redact_obj(jsonable(context(collector.config)))
    history = Markup(trends.html_section(collector.config, collector.health_document()))
    return [render_summary(collector, run_context, history)]


def render_summary(run, run_context: dict, history: Markup | str = "") -> str:
    """The summary of a run: the collector's, or shards merged (glance_hc.report.merge). `run`
    gives verdict, summary(), check_dicts(), started_at, duration and exitstatus."""
    checks = run.check_dicts()
    for index, check in enumerate(checks):
        check["anchor"] = f"hc-check-{index}"
        check["shown_target"] = check["target"] or NO_TARGET
        check["cause_label"] = _cause_label(check["root_cause"] or "")
    return environment().get_template("summary.html").render(
        css=_static("report.css"),
        js=_static("report.js"),
        verdict=_verdict(run, checks),
        matrix=_matrix(checks, run_context),
        failures=_failures(checks),
        skips=_skips(checks),
        history=history,
        figures=_figures(checks),
        context_rows=_context_rows(run, run_context),
        cells=_cells(checks, run_context),
    )


def render_page(run, run_context: dict, title: str) -> str:
    """A page of its own around the summary, for a report made outside pytest (a merge)."""
    return environment().get_template("page.html").render(
        title=title, summary=Markup(render_summary(run, run_context)))


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


def _verdict(run, checks: list[dict]) -> dict:
    verdict = run.verdict
    summary = run.summary()
    counts = (
        f"{summary[FAILED]} failed, {summary[ERROR]} errors, {summary[SKIPPED]} skipped "
        f"(could not look), {summary[PASSED]} passed - {summary['total']} checks"
    )
    if run.duration:
        counts += f" in {run.duration:.1f} s"
    failing = []
    bad = [c for c in checks if c["outcome"] in (FAILED, ERROR)]
    if bad:
        order = {key: i for i, key in enumerate(_root_cause_rows(checks))}
        by_cell = Counter((c["root_cause"] or "", c["target"] or NO_TARGET) for c in bad)
        for (key, target), n in sorted(by_cell.items(), key=lambda item: (order.get(item[0][0], len(order)),
                                                                          _natural_key(item[0][1]))):
            failing.append({"anchor": _anchor(key, target), "label": _cause_label(key), "target": target, "n": n})
    targets = Counter(c["target"] or NO_TARGET for c in checks if c["outcome"] == SKIPPED)
    return {
        "name": verdict,
        "colour": VERDICT_COLOURS[verdict],
        "meaning": VERDICT_MEANING[verdict].capitalize(),
        "counts": counts,
        "failing": failing,
        "could_not_look": sorted(targets.items(), key=lambda item: _natural_key(item[0])),
    }


def _matrix(checks: list[dict], run_context: dict) -> dict:
    targets = matrix_targets(checks, run_context)
    cells = _cells_by_key(checks)
    rows = []
    for key in _root_cause_rows(checks):
        row = []
        for target in targets:
            in_cell = cells.get((key, target), [])
            if not in_cell:
                row.append(None)
                continue
            counts = Counter(check["outcome"] for check in in_cell)
            row.append({
                "state": _cell_state(counts), "target": target, "anchor": _anchor(key, target),
                "failed": counts[FAILED] + counts[ERROR], "skipped": counts[SKIPPED], "passed": counts[PASSED],
            })
        rows.append({"key": key, "label": _cause_label(key), "cells": row})
    return {"targets": targets, "rows": rows}


def _display_message(message: str | None) -> str:
    """The claim's own words: pytest's `AssertionError: ` prefix adds nothing for an operator."""
    text = message or ""
    for prefix in ("AssertionError: ", "Failed: "):
        text = text.removeprefix(prefix)
    return text


def _failures(checks: list[dict]) -> dict:
    """One block per root cause: its failed checks, then the catalogue's remediation once."""
    bad = [c for c in checks if c["outcome"] in (FAILED, ERROR)]
    groups: dict[str, list[dict]] = defaultdict(list)
    for check in bad:
        check["errored"] = check["outcome"] == ERROR
        check["label"] = OUTCOME_LABEL[check["outcome"]]
        check["shown_message"] = _display_message(check["message"])
        groups[check["root_cause"] or ""].append(check)
    blocks = []
    for key in _root_cause_rows(checks):
        in_group = groups.get(key)
        if not in_group:
            continue
        in_group.sort(key=lambda c: (_natural_key(c["target"] or ""), _natural_key(c["store"] or "")))
        blocks.append({
            "key": key,
            "label": _cause_label(key),
            "checks": in_group,
            "targets": ", ".join(sorted({c["target"] or NO_TARGET for c in in_group}, key=_natural_key)),
            "cause": ROOT_CAUSES.get(key),
            "errored": all(c["outcome"] == ERROR for c in in_group),
        })
    return {"count": len(bad), "blocks": blocks}


def _skips(checks: list[dict]) -> dict:
    skipped = [c for c in checks if c["outcome"] == SKIPPED]
    groups: dict[str, list[dict]] = defaultdict(list)
    for check in skipped:
        groups[check["message"] or "no reason given"].append(check)
    blocks = [
        {"reason": reason, "checks": in_group,
         "count": f"{len(in_group)} check{'s' if len(in_group) > 1 else ''}", "folded": len(in_group) > 5}
        for reason, in_group in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]
    return {"count": len(skipped), "blocks": blocks}


def _figures(checks: list[dict]) -> list[dict]:
    figures = [(check, metric) for check in checks for metric in check["metrics"]]
    # The canary's figures (what a user's upload sees) first, the rest in run order.
    figures.sort(key=lambda item: not item[1]["name"].startswith("canary"))
    return [
        {
            "name": metric["name"],
            "value": _figure_value(metric["value"], metric["unit"]),
            "unit": metric["unit"],
            "labels": ", ".join(f"{k}={v}" for k, v in metric["labels"].items()),
            "target": check["target"],
            "outcome": check["outcome"],
            "claim": check["claim"],
        }
        for check, metric in figures
    ]


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


def _context_rows(run, run_context: dict) -> list[dict]:
    """(label, kind, value) rows: `hosts` a table of hosts, `value` by its shape, `text` as is."""
    rows = []
    ctx = dict(run_context) if isinstance(run_context, dict) else {}
    hosts = ctx.pop("hosts", None)
    if hosts:
        rows.append({"label": "Hosts", "kind": "hosts", "value": _hosts(hosts)})
    cloud = ctx.pop("cloud", None)
    if cloud is not None:
        rows.append({"label": "Cloud", "kind": "value", "value": cloud})
    thresholds = ctx.pop("thresholds", None)
    if thresholds is not None:
        rows.append({"label": "Thresholds in force", "kind": "value", "value": thresholds})
    versions = ctx.pop("versions", None)
    if isinstance(versions, dict):
        versions = {**versions}
        versions.setdefault("glance", "not recorded")
        rows.append({"label": "Versions", "kind": "value", "value": versions})
    elif versions is not None:
        rows.append({"label": "Versions", "kind": "value", "value": versions})
    started = run.started_at.astimezone().isoformat(timespec="seconds")
    rows.append({"label": "Started", "kind": "text", "value": started})
    rows.append({"label": "Duration", "kind": "text", "value": f"{run.duration:.1f} s"})
    if run.exitstatus is not None:
        rows.append({"label": "pytest exit status", "kind": "text", "value": run.exitstatus})
    for key, value in ctx.items():
        rows.append({"label": key, "kind": "value", "value": value})
    return rows


def _hosts(hosts) -> dict:
    """The hosts row: a table when fixtures recorded facts per host, else their names."""
    if isinstance(hosts, list):
        hosts = {str(host): {} for host in hosts}
    if not isinstance(hosts, dict):
        return {"kind": "value", "value": hosts}
    columns: list[str] = []
    for info in hosts.values():
        for key in info if isinstance(info, dict) else {}:
            if key not in columns:
                columns.append(key)
    names = sorted(hosts, key=_natural_key)
    if not columns:
        return {"kind": "names", "value": ", ".join(names)}
    rows = []
    for name in names:
        info = hosts[name] if isinstance(hosts[name], dict) else {}
        rows.append({"name": name, "cells": [info.get(c) for c in columns]})
    return {"kind": "table", "columns": columns, "rows": rows}


def _cells(checks: list[dict], run_context: dict) -> list[dict]:
    cells = _cells_by_key(checks)
    targets = matrix_targets(checks, run_context)
    order = {key: i for i, key in enumerate(_root_cause_rows(checks))}
    listing = []
    for key, target in sorted(cells, key=lambda kt: (order.get(kt[0], len(order)), targets.index(kt[1])
                                                      if kt[1] in targets else len(targets))):
        in_cell = sorted(cells[(key, target)], key=lambda c: (c["outcome"] == PASSED, c["outcome"] == SKIPPED))
        items = [
            {
                "outcome": check["outcome"],
                "claim": check["claim"],
                "anchor": check["anchor"] if check["outcome"] in (FAILED, ERROR, SKIPPED) else None,
                "first_line": (clip(check["message"].splitlines()[0], 200, marker="")
                               if check["outcome"] in (FAILED, ERROR, SKIPPED) and check["message"] else None),
            }
            for check in in_cell
        ]
        listing.append({"anchor": _anchor(key, target), "key": key, "label": _cause_label(key),
                         "target": target, "checks": items})
    return listing
