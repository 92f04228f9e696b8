"""Capture the rbd part of the probe's real output from a lab controller, as unit-test data.

    .venv/bin/python tests/tools/capture_rbd.py NAME [ssh://controller1] [ssh_config]

Run it on the healthy lab and with each rbd fault injected (`lab/labctl.py fault inject rbd-...`).
"""
import sys
from pathlib import Path

import testinfra

from glance_hc import facts, probe_scripts
from glance_hc.redact import redact

OUT = Path(__file__).resolve().parent.parent / "data" / "rbd"


def main(name: str, url: str = "ssh://controller1", ssh_config: str = "/opt/glance-hc-lab/state/ssh_config") -> None:
    host = testinfra.get_host(url, ssh_config=ssh_config)
    found = facts.HostFacts(spec=None)
    facts.discover(found, facts.split_sections(facts.run_script(host, probe_scripts.DISCOVER, "60")))
    out = facts.run_script(host, probe_scripts.STORES_AND_LOGS, "60", found.deployment.worker_user or "", "", "",
                           "no-log-lines-wanted", *facts.rbd_targets(found.config))
    kept = [f"@@hc@@ {section}\n{body}\n" for section, body in facts.split_sections(out) if section.startswith("rbd")]
    (OUT / f"{name}.txt").write_text(redact("".join(kept)))
    print(f"wrote {OUT / name}.txt")


if __name__ == "__main__":
    main(*sys.argv[1:])
