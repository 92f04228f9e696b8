"""When will a store (or a project quota) reach the alert level, and when will it be full?

A straight line through the usage the history recorded (least squares), read
honestly: no forecast from fewer than `MIN_POINTS` runs or a span shorter than
`MIN_SPAN`, no date when usage is flat or shrinking, and every date comes with
its spread (the dates at the slope plus and minus two standard errors) and the
residual error of the fit. The inputs are health documents (health.json); this
module does no I/O.
"""
from __future__ import annotations

import datetime
import math
import re
from dataclasses import asdict, dataclass, field

MIN_POINTS = 4
MIN_SPAN = datetime.timedelta(hours=6)
# The spread of a date: the crossing at slope +/- SPREAD_SE standard errors (about 95%).
SPREAD_SE = 2.0
DAY = 86400.0
# Dates further out than this are not forecast (and would not fit a datetime at a tiny slope).
HORIZON = datetime.timedelta(days=10 * 365)

OK, TOO_LITTLE_DATA, NOT_GROWING = "ok", "too little data", "not growing"

STORE_METRIC = "store_used_ratio"
QUOTA_CHECK = "test_project_quota_has_headroom"
QUOTA_METRIC = "quota_headroom"
# The quota check's own evidence body: "usage 0 MiB, limit 8192 MiB" (checks/test_quota.py).
QUOTA_BODY = re.compile(r"^usage (?P<used>-?\d+) (?P<unit>\S+), limit (?P<limit>-?\d+) \S+$")
CANARY_METRICS = ("canary_upload_mib_per_s", "canary_download_mib_per_s")


def parse_time(text) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------
# the fit


@dataclass(frozen=True)
class Fit:
    """usage(t) = level + slope * (t - t_mean); t in unix seconds."""

    n: int
    t_mean: float
    level: float
    slope: float  # per second
    slope_se: float  # standard error of the slope, per second
    residual_sd: float  # of the points around the line

    def at(self, t: float) -> float:
        return self.level + self.slope * (t - self.t_mean)

    def crossing(self, value: float, slope: float | None = None) -> float | None:
        """When the line (or the line turned to `slope` around its centre) reaches value."""
        slope = self.slope if slope is None else slope
        if slope <= 0:
            return None
        return self.t_mean + (value - self.level) / slope


def least_squares(points: list[tuple[float, float]]) -> Fit:
    n = len(points)
    if n < 2:
        raise ValueError("a line needs two points")
    t_mean = sum(t for t, _ in points) / n
    y_mean = sum(y for _, y in points) / n
    sxx = sum((t - t_mean) ** 2 for t, _ in points)
    if sxx == 0:
        raise ValueError("all points at the same time")
    slope = sum((t - t_mean) * (y - y_mean) for t, y in points) / sxx
    sse = sum((y - (y_mean + slope * (t - t_mean))) ** 2 for t, y in points)
    residual_sd = math.sqrt(sse / (n - 2)) if n > 2 else 0.0
    return Fit(n, t_mean, y_mean, slope, residual_sd / math.sqrt(sxx), residual_sd)


# --------------------------------------------------------------------------
# a forecast


