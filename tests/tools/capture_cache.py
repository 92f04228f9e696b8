"""Capture the probe's real answers about the image cache from the lab, healthy (cache off) and under
the cache-over-size fault, as unit-test data (tests/data/cache/LABEL/).

    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        .venv/bin/python -m tests.tools.capture_cache [LABEL ...]

LABEL is `healthy`, `cache-over-size` or `cache-over-size-cron-pruner` (default: all three); the fault
is injected before and reverted after (always); the last one also has a cron.d file on controller1
running glance-cache-pruner every 30 minutes (written before the capture, removed after; it never ran).
For controller1 it writes controller1-discover.json (phase one, whole: the config
files) and controller1-stores.json (phase two's `clock`, `dirs` with the cache dir's listing,
`pruner_schedule`, `boot_id`, `errors` and the worker user's dir test; the log lines left out), as
gather() asks them; under the fault also api.json: GET /v2/cache on controller1 itself.
Everything redacted (glance_hc.redact).
"""
import json
import subprocess
import sys
from pathlib import Path

import openstack
import testinfra

from glance_hc import canary, facts
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.redact import redact_obj
from lab import common

OUT = Path(__file__).resolve().parent.parent / "data" / "cache"
SSH_CONFIG = str(common.STATE / "ssh_config")
LABELS = ("healthy", "cache-over-size", "cache-over-size-cron-pruner")
CRON_FILE = "/etc/cron.d/glance-cache-pruner"   # controller1's /etc is its own overlay: the host's cron never sees it
CRON_LINE = "*/30 * * * * glance /opt/glance-hc-lab/venv/bin/glance-cache-pruner\n"
NODE = "controller1"


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redact_obj(doc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


def capture(label: str) -> None:
    spec = parse_host(f"ssh://{NODE}")
    host = testinfra.get_host(f"ssh://{NODE}", ssh_config=SSH_CONFIG)
    discover = transport.round_trip(host, facts.discover_request(60))
    found = facts.HostFacts(spec=spec)
    facts.discover(found, json.loads(json.dumps(discover)))
    stores = transport.round_trip(host, facts.stores_request(found, 60))
    kept = {k: stores.get(k) for k in ("protocol", "phase", "privilege", "clock", "dirs", "boot_id", "errors",
                                       "pruner_schedule")}
    kept["worker"] = {"user": (stores.get("worker") or {}).get("user"),
                      "dirs": (stores.get("worker") or {}).get("dirs", {})}
    write(OUT / label / f"{NODE}-discover.json", discover)
    write(OUT / label / f"{NODE}-stores.json", kept)
    if label != "healthy":
        conn = openstack.connect(cloud="hc-lab")
        answer, _ = canary.call(conn, "GET", "/cache", endpoint_override=f"http://{common.NODES[NODE]}:9292/v2",
                                timeout=30)
        write(OUT / label / "api.json", {"status": answer.status, "json": answer.json})


def fault(action: str, name: str) -> None:
    subprocess.run([*common.lab_command("fault", action, name)], check=True, cwd=common.ROOT, timeout=300)


def main(labels) -> None:
    for label in labels or LABELS:
        if label == "healthy":
            capture(label)
            continue
        name = "cache-over-size"
        fault("inject", name)
        try:
            if label.endswith("-cron-pruner"):
                common.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CRON_FILE], input=CRON_LINE, text=True)
            capture(label)
        finally:
            common.in_namespace(["rm", "-f", CRON_FILE], check=False)
            fault("revert", name)


if __name__ == "__main__":
    main(sys.argv[1:])
