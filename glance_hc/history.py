"""Runs that remember: each run's health.json kept in a directory, compared with the last one.

`--history DIR` (ini `history_dir`) adds the run's document to DIR as
``health-YYYYmmddTHHMMSSZ.json`` (mode 0600, written to a temporary file and
linked into place, so a reader never sees half a document and two runs never
overwrite each other), then keeps only the newest `--history-keep` (ini
`history_keep`, default 400) runs. The report compares the run with the newest
earlier one: new failures, resolved ones, persisting ones with since when, new
skips (the ``changes`` block of health.json, the textfile's
``glance_hc_check_failing_since_seconds``, a section of the html report), and
forecasts store and quota usage from the whole history (`glance_hc.forecast`).

This module knows documents and the pytest config; it imports nothing of the
report plugin (which calls it), so either can be read alone.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from glance_hc import forecast as fc

DEFAULT_KEEP = 400
DEFAULT_WINDOW = "7d"
DEFAULT_ALERT_PERCENT = 80.0
NAME_RE = re.compile(r"^health-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.json$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
FAILING = ("failed", "error")
SKIPPED = "skipped"
PASSED = "passed"
MESSAGE_CHARS = 300
SLIM_DIR = ".slim"
SLIM_MARK = "glance_hc_slim"
SLIM_METRICS = (fc.STORE_METRIC, fc.QUOTA_METRIC, *fc.CANARY_METRICS)


# --------------------------------------------------------------------------
# settings


def parse_window(text) -> datetime.timedelta:
    """"7d", "36h", "90m", "600s" or plain seconds."""
    text = str(text).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    seconds = float(number) * units[unit]
    if not seconds > 0:
        raise ValueError(f"a window must be positive: {text!r}")
    return datetime.timedelta(seconds=seconds)


def _option(config: pytest.Config, name: str):
    """(value, from the command line?): the flag wins over the ini; a run without the options gets None."""
    try:
        value = config.getoption(name)
    except (ValueError, AttributeError):
        value = None
    if value not in (None, ""):
        return value, True
    try:
        value = config.getini(name)
    except (ValueError, KeyError):
        value = None
    return (value if value not in (None, "", []) else None), False


@dataclass(frozen=True)
class Settings:
    directory: Path | None
    keep: int
    window: datetime.timedelta
    alert_level: float  # ratio, 0..1


def settings_of(config: pytest.Config) -> Settings:
    directory, from_cli = _option(config, "history_dir")
    path = None
    if directory:
        path = Path(os.path.expandvars(str(directory))).expanduser()
        if not path.is_absolute():
            base = config.invocation_params.dir if from_cli or config.inipath is None else config.inipath.parent
            path = base / path
    keep, _ = _option(config, "history_keep")
    window, _ = _option(config, "forecast_window")
    alert, _ = _option(config, "store_usage_max_percent")
    try:
        return Settings(path, max(1, int(keep if keep is not None else DEFAULT_KEEP)),
                        parse_window(window if window is not None else DEFAULT_WINDOW),
                        float(alert if alert is not None else DEFAULT_ALERT_PERCENT) / 100.0)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"bad history option: {exc}") from None


# --------------------------------------------------------------------------
# the directory


def history_files(directory: Path) -> list[Path]:
    """The directory's run documents, oldest first (by the timestamp in the name)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = NAME_RE.match(name)
        if match:
            found.append(((match["stamp"], int(match["n"] or 0)), directory / name))
    return [path for _, path in sorted(found)]


def _stamp(document: dict) -> str:
    when = fc.parse_time(document.get("started")) or datetime.datetime.now(datetime.UTC)
    return when.astimezone(datetime.UTC).strftime(STAMP_FORMAT)


