"""Capture the probe's real output from a host, redacted, as unit-test data.

    .venv/bin/python tests/tools/capture_probe.py ssh://controller1 /opt/glance-hc-lab/state/ssh_config
"""
import sys
from pathlib import Path

import testinfra

from glance_hc import facts, logscan, probe_scripts
from glance_hc.redact import redact

OUT = Path(__file__).resolve().parent.parent / "data" / "probe"


def main(url: str, ssh_config: str | None = None) -> None:
    host = testinfra.get_host(url, ssh_config=ssh_config) if ssh_config else testinfra.get_host(url)
    discover = facts.run_script(host, probe_scripts.DISCOVER, "60")
    (OUT / "discover.txt").write_text(redact(discover))
    found = facts.HostFacts(spec=None)
    facts.discover(found, facts.split_sections(discover))
    dep = found.deployment
    targets = [f"dir:{d}" for d in facts.store_dirs(found.config)] + dep.log_sources
    stores = facts.run_script(host, probe_scripts.STORES_AND_LOGS, "60", dep.worker_user or "", "", "",
                              logscan.combined_pattern(), *targets)
    (OUT / "stores_and_logs.txt").write_text(redact(stores))
    print(f"wrote {OUT}/discover.txt and stores_and_logs.txt")


if __name__ == "__main__":
    main(*sys.argv[1:])
