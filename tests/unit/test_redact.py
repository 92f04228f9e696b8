"""Redaction: every secret the suite may read is hidden, and nothing else is."""
from __future__ import annotations

import json

import pytest

from glance_hc import config
from glance_hc.redact import MASK, clip, is_secret_name, redact, redact_obj

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
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_TEMP_KEY_ID = "ASIAY34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJnbGFuY2UiLCJpYXQiOjE3MDAwMDAwMDB9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PGP_BLOCK = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"
    "lQOYBGVx3qUBCADJ7k2Qx9mWb2n8Ty4u5rP0Zq1LmKj3a8sDfGh1JkL0qWeRtYuI\n"
    "oPaSdFgHjKlZxCvBnM1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJ\n"
    "=Xy9Z\n"
    "-----END PGP PRIVATE KEY BLOCK-----"
)


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
        # a value after a secret's name runs to the end of the line: it may hold ; , & or spaces
        ("auth failed user=glance password=s3cr3t project=service", "auth failed user=glance password=***"),
        ("login user=glance password=Sup3r;S3cret-77 from 10.0.0.5", "login user=glance password=***"),
        ("login user=glance password=Sup3r,S3cret-77", "login user=glance password=***"),
        ("login user=glance password=Sup3r&S3cret-77", "login user=glance password=***"),
        ("login user=glance password=Sup3r S3cret 77", "login user=glance password=***"),
        ('login "password=Sup3r S3cret" refused', 'login "password=***" refused'),
        ("login password='Sup3r; S3cret' refused", "login password='***' refused"),
        ("password = Sup3r;S3cret, with&more words  ", "password = ***"),
        ("admin_password=Sup3r;S3cret", "admin_password=***"),
        # ceph.conf and keyrings
        (f"[client.glance]\nkey = {CEPH_KEY}\n", "[client.glance]\nkey = ***\n"),
        (f"[client.glance]\n\tkey = {CEPH_KEY}\n\tcaps mon = \"profile rbd\"",
         '[client.glance]\n\tkey = ***\n\tcaps mon = "profile rbd"'),
        (f"auth: secret loaded from {CEPH_KEY}", "auth: secret loaded from ***"),
        # AWS / S3
        (f"using access key {AWS_KEY_ID} for bucket glance", "using access key *** for bucket glance"),
        (f"temporary credentials {AWS_TEMP_KEY_ID} expire soon", "temporary credentials *** expire soon"),
        (f"aws_secret_access_key = {AWS_SECRET}", "aws_secret_access_key = ***"),
        (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "export AWS_SECRET_ACCESS_KEY=***"),
        (f"s3 store: aws_secret_access_key={AWS_SECRET} region=us-east-1", "s3 store: aws_secret_access_key=***"),
        (f'{{"AccessKeyId": "{AWS_TEMP_KEY_ID}", "SecretAccessKey": "{AWS_SECRET}"}}',
         '{"AccessKeyId": "***", "SecretAccessKey": "***"}'),
        # cookies
        ("Cookie: sessionid=38afes7a8; csrftoken=u32t4o3tb3gg43", "Cookie: ***"),
        ("Set-Cookie: sessionid=38afes7a8; Path=/; HttpOnly; Secure", "Set-Cookie: ***"),
        ("< Set-Cookie: sessionid=38afes7a8; Path=/", "< Set-Cookie: ***"),
        ('curl -H "Cookie: sessionid=38afes7a8; csrf=u32t" http://ctl:9292/', 'curl -H "Cookie: ***" http://ctl:9292/'),
        ("{'Cookie': 'sessionid=38afes7a8; csrf=u32t', 'Accept': '*/*'}", "{'Cookie': '***', 'Accept': '*/*'}"),
        # Keystone headers in a log line
        (f"REQ: curl -g -i -X GET http://ctl1:9292/v2/images -H X-Auth-Token: {FERNET}",
         "REQ: curl -g -i -X GET http://ctl1:9292/v2/images -H X-Auth-Token: ***"),
        (f"RESP: [201] X-Subject-Token: {FERNET} Vary: X-Auth-Token", "RESP: [201] X-Subject-Token: ***"),
        # ansible inventories and extra vars
        ("ctl1 ansible_host=10.0.0.11 ansible_ssh_pass=Sup3r;S3cret ansible_user=root",
         "ctl1 ansible_host=10.0.0.11 ansible_ssh_pass=***"),
        ("ansible_become_pass=Sup3r S3cret", "ansible_become_pass=***"),
        ("ctl2 ansible_password='Sup3r S3cret' ansible_user=root", "ctl2 ansible_password='***' ansible_user=root"),
        ("    ansible_become_pass: Sup3r;S3cret", "    ansible_become_pass: ***"),
        # JSON fields, any key casing, strings and scalars
        ('{"credential": "c-9f2a71e0b5", "id": "c1"}', '{"credential": "***", "id": "c1"}'),
        ('{"Password": "Sup3r, S3cret", "name": "glance"}', '{"Password": "***", "name": "glance"}'),
        ('{"SECRET": 1234567890, "name": "glance"}', '{"SECRET": ***, "name": "glance"}'),
        ('{"user": {"name": "glance", "PASSWORD": "x y"}}', '{"user": {"name": "glance", "PASSWORD": "***"}}'),
        ('{"token": "abcd", "accessToken": "ey-123"}', '{"token": "***", "accessToken": "***"}'),
        ('  "application_credential_secret": "acs-123",', '  "application_credential_secret": "***",'),
        ('{"blob": "{\\"access\\": \\"a1\\", \\"secret\\": \\"s3cr3t-77\\"}"}',
         '{"blob": "{\\"access\\": \\"a1\\", \\"secret\\": \\"***\\"}"}'),
        ('{"secret": null, "token": true}', '{"secret": null, "token": true}'),
        # bare tokens
        (f"received {JWT} from the identity provider", "received *** from the identity provider"),
        (f"?id_token={JWT}&state=x", "?id_token=***&state=x"),
        (f"cached {FERNET} for 300 s", "cached *** for 300 s"),
        # database and transport URLs
        (
            "connection = mysql+pymysql://glance:Sup3r;S3cret,&x@10.0.0.5/glance",
            "connection = mysql+pymysql://glance:***@10.0.0.5/glance",
        ),
        (
            "sqlalchemy.exc.OperationalError: (mysql+pymysql://glance:Sup3r S3cret@db.local/glance) refused",
            "sqlalchemy.exc.OperationalError: (mysql+pymysql://glance:***@db.local/glance) refused",
        ),
        (
            "transport_url = rabbit://openstack:pw,1@ctl1:5672,openstack:pw2@ctl2:5672//",
            "transport_url = rabbit://openstack:***@ctl1:5672,openstack:***@ctl2:5672//",
        ),
        # YAML block scalars
        ("auth:\n  password: |\n    Sup3r\n    S3cret\n  username: glance\n",
         "auth:\n  password: ***\n  username: glance\n"),
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


