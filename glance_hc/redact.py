"""Hide secrets in anything the suite writes down: the one rule for what is a secret.

Checks collect raw evidence (glance-api.conf, ceph.conf, keyrings, clouds.yaml,
logs, API headers) and every report is something an operator may paste into a
ticket. Everything that leaves the process goes through `redact()` /
`redact_obj()`; `glance_hc.config` asks `is_secret_name()` which options to
leave out of drift and reprs.

A secret is replaced by ``***`` in place, so the rest of the line (the option
name, the URL's scheme, user and host, the header name) stays readable. When
in doubt the patterns hide a little too much rather than leak: a false
positive costs a re-read of the host, a leak costs a credential rotation.
So a value after a secret's name runs to the end of the line (or its closing
quote): a password may hold ``;``, ``,``, ``&`` or spaces. Text is often cut
(a log line at 300 characters) before it reaches a report: the token formats
are also recognised by a prefix at the end of a line or before ``...``.
"""
from __future__ import annotations

import functools
import re

MASK = "***"

# Option / field / header names whose value is a secret: password, admin_password,
# OS_PASSWORD, application_credential_secret, memcache_secret_key, admin_token,
# X-Auth-Token, X-Subject-Token, Cookie, Set-Cookie, ansible_ssh_pass,
# aws_secret_access_key, SecretAccessKey, apiKey, "credential", and the keyring's
# bare `key`. Names must *end* with the secret word, so token_cache_time or
# auth_type (whose value may be "password") survive.
_SECRET_NAME = (
    r"(?:[\w.-]*(?:password|passwd|passphrase|passcode|secret|token|credentials?|cookie"
    r"|[_-]key|[_-]pass|[_-]pwd|[_-]pw|(?:access|secret|private|api|auth|encryption|signing)key)"
    r"|key|pass|pwd|pw|psk)"
)
_AUTHORIZATION_NAME = r"(?:proxy-)?authorization"
_SECRET_KEY_RE = re.compile(rf"{_SECRET_NAME}|{_AUTHORIZATION_NAME}", re.IGNORECASE)

# Options Glance and glance_store declare secret=True (or that hold credentials in
# a URL) whose names do not say so.
SECRET_OPTIONS = frozenset(
    {
        "swift_store_user",
        "swift_store_key",
        "swift_store_application_credential_id",
        "swift_store_application_credential_secret",
        "s3_store_access_key",
        "s3_store_secret_key",
        "cinder_store_password",
        "cinder_store_application_credential_secret",
        "vmware_server_password",
        "metadata_encryption_key",
        "transport_url",
        "connection",
    }
)

# PEM (RSA, EC, OPENSSH, ENCRYPTED...) and PGP armoured private keys, BEGIN to END;
# a block cut before its END is hidden to the end of the text.
_PRIVATE_KIND = r"[A-Z0-9 ]*?(?:PRIVATE|SECRET) KEY(?: BLOCK)?"
_PRIVATE_BLOCK = re.compile(rf"-----BEGIN ({_PRIVATE_KIND})-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
_PRIVATE_END = re.compile(rf"-----END ({_PRIVATE_KIND})-----")

# YAML block scalars under a secret name (`key: |` and its indented lines).
_SECRET_YAML_BLOCK = re.compile(
    rf"^([ \t]*)((?:-[ \t]+)?[\"']?{_SECRET_NAME}[\"']?[ \t]*:[ \t]*)[|>][-+0-9]*[ \t]*\n"
    r"(?:(?:[ \t]*\n)*\1[ \t]+\S[^\n]*(?:\n|\Z))+",
    re.IGNORECASE | re.MULTILINE,
)

# scheme://user:password@host...; the netloc part is rewritten by _redact_url.
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s\"'<>]+)", re.IGNORECASE)
# Transports that list several user:pass@host entries separated by commas.
_MULTI_HOST_SCHEMES = ("rabbit", "amqp", "kafka", "kombu")
# A password holding characters a URL token cannot (space, quote): up to the @ of the host.
# A port followed by text is not a password.
_URL_ODD_PASSWORD = re.compile(
    r"\b([a-z][a-z0-9+.-]*://[^\s:/@\"'<>]+:)(?!\*\*\*@)(?!\d{1,5}(?:[\s\"'<>,)]|$))"
    r"(?=[^\n@/]*?[\s\"'<>])([^\n@/]+?)(@[\w\[])",
    re.IGNORECASE | re.MULTILINE,
)

# Where text was cut: the end of a line or of the text, or a "..." marker.
_CUT = r"(?=\.\.\.|\u2026|$)"
# scheme://user:passw<cut> (no @ left): the password's prefix; a bare port is kept.
_URL_CUT_PASSWORD = re.compile(
    rf"\b([a-z][a-z0-9+.-]*://[^\s:/@\"'<>\[\]]+:)(?!\*\*\*{_CUT})(?!\d{{1,5}}{_CUT})[^\s/@\"'<>]+{_CUT}",
    re.IGNORECASE | re.MULTILINE,
)

