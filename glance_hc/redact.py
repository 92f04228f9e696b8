"""Hide secrets in anything the suite writes down.

Checks collect raw evidence (glance-api.conf, clouds.yaml, keyrings, logs, API
headers) and every report is something an operator may paste into a ticket.
Everything that reaches a report goes through `redact()` / `redact_obj()`.

A secret is replaced by ``***`` in place, so the rest of the line (the option
name, the URL's scheme, user and host, the header name) stays readable. When
in doubt the patterns hide a little too much rather than leak: a false
positive costs a re-read of the host, a leak costs a credential rotation.
"""
from __future__ import annotations

import re

MASK = "***"

# Option / field names whose value is a secret: password, admin_password,
# OS_PASSWORD, application_credential_secret, memcache_secret_key, admin_token,
# X-Auth-Token, and the keyring's bare `key`. Names must *end* with the secret
# word, so token_cache_time or auth_type (whose value may be "password") survive.
_SECRET_NAME = (
    r"(?:[\w.-]*(?:password|passwd|passphrase|secret|token|_key)|key|pass|pwd)"
)
_SECRET_NAME_RE = re.compile(rf"{_SECRET_NAME}", re.IGNORECASE)

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)",
    re.DOTALL,
)

# scheme://user:password@host...; the netloc part is rewritten by _redact_url.
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s\"'<>]+)", re.IGNORECASE)
# Transports that list several user:pass@host entries separated by commas.
_MULTI_HOST_SCHEMES = ("rabbit", "amqp", "kafka", "kombu")

# Authorization: Bearer abc / Basic abc / abc
_AUTHORIZATION = re.compile(
    r"\b(authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(bearer|basic|token|negotiate|digest)\s+)?[^\s\"',;]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)

# A whole ini / yaml / env line: `password = s3 cr3t`, `  password: 'x'`,
# `export OS_PASSWORD=x`, `#admin_password = x`. The rest of the line is the
# value (ini values may contain spaces), so all of it is hidden.
_SECRET_LINE = re.compile(
    rf"^(\s*(?:[#;]\s*)?(?:export\s+)?(?:-\s+)?[\"']?{_SECRET_NAME}[\"']?\s*[=:][ \t]*)"
    r"(\S.*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

# JSON / Python repr: "token": "abc", 'password': 'abc'
_SECRET_QUOTED_FIELD = re.compile(
    rf"([\"']{_SECRET_NAME}[\"'][ \t]*:[ \t]*)(\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')",
    re.IGNORECASE,
)

# CLI flags: --os-password s3cr3t, --password=s3cr3t
_SECRET_FLAG = re.compile(
    r"(--[\w-]*(?:password|secret|token|key)(?:=|[ \t]+))(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)",
    re.IGNORECASE,
)

# Passwords glued to a client flag: mysql -pS3cret, sshpass -p S3cret
_SECRET_CLIENT_FLAG = re.compile(
    r"(\b(?:mysql|mysqladmin|mysqldump|mariadb|sshpass)\b[^\n]*?\s-p[ \t]*)([^\s\"']+)",
)

# name=value / Name: value in the middle of a line (logs, query strings,
# headers inside a curl command). Only one token is hidden.
_SECRET_PAIR = re.compile(
    rf"((?<![\w.-]){_SECRET_NAME}(?:=|:[ \t]*|[ \t]+=[ \t]*))"
    r"(\"[^\"\n]*\"|'[^'\n]*'|(?!\*\*\*)[^\s&,;\"'<>]+)",
    re.IGNORECASE,
)

# Keystone Fernet tokens: base64url of a Fernet token, always starting gAAAAA.
_FERNET_TOKEN = re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{40,}")

# Ceph secrets: base64 of a 28-byte key, 40 characters starting with AQ.
_CEPH_KEY = re.compile(r"(?<![A-Za-z0-9+/])AQ[A-Za-z0-9+/]{36,}={0,2}")


def _redact_userinfo(segment: str) -> str:
    """`user:pass@host` -> `user:***@host`; anything without a password is kept."""
    at = segment.rfind("@")
    if at < 0:
        return segment
    userinfo, host = segment[:at], segment[at:]
    user, colon, _password = userinfo.partition(":")
    if not colon or any(char in user for char in "/?#"):
        return segment
    return f"{user}:{MASK}{host}"


def _redact_url(match: re.Match) -> str:
    scheme, rest = match.group(1), match.group(2)
    if "@" not in rest:
        return match.group(0)
    if scheme.lower().split("+")[0].rstrip(":/") in _MULTI_HOST_SCHEMES:
        return scheme + ",".join(_redact_userinfo(part) for part in rest.split(","))
    return scheme + _redact_userinfo(rest)


def _mask_value(match: re.Match) -> str:
    return match.group(1) + MASK


def _mask_quoted_value(match: re.Match) -> str:
    quote = match.group(2)[0]
    return f"{match.group(1)}{quote}{MASK}{quote}"


def _mask_authorization(match: re.Match) -> str:
    scheme = match.group(2)
    return f"{match.group(1)}{scheme + ' ' if scheme else ''}{MASK}"


def redact(text: str) -> str:
    """Return `text` with every secret we know how to spot replaced by ***."""
    if not text:
        return text
    text = _PEM_PRIVATE_KEY.sub(
        lambda m: f"-----BEGIN {m.group(1)}-----\n{MASK}\n-----END {m.group(1)}-----", text
    )
    text = _URL.sub(_redact_url, text)
    text = _AUTHORIZATION.sub(_mask_authorization, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _SECRET_LINE.sub(_mask_value, text)
    text = _SECRET_QUOTED_FIELD.sub(_mask_quoted_value, text)
    text = _SECRET_FLAG.sub(_mask_value, text)
    text = _SECRET_CLIENT_FLAG.sub(_mask_value, text)
    text = _SECRET_PAIR.sub(_mask_value, text)
    text = _FERNET_TOKEN.sub(MASK, text)
    text = _CEPH_KEY.sub(MASK, text)
    return text


def is_secret_name(name: str) -> bool:
    """True for a field name whose value must never be shown (dict keys, options)."""
    return bool(_SECRET_NAME_RE.fullmatch(name.strip()))


def redact_obj(obj):
    """Redact every string inside dicts, lists and tuples (keys kept).

    A value stored under a secret-looking key (``{"password": "x"}``) is hidden
    even when it does not look like a secret by itself.
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        redacted = {}
        for key, value in obj.items():
            if isinstance(key, str) and is_secret_name(key) and _is_scalar(value):
                redacted[key] = MASK if value not in (None, "") else value
            else:
                redacted[redact_obj(key) if isinstance(key, str) else key] = redact_obj(value)
        return redacted
    if isinstance(obj, list):
        return [redact_obj(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(item) for item in obj)
    return obj


def _is_scalar(value) -> bool:
    return isinstance(value, (str, bytes, int, float)) and not isinstance(value, bool)
