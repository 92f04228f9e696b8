"""A stored or downloaded canary against what was sent."""
from __future__ import annotations

import threading

from glance_hc.canary.api import Transfer
from glance_hc.canary.discovery import record_stores
from glance_hc.canary.names import DEFAULT_HASH_ALGO, HASH_MISMATCH, MISSING_HASH, NO_DATA, SIZE_MISMATCH, WRONG_STORE
from glance_hc.canary.source import PatternSource
from glance_hc.canary.transfer import download


def verify_record(record: dict, source: PatternSource, store: str | None) -> list[tuple[str, str]]:
    """Problems of an active canary's record against what was sent: [(pseudo-status, text)]."""
    problems = []
    if record.get("size") != source.size:
        problems.append((SIZE_MISMATCH, f"size {record.get('size')} recorded, {source.size} sent"))
    checksum = record.get("checksum")
    if not checksum:
        problems.append((MISSING_HASH, "no checksum (md5) recorded"))
    elif checksum != source.digest("md5"):
        problems.append((HASH_MISMATCH, f"checksum {checksum} recorded, {source.digest('md5')} sent"))
    algo, value = record.get("os_hash_algo"), record.get("os_hash_value")
    if not algo or not value:
        problems.append((MISSING_HASH, f"os_hash_algo={algo!r} os_hash_value={value!r}"))
    else:
        try:
            expected = source.digest(algo)
        except ValueError:
            problems.append((MISSING_HASH, f"os_hash_algo {algo!r} is not a hash this client knows"))
        else:
            if value != expected:
                problems.append((HASH_MISMATCH, f"os_hash_value ({algo}) {value[:16]}... recorded, "
                                                f"{expected[:16]}... sent"))
    if store is not None:
        stores = record_stores(record)
        if store not in stores:
            problems.append((WRONG_STORE, f"stores={','.join(stores) or '(none)'}, asked for {store}"))
    return problems


def verify_download(result: Transfer, record: dict, source: PatternSource) -> list[tuple[str, str]]:
    """Problems of a downloaded copy against what was sent and recorded."""
    if result.status == 204 or (result.ok and result.bytes == 0 and source.size):
        return [(NO_DATA, f"download answered HTTP {result.status} with {result.bytes} bytes: "
                          f"the store has no data for the image")]
    problems = []
    if result.bytes != source.size:
        problems.append((SIZE_MISMATCH, f"{result.bytes} bytes downloaded, {source.size} sent"))
    if result.md5 != source.digest("md5"):
        problems.append((HASH_MISMATCH, f"md5 of the download {result.md5} differs from what was sent "
                                        f"{source.digest('md5')}"))
    algo = record.get("os_hash_algo") or source.hash_algo
    if result.hash_algo == algo and result.hash_value != source.digest(algo):
        problems.append((HASH_MISMATCH, f"{algo} of the download differs from what was sent"))
    return problems




def verify_stored_image(conn, record: dict, timeout: float, stop: threading.Event | None = None
                        ) -> tuple[Transfer, list[tuple[str, str]]]:
    """Download a stored image (hashed as it streams) against its own record: [(pseudo-status, text)].

    Glance never verifies stored data on download, so this is the only way to know that what a
    store holds is what was uploaded (deep verification, and `--image` on an active image)."""
    algo = record.get("os_hash_algo") or DEFAULT_HASH_ALGO
    down = download(conn, record["id"], hash_algo=algo, stop=stop, timeout=(timeout, timeout))
    if not down.ok:
        return down, [(down.status, f"download failed: {down.describe()}")]
    if down.status == 204 or (down.bytes == 0 and record.get("size")):
        return down, [(NO_DATA, "no data in the store (HTTP 204)")]
    problems = []
    if record.get("size") is not None and down.bytes != record["size"]:
        problems.append((SIZE_MISMATCH, f"{down.bytes} bytes downloaded, size {record['size']} recorded"))
    if record.get("checksum") and down.md5 != record["checksum"]:
        problems.append((HASH_MISMATCH, f"md5 {down.md5} != checksum {record['checksum']}"))
    if record.get("os_hash_value") and down.hash_value != record["os_hash_value"]:
        problems.append((HASH_MISMATCH, f"{algo} differs from os_hash_value"))
    return down, problems