def save(directory: Path, document: dict, keep: int = DEFAULT_KEEP) -> Path:
    """Add a run to the history (0600, never over another run), then prune beyond `keep`."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(document, separators=(",", ":"), default=str) + "\n"
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".health-", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        stamp = _stamp(document)
        for n in range(1000):
            path = directory / (f"health-{stamp}-{n}.json" if n else f"health-{stamp}.json")
            try:
                os.link(tmp_name, path)  # fails rather than replace a run saved in the same second
                break
            except FileExistsError:
                continue
        else:
            raise OSError(f"no free name for a run at {stamp} in {directory}")
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    _write_private(_slim_path(path), json.dumps(slim(document), separators=(",", ":")) + "\n")
    _fsync_dir(directory)
    prune(directory, keep)
    return path


def _slim_path(path: Path) -> Path:
    """A run's figures beside it (.slim/NAME): a year of forecasts reads these, not the whole runs."""
    return path.parent / SLIM_DIR / path.name


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest runs beyond `keep`; returns what went."""
    files = history_files(directory)
    gone = files[:-keep] if keep > 0 else files
    for path in gone:
        path.unlink(missing_ok=True)
        _slim_path(path).unlink(missing_ok=True)
    slims = directory / SLIM_DIR
    if slims.is_dir():  # figures whose run is gone (deleted by hand, or a crash between the two)
        kept = {path.name for path in files[len(gone):]}
        for name in os.listdir(slims):
            if NAME_RE.match(name) and name not in kept:
                (slims / name).unlink(missing_ok=True)
    return gone


def load(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and isinstance(document.get("checks"), list) else None


def slim(document: dict) -> dict:
    """What the forecasts and pictures need of a run: its time, counts, and the checks with figures."""
    checks = []
    for check in document.get("checks") or []:
        quota = fc.QUOTA_CHECK in str(check.get("nodeid"))
        metrics = [m for m in check.get("metrics") or [] if m.get("name") in SLIM_METRICS]
        if not (metrics or quota):
            continue
        entry = {k: check.get(k) for k in ("nodeid", "outcome", "target", "store")}
        entry["metrics"] = metrics
        if quota:
            entry["evidence"] = check.get("evidence") or []
        checks.append(entry)
    return {"started": document.get("started"), "verdict": document.get("verdict"),
            "summary": document.get("summary"), "checks": checks, SLIM_MARK: 1}


def load_slim(path: Path) -> dict | None:
    """A run's figures: from its .slim file when there is one, else from the run itself."""
    try:
        figures = json.loads(_slim_path(path).read_text(encoding="utf-8"))
        if isinstance(figures, dict) and figures.get(SLIM_MARK) == 1 and isinstance(figures.get("checks"), list):
            return figures
    except (OSError, ValueError):
        pass
    document = load(path)
    return None if document is None else slim(document)


# --------------------------------------------------------------------------
# comparing two runs


def _entry(check: dict, since: str | None = None) -> dict:
    message = (check.get("message") or "").strip().splitlines()
    entry = {k: check.get(k) for k in ("nodeid", "claim", "root_cause", "target", "store", "outcome")}
    entry["message"] = message[0][:MESSAGE_CHARS] if message else None
    if since is not None:
        entry["since"] = since
    return entry


