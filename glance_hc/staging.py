"""The staging store of interoperable image import: what it holds, and whether the nodes share it.

Glance 33 stages a glance-direct upload (`PUT /v2/images/ID/stage`) in `[os_glance_staging_store]
filesystem_store_datadir` as a file named by the image id (glance/api/v2/image_data.py `stage`),
and the import task later copies it to the stores and deletes it (`_DeleteFromFS` in
glance/async_/flows/api_image_import.py). What Glance does with what is left:

- at every glance-api start, `glance.housekeeping.StagingStoreCleaner.clean_orphaned_staging_residue`
  (started by glance/common/wsgi_app.py `init_app`) deletes the files named by an image id (the
  part before the first `.`) of an image the database no longer has or marks deleted; it keeps the
  file of every other image, whatever its status, and ignores ("unexpected non-image file")
  every file whose name is no image id;
- a failed import sets the image back to `queued` and leaves the staged file: the image cannot be
  imported from it (glance-direct needs `uploading`) and cannot be staged again (`staging_store.add`
  raises Duplicate: HTTP 409 "The image ... has data on staging") until the file is gone.

The node that staged an image records its `worker_self_reference_url` (or, unset, `public_endpoint`)
in the image's `os_glance_stage_host`; a node that gets the import call and finds another URL there
proxies the call to it (glance/api/v2/images.py `is_proxyable`, `_proxy_request_to_host`). With the
same URL on every node nothing is proxied, so the import runs wherever the balancer sends it, and
reads a staging file that exists only where the upload landed unless the staging dir is shared.

"Shared" is decided from the probe's stat of the dir (glance_hc/probe/host_probe.py `dir_facts`):
on one kernel (the same boot id: mount namespaces, containers) the pair (st_dev, st_ino) names one
directory; st_dev alone names only a filesystem, and a bind mount of another directory of it shows
the same st_dev. Across kernels no stat value proves anything (cloned machines show equal
(st_dev, st_ino) and equal fsids of local filesystems): only a network or cluster filesystem can be
shared, and then the same mount source and path within it is the best evidence to be had.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from glance_hc import endpoints
from glance_hc.sizes import human
from glance_hc.store_space import age

IMAGE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# filesystems more than one machine can mount (the only ones a staging dir can be shared on)
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "ceph", "fuse.ceph-fuse", "fuse.cephfs", "glusterfs",
                        "fuse.glusterfs", "gpfs", "lustre", "ocfs2", "gfs2", "beegfs", "fuse.sshfs",
                        "virtiofs", "9p"})
IN_USE = ("uploading", "importing")  # statuses whose staging file an import still reads


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def image_id_of(name: str) -> str | None:
    """The image id a staging entry belongs to, as Glance's cleaner reads it (the name up to its
    first `.`: image conversion writes `<id>.raw` beside `<id>`), or None for a non-image file."""
    stem = name.split(".", 1)[0]
    return stem if IMAGE_ID.fullmatch(stem) else None


@dataclass(frozen=True)
class Entry:
    """One entry of the staging dir: lstat only, never its content."""
    name: str
    kind: str
    size: int
    mtime: int

    @property
    def image_id(self) -> str | None:
        return image_id_of(self.name)

    def describe(self, now: float) -> str:
        kind = "" if self.kind == "regular file" else f", {self.kind}"
        return f"{self.name} ({human(self.size)}{kind}, modified {age(now - self.mtime)} ago)"


@dataclass(frozen=True)
class Entries:
    """The probe's listing of the staging dir: the oldest entries, and count and size of all."""
    now: int = 0
    count: int = 0
    size: int = 0
    complete: bool = True
    entries: tuple[Entry, ...] = ()
    errors: tuple[str, ...] = ()
    error: str | None = None

    def older_than(self, seconds: float) -> list[Entry]:
        return [e for e in self.entries if self.now - e.mtime > seconds]

    @property
    def unlisted(self) -> int:
        return max(self.count - len(self.entries), 0)


