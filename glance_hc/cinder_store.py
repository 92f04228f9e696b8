"""A cinder store as Glance's own cinder user sees it: its volume type, its project's quota, its volumes.

glance_store's cinder driver (glance_store/_drivers/cinder/store.py) creates one volume per image,
named `image-<id>`, of `cinder_volume_type`, in the project of `cinder_store_user_name` when the four
`cinder_store_*` credentials are set (otherwise in the uploading user's project, through the
catalogue entry `cinder_catalog_info`). Each volume takes at least 1 GiB of the project's `gigabytes`
quota and one of its `volumes`; at the quota Cinder answers 413 and Glance answers 500 (seen in the
lab). A volume left behind by a failed upload (in `error`, or `available` with no image) still counts.

The credentials come from glance-api.conf on the controller; they are used for one token and three
GETs and never reach a report.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from glance_hc import redact

GIB = 1 << 30
AUTH_OPTIONS = ("cinder_store_auth_address", "cinder_store_user_name", "cinder_store_password",
                "cinder_store_project_name")
CATALOG_DEFAULT = "volumev3::publicURL"   # glance_store 5.7 cinder_catalog_info default
INTERFACES = {"publicURL": "public", "internalURL": "internal", "adminURL": "admin"}
VOLUME_NAME = re.compile(r"^image-(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
LEFTOVER_STATUSES = ("error", "available", "error_deleting", "error_extending")


class CinderStoreError(RuntimeError):
    """Cinder could not be looked at as the store's user (no token, no endpoint, no answer)."""


@dataclass(frozen=True)
class CinderAuth:
    auth_address: str
    user: str
    password: str
    project: str
    user_domain_name: str | None
    user_domain_id: str | None
    project_domain_name: str | None
    project_domain_id: str | None
    region: str | None
    interface: str
    service_type: str

    def __repr__(self) -> str:  # the password must never show, not even in a traceback
        return f"CinderAuth({self.auth_address!r}, {self.user!r}, project {self.project!r})"


def config_problems(options: dict[str, str], password_set: bool) -> list[str]:
    """What in a cinder store's section makes glance_store refuse it or look in the wrong place.

    The four cinder_store_* credentials go together (is_user_overriden: all or none); without them
    cinder_catalog_info must be `service_type:service_name:interface`."""
    given = [o for o in AUTH_OPTIONS if (password_set if o == "cinder_store_password" else options.get(o))]
    problems = []
    if given and len(given) < len(AUTH_OPTIONS):
        missing = [o for o in AUTH_OPTIONS if o not in given]
        problems.append(f"{', '.join(given)} set but {', '.join(missing)} not: glance_store uses the "
                        f"store's own user only with all four, so volumes go to each uploader's project")
    info = options.get("cinder_catalog_info", CATALOG_DEFAULT)
    if len(info.split(":")) != 3:
        problems.append(f"cinder_catalog_info = {info!r} is not service_type:service_name:interface")
    if not options.get("cinder_volume_type"):
        problems.append("cinder_volume_type is not set: volumes get Cinder's default type, which may be "
                        "on a backend glance-api cannot attach")
    return problems


def auth_of(options: dict[str, str], password: str | None) -> CinderAuth | None:
    """The store's own Cinder user, or None when the store uses each uploader's token."""
    if not password or not all(options.get(o) for o in AUTH_OPTIONS if o != "cinder_store_password"):
        return None
    service_type, _, interface = (options.get("cinder_catalog_info", CATALOG_DEFAULT).split(":") + ["", ""])[:3]
    return CinderAuth(options["cinder_store_auth_address"], options["cinder_store_user_name"], password,
                      options["cinder_store_project_name"], options.get("cinder_store_user_domain_name"),
                      options.get("cinder_store_user_domain_id"), options.get("cinder_store_project_domain_name"),
                      options.get("cinder_store_project_domain_id"), options.get("cinder_os_region_name"),
                      INTERFACES.get(interface, interface or "public"), service_type or "volumev3")


@dataclass(frozen=True)
class CinderView:
    """What the store's user sees: the volume types it may use, its project's quota (with usage), and
    the project's volumes (name, id, status, size in GiB)."""

    endpoint: str
    types: list[dict]
    quota: dict
    volumes: list[dict]


