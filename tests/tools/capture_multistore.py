"""Capture imports to several stores from the lab (tests/data/imports/README.md says when).

For each of: glance-direct to every store Glance lists with all_stores_must_succeed true, the same with
false, and copy-image of an imported image to every other store, writes DIR/<kind>/polls.json (each
record polled every 0.3 s from the import call until Glance is done, at most 30 s, with the import
call's task at that moment) and DIR/<kind>/tasks.json, then deletes the image.
OS_CLIENT_CONFIG_FILE=... python -m tests.tools.capture_multistore DIR
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import openstack

from glance_hc import canary
from glance_hc.canary import multistore

KINDS = {"must-succeed-true": True, "must-succeed-false": False, "copy-image": None}


def capture(conn, out: Path, kind: str, must_succeed: bool | None, stores: list[str], default: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    image_id = canary.create_image(conn, canary.canary_name(f"capture-{kind}"), timeout=30).json["id"]
    try:
        print("stage:", canary.stage(conn, image_id, canary.PatternSource(1 << 20, seed=1), timeout=30).describe())
        if must_succeed is None:
            print("import:", canary.start_import(conn, image_id, timeout=30).describe())
            canary.wait_for_import(conn, image_id, 30)
            wanted, method = [s for s in stores if s != default], multistore.COPY_IMAGE
        else:
            wanted, method = stores, canary.GLANCE_DIRECT
        answer = canary.start_import(conn, image_id, timeout=30,
                                     body=multistore.multi_body(method, wanted, bool(must_succeed)))
        print("import:", answer.describe())
        ids = tuple(x for x in (answer.global_request_id, answer.request_id) if x)
        polls, started = [], time.monotonic()
        while time.monotonic() - started < 30:
            record = canary.image_record(conn, image_id, timeout=30)
            task = multistore.task_of(canary.image_tasks(conn, image_id, timeout=30), ids)
            polls.append({"t": round(time.monotonic() - started, 2), "record": record, "task": task})
            if multistore.settled(record, task, wanted, must_succeed) and len(polls) > 1:
                time.sleep(1)  # and one more after: what Glance writes once the task is done
                polls.append({"t": round(time.monotonic() - started, 2),
                              "record": canary.image_record(conn, image_id, timeout=30),
                              "task": multistore.task_of(canary.image_tasks(conn, image_id, timeout=30), ids)})
                break
            time.sleep(0.3)
        (out / "polls.json").write_text(json.dumps({"wanted": wanted, "must_succeed": must_succeed, "polls": polls},
                                                   indent=1, sort_keys=True) + "\n")
        print(kind, multistore.judge(polls[-1]["record"], wanted, must_succeed, polls[-1]["task"]).describe())
    finally:
        print("cleanup:", canary.delete_and_confirm(conn, image_id, timeout=30, request_timeout=30).detail)


def main(out: Path) -> None:
    conn = openstack.connect(cloud="hc-lab")
    listed, _ = canary.offered_stores(conn, timeout=30)
    stores = [str(s["id"]) for s in listed or []]
    default = next((str(s["id"]) for s in listed or [] if canary.is_default_store(s)), stores[0])
    for kind, must_succeed in KINDS.items():
        capture(conn, out / kind, kind, must_succeed, stores, default)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