# Check ids that changed in 0.2.0 (one checks/ module per root cause): an older run's check is
# compared under its new id, so a failure keeps its `since` across the upgrade of the suite.
RENAMED = {
    "checks/test_api_health.py::test_active_images_can_be_verified":
        "checks/test_checksum_mismatch.py::test_active_images_can_be_verified",
    "checks/test_api_health.py::test_api_stores_match_host_config":
        "checks/test_store_config.py::test_api_stores_match_host_config",
    "checks/test_api_health.py::test_no_images_stuck_in_transient_status":
        "checks/test_worker_crash.py::test_no_images_stuck_in_transient_status",
    "checks/test_api_health.py::test_project_quota_has_headroom":
        "checks/test_quota.py::test_project_quota_has_headroom",
    "checks/test_api_health.py::test_recent_images_match_their_recorded_hashes":
        "checks/test_checksum_mismatch.py::test_recent_images_match_their_recorded_hashes",
    "checks/test_config_drift.py::test_haproxy_sends_uploads_only_to_running_glance_nodes":
        "checks/test_store_config.py::test_haproxy_sends_uploads_only_to_running_glance_nodes",
    "checks/test_config_drift.py::test_upload_options_match_across_controllers":
        "checks/test_store_config.py::test_upload_options_match_across_controllers",
    "checks/test_image_integrity.py::test_no_checksum_errors_in_logs":
        "checks/test_checksum_mismatch.py::test_no_checksum_errors_in_logs",
    "checks/test_quota_forecast.py::test_project_quota_will_not_cross_alert_level_within_window":
        "checks/test_quota.py::test_project_quota_will_not_cross_alert_level_within_window",
    "checks/test_store_capacity.py::test_file_store_has_free_inodes":
        "checks/test_store_full.py::test_file_store_has_free_inodes",
    "checks/test_store_capacity.py::test_file_store_has_room_for_largest_image":
        "checks/test_store_full.py::test_file_store_has_room_for_largest_image",
    "checks/test_store_capacity.py::test_file_store_usage_is_below_alert_level":
        "checks/test_store_full.py::test_file_store_usage_is_below_alert_level",
    "checks/test_store_capacity.py::test_no_store_full_errors_in_logs":
        "checks/test_store_full.py::test_no_store_full_errors_in_logs",
    "checks/test_store_capacity.py::test_rbd_pool_has_room_for_largest_image":
        "checks/test_store_full.py::test_rbd_pool_has_room_for_largest_image",
    "checks/test_store_capacity.py::test_rbd_pool_usage_is_below_alert_level":
        "checks/test_store_full.py::test_rbd_pool_usage_is_below_alert_level",
    "checks/test_store_capacity.py::test_swift_account_has_room_for_largest_image":
        "checks/test_store_full.py::test_swift_account_has_room_for_largest_image",
    "checks/test_store_capacity.py::test_swift_account_usage_is_below_alert_level":
        "checks/test_store_full.py::test_swift_account_usage_is_below_alert_level",
    "checks/test_store_forecast.py::test_store_will_not_cross_alert_level_within_window":
        "checks/test_store_full.py::test_store_will_not_cross_alert_level_within_window",
    "checks/test_upgrade_gate.py::test_config_options_are_known_to_the_release":
        "checks/test_upgrade.py::test_config_options_are_known_to_the_release",
    "checks/test_upgrade_gate.py::test_config_uses_no_deprecated_option":
        "checks/test_upgrade.py::test_config_uses_no_deprecated_option",
    "checks/test_upgrade_gate.py::test_database_schema_is_current":
        "checks/test_upgrade.py::test_database_schema_is_current",
    "checks/test_upgrade_gate.py::test_glance_upgrade_checks_report_no_failure":
        "checks/test_upgrade.py::test_glance_upgrade_checks_report_no_failure",
    "checks/test_upgrade_gate.py::test_policy_overrides_no_deprecated_rule":
        "checks/test_upgrade.py::test_policy_overrides_no_deprecated_rule",
    "checks/test_upload_timeouts.py::test_no_interrupted_uploads_in_logs":
        "checks/test_interrupted_upload.py::test_no_interrupted_uploads_in_logs",
    "checks/test_upload_timeouts.py::test_upload_path_limit_lets_largest_upload_through":
        "checks/test_interrupted_upload.py::test_upload_path_limit_lets_largest_upload_through",
    "checks/test_worker_health.py::test_host_has_memory_headroom_for_uploads":
        "checks/test_worker_crash.py::test_host_has_memory_headroom_for_uploads",
    "checks/test_worker_health.py::test_kernel_has_not_oom_killed_glance":
        "checks/test_worker_crash.py::test_kernel_has_not_oom_killed_glance",
    "checks/test_worker_health.py::test_no_worker_killed_in_service_logs":
        "checks/test_worker_crash.py::test_no_worker_killed_in_service_logs",
    "checks/test_worker_health.py::test_service_has_not_restarted_by_itself":
        "checks/test_worker_crash.py::test_service_has_not_restarted_by_itself",
}


def current_id(nodeid: str) -> str:
    """A check id as this release names it (older runs in the history may use an earlier one)."""
    check, bracket, params = nodeid.partition("[")
    return RENAMED.get(check, check) + bracket + params


def compare(previous: dict | None, current: dict) -> dict:
    """What changed since the previous run; `failing_since` carries each failure's first run forward."""
    started = current.get("started")
    now = {c["nodeid"]: c for c in current.get("checks") or [] if c.get("nodeid")}
    changes = {"previous_run": None, "previous_verdict": None, "new_failures": [], "resolved": [],
               "persisting": [], "new_skips": [], "no_longer_run": [], "failing_since": {}}
    if previous is None:
        changes["note"] = "no earlier run in the history: nothing to compare with"
        changes["failing_since"] = {n: started for n, c in now.items() if c.get("outcome") in FAILING}
        changes["counts"] = {k: 0 for k in ("new_failures", "resolved", "persisting", "new_skips", "no_longer_run")}
        return changes
    before = {current_id(c["nodeid"]): c for c in previous.get("checks") or [] if c.get("nodeid")}
    known_since = {current_id(k): v for k, v in ((previous.get("changes") or {}).get("failing_since") or {}).items()}
    changes["previous_run"], changes["previous_verdict"] = previous.get("started"), previous.get("verdict")
    for nodeid, check in now.items():
        outcome, old = check.get("outcome"), before.get(nodeid)
        old_outcome = old.get("outcome") if old else None
        if outcome in FAILING:
            if old_outcome in FAILING:
                since = known_since.get(nodeid) or previous.get("started")
                changes["persisting"].append(_entry(check, since))
            else:
                since = started
                changes["new_failures"].append(_entry(check, since))
            changes["failing_since"][nodeid] = since
        elif outcome == PASSED and old_outcome in FAILING:
            changes["resolved"].append(_entry(check, known_since.get(nodeid) or previous.get("started")))
        elif outcome == SKIPPED and old_outcome != SKIPPED:
            entry = _entry(check)
            entry["before"] = old_outcome or "not run"
            changes["new_skips"].append(entry)
    for nodeid, old in before.items():
        if nodeid not in now and old.get("outcome") in FAILING:
            changes["no_longer_run"].append(_entry(old, known_since.get(nodeid) or previous.get("started")))
    changes["counts"] = {k: len(changes[k]) for k in
                         ("new_failures", "resolved", "persisting", "new_skips", "no_longer_run")}
    return changes


