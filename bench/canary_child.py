#!/usr/bin/env python3
"""One canary in a process of its own (P2: its peak RSS is the client's memory cost).

The same steps and calls as the suite's canary (checks/test_canary.py): create the image,
stream a PatternSource into it, wait for active, verify the record, download and verify,
delete and confirm. Prints one JSON line; exit 0 when every step worked.

    .venv/bin/python -m bench.canary_child --cloud hc-lab --size 1073741824 --endpoint http://127.0.0.2:9292/v2 --store fast
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from glance_hc import canary
from glance_hc.fixtures.cloud import connect


def _vmhwm_mib() -> float | None:
    """This process's own peak RSS (VmHWM: the high-water mark of its address space since exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 2)
    except (OSError, ValueError, IndexError):
        pass
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloud", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--endpoint", default=None, help="one glance-api node's /v2 endpoint")
    parser.add_argument("--store", default=None)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    result: dict = {"size": args.size, "ok": False}
    state = connect(args.cloud, 30)
    if state.error:
        result["error"] = state.error
        print(json.dumps(result))
        return 1
    conn, endpoint = state.conn, args.endpoint
    source = canary.PatternSource(args.size)
    name = f"hc-bench-p2-{args.size}-{uuid.uuid4().hex[:10]}"
    image_id = None
    problems: list[str] = []
    try:
        created = canary.create_image(conn, name, endpoint_override=endpoint, timeout=30)
        image_id = (created.json or {}).get("id") if created.ok else None
        if not image_id:
            raise RuntimeError(f"create: {created.describe()}")
        started = time.monotonic()
        up = canary.upload(conn, image_id, source, args.store, endpoint_override=endpoint,
                           timeout=(30, args.timeout), deadline=args.timeout)
        if not up.ok:
            raise RuntimeError(f"upload: {up.describe()}")
        record = canary.wait_for_status(conn, image_id, "active", args.timeout - (time.monotonic() - started),
                                        endpoint_override=endpoint, interval=0.5, request_timeout=30)
        problems += [text for _, text in canary.verify_record(record, source, args.store)]
        down = canary.download(conn, image_id, hash_algo=record.get("os_hash_algo") or source.hash_algo,
                               endpoint_override=endpoint, timeout=(30, args.timeout), deadline=args.timeout)
        if not down.ok:
            raise RuntimeError(f"download: {down.describe()}")
        problems += [text for _, text in canary.verify_download(down, record, source)]
        result.update(upload_mib_per_s=round(up.mib_per_s, 2), download_mib_per_s=round(down.mib_per_s, 2))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        problems.append(str(exc)[:500])
    finally:
        if image_id or name:
            cleanup = canary.delete_and_confirm(conn, image_id, name=name, endpoint_override=endpoint,
                                                timeout=60, request_timeout=30)
            result["cleanup"] = {"ok": cleanup.ok, "detail": cleanup.detail}
            if not cleanup.ok:
                problems.append(f"cleanup: {cleanup.detail}")
    result["vmhwm_mib"] = _vmhwm_mib()
    result["problems"] = problems
    result["ok"] = not problems
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
