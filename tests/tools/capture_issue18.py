"""Capture the logs around an image a restart or a killed worker leaves stuck (issue 18), from the lab.

Run from the repo root, as root, with the lab up (swift on) and no fault injected, under the lab lock:
    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        .venv/bin/python -m tests.tools.capture_issue18 [CASE ...]   (default: every case)
Cases (each fault reverted in `finally`; the revert rotates the logs, so each capture holds one case):
  worker-killed          the lab's worker-killed fault: a user's upload in saving, its workers SIGKILLed
  import-cut-by-restart  a glance-direct import to swift cut by a restart of controller1's glance-api
  restart                a plain restart of controller1's idle glance-api (`restart-glance`): what a
                         clean stop and start print, no image involved (case.json has no image)
Writes, per case, tests/data/logs/issue18-<case>/: every controller's glance-api.log,
glance-api-uwsgi.log (where uWSGI's own lines go: the ini's `logto`), the HAProxy log, the kernel's
OOM lines (`journalctl -k`, none in these cases: the lab kills with a signal, not the OOM killer),
and case.json (the stuck image's id, its record, each host's clock).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from bench import labio
from glance_hc import canary
from tests.e2e import lab
from tests.e2e.lab import FAULTS_MODULE as faults

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "data" / "logs"
LOGS = {"glance-api.log": "/var/log/glance/glance-api.log",
        "glance-api-uwsgi.log": "/var/log/glance/glance-api-uwsgi.log",
        "haproxy.log": "/var/log/haproxy/haproxy.log"}
PREFIX = {"worker-killed": "hc-lab-stuck-saving", "import-cut-by-restart": "hc-lab-stuck-importing"}


def capture(case: str, image_id: str | None, record: dict) -> None:
    out = OUT / f"issue18-{case}"
    out.mkdir(parents=True, exist_ok=True)
    clocks = {}
    for node in labio.nodes():
        for name, path in LOGS.items():
            got = labio.in_ns(node, ["cat", path], timeout=60)
            (out / f"{node}-{name}").write_text(got.stdout if got.returncode == 0 else "")
        clocks[node] = labio.in_ns(node, ["date", "+%Y-%m-%d %H:%M:%S"]).stdout.strip()
    kernel = subprocess.run(["journalctl", "-k", "--since", "-30min", "-o", "short-iso", "--no-pager", "-q",
                             "--grep", "out of memory|killed process|oom-kill"],
                            capture_output=True, text=True, timeout=60)
    (out / "kernel.log").write_text(kernel.stdout)
    (out / "case.json").write_text(json.dumps({"case": case, "image_id": image_id, "record": record,
                                               "clock_local": clocks}, indent=1, sort_keys=True) + "\n")
    print(f"{case}: {image_id} {record.get('status')} -> {out.relative_to(ROOT)}")


def main() -> None:
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", str(lab.STATE / "clouds.yaml"))
    c = lab.connect()
    wanted = sys.argv[1:] or ["restart", *PREFIX]
    if "restart" in wanted:
        faults.inner("rotate-logs")
        faults.inner("restart-glance")
        try:
            capture("restart", None, {})
        finally:
            faults.inner("rotate-logs")
    for case, prefix in PREFIX.items():
        if case not in wanted:
            continue
        lab.fault("inject", case)
        try:
            stuck = [i for i in c.image.images() if (i.name or "").startswith(prefix)]
            record = canary.image_record(c, stuck[-1].id, timeout=30)
            capture(case, stuck[-1].id, record)
        finally:
            lab.fault("revert", case)


if __name__ == "__main__":
    main()