def parse_entries(info) -> Entries | None:
    """The probe's `entries` of a dir (host data: every field checked)."""
    if not isinstance(info, dict):
        return None
    if "error" in info:
        return Entries(error=str(info["error"]))
    entries = []
    for item in info.get("entries") or []:
        if (isinstance(item, list) and len(item) == 4 and isinstance(item[0], str) and isinstance(item[1], str)
                and _int(item[2]) is not None and _int(item[3]) is not None):
            entries.append(Entry(item[0], item[1], item[2], item[3]))
    return Entries(now=_int(info.get("now")) or 0, count=_int(info.get("count")) or 0,
                   size=_int(info.get("size")) or 0, complete=bool(info.get("complete", True)),
                   entries=tuple(entries), errors=tuple(str(x) for x in info.get("errors") or [] if isinstance(x, str)))


# ---------------------------------------------------------------- what is left, and why
@dataclass(frozen=True)
class Leftover:
    entry: Entry
    why: str          # what it is
    safe: str         # whether and why it may be removed


def leftovers(stale: list[Entry], in_use: set[str], status_of) -> tuple[list[Leftover], list[tuple[Entry, str]]]:
    """(leftovers, entries kept with why) among the stale entries. `in_use`: ids of images in
    uploading/importing; `status_of(id)` -> (status or None when Glance has no such image,
    importing stores) for the others, asked only for stale id-named files."""
    found, kept = [], []
    for entry in stale:
        image_id = entry.image_id
        if image_id is None:
            found.append(Leftover(entry, "no image's file: its name is no image id",
                                  "Glance never writes or removes it (its start-up cleanup logs 'unexpected "
                                  "non-image file' and leaves it): find out who put it there, then move or "
                                  "delete it by hand"))
            continue
        if image_id in in_use:
            kept.append((entry, "its image is in uploading or importing: an import still reads it"))
            continue
        status, importing = status_of(image_id)
        if status is None:
            found.append(Leftover(entry, f"image {image_id} does not exist (deleted)",
                                  "safe to remove: Glance's own start-up cleanup (glance/housekeeping.py) "
                                  "deletes the file of a deleted image at the next glance-api start"))
        elif status.startswith("unknown"):
            kept.append((entry, f"image {image_id}: {status}"))
        elif status == "active" and importing:
            kept.append((entry, f"image {image_id} is active and being copied to {importing} (copy-image "
                                "stages it)"))
        elif status == "queued":
            found.append(Leftover(entry, f"image {image_id} is queued: its import failed or never ran",
                                  "safe to remove: no import can use it (glance-direct needs the image in "
                                  "uploading), it blocks staging the image again (409 'has data on staging'), "
                                  "and Glance's start-up cleanup keeps it because the image exists"))
        else:
            found.append(Leftover(entry, f"image {image_id} is {status}: no import reads its staged data",
                                  "safe to remove: only an import in uploading/importing (or a copy-image "
                                  "of an active image) reads it; Glance's start-up cleanup keeps it because "
                                  "the image exists"))
    return found, kept


# ---------------------------------------------------------------- one directory or two
@dataclass(frozen=True)
class DirIdentity:
    """What the probe saw of a dir that could tell it from another host's."""
    host: str
    path: str
    boot_id: str = ""
    dev: int | None = None
    ino: int | None = None
    fsid: int | None = None
    fstype: str | None = None
    source: str | None = None     # the mount's source (tmpfs, server:/export)
    mount: str | None = None
    mount_root: str | None = None  # the directory of the filesystem the mount shows

    @property
    def within(self) -> str | None:
        """The dir's path inside its filesystem (mount root + path below the mount point)."""
        if self.mount is None:
            return None
        rel = posixpath.relpath(self.path, self.mount) if self.path != self.mount else "."
        return posixpath.normpath(posixpath.join(self.mount_root or "/", rel))

    def describe(self) -> str:
        dev = f"{os.major(self.dev)}:{os.minor(self.dev)}" if self.dev is not None else "?"
        return (f"{self.path}: st_dev {dev} st_ino {self.ino if self.ino is not None else '?'}, fsid "
                f"{self.fsid if self.fsid is not None else '?'}, {self.fstype or '?'} {self.source or '?'} on "
                f"{self.mount or '?'} (root {self.mount_root or '?'}), kernel boot id {self.boot_id or 'unknown'}")


