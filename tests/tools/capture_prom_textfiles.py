"""Capture the suite's node_exporter textfiles from the lab, as data for the alerting rules' tests.

    flock /tmp/hc/lab.lock .venv/bin/python -m tests.tools.capture_prom_textfiles

Under the lab lock, with no fault injected. Each run is the suite against the
lab's two controllers with `--history` of 60 nights made from the lab's own health.json
(bench/history_bench.py: stores filling at their own rates), so the textfile has the
forecast families as a nightly run would write them:

  tests/data/history/lab-no-fault.prom    the lab as it is (no fault injected; other work in the lab shows)
  tests/data/history/lab-store-full.prom  with the store-full fault (the default store filled), reverted after
"""
from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench import history_bench
from tests.e2e import lab

ROOT = Path(__file__).resolve().parents[2]

OUT = ROOT / "tests" / "data" / "history"
NIGHTS = 60


def suite_run(workdir: Path, name: str, history_dir: Path) -> None:
    run = lab.run_suite(workdir / name, f"--history={history_dir}", f"--prom-textfile={workdir / name}/hc.prom")
    if run.exit_code > 1:
        raise SystemExit(f"suite run {name} exited {run.exit_code}: {run.stdout[-3000:]}")
    shutil.copy(workdir / name / "hc.prom", OUT / f"lab-{name}.prom")
    print(f"{name}: exit {run.exit_code}, {run.health['summary']}")


def main() -> None:
    if not lab.lab_is_up():
        raise SystemExit("the lab is not up")
    status = subprocess.run([*lab.LABCTL, "status"], capture_output=True, text=True, timeout=60, cwd=lab.ROOT).stdout
    if "injected faults          none" not in status:
        raise SystemExit("a fault is injected: revert it first")
    base = json.loads(history_bench.BASE.read_text())
    with tempfile.TemporaryDirectory(prefix="hc-prom-capture-") as tmp:
        workdir = Path(tmp)
        # the nights before today, so that this run is the newest
        end = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        history_bench.make_history(workdir / "history", base, NIGHTS, end=end)
        for name in ("no-fault", "store-full"):
            shutil.copytree(workdir / "history", workdir / f"history-{name}")
        suite_run(workdir, "no-fault", workdir / "history-no-fault")
        lab.fault("inject", "store-full")
        try:
            suite_run(workdir, "store-full", workdir / "history-store-full")
        finally:
            lab.fault("revert", "store-full")


if __name__ == "__main__":
    main()