@dataclass
class Forecast:
    """What the history says about one store or quota, in the units of its ratio (0..1)."""

    kind: str  # "store" or "quota"
    labels: dict
    status: str
    reason: str
    points: int
    span_hours: float
    current: float | None  # the last value recorded
    as_of: str | None  # when that was
    alert_level: float
    rate_per_day: float | None = None
    rate_se_per_day: float | None = None
    residual_sd: float | None = None
    alert_at: str | None = None
    alert_at_earliest: str | None = None
    alert_at_latest: str | None = None  # None with a date: beyond the horizon at the slowest plausible rate
    full_at: str | None = None
    full_at_earliest: str | None = None
    full_at_latest: str | None = None
    line: list = field(default_factory=list)  # [(t, value)] from the first point to the window's end

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("line")
        return data

    def seconds_to(self, which: str, now: float) -> float | None:
        when = parse_time(getattr(self, f"{which}_at"))
        return None if when is None else max(0.0, when.timestamp() - now)

    def crosses_alert_within(self, window: datetime.timedelta, now: float) -> bool:
        left = self.seconds_to("alert", now)
        return self.status == OK and left is not None and left <= window.total_seconds()

    def describe(self) -> str:
        head = (f"{self.points} runs over {self.span_hours:.1f} h, last {fmt_percent(self.current)} "
                f"at {self.as_of}")
        if self.status != OK:
            return f"{head}: no forecast ({self.reason})"
        rate = (f"growth {100 * self.rate_per_day:+.3f} points/day (+/- {100 * SPREAD_SE * self.rate_se_per_day:.3f}), "
                f"residual error {100 * self.residual_sd:.2f} points")
        dates = []
        for which, label in (("alert", f"alert level {fmt_percent(self.alert_level)}"), ("full", "full")):
            when = getattr(self, f"{which}_at")
            if when:
                latest = getattr(self, f"{which}_at_latest") or "never (at the slowest plausible rate)"
                dates.append(f"{label} {when} (between {getattr(self, f'{which}_at_earliest')} and {latest})")
        return f"{head}; {rate}; " + "; ".join(dates)


def fmt_percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{100 * ratio:.1f}%"


def forecast(points: list[tuple[float, float]], alert_level: float, *, kind: str = "store",
             labels: dict | None = None, now: float | None = None,
             window: datetime.timedelta = datetime.timedelta(days=7),
             min_points: int = MIN_POINTS, min_span: datetime.timedelta = MIN_SPAN) -> Forecast:
    """A forecast from (unix time, ratio) points; honest about what it cannot say."""
    points = sorted((float(t), float(v)) for t, v in points if v is not None and math.isfinite(v))
    span = points[-1][0] - points[0][0] if points else 0.0
    base = Forecast(kind=kind, labels=dict(labels or {}), status=OK, reason="", points=len(points),
                    span_hours=round(span / 3600, 2), current=points[-1][1] if points else None,
                    as_of=iso(points[-1][0]) if points else None, alert_level=alert_level)
    if len(points) < min_points:
        base.status, base.reason = TOO_LITTLE_DATA, f"{len(points)} runs recorded, {min_points} needed"
        return base
    if span < min_span.total_seconds():
        base.status = TOO_LITTLE_DATA
        base.reason = f"the runs span {span / 3600:.1f} h, {min_span.total_seconds() / 3600:g} h needed"
        return base
    fit = least_squares(points)
    now = points[-1][0] if now is None else now
    base.rate_per_day = fit.slope * DAY
    base.rate_se_per_day = fit.slope_se * DAY
    base.residual_sd = fit.residual_sd
    end = now + window.total_seconds()
    base.line = [(points[0][0], fit.at(points[0][0])), (end, fit.at(end))]
    if fit.slope <= 0:
        base.status, base.reason = NOT_GROWING, (
            f"usage is {'flat' if fit.slope == 0 else 'shrinking'} ({100 * base.rate_per_day:+.3f} points/day)")
        return _reached(base, now)
    spread = SPREAD_SE * fit.slope_se
    horizon = now + HORIZON.total_seconds()

    def when(t: float | None) -> str | None:
        # a line already at the level crosses "now", not in the past of the last run;
        # one beyond the horizon does not cross in any sense an operator can act on
        return None if t is None or t > horizon else iso(max(t, now))

    for which, level in (("alert", alert_level), ("full", 1.0)):
        central = fit.crossing(level)
        setattr(base, f"{which}_at", when(central))
        if central is not None and central <= horizon:
            setattr(base, f"{which}_at_earliest", when(fit.crossing(level, fit.slope + spread)))
            setattr(base, f"{which}_at_latest", when(fit.crossing(level, fit.slope - spread)))
    if base.alert_at is None:
        base.reason = f"growing, but not reaching the alert level within {HORIZON.days // 365} years"
    return _reached(base, now)


