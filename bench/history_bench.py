#!/usr/bin/env python3
"""P6: a year of nightly runs loads and renders in under 2 s, and the report stays one small file.

    .venv/bin/python -m bench.history_bench [--runs 365] [--reps 5] [--base FILE]

The history is made from a real health.json of the lab's two controllers
(tests/data/history/lab-two-controllers.json, captured with `pytest checks/
--host=controller1 --host=controller2 ...`): one document a night, the stores
filling at their own rates with noise, the canaries' throughput varying, a few
failure and skip episodes (a store above the alert level, a canary answering
503, controller2 unreachable), each run compared with the one before as the
suite does.

Two measures, each against a baseline of the same run:
  * in process: load the history, compare, forecast, and render the report's
    history section and the textfile's extra families (subject), against
    rendering the same section for a run without history (baseline);
  * end to end: `pytest` replaying the lab document's checks (same node ids,
    markers, evidence, figures and outcomes) with pytest-html, with
    `--history` of the year (subject) and without (baseline); the html file's
    size against the 5 MB bound.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.stats import Target, compare, fmt, median, verdict
from glance_hc import forecast as fc
from glance_hc import history, trends

ROOT = Path(__file__).resolve().parents[1]

BASE = ROOT / "tests" / "data" / "history" / "lab-two-controllers.json"
LOAD_RENDER_MAX_S = 2.0
REPORT_MAX_BYTES = 5 * 1024 * 1024

# store -> (used ratio a year ago, used ratio now, noise): each store fills at its own rate
PROFILES = {
    "fast": (0.20, 0.72, 0.010),
    "cheap": (0.35, 0.36, 0.015),
    "rbd": (0.05, 0.40, 0.008),
    "swift": (0.10, 0.83, 0.010),
    "staging": (0.02, 0.02, 0.010),
    "tasks": (0.01, 0.01, 0.005),
}
QUOTA_GROWTH = {"image_size_total": (0.05, 0.70), "image_stage_total": (0.0, 0.01),
                "image_count_total": (0.10, 0.55)}


# --------------------------------------------------------------------------
# a year of documents


def _summary(checks: list[dict]) -> dict:
    counts = Counter(c["outcome"] for c in checks)
    return {"total": len(checks), **{o: counts.get(o, 0) for o in ("passed", "failed", "skipped", "error")}}


def _verdict(summary: dict) -> str:
    if summary["failed"] or summary["error"]:
        return "unhealthy"
    return "degraded" if summary["skipped"] else "healthy"


def night(base: dict, index: int, runs: int, when: datetime.datetime, rng: random.Random) -> dict:
    """The document of one night: base's checks with this night's figures and outcomes."""
    doc = copy.deepcopy(base)
    doc.pop("changes", None)
    doc.pop("forecasts", None)
    doc["started"] = when.isoformat(timespec="seconds")
    progress = index / max(runs - 1, 1)
    usage = {store: min(1.0, max(0.0, a + (b - a) * progress + rng.gauss(0, noise)))
             for store, (a, b, noise) in PROFILES.items()}
    canary_down = rng.random() < 0.02 or (index % 97 in (40, 41))  # an episode of two nights now and then
    controller2_away = index % 120 in (70,)
    for check in doc["checks"]:
        for metric in check["metrics"]:
            if metric["name"] == fc.STORE_METRIC:
                value = usage.get(metric["labels"].get("store"), metric["value"])
                metric["value"] = round(value, 4)
                if "usage_is_below_alert_level" in check["nodeid"] and value >= 0.8:
                    check["outcome"] = "failed"
                    check["message"] = (f"{metric['labels']['store']} store is {100 * value:.1f}% full "
                                        "(alert level 80%)")
            elif metric["name"] in fc.CANARY_METRICS:
                metric["value"] = round(metric["value"] * math.exp(rng.gauss(0, 0.15)), 2)
        if fc.QUOTA_CHECK in check["nodeid"]:
            for entry in check["evidence"]:
                resource = entry["title"].split(" ", 1)[0]
                match = fc.QUOTA_BODY.match(entry["body"])
                if match and resource in QUOTA_GROWTH:
                    a, b = QUOTA_GROWTH[resource]
                    limit = int(match["limit"])
                    used = int(limit * max(0.0, a + (b - a) * progress + rng.gauss(0, 0.005)))
                    entry["body"] = f"usage {used} {match['unit']}, limit {limit} {match['unit']}"
                    for metric in check["metrics"]:
                        metric["value"] = limit - used
        if canary_down and "test_canary_upload_roundtrip[store-fast]" in check["nodeid"]:
            check["outcome"] = "failed"
            check["message"] = "upload to store fast answered HTTP 503: Insufficient permissions on image storage media"
            check["metrics"] = []
        if controller2_away and check.get("target") == "controller2":
            check["outcome"] = "skipped"
            check["message"] = "ssh: connect to host controller2 port 22: Connection refused"
            check["metrics"] = []
    doc["summary"] = _summary(doc["checks"])
    doc["verdict"] = _verdict(doc["summary"])
    return doc


def make_history(directory: Path, base: dict, runs: int = 365, end: datetime.datetime | None = None,
                 seed: int = 22) -> list[Path]:
    """`runs` nightly documents at 02:00 UTC, the last one `end`'s night; saved as the suite saves."""
    rng = random.Random(seed)
    end = end or datetime.datetime.now(datetime.UTC)
    last = end.replace(hour=2, minute=0, second=0, microsecond=0)
    previous, paths = None, []
    for index in range(runs):
        doc = night(base, index, runs, last - datetime.timedelta(days=runs - 1 - index), rng)
        doc["changes"] = history.compare(previous, doc)
        paths.append(history.save(directory, doc, keep=runs + 1))
        previous = doc
    return paths