def test_pgp_private_key_block_is_hidden():
    text = f"gpg --export-secret-keys:\n{PGP_BLOCK}\ndone"
    assert redact(text) == (
        "gpg --export-secret-keys:\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n***\n"
        "-----END PGP PRIVATE KEY BLOCK-----\ndone"
    )


def test_private_key_whose_begin_was_cut_off_is_hidden():
    tail = PGP_BLOCK.split("\n", 3)[3]  # the head of the block (and its BEGIN line) cut away
    assert redact(tail) == "***\n-----END PGP PRIVATE KEY BLOCK-----"


def test_private_key_quoted_on_one_line_keeps_its_escaped_newlines():
    line = "reading signing.pem: b'-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA PRIVATE KEY-----\\n'"
    assert redact(line) == "reading signing.pem: b'-----BEGIN RSA PRIVATE KEY-----\\n***\\n-----END RSA PRIVATE KEY-----\\n'"


def test_private_key_inside_a_json_string_is_hidden():
    text = json.dumps({"private_key": "x", "pem": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx\n"
                                                  "-----END EC PRIVATE KEY-----"})
    assert "MHcCAQEEIBx" not in redact(text)


# A line as a check quotes it, with the secret in it; each is cut inside the secret, the way
# a message cut at N characters is, at the end of the text, before "..." or before the next
# line. No part of the secret that carries key material (8 characters or more) may survive.
CUT_CASES = {
    "cephx key in ceph.conf": ("[client.glance]\nkey = ", CEPH_KEY),
    "cephx key in a log": ("auth: loaded secret ", CEPH_KEY),
    "password=": ("auth failed user=glance password=", "Sup3r;S3cret,&with spaces"),
    "config password": ("[database]\npassword = ", "Sup3r;S3cret,&with spaces"),
    "database url": ("connection failed: mysql+pymysql://glance:", "Sup3r;S3cret-77@db/glance"),
    "json password": ('{"user": "glance", "Password": "', 'Sup3r;S3cret-77"}'),
    "fernet token": ("token cached ", FERNET),
    "jwt": ("id token ", JWT),
    "aws key id": ("using access key ", AWS_KEY_ID),
    "aws secret": ("aws_secret_access_key=", AWS_SECRET),
    "cookie": ("< Set-Cookie: ", "sessionid=38afes7a8c0ffee; Path=/"),
    "x-auth-token": ("-H X-Auth-Token: ", FERNET),
    "ansible": ("ctl1 ansible_host=10.0.0.11 ansible_ssh_pass=", "Sup3r;S3cret with spaces"),
    "pgp block": ("key:\n" + PGP_BLOCK.split("\n", 2)[0] + "\n\n", PGP_BLOCK.split("\n", 2)[2]),
}


