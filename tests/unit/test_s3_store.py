"""An s3 store's reading and judgements, on the lab radosgw's real answers (tests/data/s3, captured by
tests/tools/capture_s3.py) and the lab's real [s3] backend section; the s3 driver's log lines of the
lab's faults classified (tests/data/logs/s3)."""
import json
from pathlib import Path

import pytest

from glance_hc import classify, redact, s3_store
from glance_hc.config import GlanceConfig

DATA = Path(__file__).resolve().parent.parent / "data"
CONF = (DATA / "s3" / "glance-api-s3.conf").read_text()


def reading(label: str, create_on_put: bool = False) -> s3_store.Reading:
    raw = json.loads((DATA / "s3" / f"{label}.json").read_text())
    t = s3_store.S3Target("s3", "http://127.0.0.11:7480", "glance", "HCLABREDACTEDKEY", "REDACTED-SECRET", "path")
    return s3_store.Reading(t, *(s3_store.answer_from(op, raw[op]) for op in ("ListBuckets", "ListObjectsV2",
                                                                              "HeadBucket")))


def test_the_lab_s3_section_gives_endpoint_bucket_and_keys_and_hides_the_secret():
    config = GlanceConfig.parse(CONF)
    store = config.store("s3")
    assert (store.type, store.s3_host, store.s3_bucket, store.s3_create_bucket_on_put, store.s3_url_format) == (
        "s3", "http://127.0.0.11:7480", "glance", False, "path")
    assert (store.s3_large_object_size, store.s3_large_object_chunk_size, store.s3_thread_pools) == (
        100 << 20, 10 << 20, 10)
    assert "s3_store_secret_key" not in store.options and "REDACTED-SECRET" not in repr(store)
    t = s3_store.target(config, store)
    assert (t.endpoint, t.bucket, t.access_key, t.secret_key) == (
        "http://127.0.0.11:7480", "glance", "HCLABREDACTEDKEY", "REDACTED-SECRET")
    assert "REDACTED-SECRET" not in repr(t)
    assert "REDACTED-SECRET" not in redact.redact(CONF)


def test_options_in_mib_and_a_host_without_scheme():
    config = GlanceConfig.parse(CONF.replace("s3_store_host = http://127.0.0.11:7480", "s3_store_host = rgw:7480")
                                + "s3_store_large_object_size = 50\ns3_store_thread_pools = 0\n")
    store = config.store("s3")
    assert (store.s3_large_object_size, store.s3_thread_pools) == (50 << 20, 10)
    assert s3_store.target(config, store).endpoint == "http://rgw:7480"


def test_a_section_without_keys_says_which_are_missing():
    config = GlanceConfig.parse(CONF.replace("s3_store_secret_key = REDACTED-SECRET\n", ""))
    with pytest.raises(s3_store.S3StoreError, match="lacks s3_store_secret_key"):
        s3_store.target(config, config.store("s3"))


def test_healthy_keys_and_bucket_pass():
    r = reading("healthy")
    assert s3_store.keys_verdict(r).cause is None
    assert s3_store.bucket_verdict(r, create_on_put=False).cause is None


def test_a_wrong_secret_is_the_config_and_says_so():
    r = reading("wrong-secret")
    verdict = s3_store.keys_verdict(r)
    assert verdict.cause == "store_config"
    assert "SignatureDoesNotMatch" in verdict.message and "s3_store_secret_key" in verdict.message
    assert r.head_bucket.code == "Forbidden"  # a HEAD carries no error code: only the listings tell


def test_a_missing_bucket_is_the_config_unless_glance_makes_it():
    r = reading("no-bucket")
    assert s3_store.keys_verdict(r).cause is None
    verdict = s3_store.bucket_verdict(r, create_on_put=False)
    assert verdict.cause == "store_config" and "NoSuchBucket" in verdict.message
    assert s3_store.bucket_verdict(r, create_on_put=True).cause is None


def test_a_bucket_refused_to_accepted_keys_is_permissions():
    r = reading("other-user")
    assert s3_store.keys_verdict(r).cause is None
    verdict = s3_store.bucket_verdict(r, create_on_put=False)
    assert verdict.cause == "store_permissions" and "AccessDenied" in verdict.message


@pytest.mark.parametrize("label, bucket_quota, room", [
    ("healthy", None, None),
    ("bucket-quota", 1 << 20, 1 << 20),
    ("quota-disabled", 2 << 20, 2 << 20),  # radosgw shows the size of a quota not enabled too
])
def test_radosgw_usage_and_quota_headers(label, bucket_quota, room):
    found = s3_store.room_from_headers(reading(label).head_bucket.headers)
    assert (found.bytes_used, found.bucket_quota, found.user_quota, found.room) == (0, bucket_quota, None, room)


def test_no_rgw_headers_means_no_room_reading():
    assert s3_store.room_from_headers(reading("no-bucket").head_bucket.headers) is None


@pytest.mark.parametrize("largest, single_part, per_upload", [
    (64 << 20, True, 128 << 20),             # below the 100 MiB threshold: whole, ~twice, in memory
    (100 << 20, False, 10 * (10 << 20)),     # at the threshold: multipart, 10 threads x 10 MiB parts
])
def test_single_part_threshold_against_the_largest_image(largest, single_part, per_upload):
    store = GlanceConfig.parse(CONF).store("s3")
    need = s3_store.upload_memory(largest, store, uploads_at_once=8)
    assert (need.single_part, need.per_upload, need.total) == (single_part, per_upload, 8 * per_upload)


@pytest.mark.parametrize("log, cause, fault", [
    ("bucket-missing", "store_config", "s3 bucket missing"),
    ("wrong-secret", "store_config", "s3 keys refused"),
    ("bucket-quota", "store_full", "s3 bucket or user quota reached"),
])
def test_the_s3_drivers_500s_are_classified_from_their_log_lines(log, cause, fault):
    lines = (DATA / "logs" / "s3" / f"{log}-glance-api.log").read_text().splitlines()
    found = classify.classify(500, "<title>500 Internal Server Error</title>", {"status": "queued"}, lines)
    assert (found.root_cause, found.fault) == (cause, fault), found.rules_matched
    assert found.remediation


def test_a_403_of_glance_is_the_bucket_s_permissions_when_the_checks_saw_accepted_keys():
    """Glance logs "(403) ... HeadBucket" for refused keys and a refused bucket alike; the checks'
    reading, passed as context, says which."""
    lines = (DATA / "logs" / "s3" / "wrong-secret-glance-api.log").read_text().splitlines()
    refused = ["controller1 " + f for f in s3_store.findings(reading("other-user"), create_on_put=False)]
    assert refused == ["controller1 s3 store s3: bucket glance refused to its accepted keys (AccessDenied)"]
    found = classify.classify(500, "", {"status": "queued"}, lines + refused)
    assert found.root_cause == "store_permissions", found.rules_matched
    keys = ["controller1 " + f for f in s3_store.findings(reading("wrong-secret"), create_on_put=False)]
    assert keys == ["controller1 s3 store s3: keys refused (SignatureDoesNotMatch)"]
    assert classify.classify(500, "", {"status": "queued"}, lines + keys).root_cause == "store_config"
    assert s3_store.findings(reading("healthy"), create_on_put=False) == []
