"""The html report's history and pictures: what changed since the last run, forecasts, charts.

Called once by `glance_hc.report.html.render_summary_html` with the run's health
document. The pictures of this run (store usage against the alert level,
canary throughput per store and node) are always drawn; the changes, the
forecasts and the charts over time need `--history DIR`. Text goes through
`redact` and `html.escape`; charts through `glance_hc.svg`, which escapes.
"""
from __future__ import annotations

import html
import re

import pytest

from glance_hc import forecast as fc
from glance_hc import history, svg
from glance_hc.redact import redact

_STYLE = ("<style>.hc-charts{display:flex;flex-wrap:wrap;gap:10px;margin:.4em 0}"
          ".hc-chart{border:1px solid #ddd;border-radius:4px}</style>")

CHANGE_TITLES = (
    ("new_failures", "New failures"),
    ("persisting", "Still failing"),
    ("resolved", "Resolved"),
    ("new_skips", "New skips"),
    ("no_longer_run", "Failing last time, not run now"),
)


def _esc(value) -> str:
    return html.escape(redact("" if value is None else str(value)))


def _natural(text: str):
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", str(text))]


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%" if abs(100 * value - round(100 * value)) < 0.05 else f"{100 * value:.1f}%"


def _mib(value: float) -> str:
    return f"{value:.1f} MiB/s" if value < 100 else f"{value:.0f} MiB/s"


# --------------------------------------------------------------------------
# this run's pictures


def store_usage_rows(checks: list[dict]) -> list[tuple[str, list[tuple[str, float]]]]:
    seen = {}
    for check in checks:
        for metric in check.get("metrics") or []:
            if metric.get("name") == fc.STORE_METRIC and isinstance(metric.get("value"), (int, float)):
                target, store, _ = fc.store_key(check, metric)
                seen[(target, store)] = float(metric["value"])
    return [(f"{store} on {target}", [("used", value)])
            for (target, store), value in sorted(seen.items(), key=lambda kv: (_natural(kv[0][0]), _natural(kv[0][1])))]


def throughput_rows(checks: list[dict]) -> list[tuple[str, list[tuple[str, float]]]]:
    seen: dict[tuple[str, str], dict[str, float]] = {}
    for check in checks:
        for metric in check.get("metrics") or []:
            if metric.get("name") in fc.CANARY_METRICS and isinstance(metric.get("value"), (int, float)):
                key = (str(check.get("target") or ""), str((metric.get("labels") or {}).get("store") or ""))
                seen.setdefault(key, {})[metric["name"]] = float(metric["value"])
    rows = []
    for (target, store), values in sorted(seen.items(), key=lambda kv: (_natural(kv[0][0]), _natural(kv[0][1]))):
        where = "through the API" if target == "api" else f"node {target}"
        rows.append((f"{store}, {where}", [(name.split("_")[1], values[name])
                                           for name in fc.CANARY_METRICS if name in values]))
    return rows


def current_pictures(checks: list[dict], alert_level: float) -> list[str]:
    charts = []
    usage = store_usage_rows(checks)
    if usage:
        charts.append(svg.bar_chart(
            "Store usage per store and host", usage, max_value=1.0, value_text=_percent,
            threshold=alert_level, threshold_text=f"alert level {_percent(alert_level)}", chart_id="store-usage"))
    speeds = throughput_rows(checks)
    if speeds:
        top = max(v for _, bars in speeds for _, v in bars) or 1.0
        charts.append(svg.bar_chart(
            "Canary throughput per store and node", speeds, max_value=top * 1.1, value_text=_mib,
            chart_id="canary-throughput"))
    return charts


# --------------------------------------------------------------------------
# over time


def history_pictures(run: history.RunHistory, document: dict) -> list[str]:
    runs, stores, _ = run.forecast_objects(document)
    if len(runs) < 2:
        return []
    alert = run.settings.alert_level
    series = run.store_series(document)
    window_end = (fc.run_time(runs[-1]) or 0) + run.settings.window.total_seconds()
    charts = []
    for item in stores:
        key = (item.labels["target"], item.labels["store"], item.labels["path"])
        lines = [("used", series.get(key, []))]
        if item.line:
            lines.append(("trend", item.line))
        charts.append(svg.line_chart(
            f"{item.labels['store']} on {item.labels['target']}", lines, y_max=1.0, value_text=_percent,
            threshold=alert, threshold_text=f"alert {_percent(alert)}", dashed=frozenset({"trend"}),
            x_end=window_end if item.line else None, chart_id="store-usage-history"))
    for (target, store), by_metric in sorted(fc.canary_series(runs).items(),
                                             key=lambda kv: (_natural(kv[0][0]), _natural(kv[0][1]))):
        lines = [(name.split("_")[1], by_metric[name]) for name in fc.CANARY_METRICS if name in by_metric]
        top = max(v for _, pts in lines for _, v in pts) or 1.0
        where = "API" if target == "api" else target
        charts.append(svg.line_chart(f"canary {store} via {where}", lines, y_max=top * 1.1, value_text=_mib,
                                     chart_id="canary-throughput-history"))
    return charts


# --------------------------------------------------------------------------
# tables


