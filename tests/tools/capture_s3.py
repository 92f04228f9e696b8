"""Capture the lab radosgw's real answers to the s3 store checks' three calls as unit-test data
(tests/data/s3/LABEL.json: botocore's response dicts of ListBuckets, ListObjectsV2, HeadBucket).

    flock /tmp/hc/lab.lock .venv/bin/python -m tests.tools.capture_s3

Labels: healthy; bucket-quota (a 1 MiB bucket quota, enabled); quota-disabled (a quota set, not
enabled); wrong-secret (the glance user's access key, another secret); no-bucket (a bucket name
that does not exist); other-user (a second rgw user's keys on the glance bucket: AccessDenied).
What was changed is put back (always). Keys and request ids are not kept.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from glance_hc import s3_store
from lab import radosgw

OUT = Path(__file__).resolve().parents[1] / "data" / "s3"
OTHER = "hc-capture-other"


def _responses(t: s3_store.S3Target) -> dict:
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=t.endpoint, region_name="us-east-1", aws_access_key_id=t.access_key,
        aws_secret_access_key=t.secret_key, config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    found = {}
    for name, fn, kw in (("ListBuckets", client.list_buckets, {}),
                         ("ListObjectsV2", client.list_objects_v2, {"Bucket": t.bucket, "MaxKeys": 1}),
                         ("HeadBucket", client.head_bucket, {"Bucket": t.bucket})):
        try:
            resp = fn(**kw)
        except ClientError as exc:
            resp = exc.response
        resp = json.loads(json.dumps(resp, default=str))
        resp.pop("Buckets", None)
        resp.pop("Owner", None)
        meta = resp.get("ResponseMetadata", {})
        meta.pop("RequestId", None)
        meta.pop("HostId", None)
        for h in ("x-amz-request-id", "date"):
            meta.get("HTTPHeaders", {}).pop(h, None)
        found[name] = resp
    return found


def main(labels: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    k = radosgw.keys()
    glance = s3_store.S3Target("s3", radosgw.URL, radosgw.BUCKET, k["access_key"], k["secret_key"], "path")
    runs = {
        "healthy": lambda: _responses(glance),
        "wrong-secret": lambda: _responses(s3_store.S3Target("s3", radosgw.URL, radosgw.BUCKET, k["access_key"],
                                                             "not-the-secret-0000000000", "path")),
        "no-bucket": lambda: _responses(s3_store.S3Target("s3", radosgw.URL, "hc-no-such-bucket", k["access_key"],
                                                          k["secret_key"], "path")),
    }
    for label in labels or ["healthy", "wrong-secret", "no-bucket", "bucket-quota", "quota-disabled", "other-user"]:
        if label in runs:
            data = runs[label]()
        elif label == "bucket-quota":
            try:
                radosgw.bucket_quota(1 << 20)
                data = _responses(glance)
            finally:
                radosgw.bucket_quota(None)
        elif label == "quota-disabled":
            try:
                radosgw.admin("quota", "set", "--quota-scope=bucket", f"--bucket={radosgw.BUCKET}", "--max-size=2097152")
                data = _responses(glance)
            finally:
                radosgw.bucket_quota(None)
        elif label == "other-user":
            out = json.loads(radosgw.admin("user", "create", f"--uid={OTHER}", "--display-name=capture"))
            try:
                key = out["keys"][0]
                data = _responses(s3_store.S3Target("s3", radosgw.URL, radosgw.BUCKET, key["access_key"],
                                                    key["secret_key"], "path"))
            finally:
                radosgw.admin("user", "rm", f"--uid={OTHER}")
        else:
            sys.exit(f"unknown label {label}")
        (OUT / f"{label}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT / (label + '.json')}")


if __name__ == "__main__":
    main(sys.argv[1:])