def same_directory(a: DirIdentity, b: DirIdentity) -> tuple[bool | None, str]:
    """Whether two hosts' staging dirs are one directory: True, False, or None (cannot tell), and why."""
    if None in (a.dev, a.ino, b.dev, b.ino):
        missing = [i.host for i in (a, b) if i.dev is None or i.ino is None]
        return None, f"the probe did not stat the dir on {', '.join(missing)}"
    if a.boot_id and a.boot_id == b.boot_id:
        if (a.dev, a.ino) == (b.dev, b.ino):
            return True, "one kernel (same boot id) and the same st_dev and st_ino: one directory"
        if a.dev == b.dev:
            return False, ("one kernel, the same filesystem (st_dev) but another inode: two directories of "
                           "one filesystem (a bind mount of another directory shows the same st_dev)")
        return False, "one kernel, another st_dev: two filesystems"
    network = a.fstype in NETWORK_FS and b.fstype in NETWORK_FS
    if a.boot_id and b.boot_id and not network:
        return False, (f"two kernels (other boot ids) and a local filesystem ({a.fstype} / {b.fstype}): "
                       "no two machines can share it")
    if network:
        if a.fstype == b.fstype and a.source == b.source and a.within == b.within and (
                not a.fsid or not b.fsid or a.fsid == b.fsid):
            return True, (f"{a.fstype} {a.source}, the same path {a.within} in it"
                          + (" and the same fsid" if a.fsid and b.fsid else ""))
        return None, (f"network filesystems, but not provably one: {a.fstype} {a.source} {a.within} "
                      f"against {b.fstype} {b.source} {b.within}")
    return None, "the kernels' boot ids are unknown: st_dev and st_ino prove nothing across machines"


def sharing_groups(identities: list[DirIdentity]) -> tuple[list[list[str]], list[str]]:
    """(groups of hosts proven to share one staging dir, findings) over every pair."""
    groups: list[list[str]] = []
    said = []
    for ident in identities:
        placed = False
        for group in groups:
            first = next(i for i in identities if i.host == group[0])
            same, why = same_directory(first, ident)
            verdict = "same directory" if same else "not shared" if same is False else "cannot tell"
            said.append(f"{first.host} and {ident.host}: {verdict} ({why})")
            if same:
                group.append(ident.host)
                placed = True
                break
        if not placed:
            groups.append([ident.host])
    return groups, said


# ---------------------------------------------------------------- each node's own URL
def normalized(url: str | None) -> str | None:
    """scheme://host:port/path of a URL (default ports made explicit, /v2 and trailing / dropped)."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return url.strip()
    if not parts.hostname:
        return url.strip()
    path = re.sub(r"/v2/?$", "", parts.path.rstrip("/"))
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}{path}"


@dataclass(frozen=True)
class NodeSelf:
    """One node's self-reference as its config says, and what the run knows of where it is."""
    host: str
    url: str | None              # worker_self_reference_url, None unset
    where: str                   # file, section, option, line
    public_endpoint: str | None
    names: frozenset[str]        # what names this node: hostname, --host name, the address the suite reached
    listen_address: str | None   # a specific address glance-api listens on (None: all or unknown)
    listen_port: int | None      # the port from the uWSGI ini or bind_port (None: not from those)


