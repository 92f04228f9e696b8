"""Capture the probe's real answers about the staging store from the two-controller lab, healthy and
under each staging fault, as unit-test data (tests/data/staging/LABEL/).

    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        .venv/bin/python -m tests.tools.capture_staging [LABEL ...]

LABEL is `healthy` or a fault of lab/faults.py STAGING_FAULTS / STAGING_NODE_FAULTS (default: all
three); a fault is injected before and reverted after (always). For each controller it writes
NODE-discover.json (phase one, whole: the config files) and NODE-stores.json (phase two's `clock`,
`dirs`, `boot_id`, `errors` and the worker user's dir test; the log lines left out), as gather()
asks them, and api.json: the ids GET /v2/images?status=in:uploading,importing lists and, for every
entry of the staging dir named by an image id, what GET /v2/images/ID answers (status or 404).
Everything redacted (glance_hc.redact).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import openstack
import testinfra

from glance_hc import canary, facts, staging
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.redact import redact_obj
from lab import common

OUT = Path(__file__).resolve().parent.parent / "data" / "staging"
SSH_CONFIG = str(common.STATE / "ssh_config")
LABELS = ("healthy", "staging-leftover", "staging-not-shared-no-self-ref")


class _Limits:
    api_timeout = 30


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redact_obj(doc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


def capture(label: str) -> None:
    conn = openstack.connect(cloud="hc-lab")
    named = set()
    for node in common.controllers()[:2]:
        spec = parse_host(f"ssh://{node}")
        host = testinfra.get_host(f"ssh://{node}", ssh_config=SSH_CONFIG)
        discover = transport.round_trip(host, facts.discover_request(60))
        found = facts.HostFacts(spec=spec)
        facts.discover(found, json.loads(json.dumps(discover)))
        stores = transport.round_trip(host, facts.stores_request(found, 60))
        kept = {k: stores.get(k) for k in ("protocol", "phase", "privilege", "clock", "dirs", "boot_id", "errors")}
        kept["worker"] = {"user": (stores.get("worker") or {}).get("user"),
                          "dirs": (stores.get("worker") or {}).get("dirs", {})}
        write(OUT / label / f"{node}-discover.json", discover)
        write(OUT / label / f"{node}-stores.json", kept)
        for info in (stores.get("dirs") or {}).values():
            for entry in ((info or {}).get("entries") or {}).get("entries", []):
                if staging.image_id_of(entry[0]):
                    named.add(staging.image_id_of(entry[0]))
    images, _ = canary.list_every_image(conn, _Limits, status="in:uploading,importing")
    lookups = {}
    for image_id in sorted(named):
        answer, _ = canary.call(conn, "GET", f"/images/{image_id}", timeout=30)
        lookups[image_id] = {"status": answer.status, "json": answer.json}
    write(OUT / label / "api.json", {"captured": int(time.time()), "in_use": [i.get("id") for i in images],
                                     "lookups": lookups})


def fault(action: str, name: str) -> None:
    subprocess.run([*common.lab_command("fault", action, name)], check=True, cwd=common.ROOT, timeout=300)


def main(labels) -> None:
    for label in labels or LABELS:
        if label == "healthy":
            capture(label)
            continue
        fault("inject", label)
        try:
            capture(label)
        finally:
            fault("revert", label)


if __name__ == "__main__":
    main(sys.argv[1:])