# JSON / Python repr: "token": "abc", 'password': 'abc', "Secret": 12345, and a quoted
# string cut before its closing quote.
_SECRET_QUOTED_FIELD = re.compile(
    rf"([\"']{_SECRET_NAME}[\"'][ \t]*:[ \t]*)"
    r"(?:(\"(?:[^\"\\\n]|\\.)*(?:\"|$)|'(?:[^'\\\n]|\\.)*(?:'|$))"
    r"|(?!null\b|true\b|false\b|None\b|True\b|False\b|\*\*\*)([^\s,}\]{\[\"'][^,}\]\n]*))",
    re.IGNORECASE | re.MULTILINE,
)
# The same inside a JSON string (escaped quotes): {\"secret\": \"abc\"}
_SECRET_ESCAPED_FIELD = re.compile(
    rf"(\\[\"']{_SECRET_NAME}\\[\"'][ \t]*:[ \t]*\\[\"'])((?:(?!\\[\"'])[^\n])*)",
    re.IGNORECASE,
)

# A whole ini / yaml / env line: `password = s3 cr3t`, `  password: 'x'`,
# `export OS_PASSWORD=x`, `#admin_password = x`, `key = AQ...==`. The rest of the
# line is the value (ini values may contain spaces), so all of it is hidden.
_SECRET_LINE = re.compile(
    rf"^(\s*(?:[#;]\s*)?(?:export\s+)?(?:-\s+)?[\"']?{_SECRET_NAME}[\"']?\s*[=:][ \t]*)"
    r"(\S.*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_ALREADY_MASKED = re.compile(r"[\"']?\*\*\*[\"']?,?")

# CLI flags: --os-password s3cr3t, --password=s3cr3t, --os-token 'a b'
_SECRET_FLAG = re.compile(
    r"(--[\w-]*(?:password|secret|token|key)(?:=|[ \t]+))(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)",
    re.IGNORECASE,
)

# Passwords glued to a client flag: mysql -pS3cret, sshpass -p S3cret
_SECRET_CLIENT_FLAG = re.compile(
    r"(\b(?:mysql|mysqladmin|mysqldump|mariadb|sshpass)\b[^\n]*?\s-p[ \t]*)(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)",
)

# name=value / Name: value in the middle of a line (logs, query strings, headers
# inside a curl command, ansible inventory lines). The value's extent is decided by
# _value_span: a query parameter ends at &, a value inside quotes at the quote,
# anything else at the end of the line.
_PAIR_NAME = re.compile(
    rf"(?<![\w.-])({_SECRET_NAME}|{_AUTHORIZATION_NAME})[ \t]*(?:=>|[=:])[ \t]*", re.IGNORECASE
)
_AUTH_SCHEME = re.compile(r"(?:bearer|basic|token|negotiate|digest|aws4-hmac-sha256)[ \t]+", re.IGNORECASE)
_QUERY_VALUE_END = re.compile(r"[&\s#\"'<>]")

_BEARER = re.compile(r"\b(bearer)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)

# Keystone Fernet tokens: base64url of a Fernet token, always starting gAAAAA.
_FERNET_TOKEN = re.compile(rf"\bgAAAAA(?:[A-Za-z0-9_=-]{{20,}}|[A-Za-z0-9_=-]*{_CUT})(?:%3D)*", re.MULTILINE)
# JWS / JWT (and JWE): base64url JSON header `eyJ`, then dot-separated segments.
_JWT = re.compile(
    rf"(?<![\w-])eyJ[A-Za-z0-9_-]{{4,}}(?:(?:\.[A-Za-z0-9_-]*){{1,4}}|{_CUT})", re.MULTILINE
)
# Ceph secrets: base64 of a 28-byte key, 40 characters starting with AQ.
_CEPH_KEY = re.compile(
    rf"(?<![A-Za-z0-9+/])AQ(?:[A-Za-z0-9+/]{{36,}}={{0,2}}|[A-Za-z0-9+/]{{6,}}={{0,2}}{_CUT})", re.MULTILINE
)
# AWS access key ids (long-term AKIA, temporary ASIA and the other IAM prefixes).
_AWS_KEY_ID = re.compile(
    rf"(?<![A-Za-z0-9])(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)"
    rf"(?:[A-Z0-9]{{16}}(?![A-Za-z0-9])|[A-Z0-9]{{4,15}}{_CUT})",
    re.MULTILINE,
)


def _mask_private_block(match: re.Match) -> str:
    block = match.group(0)
    # a block quoted on one line (a repr, a JSON string) keeps its escaped newlines
    newline = "\n" if "\n" in block or "\\n" not in block else "\\n"
    return f"-----BEGIN {match.group(1)}-----{newline}{MASK}{newline}-----END {match.group(1)}-----"


def _mask_private_blocks(text: str) -> str:
    text = _PRIVATE_BLOCK.sub(_mask_private_block, text)
    if "-----END " not in text:
        return text
    # An END whose BEGIN was cut off: what precedes it (since the last block) is the key.
    out, pos = [], 0
    for match in _PRIVATE_END.finditer(text):
        if text.rfind("-----BEGIN ", pos, match.start()) >= 0:
            out.append(text[pos:match.end()])
        else:
            out.append(f"{MASK}\n{match.group(0)}")
        pos = match.end()
    return "".join(out) + text[pos:]


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
        # user:pass@host entries; a password holding a comma spans two pieces.
        entries, pending = [], ""
        for piece in rest.split(","):
            pending = f"{pending},{piece}" if pending else piece
            if "@" in piece:
                entries.append(_redact_userinfo(pending))
                pending = ""
        return scheme + ",".join(entries + ([pending] if pending else []))
    return scheme + _redact_userinfo(rest)


def _mask_value(match: re.Match) -> str:
    return match.group(1) + MASK


def _mask_line_value(match: re.Match) -> str:
    if _ALREADY_MASKED.fullmatch(match.group(2)):
        return match.group(0)
    return match.group(1) + MASK


def _mask_quoted_field(match: re.Match) -> str:
    quoted = match.group(2)
    if quoted is None:
        return match.group(1) + MASK
    return f"{match.group(1)}{quoted[0]}{MASK}{quoted[0]}"


def _closing_quote(text: str, start: int, end: int, quote: str) -> int:
    index = start
    while index < end:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == quote:
            return index
        index += 1
    return end


def _value_span(text: str, name_start: int, value_start: int) -> tuple[int, int]:
    """Where the value after `name=` ends: its closing quote, the end of a query
    parameter, the quote the pair sits in, or the end of the line."""
    eol = text.find("\n", value_start)
    eol = len(text) if eol < 0 else eol
    if value_start < eol and text[value_start] in "\"'":
        return value_start + 1, _closing_quote(text, value_start + 1, eol, text[value_start])
    before = text[name_start - 1] if name_start else ""
    if before in ("?", "&"):
        found = _QUERY_VALUE_END.search(text, value_start, eol)
        return value_start, found.start() if found else eol
    if before in ("\"", "'"):
        return value_start, _closing_quote(text, value_start, eol, before)
    end = eol
    while end > value_start and text[end - 1] in " \t\r":
        end -= 1
    return value_start, end


def _mask_pairs(text: str) -> str:
    out, pos = [], 0
    for match in _PAIR_NAME.finditer(text):
        if match.start() < pos:
            continue
        value_start = match.end()
        if re.fullmatch(_AUTHORIZATION_NAME, match.group(1), re.IGNORECASE):
            scheme = _AUTH_SCHEME.match(text, value_start)
            if scheme:
                value_start = scheme.end()
        start, end = _value_span(text, match.start(), value_start)
        if start >= end or text.startswith(MASK, start):
            continue
        out.append(text[pos:start] + MASK)
        pos = end
    return "".join(out) + text[pos:]


# A run's outputs repeat the same short strings (hosts, stores, outcomes, keys, option names)
# thousands of times over a fleet: each is scanned once. Long texts (log excerpts) are not kept.
_CACHED_UP_TO = 512


def redact(text: str) -> str:
    """Return `text` with every secret we know how to spot replaced by ***."""
    if not text:
        return text
    if len(text) <= _CACHED_UP_TO:
        return _redact_short(text)
    return _redact(text)


@functools.lru_cache(maxsize=4096)
def _redact_short(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    text = _mask_private_blocks(text)
    text = _SECRET_YAML_BLOCK.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}\n", text)
    text = _URL.sub(_redact_url, text)
    text = _URL_ODD_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _URL_CUT_PASSWORD.sub(_mask_value, text)
    text = _SECRET_QUOTED_FIELD.sub(_mask_quoted_field, text)
    text = _SECRET_ESCAPED_FIELD.sub(_mask_value, text)
    text = _SECRET_LINE.sub(_mask_line_value, text)
    text = _SECRET_FLAG.sub(_mask_value, text)
    text = _SECRET_CLIENT_FLAG.sub(_mask_value, text)
    text = _mask_pairs(text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _FERNET_TOKEN.sub(MASK, text)
    text = _JWT.sub(MASK, text)
    text = _CEPH_KEY.sub(MASK, text)
    text = _AWS_KEY_ID.sub(MASK, text)
    return text


def clip(text: str, limit: int, marker: str = "...") -> str:
    """Redact, then cut to `limit` characters: never cut first (a cut secret is harder to spot)."""
    text = redact(text)
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


def is_secret_name(name: str) -> bool:
    """True for a field or option name whose value must never be shown (dict keys, options)."""
    name = name.strip()
    return bool(_SECRET_KEY_RE.fullmatch(name)) or name.lower() in SECRET_OPTIONS


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
