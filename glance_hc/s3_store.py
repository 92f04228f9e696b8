"""An s3 store's bucket as Glance's own keys see it: are the keys accepted, is the bucket there,
how much room its quotas leave, and how much of an upload glance_store holds in memory.

The keys come from the host's glance-api.conf (the store's section, then [backend_defaults]);
they sign three requests from here (botocore: ListBuckets, ListObjectsV2 of one key, HEAD of the
bucket) and never reach a report. Ceph's radosgw answers a HEAD by the bucket's owner with its
usage and quotas (X-RGW-Bytes-Used, X-RGW-Quota-Bucket-Size, X-RGW-Quota-User-Size; -1 = none);
AWS and other S3 servers do not, and then the quota claims cannot look.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from glance_hc import redact
from glance_hc.config import BACKEND_DEFAULTS_SECTION, GlanceConfig, Store

# S3 error codes: the keys themselves refused (store_config) against a policy that refuses them
# the bucket (store_permissions); radosgw and AWS use the same words.
BAD_KEYS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed")
DENIED = ("AccessDenied", "AllAccessDisabled", "UserSuspended")
NO_BUCKET = ("NoSuchBucket",)


class S3StoreError(RuntimeError):
    """The store could not be looked at (no host, no keys, no botocore, no answer)."""


@dataclass(frozen=True)
class S3Target:
    """Where and as whom: one store's endpoint, bucket and keys (the secret never shows)."""
    store: str
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    url_format: str = "auto"
    region: str | None = None

    def __repr__(self) -> str:
        return f"S3Target({self.store!r}, {self.endpoint!r}, {self.bucket!r})"

    @property
    def key(self) -> tuple:
        return (self.endpoint, self.bucket, self.access_key, self.secret_key, self.url_format, self.region)


def endpoint_url(host: str) -> str:
    """glance_store's own rule: a host without a scheme is spoken to over http."""
    host = host.strip()
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


def target(config: GlanceConfig, store: Store) -> S3Target:
    """The store's endpoint, bucket and keys as glance_store reads them (section, then defaults)."""
    def get(option: str) -> str | None:
        value = config.get(store.section, option)
        if value in (None, "") and config.multistore:
            value = config.get(BACKEND_DEFAULTS_SECTION, option)
        return value or None

    missing = [o for o in ("s3_store_host", "s3_store_access_key", "s3_store_secret_key", "s3_store_bucket")
               if not get(o)]
    if missing:
        raise S3StoreError(f"[{store.section}] lacks {', '.join(missing)} (glance_store refuses the store: "
                           f"BadStoreConfiguration)")
    return S3Target(store.name, endpoint_url(get("s3_store_host")), get("s3_store_bucket"),
                    get("s3_store_access_key"), get("s3_store_secret_key"), store.s3_url_format,
                    get("s3_store_region_name"))


@dataclass(frozen=True)
class Answer:
    """One S3 call's outcome: HTTP status and S3 error code (None when it succeeded)."""
    operation: str
    status: int | None
    code: str | None = None
    message: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is None and self.status is not None and self.status < 300

    def describe(self) -> str:
        if self.ok:
            return f"{self.operation}: HTTP {self.status}"
        return f"{self.operation}: HTTP {self.status} {self.code or ''} {self.message}".strip()


def answer_from(operation: str, response: dict) -> Answer:
    """An Answer from botocore's response dict (a success's, or a ClientError's .response)."""
    meta = response.get("ResponseMetadata", {})
    error = response.get("Error") or {}
    status = meta.get("HTTPStatusCode")
    code = error.get("Code") if error else None
    if code is not None and str(code).isdigit():  # a HEAD has no body: only its status is known
        code = {"403": "Forbidden", "404": "NotFound"}.get(str(code), f"HTTP{code}")
    return Answer(operation, status, code, redact.clip(redact.redact(str(error.get("Message") or "")), 200),
                  {k.lower(): v for k, v in (meta.get("HTTPHeaders") or {}).items()})


@dataclass(frozen=True)
class Reading:
    """What the three calls answered."""
    target: S3Target
    list_buckets: Answer
    list_objects: Answer
    head_bucket: Answer

    def describe(self) -> list[str]:
        return [f"endpoint {self.target.endpoint}, bucket {self.target.bucket}, access key "
                f"{self.target.access_key[:4]}... ({self.target.url_format}-style URLs)",
                self.list_buckets.describe(), self.list_objects.describe(), self.head_bucket.describe()]


def look(t: S3Target, timeout: float = 15) -> Reading:
    """Three bounded, signed, read-only calls with the store's own keys (botocore, no retries)."""
    try:
        import botocore.session  # noqa: PLC0415 - only when an s3 store is checked
        from botocore.config import Config  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:
        raise S3StoreError("botocore is not installed in the suite's environment (requirements.txt pins it)") \
            from None
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", endpoint_url=t.endpoint, region_name=t.region or "us-east-1", aws_access_key_id=t.access_key,
        aws_secret_access_key=t.secret_key,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1},
                      s3={"addressing_style": t.url_format if t.url_format in ("path", "virtual") else "auto"}))

    def call(operation: str, fn, **kw) -> Answer:
        try:
            return answer_from(operation, fn(**kw))
        except ClientError as exc:
            return answer_from(operation, exc.response)
        except BotoCoreError as exc:
            raise S3StoreError(f"{operation} at {t.endpoint}: {redact.clip(redact.redact(str(exc)), 300)}") from None

    return Reading(t, call("ListBuckets", client.list_buckets),
                   call("ListObjectsV2", client.list_objects_v2, Bucket=t.bucket, MaxKeys=1),
                   call("HeadBucket", client.head_bucket, Bucket=t.bucket))