@pytest.mark.parametrize("tail", ["", "...", "\nnext line of the report"], ids=["end", "ellipsis", "newline"])
@pytest.mark.parametrize("kept", [8, 13, 21, -1], ids=lambda k: f"kept{k}")
@pytest.mark.parametrize("case", CUT_CASES)
def test_secret_cut_before_redaction_leaves_no_part_of_it(case, kept, tail):
    before, secret = CUT_CASES[case]
    part = secret[:kept]
    redacted = redact(before + part + tail)
    assert redacted.startswith(before.split("\n")[0][:8])
    assert part not in redacted, redacted


@pytest.mark.parametrize("case", CUT_CASES)
def test_clip_redacts_before_it_cuts(case):
    before, secret = CUT_CASES[case]
    text = before + secret + " and the rest of a long line"
    clipped = clip(text, len(before) + 10)
    assert secret[:8] not in clipped
    assert len(clipped) <= len(before) + 10


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
        "www_authenticate_uri = http://ctl1:5000",
        "bind to http://[::1]:9292",
        "keystone at http://10.0.0.5:5000 refused admin@Default",
        "Store for identifier cheap not found",
        "2026-01-02 10:00:01.123 42 INFO glance.api.v2.images [-] uploaded 3f1c2a8e in 1.2 s",
        '{"status": "active", "size": 1048576, "checksum": null}',
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
        ("ansible_ssh_pass", True),
        ("ansible_become_pass", True),
        ("ansible_password", True),
        ("Cookie", True),
        ("Set-Cookie", True),
        ("X-Subject-Token", True),
        ("Authorization", True),
        ("credential", True),
        ("SecretAccessKey", True),
        ("aws_secret_access_key", True),
        ("connection", True),
        ("s3_store_secret_key", True),
        ("memcache_secret_key", True),
        ("cinder_store_password", True),
        ("filesystem_store_datadir", False),
        ("default_swift_reference", False),
        ("transport_url", True),
        ("swift_store_user", True),
        ("rbd_store_user", False),
        ("bypass", False),
    ],
)
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


CONF_WITH_SECRETS = """[DEFAULT]
enabled_backends = fast:file, cloudy:swift
transport_url = rabbit://openstack:s3cr3t@rabbit:5672/
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = /var/lib/glance/images
[cloudy]
swift_store_key = k3y
swift_store_auth_version = 3
api_token = t0k3n
"""


def test_config_leaves_out_every_option_redact_calls_secret():
    """One rule: the options glance_hc.config leaves out of drift and reprs are is_secret_name's."""
    conf = config.GlanceConfig.parse(CONF_WITH_SECRETS)
    options = conf.upload_options()
    names = {key.split("] ", 1)[1] for key in options}
    assert {"filesystem_store_datadir", "swift_store_auth_version"} <= names, options
    assert not [n for n in names if is_secret_name(n)], options
    shown = repr(conf.stores) + repr(options)
    assert "s3cr3t" not in shown and "k3y" not in shown and "t0k3n" not in shown


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
