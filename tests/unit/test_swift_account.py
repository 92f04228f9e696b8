"""A swift store's account reading, on the lab's real reference file and HEAD answers."""
import json
from pathlib import Path

import pytest

from glance_hc import swift_account

DATA = Path(__file__).resolve().parent.parent / "data" / "swift"


def head(name: str) -> dict:
    return json.loads((DATA / f"head-{name}.json").read_text())["headers"]


def test_reference_file_parses_and_hides_its_key():
    ref = swift_account.parse_reference((DATA / "glance-swift-store.conf").read_text(), "ref1")
    assert (ref.auth_address, ref.project, ref.username) == ("http://127.0.0.2:5000/v3", "service", "glance")
    assert ref.key == "REDACTED-KEY" and "REDACTED-KEY" not in repr(ref)


@pytest.mark.parametrize("text, complaint", [
    ("[ref2]\nuser = a:b\nkey = k\nauth_address = http://x\n", r"no \[ref1\] section"),
    ("[ref1]\nuser = a:b\n", "lacks auth_address, key"),
    ("[ref1]\nuser = glance\nkey = k\nauth_address = http://x\n", "PROJECT:USER"),
    ("\x00\x01garbage", "does not parse"),
])
def test_bad_reference_files_say_why(text, complaint):
    with pytest.raises(swift_account.SwiftAccountError, match=complaint):
        swift_account.parse_reference(text, "ref1")


def test_lab_account_under_its_quota():
    usage = swift_account.usage_from_headers("http://127.0.0.6:8080/v1/KEY_x", "glance", head("account"),
                                             head("container"))
    assert usage.account_quota == 1 << 30 and usage.bytes_used == 0
    assert usage.room == 1 << 30 and usage.used_ratio == 0
    assert "quota 1073741824" in usage.describe()


def test_the_tightest_quota_wins():
    account = {**head("account"), "X-Account-Bytes-Used": str(100 << 20)}
    box = {"X-Container-Bytes-Used": str(100 << 20), "X-Container-Meta-Quota-Bytes": str(110 << 20)}
    usage = swift_account.usage_from_headers("u", "glance", account, box)
    assert usage.room == 10 << 20
    assert usage.used_ratio == pytest.approx(100 / 110)


def test_no_quota_means_no_limit_to_judge():
    usage = swift_account.usage_from_headers("u", "glance", {"X-Account-Bytes-Used": "5"}, None)
    assert usage.room is None and usage.used_ratio is None and usage.limits == []
