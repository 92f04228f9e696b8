"""Redaction: every secret the suite may read is hidden, and nothing else is."""
from __future__ import annotations

import pytest

from glance_hc.redact import MASK, is_secret_name, redact, redact_obj

SHA512 = (
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)
IMAGE_ID = "3f1c2a8e-5b4d-4e7a-9c3b-1d2e3f4a5b6c"
FERNET = (
    "gAAAAABlX0vRaT1c5Z3M9k2sP8TQ8-A6n7U_r3H4uZ1y0b7e8fH1Vw2YfZp0oV1k3Q"
    "Jx2mB4nC6vD8fG0hJ2kL4mN6pQ8rS0tU2vW4xY6zA8bC0dE2fG4hJ6kL8mN0pQ2r"
)
CEPH_KEY = "AQBSdFhl2w7zGRAAhV6Mt2s2nF3xQ5xgYk1bZg=="


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # glance-api.conf and friends
        ("password = hunter2", "password = ***"),
        ("password = two words", "password = ***"),
        ("admin_password=s3cr3t", "admin_password=***"),
        ("rabbit_password = s3cr3t", "rabbit_password = ***"),
        ("#admin_password = <None>", "#admin_password = ***"),
        ("memcache_secret_key = abcdef", "memcache_secret_key = ***"),
        ("secret = abcdef", "secret = ***"),
        ("admin_token = tok", "admin_token = ***"),
        ("export OS_PASSWORD=s3cr3t", "export OS_PASSWORD=***"),
        (
            "connection = mysql+pymysql://glance:Sup3rS3cret@10.0.0.5/glance",
            "connection = mysql+pymysql://glance:***@10.0.0.5/glance",
        ),
        (
            "connection = mysql+pymysql://glance:p@ss@db.local:3306/glance?charset=utf8",
            "connection = mysql+pymysql://glance:***@db.local:3306/glance?charset=utf8",
        ),
        (
            "transport_url = rabbit://openstack:pw1@ctl1:5672,openstack:pw2@ctl2:5672//",
            "transport_url = rabbit://openstack:***@ctl1:5672,openstack:***@ctl2:5672//",
        ),
        # Keystone tokens and HTTP headers
        (f"X-Auth-Token: {FERNET}", "X-Auth-Token: ***"),
        (f"X-Subject-Token: {FERNET}", "X-Subject-Token: ***"),
        (f"token is {FERNET} here", "token is *** here"),
        ('{"token": "abcd", "expires": "soon"}', '{"token": "***", "expires": "soon"}'),
        ("{'X-Auth-Token': 'abcd'}", "{'X-Auth-Token': '***'}"),
        (
            'curl -H "X-Auth-Token: abc123" http://ctl:9292/v2/images',
            'curl -H "X-Auth-Token: ***" http://ctl:9292/v2/images',
        ),
        ("Authorization: Bearer eyJhbGci.eyJzdWIi.c2ln", "Authorization: Bearer ***"),
        ("Authorization: Basic Z2xhbmNlOnB3", "Authorization: Basic ***"),
        ("openstack --os-password s3cr3t image list", "openstack --os-password *** image list"),
        ("mysql -u glance -pS3cret glance -e 'select 1'", "mysql -u glance -p*** glance -e 'select 1'"),
        ("sshpass -p S3cret ssh ctl1", "sshpass -p *** ssh ctl1"),
        # clouds.yaml
        ("    password: 'cl0uds'", "    password: ***"),
        ('    application_credential_secret: "acs-123"', "    application_credential_secret: ***"),
        # Ceph
        (f"\tkey = {CEPH_KEY}", "\tkey = ***"),
        (f"client.glance secret {CEPH_KEY} loaded", "client.glance secret *** loaded"),
        # logs with secrets in the middle of a line
        (
            "GET /v2/images?token=abc&limit=5 HTTP/1.1",
            "GET /v2/images?token=***&limit=5 HTTP/1.1",
        ),
        (
            "auth failed user=glance password=s3cr3t project=service",
            "auth failed user=glance password=*** project=service",
        ),
    ],
)
def test_secret_is_hidden_and_line_stays_readable(raw, expected):
    assert redact(raw) == expected


def test_private_key_block_is_hidden():
    pem = (
        "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "AAAAC3NzaC1lZDI1NTE5\n-----END OPENSSH PRIVATE KEY-----\nafter"
    )
    assert redact(pem) == (
        "before\n-----BEGIN OPENSSH PRIVATE KEY-----\n***\n"
        "-----END OPENSSH PRIVATE KEY-----\nafter"
    )


def test_truncated_private_key_block_is_hidden_to_the_end():
    assert "MIIEpAIBAAK" not in redact("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAK")


@pytest.mark.parametrize(
    "harmless",
    [
        f"os_hash_value: {SHA512}",
        f"checksum = {SHA512}",
        f'{{"id": "{IMAGE_ID}", "os_hash_algo": "sha512", "os_hash_value": "{SHA512}"}}',
        f"DELETE /v2/images/{IMAGE_ID} HTTP/1.1 204",
        "auth_type = password",
        "token_cache_time = 300",
        "rbd_store_user = glance",
        "filesystem_store_datadir = /var/lib/glance/images/",
        "www_authenticate_uri = http://ctl1:5000",
        "enabled_backends = file1:file, ceph1:rbd",
        "/dev/vdb  50G  48G  2.0G  96% /var/lib/glance/images",
        "KeyError: 'size'",
        "",
    ],
)
def test_no_false_positive(harmless):
    assert redact(harmless) == harmless


def test_quoted_value_never_spans_lines():
    text = 'body = "password = " + secret\nnext_line = "kept"'
    assert redact(text).splitlines()[1] == 'next_line = "kept"'


def test_redaction_is_idempotent():
    text = f"password = x\nX-Auth-Token: {FERNET}\nAuthorization: Bearer abcdefghij"
    assert redact(redact(text)) == redact(text)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("admin_password", True),
        ("application_credential_secret", True),
        ("key", True),
        ("s3_store_secret_key", True),
        ("token", True),
        ("token_cache_time", False),
        ("auth_type", False),
        ("os_hash_value", False),
        ("keyring", False),
    ],
)
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


def test_redact_obj_recurses_and_hides_values_under_secret_keys():
    obj = {
        "cloud": {"auth": {"username": "admin", "password": "plain"}},
        "evidence": [
            {"title": "conf", "body": "password = s3cr3t"},
            ("X-Auth-Token: abc", 42, None),
        ],
        "token": {"methods": ["password"]},
        "uuid": IMAGE_ID,
    }
    assert redact_obj(obj) == {
        "cloud": {"auth": {"username": "admin", "password": MASK}},
        "evidence": [
            {"title": "conf", "body": "password = ***"},
            ("X-Auth-Token: ***", 42, None),
        ],
        "token": {"methods": ["password"]},
        "uuid": IMAGE_ID,
    }
