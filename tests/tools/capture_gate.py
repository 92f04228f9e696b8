"""Capture glance_hc/probe/gate_check.py's real report from the lab, as tests/data/gate/NAME.json.

    flock /tmp/hc/lab.lock python3 -m tests.tools.capture_gate NAME [PROGRAM ARGS...]

It runs the program inside controller1's namespace, as user glance, with the lab venv's python
(what the gate round trip does over ssh). Default args: --config-file /etc/glance/glance-api.conf.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = Path(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab"))


def main(name: str, *args: str) -> None:
    pid = (LAB / "state" / "run" / "ns.pid").read_text().strip()
    program = (ROOT / "glance_hc" / "probe" / "gate_check.py").read_text()
    argv = list(args) or ["--config-file", "/etc/glance/glance-api.conf"]
    out = subprocess.run(["nsenter", "-t", pid, "-m", "-u", "--", "runuser", "-u", "glance", "--",
                          str(LAB / "venv" / "bin" / "python"), "-I", "-c", program, *argv],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    (ROOT / "tests" / "data" / "gate" / f"{name}.json").write_text(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
