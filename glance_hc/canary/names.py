"""What the canary's parts agree on: names, sizes, and the pseudo-statuses of a failed call."""
from __future__ import annotations

CHUNK_SIZE = 1 << 20
MIB = 1 << 20
CANARY_PREFIX = "hc-canary-"
CANARY_TAG = "hc-canary"
RUN_PROPERTY = "hc_run_id"            # the run that made the canary
LEASE_PROPERTY = "hc_lease_seconds"   # how long after created_at that run may still hold it
DEFAULT_HASH_ALGO = "sha512"  # glance's [DEFAULT] hashing_algorithm default
# An odd stride, so chunk i starts at a different, never 4 KiB-aligned, offset of the block:
# no two chunks of an image are equal (up to 1 TiB) and no store can dedup them.
_STRIDE = 4099

# Pseudo-statuses for answers that are not an HTTP status.
CONNECT_FAILED = "connect-failed"        # refused, unreachable, name not resolved
CONNECT_TIMEOUT = "connect-timeout"      # no TCP connection within the timeout
CONNECTION_RESET = "connection-reset"    # the server hung up without an answer
READ_TIMEOUT = "read-timeout"            # no answer within the client's read timeout
CLIENT_DEADLINE = "client-deadline"      # the canary's own deadline cut the transfer
CLIENT_DISCONNECT = "client-disconnect"  # the client hung up mid-body
STUCK = "stuck"                          # the image never reached the wanted status
HASH_MISMATCH = "hash-mismatch"          # stored or downloaded hash differs from what was sent
SIZE_MISMATCH = "size-mismatch"          # stored or downloaded size differs from what was sent
NO_DATA = "no-data"                      # a download answered with no data (204 / empty)
MISSING_HASH = "missing-hash"            # an active image without checksum or os_hash_value
WRONG_STORE = "wrong-store"              # the image landed in another store than asked
TASK_FAILURE = "task-failure"            # an import task ended in failure: its message is the body