def self_url_problems(nodes: list[NodeSelf], catalog_url: str | None) -> dict[str, list[str]]:
    """host -> what is wrong with its worker_self_reference_url (empty: its own, distinct, pointing
    at it, or nothing proves otherwise)."""
    problems: dict[str, list[str]] = {n.host: [] for n in nodes}
    public = {normalized(n.public_endpoint) for n in nodes if n.public_endpoint} | (
        {normalized(catalog_url)} if catalog_url else set())
    by_url: dict[str, list[str]] = {}
    for n in nodes:
        if normalized(n.url):
            by_url.setdefault(normalized(n.url), []).append(n.host)
    for n in nodes:
        url = normalized(n.url)
        if url is None:
            fallback = (f"public_endpoint ({n.public_endpoint})" if n.public_endpoint
                        else "nothing (public_endpoint is not set either): the image gets no stage host")
            problems[n.host].append(f"worker_self_reference_url is not set ({n.where}): Glance records {fallback}, "
                                    "which is the same on every node, so no node proxies an import to this one")
            continue
        if url in public:
            problems[n.host].append(f"worker_self_reference_url = {n.url} is the public endpoint (the "
                                    "balancer's address): every node takes it for its own and proxies nothing")
        others = [h for h in by_url[url] if h != n.host]
        if others:
            problems[n.host].append(f"worker_self_reference_url = {n.url} is also {', '.join(others)}'s")
        host = (urlsplit(url).hostname or "").lower()
        elsewhere = [o.host for o in nodes if o.host != n.host and host in o.names and host not in n.names]
        if elsewhere:
            problems[n.host].append(f"worker_self_reference_url = {n.url} points at {', '.join(elsewhere)}")
        elif n.listen_address and _is_ip(host) and _is_ip(n.listen_address) and host != n.listen_address:
            problems[n.host].append(f"worker_self_reference_url = {n.url}, but glance-api on {n.host} listens on "
                                    f"{n.listen_address} only")
        elif host in n.names and n.listen_port and urlsplit(url).port != n.listen_port:
            problems[n.host].append(f"worker_self_reference_url = {n.url}, but glance-api on {n.host} listens on "
                                    f"port {n.listen_port}")
    return problems


def points_here(n: NodeSelf) -> bool:
    return (urlsplit(normalized(n.url) or "").hostname or "").lower() in n.names


def _is_ip(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9a-f:]+", text or ""))


def node_self(host, reached: str | None) -> NodeSelf:
    """A node's worker_self_reference_url (from its HostFacts) and what names the node: its hostname,
    its --host name and `reached`, the address the suite reached it by; and where glance-api listens
    by its uWSGI ini or bind_port (not by the URL itself)."""
    cfg = host.config
    url = (cfg.get("DEFAULT", "worker_self_reference_url") or "").strip() or None
    names = frozenset({host.name.lower(), (host.hostname or "").lower(), (reached or "").lower()} - {""})
    listen = endpoints.listen_of(host)
    own_files = not listen.how.startswith(("port of worker_self_reference_url", "no port"))
    return NodeSelf(host.name, url, cfg.where("DEFAULT", "worker_self_reference_url"),
                    (cfg.get("DEFAULT", "public_endpoint") or "").strip() or None, names,
                    listen.address, listen.port if own_files else None)


def leftover_failure(path: str, host: str, left: list[Leftover], stale_age, unlisted: int,
                     sharing: list[str], advice: str) -> str:
    """The staging check's failure message: what is left, how much, and what may go."""
    total = sum(item.entry.size for item in left)
    more = f" (and {unlisted} entries not named: only the oldest are)" if unlisted else ""
    return (f"staging store {path} on {host}: {len(left)} leftover entr{'y' if len(left) == 1 else 'ies'} "
            f"older than --stale-age ({stale_age}), {human(total)}{more}"
            + (f", the same directory as {', '.join(sharing)}'s" if sharing else "") + ": "
            + "; ".join(f"{item.entry.name} ({item.why})" for item in left[:10]) + ". " + advice)


def sharing_failure(groups: list[list[str]], said: list[str], bad: dict[str, list[str]]) -> str:
    """The cross-node check's failure message: how the nodes split, and each node's URL problem."""
    split = " | ".join(", ".join(g) for g in groups)
    why = "; ".join(x for x in said if ": same directory (" not in x)
    return (f"the staging dir is not one directory on every glance-api node ({split}; {why}), and not every "
            f"node has its own worker_self_reference_url: " + "; ".join(f"{h}: {'; '.join(p)}" for h, p in bad.items())
            + ". A glance-direct import that reaches another node than the one that staged the image fails "
              "there (its staging file is missing) and leaves the staged file behind")
