"""Store space that is not images: what a file store's filesystem holds against what Glance accounts for.

A store fills up with image data, but also with files nobody put through Glance (a backup, a
copied disk, a dotfile) and with the leftovers of uploads that never finished. Deleting images
frees only the first kind, so the suite must tell them apart before it tells an operator what to
delete. The host side is the probe's store-dir listing (names, sizes, allocated bytes, mtimes,
never contents: glance_hc/probe/host_probe.py `dir_listing`); the API side is the admin image
list (every status it shows) plus a GET by id for a file named like an image the list leaves out
(Glance's v2 list never shows `killed`, and deleted images are gone from it).

glance_store's filesystem driver writes an image's data to `<datadir>/<image id>`; anything else
under a store dir is not an image's. A file named by the id of an image that is in `saving`,
`queued` or `killed`, or that Glance no longer knows (deleted), is an orphan partial upload.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from glance_hc.canary.api import call
from glance_hc.canary.listings import list_every_image
from glance_hc.errors import one_line
from glance_hc.sizes import human

IMAGE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# statuses whose image has no finished data: a file named by its id is what an upload left
PARTIAL = {"saving": "an upload still writing, or one whose worker died",
           "queued": "it has no data: this is what a failed upload left",
           "killed": "a failed upload (legacy status the v2 list never shows)"}
LOOKUPS = 20        # ids the list leaves out that are asked by id, the largest files first
SHOWN = 10          # files named in a message, the largest first


def _int(value, default=0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def age(seconds: float) -> str:
    """`3 h`, `12 d`: how old a file is, to the unit an operator reads."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class StoreFile:
    """One regular file under a store dir: its path relative to the dir, never its content."""
    path: str
    size: int
    allocated: int
    mtime: int

    def describe(self, now: float, root: str = "") -> str:
        where = f"{root.rstrip('/')}/{self.path}" if root else self.path
        sparse = f", {human(self.size)} apparent" if self.size != self.allocated else ""
        return f"{where} ({human(self.allocated)}{sparse}, modified {age(now - self.mtime)} ago)"


@dataclass(frozen=True)
class StoreListing:
    """The probe's listing of one store dir: totals over every file, the largest files by name."""
    allocated: int = 0
    size: int = 0
    count: int = 0
    files: tuple[StoreFile, ...] = ()
    complete: bool = True
    not_entered: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    error: str | None = None

    @property
    def unlisted(self) -> int:
        """Allocated bytes of the files beyond the ones named (the smallest ones)."""
        return max(self.allocated - sum(f.allocated for f in self.files), 0)


def parse_listing(info) -> StoreListing | None:
    """The probe's `listing` of a dir into a StoreListing (every field checked: host data)."""
    if not isinstance(info, dict):
        return None
    if "error" in info:
        return StoreListing(error=str(info["error"]))
    files = []
    for item in info.get("files") or []:
        if (isinstance(item, list) and len(item) == 4 and isinstance(item[0], str)
                and all(isinstance(x, int) and not isinstance(x, bool) for x in item[1:])):
            files.append(StoreFile(item[0], item[1], item[2], item[3]))
    texts = lambda key: tuple(str(x) for x in (info.get(key) or []) if isinstance(x, str))  # noqa: E731
    return StoreListing(allocated=_int(info.get("allocated")), size=_int(info.get("size")),
                        count=_int(info.get("count")), files=tuple(files), complete=bool(info.get("complete", True)),
                        not_entered=texts("not_entered"), errors=texts("errors"))


# ---------------------------------------------------------------- the API side
@dataclass
class Census:
    """Every image the admin list shows, by id; `error` says why there is none to compare with."""
    images: dict[str, dict] = field(default_factory=dict)
    error: str | None = None
    pages: int = 0
    looked_up: dict[str, str | None] = field(default_factory=dict)  # id -> status by GET, None: 404

    def status_of(self, conn, image_id: str, timeout: float) -> str | None:
        """The status GET /v2/images/ID answers (killed ones too), None when Glance has no such image."""
        if image_id not in self.looked_up:
            answer, _ = call(conn, "GET", f"/images/{image_id}", timeout=timeout)
            if answer.status == 404:
                self.looked_up[image_id] = None
            elif answer.ok and isinstance(answer.json, dict):
                self.looked_up[image_id] = str(answer.json.get("status"))
            else:
                self.looked_up[image_id] = f"unknown ({answer.describe()})"
        return self.looked_up[image_id]


def roles_of(conn) -> list[str]:
    try:
        return list(conn.session.auth.get_access(conn.session).role_names or [])
    except Exception:  # noqa: BLE001 - no roles to read: said by the caller
        return []


