"""Capture what forensics of one image reads, from the lab, for the unit tests (tests/data/forensics).

Run from the repo root, as root, with the lab up and no fault injected, under the lab lock:
    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        .venv/bin/python -m tests.tools.capture_forensics
Cases (each fault reverted in `finally`):
  store-full     a user's upload to controller1 while its file store is full (413)
  worker-killed  the image the lab's worker-killed fault leaves in saving
  healthy        a user's upload that worked
Each case writes <case>.json: the image record, the lines `request_lines` found per host (by image
id, then by request id), the host's kernel and uWSGI lines and the store's directory facts.
"""
import json
import os
import uuid
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import openstack
import testinfra

from glance_hc import canary, forensics
from glance_hc import facts as facts_mod
from glance_hc.hosts import parse_host
from tests.e2e import lab

ROOT = Path(__file__).resolve().parent.parent.parent

OUT = ROOT / "tests" / "data" / "forensics"
DIRECT = lab.FAULTS_MODULE.GLANCE_DIRECT


def gather(image_id: str) -> dict:
    hosts = {}
    for name in lab.controllers():
        host = testinfra.get_host(f"ssh://{name}", ssh_config=str(lab.STATE / "ssh_config"))
        found = facts_mod.gather(parse_host(name), host, timedelta(minutes=30))
        lines = facts_mod.request_lines(found, host, image_id)
        for rid in forensics.request_ids(lines):
            lines += [x for x in facts_mod.request_lines(found, host, rid) if x not in lines]
        uwsgi = [ln for ln in found.log_lines if found.log_sources.get(ln.source)
                 and found.log_sources[ln.source].role == "uwsgi"]
        hosts[name] = {
            "clock_local": found.clock_local.isoformat() if found.clock_local else None,
            "lines": lines,
            "kernel": [[ln.source, ln.when.isoformat() if ln.when else None, ln.text] for ln in found.kernel_lines],
            "uwsgi": [[ln.source, ln.when.isoformat() if ln.when else None, ln.text] for ln in uwsgi],
            "dirs": {path: asdict(d) for path, d in found.dirs.items()},
        }
    return hosts


def upload(c, image_id: str) -> int:
    return c.image.put(f"{DIRECT}/v2/images/{image_id}/file", data=b"\0" * (2 << 20), raise_exc=False,
                       headers={"Content-Type": "application/octet-stream"}).status_code


def case(c, name: str, image_id: str, status: int | None) -> None:
    record = canary.image_record(c, image_id, timeout=30)
    doc = {"case": name, "image_id": image_id, "upload_status": status, "record": record, "hosts": gather(image_id)}
    (OUT / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"{name}: {record.get('status')} {sum(len(h['lines']) for h in doc['hosts'].values())} lines")


def main() -> None:
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", str(lab.STATE / "clouds.yaml"))
    OUT.mkdir(parents=True, exist_ok=True)
    c = openstack.connect(cloud="hc-lab")
    for name, fault in (("store-full", "store-full"), ("healthy", None)):
        image = c.image.create_image(name=f"hc-forensics-{uuid.uuid4().hex[:8]}", disk_format="raw",
                                     container_format="bare", allow_duplicates=True, wait=False)
        try:
            if fault:
                lab.fault("inject", fault)
            try:
                status = upload(c, image.id)
                case(c, name, image.id, status)
            finally:
                if fault:
                    lab.fault("revert", fault)
        finally:
            canary.delete_and_confirm(c, image.id, timeout=30)
    lab.fault("inject", "worker-killed")
    try:
        stuck = [i for i in c.image.images() if (i.name or "").startswith("hc-lab-stuck-saving")
                 and i.status == "saving"]
        case(c, "worker-killed", stuck[-1].id, None)
    finally:
        lab.fault("revert", "worker-killed")


if __name__ == "__main__":
    main()
