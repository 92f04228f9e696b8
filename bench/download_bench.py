"""P1d: the verified download against the slower of its two limits, both measured in the same run.

A verified download can go no faster than Glance serves the image nor than this machine hashes
it (md5 for `checksum` and sha512 for `os_hash_value`, side by side). So, for one canary image
per size on one glance-api node (direct, no HAProxy), each repetition measures:

- subject: glance_hc.canary.download() (two hash threads, socket read into 4 MiB buffers) and
  verify_download() against what was sent;
- limit 1, unverified download: `curl -o /dev/null` of the same image from the same node;
- limit 2, parallel hashing: md5 and sha512 in two Python threads over one in-memory 4 MiB
  random block, as many bytes as the image (no socket, no Glance).

The figure is verified / min(limit 1, limit 2), pair by pair, median (target >= 0.8). The three
run in a rotating order so neither limit always sees a warmer or colder machine.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import uuid

from bench.stats import MIB, Target, compare, fmt, median

HASH_BLOCK = 4 * MIB


def parallel_hash_mib_per_s(size: int, algos: tuple[str, ...] = ("md5", "sha512")) -> float:
    """MiB/s at which this machine hashes `size` bytes with each of `algos` in its own thread."""
    block = os.urandom(HASH_BLOCK)
    count, tail = divmod(size, HASH_BLOCK)

    def run(algo: str) -> None:
        hasher = hashlib.new(algo)
        for _ in range(count):
            hasher.update(block)
        hasher.update(block[:tail])
        hasher.hexdigest()

    threads = [threading.Thread(target=run, args=(a,)) for a in algos]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return size / MIB / (time.monotonic() - started)


def curl_null_mib_per_s(b, image_id: str, size: int) -> float:
    """MiB/s of a plain streamed GET of the image into /dev/null (curl, no hashing)."""
    BenchError = _run_module(b).BenchError

    header = b.token_header()
    try:
        out = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{time_total} %{size_download}",
                              "-H", f"@{header}", f"{b.node}/images/{image_id}/file"],
                             capture_output=True, text=True, timeout=900)
    finally:
        header.unlink(missing_ok=True)
    try:
        seconds, got = out.stdout.split()
        seconds, got = float(seconds), int(float(got))
    except ValueError as exc:
        raise BenchError(f"curl -o /dev/null: exit {out.returncode}: {out.stderr.strip()[-300:]}") from exc
    if out.returncode != 0 or got != size:
        raise BenchError(f"curl -o /dev/null: exit {out.returncode}, {got} of {size} bytes")
    return size / MIB / seconds


def _run_module(b):
    """bench/run.py as it runs (__main__ under `make bench`): its BenchError is the one main() catches."""
    return sys.modules[type(b).__module__]


def p1d(b) -> None:
    from glance_hc import canary  # noqa: PLC0415

    run = _run_module(b)
    BenchError, log, size_label, BENCH_PREFIX = run.BenchError, run.log, run.size_label, run.BENCH_PREFIX

    for size in b.args.p1_sizes:
        label = size_label(size)
        reps = b.args.reps or b.args.p1d_reps
        try:
            room = run._store_room(b.store)
            if room is not None and room < size + 64 * MIB:
                raise BenchError(f"store {b.store} has {room // MIB} MiB free, {label} needs {size // MIB + 64}")
            source = canary.PatternSource(size)
            image_id = b.create(f"{BENCH_PREFIX}p1d-{label}-{uuid.uuid4().hex[:8]}", b.node)
            try:
                up = canary.upload(b.conn, image_id, source, b.store, endpoint_override=b.node,
                                   timeout=(30, 900), deadline=900)
                if not up.ok:
                    raise BenchError(f"canary upload failed: {up.describe()}")
                record = canary.wait_for_status(b.conn, image_id, "active", 120, endpoint_override=b.node,
                                                interval=0.5, request_timeout=30)
                algo = record.get("os_hash_algo") or source.hash_algo
                if algo != "sha512":
                    raise BenchError(f"os_hash_algo is {algo}: the hashing limit is measured with sha512")
                verified, unverified, hashing = [], [], []
                for rep in range(reps):
                    log(f"P1d {label} repetition {rep + 1}/{reps}")
                    steps = ["verified", "unverified", "hashing"]
                    for step in steps[rep % 3:] + steps[:rep % 3]:
                        if step == "verified":
                            down = canary.download(b.conn, image_id, hash_algo=algo, endpoint_override=b.node,
                                                   timeout=(30, 900), deadline=900)
                            if not down.ok:
                                raise BenchError(f"canary download failed: {down.describe()}")
                            problems = canary.verify_download(down, record, source)
                            if problems:
                                raise BenchError(f"canary download: {problems}")
                            verified.append(down.mib_per_s)
                        elif step == "unverified":
                            unverified.append(curl_null_mib_per_s(b, image_id, size))
                        else:
                            hashing.append(parallel_hash_mib_per_s(size))
            finally:
                b.delete(image_id)
        except (BenchError, canary.WaitTimeout, canary.UnexpectedStatus, subprocess.SubprocessError) as exc:
            b.not_run("P1d", f"verified download {label}", exc)
            continue
        limits = [min(u, h) for u, h in zip(unverified, hashing, strict=True)]
        cmp_ = compare(verified, limits)
        which = "hashing" if median(hashing) <= median(unverified) else "serving"
        b.emit("P1d", f"verified download {label}",
               f"canary {fmt(cmp_.subject_median)} MiB/s; limits: unverified GET {fmt(median(unverified))} MiB/s, "
               f"parallel md5+sha512 {fmt(median(hashing))} MiB/s (the slower: {which}); ratio {cmp_.ratio:.2f}",
               [(Target("ratio", ">=", 0.8), cmp_.ratio)], unit="MiB/s", size=size, repetitions=reps,
               subject="glance_hc.canary download() (md5 and sha512 in two threads), verify_download()",
               baseline="min(curl -o /dev/null of the image, md5+sha512 in two threads over memory)",
               where=f"glance-api on {b.node_name} direct ({b.node}), store {b.store}",
               unverified_values=[round(v, 2) for v in unverified], hashing_values=[round(v, 2) for v in hashing],
               **cmp_.as_dict())