# --------------------------------------------------------------------------
# in process


class _Config:
    """What glance_hc.history reads of a pytest config, for a run outside pytest."""

    def __init__(self, directory: Path | None):
        import pytest  # noqa: PLC0415

        self.stash = pytest.Stash()
        self._options = {"history_dir": str(directory) if directory else None}
        self.invocation_params = type("P", (), {"dir": ROOT})()
        self.inipath = None

    def getoption(self, name):
        return self._options.get(name)

    def getini(self, name):
        raise ValueError(name)


def load_and_render(directory: Path | None, current: dict) -> tuple[float, int]:
    """Seconds to load, compare, forecast and render the section and textfile lines; html bytes."""
    started = time.perf_counter()
    config = _Config(directory)
    document = history.annotate(config, copy.copy(current))
    section = trends.html_section(config, document)
    lines = history.prom_lines(config, document)
    json.dumps(document)
    return time.perf_counter() - started, len(section.encode()) + sum(len(x) for x in lines)


# --------------------------------------------------------------------------
# end to end: pytest replaying the lab document

REPLAY_CONFTEST = """
import json, pytest
pytest_plugins = ["glance_hc.fixtures.options", "glance_hc.report"]
CHECKS = {c["nodeid"]: c for c in json.load(open(%r))["checks"]}

@pytest.fixture
def replay(request):
    check = CHECKS[request.node.nodeid]
    if check["target"]:
        request.node.user_properties.append(("hc_target", check["target"]))
    if check["store"]:
        request.node.user_properties.append(("hc_store", check["store"]))
    for entry in check["evidence"]:
        request.node.user_properties.append(("hc_evidence", entry))
    for metric in check["metrics"]:
        request.node.user_properties.append(("hc_metric", metric))
    return check
"""

REPLAY_TEST = """
import pytest
from conftest import CHECKS

def _replay(check):
    if check["outcome"] == "skipped":
        pytest.skip(check["message"] or "skipped")
    if check["outcome"] in ("failed", "error"):
        pytest.fail(check["message"] or "failed", pytrace=False)
"""


def write_replay(project: Path, document_path: Path, document: dict) -> None:
    """checks/<module>.py with each function parametrized by the ids the lab run had."""
    from glance_hc.catalogue import ROOT_CAUSES  # noqa: PLC0415

    (project / "conftest.py").write_text(REPLAY_CONFTEST % str(document_path))
    (project / "pytest.ini").write_text(
        "[pytest]\npythonpath = " + str(ROOT) + "\nmarkers =\n"
        + "".join(f"    {m}: marker\n" for m in ("host", "api", "canary", "gate", *ROOT_CAUSES)))
    modules: dict[str, dict[str, list[tuple[str | None, dict]]]] = {}
    for check in document["checks"]:
        module, _, name = check["nodeid"].partition("::")
        func, _, param = name.partition("[")
        modules.setdefault(module, {}).setdefault(func, []).append((param[:-1] if param else None, check))
    for module, funcs in modules.items():
        path = project / module
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        body = [REPLAY_TEST]
        for func, cases in funcs.items():
            first = cases[0][1]
            marks = f"@pytest.mark.{first['root_cause']}\n@pytest.mark.{first['scope'] or 'host'}\n"
            if cases[0][0] is None:
                body.append(f"{marks}def {func}(replay):\n    _replay(replay)\n")
            else:
                ids = [c[0] for c in cases]
                body.append(f"@pytest.mark.parametrize('case', {ids!r}, ids={ids!r})\n"
                            f"{marks}def {func}(case, replay):\n    _replay(replay)\n")
        path.write_text("\n".join(body))


