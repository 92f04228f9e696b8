"""Capture what a lab host's file stores hold and what Glance accounts for, as unit-test data
(tests/data/store_space).

    .venv/bin/python -m tests.tools.capture_store_space LABEL [HOST] [SSH_CONFIG]
    e.g. capture_store_space.py healthy controller1   (then, with a fault injected: ... foreign-file)

Writes LABEL-HOST.json: the probe's phase-two `dirs` (with each file store's listing) and `rbd`
(root's and the worker user's side: ceph df, rbd ls names), as gather() asks them, and the admin
image list (id, name, status, size, stores, visibility).
Needs OS_CLIENT_CONFIG_FILE for the lab cloud `hc-lab`. Run it under the lab lock.
"""
import json
import sys
import time
from pathlib import Path

import openstack
import testinfra

from glance_hc import canary, facts
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.redact import redact_obj

OUT = Path(__file__).resolve().parent.parent / "data" / "store_space"
KEEP = ("id", "name", "status", "size", "stores", "visibility", "os_hidden")


class _Limits:
    api_timeout = 30


def main(label: str, name: str = "controller1", ssh_config: str = "/opt/glance-hc-lab/state/ssh_config") -> None:
    spec = parse_host(f"ssh://{name}")
    host = testinfra.get_host(f"ssh://{name}", ssh_config=ssh_config)
    found = facts.HostFacts(spec=spec)
    facts.discover(found, json.loads(json.dumps(transport.round_trip(host, facts.discover_request(60)))))
    request = facts.stores_request(found, 60)
    stores = transport.round_trip(host, request)
    conn = openstack.connect(cloud="hc-lab")
    images, _ = canary.list_every_image(conn, _Limits)
    doc = {"host": name, "captured": int(time.time()), "list_dirs": request["list_dirs"],
           "dirs": stores.get("dirs", {}), "rbd": stores.get("rbd", {}),
           "rbd_worker": (stores.get("worker") or {}).get("rbd", {}), "images": [{k: i.get(k) for k in KEEP} for i in images]}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{label}-{name}.json"
    path.write_text(json.dumps(redact_obj(doc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