# --------------------------------------------------------------------------
# one run's view of its history


class RunHistory:
    """Loaded once per run: the previous document, the history's figures, the forecasts."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._previous: dict | None = None
        self._previous_loaded = False
        self._slims: list[dict] | None = None
        self._listed: list[Path] | None = None
        self._forecasts: tuple | None = None
        self.unreadable: list[str] = []
        self.error: str | None = None  # why the history could not be read, once for the whole run
        self.saved: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.directory is not None

    def _files(self) -> list[Path]:
        """The directory listed once; a directory that cannot be listed is this run's history error."""
        if self._listed is None:
            self._listed = []
            if self.enabled:
                try:
                    self._listed = history_files(self.settings.directory)
                except OSError as exc:
                    self.error = f"{type(exc).__name__}: {exc}"
        return self._listed

    def previous(self) -> dict | None:
        """The newest run in the directory that reads as a health document."""
        if not self._previous_loaded:
            self._previous_loaded = True
            for path in reversed(self._files()):
                document = load(path)
                if document is not None:
                    self._previous = document
                    break
        return self._previous

    def runs(self) -> list[dict]:
        """Every earlier run, slimmed (oldest first); unreadable files are named, not fatal."""
        if self._slims is None:
            self._slims = []
            self.previous()  # the comparison is fixed before this run is saved
            for path in self._files():
                figures = load_slim(path)
                if figures is None:
                    self.unreadable.append(path.name)
                else:
                    self._slims.append(figures)
        return self._slims

    def newest_with(self, series) -> dict | None:
        """The newest run whose figures give `series` something (a partial run, `-m api` say,
        measures no store: the forecast checks take their cases from the run before it)."""
        for path in reversed(self._files()):
            figures = load_slim(path)
            if figures is not None and series([figures]):
                return figures
        return None

    def runs_with(self, current: dict | None) -> list[dict]:
        """The earlier runs and this one (loaded before this run is saved, so never twice)."""
        runs = list(self.runs())
        if current is not None:
            runs.append(slim(current))
        return runs

    def forecast_objects(self, current: dict | None) -> tuple[list[dict], list, list]:
        """(runs, store forecasts, quota forecasts), computed once per run."""
        key = None if current is None else current.get("started")
        if self._forecasts is None or self._forecasts[0] != key:
            runs = self.runs_with(current)
            now = fc.run_time(runs[-1]) if runs else None
            s = self.settings
            series = fc.store_series(runs)
            self._forecasts = (key, runs, fc.store_forecasts(runs, s.alert_level, s.window, now, series),
                               fc.quota_forecasts(runs, s.alert_level, s.window, now), series)
        return self._forecasts[1:4]

    def store_series(self, current: dict | None) -> dict:
        self.forecast_objects(current)
        return self._forecasts[4]

    def forecasts(self, current: dict | None) -> dict:
        runs, stores, quotas = self.forecast_objects(current)
        s = self.settings
        return {
            "window": f"{s.window.total_seconds() / 86400:g}d",
            "alert_level": s.alert_level,
            "min_points": fc.MIN_POINTS,
            "min_span_hours": fc.MIN_SPAN.total_seconds() / 3600,
            "runs": len(runs),
            "unreadable": list(self.unreadable),
            "stores": [f.as_dict() for f in stores],
            "quotas": [f.as_dict() for f in quotas],
        }


_KEY = pytest.StashKey[RunHistory]()


def of(config: pytest.Config) -> RunHistory:
    if _KEY not in config.stash:
        config.stash[_KEY] = RunHistory(settings_of(config))
    return config.stash[_KEY]


# --------------------------------------------------------------------------
# hook-ups called by glance_hc.report (which registers this module as a plugin)

