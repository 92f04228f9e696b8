"""Capture one glance-direct import's answers from the lab (tests/data/imports/README.md says when).

Stages 1 MiB, imports to the default store, waits (at most 60 s) for active or a failure, writes
the image record and its tasks (GET /v2/images/ID/tasks) as JSON to the directory given, deletes
the image. Run with the lab's clouds.yaml: OS_CLIENT_CONFIG_FILE=... python -m tests.tools.capture_import DIR
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import openstack

from glance_hc import canary


def main(out: Path) -> None:
    conn = openstack.connect(cloud="hc-lab")
    out.mkdir(parents=True, exist_ok=True)
    created = canary.create_image(conn, canary.canary_name("capture-import"), timeout=30)
    image_id = created.json["id"]
    try:
        staged = canary.stage(conn, image_id, canary.PatternSource(1 << 20, seed=1), timeout=30)
        print("stage:", staged.describe())
        started = canary.start_import(conn, image_id, timeout=30)
        print("import:", started.describe())
        record, stop = None, time.monotonic() + 60
        while time.monotonic() < stop:
            record = canary.image_record(conn, image_id, timeout=30)
            tasks = canary.image_tasks(conn, image_id, timeout=30)
            task = canary.latest_task(tasks)
            if (record or {}).get("status") == "active" or (task or {}).get("status") in ("failure", "success"):
                break
            time.sleep(1)
        time.sleep(1)  # the image's fallback is written after the task's status
        record = canary.image_record(conn, image_id, timeout=30)
        tasks = canary.image_tasks(conn, image_id, timeout=30)
        (out / "record.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        (out / "tasks.json").write_text(json.dumps({"tasks": tasks}, indent=1, sort_keys=True) + "\n")
        print("status:", (record or {}).get("status"), canary.describe_task(canary.latest_task(tasks)))
    finally:
        print("cleanup:", canary.delete_and_confirm(conn, image_id, timeout=30, request_timeout=30).detail)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
