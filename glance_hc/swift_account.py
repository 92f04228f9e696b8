"""A swift store's account as Glance's own swift user sees it: bytes used against the quota.

Glance keeps a single-tenant swift store's images in its service account, so the
room that matters is that account's (and the container's) quota, which Swift's
account_quotas / container_quotas middleware enforce with a 413 that glance_store
turns into "Image storage media is full". The credentials come from the store's
reference file on the controller (`swift_store_config_file`, `default_swift_reference`);
they are used for one token and one HEAD each, and never reach a report.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass

from glance_hc import redact

INTERFACES = {"publicURL": "public", "internalURL": "internal", "adminURL": "admin"}


class SwiftAccountError(RuntimeError):
    """The account could not be looked at (bad reference, no token, no endpoint, no answer)."""


@dataclass(frozen=True)
class SwiftReference:
    name: str
    auth_address: str
    user: str            # "project:user", as glance_store wants it
    key: str
    user_domain_id: str | None = None
    user_domain_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None

    @property
    def project(self) -> str:
        return self.user.split(":", 1)[0] if ":" in self.user else ""

    @property
    def username(self) -> str:
        return self.user.split(":", 1)[-1]

    def __repr__(self) -> str:  # the key must never show, not even in a traceback
        return f"SwiftReference({self.name!r}, {self.auth_address!r}, {self.user!r})"


def parse_reference(text: str, ref: str) -> SwiftReference:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise SwiftAccountError(f"the swift reference file does not parse: {str(exc).splitlines()[0]}") from None
    if not parser.has_section(ref):
        raise SwiftAccountError(f"the swift reference file has no [{ref}] section "
                                f"(it has: {', '.join(parser.sections()) or 'none'})")
    section = parser[ref]
    missing = [opt for opt in ("auth_address", "user", "key") if not section.get(opt)]
    if missing:
        raise SwiftAccountError(f"[{ref}] lacks {', '.join(missing)}")
    if ":" not in section["user"]:
        raise SwiftAccountError(f"[{ref}] user must be PROJECT:USER, not {section['user']!r}")
    return SwiftReference(ref, section["auth_address"], section["user"], section["key"],
                          section.get("user_domain_id"), section.get("user_domain_name"),
                          section.get("project_domain_id"), section.get("project_domain_name"))


@dataclass(frozen=True)
class AccountUsage:
    url: str
    bytes_used: int
    objects: int
    containers: int
    account_quota: int | None
    container: str
    container_bytes: int | None
    container_quota: int | None

    @property
    def limits(self) -> list[tuple[str, int, int]]:
        """(what, used, quota) for each quota that applies."""
        found = []
        if self.account_quota is not None:
            found.append(("account", self.bytes_used, self.account_quota))
        if self.container_quota is not None and self.container_bytes is not None:
            found.append((f"container {self.container}", self.container_bytes, self.container_quota))
        return found

    @property
    def room(self) -> int | None:
        """Bytes that can still be stored before a quota answers 413; None: no quota applies."""
        rooms = [max(0, quota - used) for _, used, quota in self.limits]
        return min(rooms) if rooms else None

    @property
    def used_ratio(self) -> float | None:
        ratios = [used / quota if quota else 1.0 for _, used, quota in self.limits]
        return max(ratios) if ratios else None

    def describe(self) -> str:
        parts = [f"account {self.url.rstrip('/').rsplit('/', 1)[-1]}: {self.bytes_used} bytes in "
                 f"{self.objects} objects, {self.containers} containers, "
                 f"quota {self.account_quota if self.account_quota is not None else 'none'}"]
        if self.container_bytes is not None:
            parts.append(f"container {self.container}: {self.container_bytes} bytes, quota "
                         f"{self.container_quota if self.container_quota is not None else 'none'}")
        return "; ".join(parts)


def _int(headers, name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and str(value).strip().lstrip("-").isdigit() else None


def account_usage(ref: SwiftReference, container: str, interface: str = "public", region: str | None = None,
                  timeout: float = 15) -> AccountUsage:
    """One token, one HEAD of the account and one of the container (keystoneauth, bounded)."""
    from keystoneauth1 import exceptions as ks_exc  # noqa: PLC0415 - only when a swift store is checked
    from keystoneauth1 import session  # noqa: PLC0415
    from keystoneauth1.identity import v3  # noqa: PLC0415

    domain_default = not any((ref.user_domain_id, ref.user_domain_name))
    auth = v3.Password(auth_url=ref.auth_address, username=ref.username, password=ref.key,
                       project_name=ref.project,
                       user_domain_id=ref.user_domain_id or ("default" if domain_default else None),
                       user_domain_name=ref.user_domain_name,
                       project_domain_id=ref.project_domain_id or (
                           "default" if not ref.project_domain_name else None),
                       project_domain_name=ref.project_domain_name)
    sess = session.Session(auth=auth, timeout=timeout)
    try:
        url = sess.get_endpoint(service_type="object-store", interface=INTERFACES.get(interface, interface),
                                region_name=region)
        if not url:
            raise SwiftAccountError(f"the catalogue has no {interface} object-store endpoint"
                                    f"{f' in region {region}' if region else ''}")
        account = sess.head(url, raise_exc=False)
        if account.status_code >= 300:
            raise SwiftAccountError(f"HEAD of the account answered HTTP {account.status_code}")
        box = sess.head(f"{url.rstrip('/')}/{container}", raise_exc=False)
    except ks_exc.Unauthorized:
        raise SwiftAccountError(f"Keystone refused {ref.user} at {ref.auth_address} (HTTP 401)") from None
    except ks_exc.ClientException as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise SwiftAccountError(f"{type(exc).__name__}: {redact.clip(first, 300)}") from None
    return usage_from_headers(url, container, account.headers, box.headers if box.status_code < 300 else None)


def usage_from_headers(url: str, container: str, account, box=None) -> AccountUsage:
    """The HEAD answers of the account and (when it exists) the container, made one reading."""
    return AccountUsage(url=url, bytes_used=_int(account, "X-Account-Bytes-Used") or 0,
                        objects=_int(account, "X-Account-Object-Count") or 0,
                        containers=_int(account, "X-Account-Container-Count") or 0,
                        account_quota=_int(account, "X-Account-Meta-Quota-Bytes"),
                        container=container,
                        container_bytes=_int(box, "X-Container-Bytes-Used") if box is not None else None,
                        container_quota=_int(box, "X-Container-Meta-Quota-Bytes") if box is not None else None)
