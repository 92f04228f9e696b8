"""The canary: a generated image uploaded, verified, read back and deleted.

Logic only (no pytest): the streaming data source, the Image API calls made
through openstacksdk's keystoneauth session (so a per-node ``endpoint_override``
works for every call), a Tempest-style status waiter, the cleanup helper and
the classification of a failed upload into one root cause of the catalogue.

Why not ``conn.image.upload_image``: the SDK's upload and stage take ``data=``
as bytes in memory. `PatternSource` generates the image 1 MiB at a time and
hashes it on the way out; `upload()` sends it with a Content-Length (uWSGI's
http-socket answers a chunked body with HTTP 500 "unable to receive chunked
part", and a length lets Glance enforce quotas before a byte is written) on a
connection that reads an early answer (413 for a quota or a full store) before
writing more: a client that keeps writing gets the connection reset and loses
it. Token and endpoint come from the SDK's session; every other call goes
through the session itself (`call()`), with an optional ``endpoint_override``
to reach one glance-api node directly.

The rules that turn an answer into a root cause are data (`RULES`), built
from glance/api/v2/image_data.py, glance_store, HAProxy and what the lab
answered (tests/data/api/).

One concern per module: names, source (the data), hashing, api (one call), images, transfer
(upload, download), waiters, cleanup, discovery, verify, listings, signals. Every name is also
here, as it was when the canary was one module.
"""
from glance_hc.canary.api import Answer, Transfer, _find, _transport_status, call, new_request_id  # noqa: F401
from glance_hc.canary.cleanup import Cleanup, _delete_one, delete_and_confirm  # noqa: F401
from glance_hc.canary.discovery import (  # noqa: F401
    _HAPROXY_REQUEST,
    _UWSGI_REQUEST,
    answered_status,
    hashing_algorithm,
    is_default_store,
    logged_explanation,
    offered_stores,
    record_stores,
)
from glance_hc.canary.hashing import HASH_BUFFER, HASH_BUFFERS, HashError, ParallelHasher  # noqa: F401
from glance_hc.canary.images import canary_name, create_image, get_image, image_record, lease_seconds, new_run_id  # noqa: F401
from glance_hc.canary.imports import (  # noqa: F401
    GLANCE_DIRECT,
    ImportFailed,
    ImportTimeout,
    describe_task,
    image_tasks,
    import_body,
    import_deadline,
    latest_task,
    stage,
    start_import,
    wait_for_import,
)
from glance_hc.canary.listings import age_of, canary_images, list_every_image, list_images, orphan_reason, parse_time  # noqa: F401
from glance_hc.canary.names import (  # noqa: F401
    _STRIDE,
    CANARY_PREFIX,
    CANARY_TAG,
    CHUNK_SIZE,
    CLIENT_DEADLINE,
    CLIENT_DISCONNECT,
    CONNECT_FAILED,
    CONNECT_TIMEOUT,
    CONNECTION_RESET,
    DEFAULT_HASH_ALGO,
    HASH_MISMATCH,
    LEASE_PROPERTY,
    MIB,
    MISSING_HASH,
    NO_DATA,
    READ_TIMEOUT,
    RUN_PROPERTY,
    SIZE_MISMATCH,
    STUCK,
    TASK_FAILURE,
    WRONG_STORE,
)
from glance_hc.canary.signals import InterruptGuard  # noqa: F401
from glance_hc.canary.source import DeadlineExceeded, Interrupted, PatternSource  # noqa: F401
from glance_hc.canary.transfer import (  # noqa: F401
    _BODY_LIMIT,
    _SEND_BLOCK,
    _connection,
    _Prefixed,
    _proxied,
    _read_into,
    _SockLike,
    _stopped,
    _stream_put,
    _timeouts,
    download,
    upload,
)
from glance_hc.canary.verify import verify_download, verify_record, verify_stored_image  # noqa: F401
from glance_hc.canary.waiters import UnexpectedStatus, WaitTimeout, wait_for_status  # noqa: F401
from glance_hc.classify import FALLBACK, RULES, Classification, Rule, body_message, classify  # noqa: F401
from glance_hc.endpoints import api_endpoint  # noqa: F401 - where callers (bench) found it