def _changes_html(changes: dict) -> str:
    if changes.get("previous_run") is None:
        return f'<p id="hc-changes">{_esc(changes.get("note") or "no earlier run")}.</p>'
    counts = changes["counts"]
    summary = ", ".join(f"{counts[key]} {title.lower()}" for key, title in CHANGE_TITLES)
    blocks = [f'<p>Compared with the run of <b>{_esc(changes["previous_run"])}</b> '
              f'(verdict {_esc(changes["previous_verdict"])}): {_esc(summary)}.</p>']
    for key, title in CHANGE_TITLES:
        entries = changes.get(key) or []
        if not entries:
            continue
        rows = "".join(
            f"<tr><td>{_esc(e['claim'] or e['nodeid'])}</td><td>{_esc(e['root_cause'])}</td>"
            f"<td>{_esc(e['target'])}</td><td>{_esc(e.get('since') or e.get('before') or '')}</td>"
            f"<td class=\"hc-muted\">{_esc(e['message'])}</td></tr>"
            for e in entries)
        when = "before" if key == "new_skips" else "failing since"
        blocks.append(
            f'<h3>{_esc(title)} ({len(entries)})</h3><table class="hc-kv hc-changes" data-change="{_esc(key)}">'
            f"<thead><tr><th>Check</th><th>Root cause</th><th>Target</th><th>{when}</th><th>Message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    return '<div id="hc-changes">' + "".join(blocks) + "</div>"


def _forecasts_html(forecasts: dict) -> str:
    items = forecasts["stores"] + forecasts["quotas"]
    head = (f'<p class="hc-muted">Least squares over {forecasts["runs"]} runs; no forecast from fewer than '
            f'{forecasts["min_points"]} runs or less than {forecasts["min_span_hours"]:g} h; dates come with the '
            f"range at the growth rate +/- {fc.SPREAD_SE:g} standard errors. Window {_esc(forecasts['window'])}.</p>")
    if forecasts.get("unreadable"):
        head += f'<p class="hc-muted">Unreadable history files: {_esc(", ".join(forecasts["unreadable"]))}</p>'
    if not items:
        return head + "<p>No store or quota usage in the history.</p>"
    rows = []
    for item in items:
        labels = item["labels"]
        what = (f"{labels.get('store')} on {labels.get('target')}" if item["kind"] == "store"
                else f"quota {labels.get('resource')} (limit {labels.get('limit')})")
        if item["status"] != fc.OK:
            outlook = f"no forecast: {item['reason']}"
        else:
            rate = (f"{100 * item['rate_per_day']:+.3f} +/- {100 * fc.SPREAD_SE * item['rate_se_per_day']:.3f} "
                    "points/day")
            outlook = rate
        alert = _date_range(item, "alert")
        full = _date_range(item, "full")
        rows.append(f"<tr><td>{_esc(what)}</td><td class=\"hc-num\">{_esc(fc.fmt_percent(item['current']))}</td>"
                    f"<td>{_esc(item['points'])} runs / {_esc(item['span_hours'])} h</td><td>{_esc(outlook)}</td>"
                    f"<td>{_esc(alert)}</td><td>{_esc(full)}</td></tr>")
    return (head + '<table class="hc-kv" id="hc-forecast-table"><thead><tr><th>Store or quota</th><th>Now</th>'
            "<th>History</th><th>Growth</th><th>Alert level at</th><th>Full at</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _date_range(item: dict, which: str) -> str:
    when = item.get(f"{which}_at")
    if not when:
        return "-"
    latest = item.get(f"{which}_at_latest") or "never"
    return f"{when[:16]} (between {item[f'{which}_at_earliest'][:16]} and {latest[:16]})"


# --------------------------------------------------------------------------
# the section


def html_section(config: pytest.Config, document: dict) -> str:
    run = history.of(config)
    checks = document.get("checks") or []
    parts = [_STYLE, '<section id="hc-history"><h2>Since the last run, and what comes next</h2>']
    if document.get("history_error"):
        parts.append(f'<p class="hc-muted">The history in {_esc(run.settings.directory)} could not be read: '
                     f'{_esc(document["history_error"])}</p>')
    elif run.enabled and document.get("changes") is not None:
        parts.append(_changes_html(document["changes"]))
        parts.append("<h3>Forecasts</h3>" + _forecasts_html(document["forecasts"]))
    else:
        parts.append('<p class="hc-muted">This run keeps no history (<code>--history DIR</code> keeps one): '
                     "no comparison with the last run and no forecast.</p>")
    parts.append("</section>")
    charts = current_pictures(checks, run.settings.alert_level)
    over_time = history_pictures(run, document) if run.enabled and run.error is None else []
    if charts or over_time:
        parts.append('<section id="hc-pictures"><h2>Pictures</h2><div class="hc-charts">')
        parts.extend(charts)
        parts.append("</div>")
        if over_time:
            parts.append('<h3>Over time (dashed: the trend to the end of the forecast window)</h3>'
                         '<div class="hc-charts hc-charts--small">' + "".join(over_time) + "</div>")
        parts.append("</section>")
    return "".join(parts)