def replay_run(project: Path, out: Path, history_dir: Path | None) -> tuple[float, int, dict]:
    args = [sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--html={out}/health.html", "--self-contained-html", f"--health-json={out}/health.json"]
    if history_dir:
        args.append(f"--history={history_dir}")
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    if proc.returncode > 1 or not (out / "health.html").exists():
        raise RuntimeError(f"replay run exited {proc.returncode}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return seconds, (out / "health.html").stat().st_size, json.loads((out / "health.json").read_text())


# --------------------------------------------------------------------------


def measure(runs: int = 365, reps: int = 5, base_path: Path = BASE, emit=None) -> list[dict]:
    """Run both measures; `emit(name, line, targets, **data)` prints (bench/run.py's, or print)."""
    base = json.loads(base_path.read_text())
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="hc-history-bench-"))
    try:
        directory = tmp / "history"
        t0 = time.perf_counter()
        make_history(directory, base, runs)
        made = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in history.history_files(directory))
        current = night(base, runs, runs + 1, datetime.datetime.now(datetime.UTC), random.Random(1))

        subject, baseline, section = [], [], 0
        for _ in range(reps):
            s, section = load_and_render(directory, current)
            b, _ = load_and_render(None, current)
            subject.append(s)
            baseline.append(b)
        cmp_ = compare(subject, baseline)
        t0 = time.perf_counter()  # what reading every whole run would cost (the .slim files avoid it)
        for path in history.history_files(directory):
            json.loads(path.read_text())
        full_parse = time.perf_counter() - t0
        results.append(emit(
            "history load and render (in process)",
            f"{runs} runs ({size / 2**20:.0f} MiB on disk, made in {made:.1f}s): {fmt(cmp_.subject_median)} s, "
            f"without history {fmt(cmp_.baseline_median)} s, ratio {fmt(cmp_.ratio)}; parsing every whole run "
            f"instead {fmt(full_parse)} s (ratio {fmt(cmp_.subject_median / full_parse)}); "
            f"section {section / 1024:.0f} KiB",
            [(Target("seconds", "<", LOAD_RENDER_MAX_S, "s"), cmp_.subject_median)],
            subject=subject, baseline=baseline, full_parse_seconds=full_parse, history_bytes=size))

        project = tmp / "replay"
        project.mkdir()
        doc_path = tmp / "current.json"
        doc_path.write_text(json.dumps(current))
        write_replay(project, doc_path, current)
        walls, bare, sizes, bare_sizes = [], [], [], []
        for rep in range(max(1, reps // 2)):
            rep_dir = tmp / f"hist-{rep}"
            shutil.copytree(directory, rep_dir)  # each run adds itself: start from the same year
            seconds, html_size, doc = replay_run(project, tmp / f"out-h{rep}", rep_dir)
            walls.append(seconds)
            sizes.append(html_size)
            seconds, html_size, _ = replay_run(project, tmp / f"out-b{rep}", None)
            bare.append(seconds)
            bare_sizes.append(html_size)
        assert doc.get("forecasts", {}).get("runs") == runs + 1, "the replay did not read the history"
        cmp_ = compare(walls, bare)
        results.append(emit(
            "report with a year of history (pytest + pytest-html, end to end)",
            f"{fmt(cmp_.subject_median)} s, without history {fmt(cmp_.baseline_median)} s, ratio {fmt(cmp_.ratio)}; "
            f"html {median(sizes) / 2**20:.2f} MiB, without history {median(bare_sizes) / 2**20:.2f} MiB",
            [(Target("extra seconds", "<", LOAD_RENDER_MAX_S, "s"), cmp_.subject_median - cmp_.baseline_median),
             (Target("html", "<", REPORT_MAX_BYTES / 2**20, "MiB"), median(sizes) / 2**20)],
            subject=walls, baseline=bare, html_bytes=sizes, html_bytes_baseline=bare_sizes))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _print_emit(name, line, targets, **data):
    full = f"P6 {name}: {line} {verdict(targets)}".rstrip()
    print(full, flush=True)
    return {"id": "P6", "name": name, "line": full, "targets": [t.as_dict(m) for t, m in targets],
            "met": all(t.met(m) for t, m in targets), **data}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--base", type=Path, default=BASE)
    args = parser.parse_args(argv)
    measure(args.runs, args.reps, args.base, _print_emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def p6(b) -> None:
    """bench/run.py's entry: the same measures, printed and kept with the others."""
    measure(emit=lambda name, line, targets, **data: b.emit("P6", name, line, targets, **data))