def take_census(conn, thresholds) -> Census:
    """The admin list of every image (hidden ones too): only admin sees other projects' private
    images, without which their files would look like nobody's."""
    roles = roles_of(conn)
    if "admin" not in roles:
        return Census(error=f"the cloud's token has no admin role (roles: {', '.join(roles) or 'none'}): "
                            "a list without it leaves out other projects' private images, whose files "
                            "would look like nobody's")
    try:
        images, pages = list_every_image(conn, thresholds)
    except RuntimeError as exc:
        return Census(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the reason is the skip's
        return Census(error=f"listing images failed: {one_line(exc)}")
    return Census(images={str(i.get("id")): i for i in images}, pages=pages)


# ---------------------------------------------------------------- the comparison
@dataclass(frozen=True)
class Owned:
    file: StoreFile
    image_id: str | None = None
    why: str = ""


@dataclass
class Breakdown:
    """One file store dir: the filesystem's numbers, the files images hold and the rest."""
    store: str
    path: str
    fs_used: int | None
    listing: StoreListing
    images: list[Owned] = field(default_factory=list)
    orphans: list[Owned] = field(default_factory=list)
    foreign: list[Owned] = field(default_factory=list)
    glance_bytes: int = 0      # the sizes of the images Glance says are in this store
    glance_count: int = 0

    @staticmethod
    def _sum(owned: list[Owned]) -> int:
        return sum(o.file.allocated for o in owned)

    @property
    def image_bytes(self) -> int:
        return self._sum(self.images)

    @property
    def orphan_bytes(self) -> int:
        return self._sum(self.orphans)

    @property
    def foreign_bytes(self) -> int:
        return self._sum(self.foreign)

    @property
    def unowned_bytes(self) -> int:
        """Bytes under the dir that belong to no image: foreign files and orphan partial uploads."""
        return self.foreign_bytes + self.orphan_bytes

    @property
    def used(self) -> int:
        """What the filesystem holds (its used bytes), or the dir's own when it has no number."""
        return self.fs_used if self.fs_used else self.listing.allocated

    @property
    def outside_dir(self) -> int:
        """Used bytes of the filesystem that are not under the store dir (other data sharing it)."""
        return max((self.fs_used or 0) - self.listing.allocated, 0)

    @property
    def unowned_ratio(self) -> float:
        return self.unowned_bytes / self.used if self.used else 0.0

    def mostly_unowned(self, max_percent: float, min_bytes: int) -> bool:
        """The claim's failure: no image holds more than `max_percent` of the used space, and that
        space is at least `min_bytes` (a stray small file in an empty store is not a full store's cause)."""
        return self.unowned_bytes >= min_bytes and 100.0 * self.unowned_ratio > max_percent

    def describe(self, now: float) -> list[str]:
        lines = [f"the filesystem holds {human(self.used)} used"
                 + (f", {human(self.outside_dir)} of it outside {self.path}" if self.outside_dir else ""),
                 f"under {self.path}: {human(self.listing.allocated)} in {self.listing.count} files"
                 + ("" if self.listing.complete else " (more files than the probe stats: totals are a floor)"),
                 f"Glance accounts for {human(self.glance_bytes)} in {self.glance_count} images in store {self.store}; "
                 f"files of images: {human(self.image_bytes)} in {len(self.images)}",
                 f"orphan partial uploads: {human(self.orphan_bytes)} in {len(self.orphans)}",
                 f"files no image points at: {human(self.foreign_bytes)} in {len(self.foreign)}"]
        if self.listing.unlisted:
            lines.append(f"{human(self.listing.unlisted)} in the smallest files is not named by the probe "
                         "(not counted either way)")
        lines += [f"orphan: {o.file.describe(now, self.path)}: {o.why}" for o in self.orphans[:SHOWN]]
        lines += [f"foreign: {o.file.describe(now, self.path)}" for o in self.foreign[:SHOWN]]
        lines += [f"not entered: {self.path}/{p}" for p in self.listing.not_entered[:SHOWN]]
        lines += [f"not read: {e}" for e in self.listing.errors[:SHOWN]]
        return lines


def account(store: str, path: str, fs_used: int | None, listing: StoreListing, census: Census,
            status_of=None) -> Breakdown:
    """Each listed file of a store dir to an image of this store, an orphan partial upload, or
    foreign data. `status_of(id)` asks Glance by id for an id the list left out (killed, deleted);
    without it such files are orphans of an image the list does not show."""
    out = Breakdown(store=store, path=path, fs_used=fs_used, listing=listing)
    in_store = [i for i in census.images.values() if store in _stores(i)]
    out.glance_bytes = sum(_int(i.get("size")) for i in in_store)
    out.glance_count = len(in_store)
    lookups = 0
    for f in listing.files:  # largest first
        if "/" in f.path or not IMAGE_ID.fullmatch(f.path):
            out.foreign.append(Owned(f))
            continue
        image = census.images.get(f.path)
        if image is None:
            status = "unknown (not asked)"
            if status_of is not None and lookups < LOOKUPS:
                lookups += 1
                status = status_of(f.path)
            if status is None:
                out.orphans.append(Owned(f, f.path, "Glance has no image with this id (deleted, or a partial "
                                                     "upload of one)"))
            else:
                out.orphans.append(Owned(f, f.path, f"image {f.path} is {status} and not in the image list"
                                                    + (f": {PARTIAL[status]}" if status in PARTIAL else "")))
            continue
        status = str(image.get("status"))
        if status in PARTIAL:
            out.orphans.append(Owned(f, f.path, f"image {f.path} is {status}: {PARTIAL[status]}"))
        elif _stores(image) and store not in _stores(image):
            out.orphans.append(Owned(f, f.path, f"image {f.path} ({status}) is in store(s) "
                                                f"{', '.join(sorted(_stores(image)))}, not {store}"))
        else:
            out.images.append(Owned(f, f.path))
    return out


def _stores(image: dict) -> set[str]:
    return {s.strip() for s in str(image.get("stores") or "").split(",") if s.strip()}


# ---------------------------------------------------------------- an rbd store's pool
@dataclass
class PoolBreakdown:
    """An rbd pool: what Ceph says it stores against the sizes of the images Glance keeps in it,
    and the rbd images by name that are no finished image of these stores. Ceph gives no size per
    name here (`rbd ls`, no image opened), so what belongs to no image is the difference."""
    stores: tuple[str, ...]
    pool: str
    stored: int
    names: tuple[str, ...] | None
    glance_bytes: int = 0
    glance_count: int = 0
    orphans: list[tuple[str, str]] = field(default_factory=list)   # (rbd image name, why)
    foreign: list[str] = field(default_factory=list)
    kind: str = "pool"   # or "container" (a swift store's: Ceph's stored bytes there are Swift's HEAD)

    @property
    def unowned_bytes(self) -> int:
        return max(self.stored - self.glance_bytes, 0)

    @property
    def unowned_ratio(self) -> float:
        return self.unowned_bytes / self.stored if self.stored else 0.0

    def mostly_unowned(self, max_percent: float, min_bytes: int) -> bool:
        return self.unowned_bytes >= min_bytes and 100.0 * self.unowned_ratio > max_percent

    def describe(self) -> list[str]:
        lines = [f"{self.kind} {self.pool}: {human(self.stored)} stored"
                 + (" (ceph df)" if self.kind == "pool" else " (HEAD, X-Container-Bytes-Used)"),
                 f"Glance accounts for {human(self.glance_bytes)} in {self.glance_count} images in store(s) "
                 f"{', '.join(self.stores)}",
                 f"stored beyond the images' sizes: {human(self.unowned_bytes)}"]
        if self.names is None and self.kind == "pool":
            lines.append("the pool's rbd image names were not read (`rbd ls` as the store's user)")
        lines += [f"orphan rbd image: {name}: {why}" for name, why in self.orphans[:SHOWN]]
        lines += [f"foreign rbd image: {self.pool}/{name}" for name in self.foreign[:SHOWN]]
        return lines


def account_pool(stores: tuple[str, ...], pool: str, stored: int, names: tuple[str, ...] | None,
                 census: Census, kind: str = "pool") -> PoolBreakdown:
    """An rbd pool (or a swift container, kind "container", without names) against the images of
    the stores that write to it (glance_store names each rbd image by the Glance image's id)."""
    out = PoolBreakdown(stores=stores, pool=pool, stored=stored, names=names, kind=kind)
    mine = {i: img for i, img in census.images.items() if _stores(img) & set(stores)}
    out.glance_bytes = sum(_int(img.get("size")) for img in mine.values())
    out.glance_count = len(mine)
    for name in names or ():
        image = census.images.get(name)
        if not IMAGE_ID.fullmatch(name):
            out.foreign.append(name)
        elif image is None:
            out.orphans.append((name, "Glance has no image with this id in its list (deleted or killed)"))
        elif str(image.get("status")) in PARTIAL:
            out.orphans.append((name, f"image {name} is {image.get('status')}: {PARTIAL[str(image.get('status'))]}"))
        elif name not in mine:
            out.orphans.append((name, f"image {name} is in store(s) {', '.join(sorted(_stores(image)))}, "
                                      f"not {', '.join(stores)}"))
    return out
