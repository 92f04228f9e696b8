"""Capture the rbd part of the probe's real answer from a lab controller, as unit-test data.

    .venv/bin/python -m tests.tools.capture_rbd NAME [ssh://controller1] [ssh_config]

Run it on the healthy lab and with each rbd fault injected (`python3 -m lab fault inject rbd-...`),
under the lab lock. Keeps what the probe said of the rbd stores: root's view (`rbd`: client files,
tools, caps with the key blanked on the host) and the worker user's (`worker`).
"""
import sys
from pathlib import Path

import testinfra

from glance_hc.hosts import parse_host
from glance_hc.redact import redact_obj
from tests.tools.capture_probe import capture, write

OUT = Path(__file__).resolve().parent.parent / "data" / "rbd"


def main(name: str, url: str = "ssh://controller1", ssh_config: str = "/opt/glance-hc-lab/state/ssh_config") -> None:
    host = testinfra.get_host(url, ssh_config=ssh_config)
    _, stores = capture(host, parse_host(url))
    worker = stores.get("worker") or {}
    kept = {"rbd": stores.get("rbd"), "worker": {"user": worker.get("user"), "rbd": worker.get("rbd"),
                                                 **({"error": worker["error"]} if "error" in worker else {})}}
    write(OUT / f"{name}.json", redact_obj(kept))


if __name__ == "__main__":
    main(*sys.argv[1:])