FORECAST_CHECKS = ("test_store_will_not_cross_alert_level_within_window",
                   "test_project_quota_will_not_cross_alert_level_within_window")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --history there is nothing to forecast from: the forecast checks do not apply
    (the run context says so), as a store kind a host does not use; with a history too short
    they run and skip, saying why."""
    if of(config).enabled:
        return
    drop = [item for item in items if getattr(item, "originalname", item.name) in FORECAST_CHECKS]
    if drop:
        from glance_hc.report import context  # noqa: PLC0415 - the report imports this module

        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]
        context(config)["forecasts"] = ("not run: this run keeps no history to forecast from "
                                        "(--history DIR, ini history_dir)")


def annotate(config: pytest.Config, document: dict) -> dict:
    """health.json's `changes` and `forecasts` blocks, when the run keeps a history."""
    run = of(config)
    if run.enabled and run.error is None:
        try:
            previous = run.previous()
            if run.error is not None:
                raise OSError(run.error)
            document["changes"] = compare(previous, document)
            document["forecasts"] = run.forecasts(document)
        except Exception as exc:  # noqa: BLE001 - a bad history must not cost the run its report
            run.error = run.error or f"{type(exc).__name__}: {exc}"
            document.pop("changes", None)
    if run.error is not None:
        document["history_error"] = run.error
    return document


def record(config: pytest.Config, document: dict) -> Path | None:
    """Add this run to the history directory (after the comparison was made)."""
    run = of(config)
    if not run.enabled or run.saved is not None:
        return None
    run.previous()
    try:
        run.saved = save(run.settings.directory, document, run.settings.keep)
    except OSError as exc:  # the run's own reports are written already: say so, do not crash
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        message = f"glance-hc: this run could not be kept in the history {run.settings.directory}: {exc}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message, file=sys.stderr)
        return None
    return run.saved


def prom_lines(config: pytest.Config, document: dict) -> list[str]:
    """Textfile families for the alert level, the changes and the forecasts."""
    from glance_hc.report import prom_labels as labels  # noqa: PLC0415 - the report imports this module

    run = of(config)
    s = run.settings
    lines = [
        "# HELP glance_hc_store_alert_level_ratio The alert level for store usage in force (ratio).",
        "# TYPE glance_hc_store_alert_level_ratio gauge",
        f"glance_hc_store_alert_level_ratio {s.alert_level!r}",
        "# HELP glance_hc_forecast_window_seconds How far ahead a store may not cross the alert level.",
        "# TYPE glance_hc_forecast_window_seconds gauge",
        f"glance_hc_forecast_window_seconds {s.window.total_seconds():g}",
    ]
    changes, forecasts = document.get("changes"), document.get("forecasts")
    if changes:
        lines += ["# HELP glance_hc_changes Checks by change since the previous run in the history.",
                  "# TYPE glance_hc_changes gauge"]
        lines += [f'glance_hc_changes{{change="{name}"}} {n}' for name, n in changes["counts"].items()]
        by_id = {c["nodeid"]: c for c in document.get("checks") or []}
        lines += ["# HELP glance_hc_check_failing_since_seconds When the check first failed in the run of "
                  "failures it is in (unix time).",
                  "# TYPE glance_hc_check_failing_since_seconds gauge"]
        for nodeid, since in sorted(changes["failing_since"].items()):
            check, when = by_id.get(nodeid, {}), fc.parse_time(since)
            if when is None:
                continue
            label_text = labels({"check": nodeid, "root_cause": check.get("root_cause") or "",
                                 "target": check.get("target") or "", "store": check.get("store") or ""})
            lines.append(f"glance_hc_check_failing_since_seconds{label_text} {when.timestamp():.0f}")
    if forecasts:
        families = {
            "glance_hc_store_growth_ratio_per_day": ("Store usage growth from the history (least squares).", []),
            "glance_hc_store_growth_stderr_ratio_per_day": ("Standard error of that growth.", []),
            "glance_hc_store_alert_level_predicted_timestamp_seconds": (
                "When the store reaches the alert level at its growth rate (unix time).", []),
            "glance_hc_store_full_predicted_timestamp_seconds": (
                "When the store is full at its growth rate (unix time).", []),
        }
        for item in forecasts["stores"]:
            if item["rate_per_day"] is None:
                continue
            label_text = labels({k: item["labels"][k] for k in ("target", "store", "path")})
            names = list(families)
            values = [item["rate_per_day"], item["rate_se_per_day"],
                      fc.parse_time(item["alert_at"]), fc.parse_time(item["full_at"])]
            for name, value in zip(names, values, strict=True):
                if value is None:
                    continue
                value = value.timestamp() if isinstance(value, datetime.datetime) else value
                families[name][1].append(f"{name}{label_text} {float(value)!r}")
        for name, (help_text, samples) in families.items():
            if samples:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
    return lines