def _reached(base: Forecast, now: float) -> Forecast:
    """A level the last run already measured is reached now, whatever the line says."""
    for which, level in (("alert", base.alert_level), ("full", 1.0)):
        if base.current is not None and base.current >= level:
            for suffix in ("at", "at_earliest", "at_latest"):
                setattr(base, f"{which}_{suffix}", iso(now))
    return base


# --------------------------------------------------------------------------
# series out of health documents


def run_time(document: dict) -> float | None:
    when = parse_time(document.get("started"))
    return None if when is None else when.timestamp()


def store_key(check: dict, metric: dict) -> tuple[str, str, str]:
    labels = metric.get("labels") or {}
    return (str(check.get("target") or labels.get("target") or ""),
            str(labels.get("store") or check.get("store") or ""), str(labels.get("path") or ""))


def _figures(documents: list[dict], names):
    """(run time, check, metric) for every numeric figure named in `names` of the dated runs."""
    for document in documents:
        t = run_time(document)
        if t is None:
            continue
        for check in document.get("checks") or []:
            for metric in check.get("metrics") or []:
                if metric.get("name") in names and isinstance(metric.get("value"), (int, float)):
                    yield t, check, metric


def store_series(documents: list[dict]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(target, store, path) -> [(run time, used ratio)] for every store the runs measured."""
    series: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for t, check, metric in _figures(documents, (STORE_METRIC,)):
        series.setdefault(store_key(check, metric), []).append((t, float(metric["value"])))
    return series


def quota_sample(check: dict) -> tuple[str, float, float, str] | None:
    """(resource, used, limit, unit) from the quota check's evidence, when it recorded a limit."""
    if QUOTA_CHECK not in str(check.get("nodeid")):
        return None
    resource = next((m["labels"].get("resource") for m in check.get("metrics") or []
                     if m.get("name") == QUOTA_METRIC and m.get("labels")), None)
    for entry in check.get("evidence") or []:
        match = QUOTA_BODY.match(str(entry.get("body") or "").strip())
        if match and int(match["limit"]) > 0:
            resource = resource or str(entry.get("title") or "").split(" ", 1)[0]
            return resource, float(match["used"]), float(match["limit"]), match["unit"]
    return None


def quota_series(documents: list[dict]) -> dict[str, dict]:
    """resource -> {"points": [(t, used/limit)], "limit", "unit"} for unified-limit quotas."""
    series: dict[str, dict] = {}
    for document in documents:
        t = run_time(document)
        if t is None:
            continue
        for check in document.get("checks") or []:
            sample = quota_sample(check)
            if sample is None:
                continue
            resource, used, limit, unit = sample
            entry = series.setdefault(resource, {"points": [], "limit": limit, "unit": unit})
            entry["points"].append((t, used / limit))
            entry["limit"], entry["unit"] = limit, unit
    return series


def canary_series(documents: list[dict]) -> dict[tuple[str, str], dict[str, list[tuple[float, float]]]]:
    """(target, store) -> {metric: [(t, MiB/s)]}: the canary's throughput per store and node."""
    series: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    for t, check, metric in _figures(documents, CANARY_METRICS):
        key = (str(check.get("target") or ""), str((metric.get("labels") or {}).get("store") or ""))
        series.setdefault(key, {}).setdefault(metric["name"], []).append((t, float(metric["value"])))
    return series


def store_forecasts(documents: list[dict], alert_level: float, window: datetime.timedelta,
                    now: float | None = None, series: dict | None = None) -> list[Forecast]:
    result = []
    for (target, store, path), points in sorted((store_series(documents) if series is None else series).items()):
        result.append(forecast(points, alert_level, kind="store", now=now, window=window,
                               labels={"target": target, "store": store, "path": path}))
    return result


def quota_forecasts(documents: list[dict], alert_level: float, window: datetime.timedelta,
                    now: float | None = None) -> list[Forecast]:
    result = []
    for resource, entry in sorted(quota_series(documents).items()):
        result.append(forecast(entry["points"], alert_level, kind="quota", now=now, window=window,
                               labels={"resource": resource, "limit": f"{entry['limit']:g} {entry['unit']}"}))
    return result