# ---------------------------------------------------------------- judgements
@dataclass(frozen=True)
class Verdict:
    """None cause: the claim holds; else the root cause it fails under and why."""
    cause: str | None
    message: str


def keys_verdict(r: Reading) -> Verdict:
    """Are the keys accepted? A refused signature or unknown key id is the config's (store_config)."""
    for a in (r.list_buckets, r.list_objects):
        if a.code in BAD_KEYS:
            return Verdict("store_config", f"the S3 server refuses store {r.target.store}'s keys: {a.describe()} "
                                           f"(s3_store_access_key / s3_store_secret_key wrong, or rotated)")
    if r.list_buckets.ok or r.list_objects.ok:
        return Verdict(None, f"the keys of store {r.target.store} are accepted ({r.list_buckets.describe()})")
    if r.list_buckets.code in DENIED or r.list_objects.code in DENIED:
        # AccessDenied means the signature was checked and the user is known: the keys are valid
        return Verdict(None, f"the keys of store {r.target.store} are accepted (the server knows them, its "
                             f"policy refuses an operation: {r.list_buckets.describe()})")
    return Verdict("store_config", f"the S3 server did not accept store {r.target.store}'s keys: "
                                   f"{r.list_buckets.describe()}; {r.list_objects.describe()}")


def bucket_verdict(r: Reading, create_on_put: bool) -> Verdict:
    """Is the bucket there and may these keys use it?"""
    a, b = r.list_objects, r.target.bucket
    if a.ok:
        return Verdict(None, f"bucket {b} exists and store {r.target.store}'s keys may list it")
    if a.code in BAD_KEYS:
        return Verdict("store_config", f"cannot see bucket {b}: the keys are refused ({a.describe()})")
    if a.code in NO_BUCKET or (a.status == 404 and a.code != "NoSuchKey"):
        if create_on_put:
            return Verdict(None, f"bucket {b} does not exist yet; s3_store_create_bucket_on_put = true makes it "
                                 f"at the first upload")
        return Verdict("store_config", f"bucket {b} does not exist ({a.describe()}) and "
                                       f"s3_store_create_bucket_on_put is false: every upload to store "
                                       f"{r.target.store} fails with 500")
    if a.code in DENIED:
        return Verdict("store_permissions", f"the keys of store {r.target.store} are accepted but bucket {b} is "
                                            f"refused to them ({a.describe()}): a bucket policy or ACL, or a "
                                            f"bucket owned by another user")
    return Verdict("store_config", f"bucket {b}: unexpected answer ({a.describe()})")


def _header_int(headers: dict, name: str) -> int | None:
    value = str(headers.get(name, "")).strip()
    return int(value) if value.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class Room:
    bytes_used: int
    objects: int | None
    bucket_quota: int | None    # None: no quota
    user_quota: int | None

    @property
    def limits(self) -> list[tuple[str, int]]:
        return [(what, q) for what, q in (("bucket", self.bucket_quota), ("user", self.user_quota)) if q is not None]

    @property
    def room(self) -> int | None:
        """Bytes before a quota refuses (for the user quota, at most: other buckets of the user count too)."""
        rooms = [max(0, q - self.bytes_used) for _, q in self.limits]
        return min(rooms) if rooms else None

    def describe(self) -> str:
        def show(q):
            return "none" if q is None else f"{q} bytes"
        return (f"bucket holds {self.bytes_used} bytes in {self.objects} objects; bucket quota "
                f"{show(self.bucket_quota)}, user quota {show(self.user_quota)}")


def room_from_headers(headers: dict) -> Room | None:
    """radosgw's usage and quota headers on a HEAD of the bucket by its owner; None: not given."""
    used = _header_int(headers, "x-rgw-bytes-used")
    if used is None:
        return None

    def quota(name: str) -> int | None:
        q = _header_int(headers, name)
        return q if q is not None and q >= 0 else None
    return Room(used, _header_int(headers, "x-rgw-object-count"), quota("x-rgw-quota-bucket-size"),
                quota("x-rgw-quota-user-size"))


@dataclass(frozen=True)
class UploadMemory:
    """What glance_store's s3 driver holds in a worker's memory for the largest image."""
    single_part: bool
    per_upload: int       # bytes held for one upload at its peak
    uploads_at_once: int  # requests one host serves at once (uWSGI processes x threads)

    @property
    def total(self) -> int:
        return self.per_upload * self.uploads_at_once


def upload_memory(largest: int, store: Store, uploads_at_once: int) -> UploadMemory:
    """glance_store 5.7 _add_singlepart (image_size < s3_store_large_object_size) reads the whole
    image into one bytes object, growing it by concatenation (a copy per chunk: ~2x at its peak),
    then puts it; _add_multipart buffers chunk_size per part, thread_pools parts at once."""
    if largest < store.s3_large_object_size:
        return UploadMemory(True, 2 * largest, max(1, uploads_at_once))
    return UploadMemory(False, store.s3_large_object_chunk_size * store.s3_thread_pools, max(1, uploads_at_once))


def findings(r: Reading, create_on_put: bool) -> list[str]:
    """What the checks' reading says of the store, as context lines for the canary's classifier:
    Glance's own log says only "403" (a HEAD has no error body), this says keys or bucket."""
    found = []
    keys = keys_verdict(r)
    if keys.cause:
        return [f"s3 store {r.target.store}: keys refused ({r.list_buckets.code or r.list_objects.code})"]
    bucket = bucket_verdict(r, create_on_put)
    if bucket.cause == "store_permissions":
        found.append(f"s3 store {r.target.store}: bucket {r.target.bucket} refused to its accepted keys "
                     f"({r.list_objects.code})")
    elif bucket.cause == "store_config":
        found.append(f"s3 store {r.target.store}: bucket {r.target.bucket} does not exist")
    return found