def look(auth: CinderAuth, timeout: float = 15) -> CinderView:
    """One token, then GET types, the quota set with usage, and the volumes (keystoneauth, bounded)."""
    from keystoneauth1 import exceptions as ks_exc  # noqa: PLC0415 - only when a cinder store is checked
    from keystoneauth1 import session  # noqa: PLC0415
    from keystoneauth1.identity import v3  # noqa: PLC0415

    default = not any((auth.user_domain_id, auth.user_domain_name))
    ident = v3.Password(auth_url=auth.auth_address, username=auth.user, password=auth.password,
                        project_name=auth.project, user_domain_name=auth.user_domain_name,
                        user_domain_id=auth.user_domain_id or ("default" if default else None),
                        project_domain_name=auth.project_domain_name,
                        project_domain_id=auth.project_domain_id or (
                            "default" if not auth.project_domain_name else None))
    sess = session.Session(auth=ident, timeout=timeout)
    try:
        url = sess.get_endpoint(service_type=auth.service_type, interface=auth.interface, region_name=auth.region)
        if not url:
            raise CinderStoreError(f"the catalogue has no {auth.interface} {auth.service_type} endpoint"
                                   f"{f' in region {auth.region}' if auth.region else ''}")
        project = sess.get_project_id()
        got = {}
        for key, path in (("types", "/types"), ("quota", f"/os-quota-sets/{project}?usage=True"),
                          ("volumes", "/volumes/detail")):
            answer = sess.get(url.rstrip("/") + path, raise_exc=False)
            if answer.status_code >= 300:
                raise CinderStoreError(f"GET {path.split('?')[0]} answered HTTP {answer.status_code}")
            got[key] = answer.json()
    except ks_exc.Unauthorized:
        raise CinderStoreError(f"Keystone refused {auth.user} at {auth.auth_address} (HTTP 401)") from None
    except ks_exc.ClientException as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise CinderStoreError(f"{type(exc).__name__}: {redact.clip(first, 300)}") from None
    return view_from(url, got["types"], got["quota"], got["volumes"])


def view_from(endpoint: str, types: dict, quota: dict, volumes: dict) -> CinderView:
    """The three answers (as Cinder's v3 API gives them) made one reading."""
    return CinderView(endpoint=endpoint, types=list(types.get("volume_types", [])),
                      quota=dict(quota.get("quota_set", {})),
                      volumes=[{"id": v.get("id"), "name": v.get("name") or "", "status": v.get("status"),
                                "size": v.get("size") or 0, "volume_type": v.get("volume_type")}
                               for v in volumes.get("volumes", [])])


def volume_type_problem(view: CinderView, name: str) -> str | None:
    """None when the store's user can create volumes of type `name`; otherwise why not."""
    names = [t.get("name") for t in view.types]
    if name in names:
        return None
    return (f"volume type {name!r} is not among the types the store's user may use "
            f"({', '.join(n for n in names if n) or 'none'}): it was deleted, renamed, or is private "
            f"without access for the project")


def quota_limits(view: CinderView, volume_type: str | None) -> list[tuple[str, int, int]]:
    """(quota name, used with reserved, limit) for every limited quota an upload draws on: volumes and
    gigabytes, and their per-type versions for the store's volume type (-1: unlimited, left out)."""
    names = ["volumes", "gigabytes"] + ([f"volumes_{volume_type}", f"gigabytes_{volume_type}"] if volume_type else [])
    found = []
    for name in names:
        entry = view.quota.get(name)
        if not isinstance(entry, dict) or int(entry.get("limit", -1)) < 0:
            continue
        found.append((name, int(entry.get("in_use", 0)) + int(entry.get("reserved", 0)), int(entry["limit"])))
    return found


def gib_for(image_bytes: int) -> int:
    """The volume size glance_store asks for an image: its size rounded up to GiB, at least 1."""
    return max(1, math.ceil(image_bytes / GIB))


def quota_shortfalls(view: CinderView, volume_type: str | None, image_bytes: int) -> list[str]:
    """The quotas with no room for one more volume of an image of `image_bytes`."""
    need = {"volumes": 1, "gigabytes": gib_for(image_bytes)}
    short = []
    for name, used, limit in quota_limits(view, volume_type):
        want = need[name.split("_", 1)[0]]
        if limit - used < want:
            unit = "volume(s)" if name.startswith("volumes") else "GiB"
            short.append(f"{name}: {used} of {limit} {unit} used, {limit - used} left, one image needs {want}")
    return short


@dataclass(frozen=True)
class Leftover:
    volume_id: str
    name: str
    image_id: str
    status: str
    size: int

    def describe(self) -> str:
        return f"volume {self.name} ({self.volume_id}, {self.status}, {self.size} GiB)"


def leftovers(view: CinderView, image_exists) -> list[Leftover]:
    """Volumes named image-<id> that no upload holds and no image uses: in an error state (a failed
    create or delete; glance_store leaves them), or `available` while the image is gone
    (`image_exists(id)` False). An upload in flight keeps its volume creating, attaching or in-use."""
    found = []
    for vol in view.volumes:
        m = VOLUME_NAME.match(vol["name"])
        if m and vol["status"] in LEFTOVER_STATUSES and (
                vol["status"] != "available" or not image_exists(m.group("id"))):
            found.append(Leftover(vol["id"], vol["name"], m.group("id"), vol["status"], int(vol["size"])))
    return found
