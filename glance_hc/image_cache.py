"""Glance's image cache: how full it is, and whether anything prunes it.

What Glance 33 does (site-packages/glance):

- the cache is on only when the paste pipeline has the `cache` filter: `[paste_deploy] flavor`
  `keystone+caching` or `keystone+cachemanagement` (glance-api-paste.ini composites
  `glance-api-keystone+caching`, `...+cachemanagement`); glance_hc/config.py sets
  `caching_enabled` from the flavor;
- a download through a node writes the image to `<image_cache_dir>/incomplete/<id>` and renames it
  to `<image_cache_dir>/<id>` when complete (glance/image_cache/drivers/centralized_db.py
  `open_for_write`, `commit`); `image_cache_driver` defaults to `centralized_db` in 33 (records in
  Glance's DB, per node; `sqlite` keeps `cache.db` in the dir, `xattr` uses file attributes);
- `image_cache_max_size` (default 10 GiB) is only "a threshold for cache-pruner to act upon. It
  is NOT a hard limit" (glance/image_cache/__init__.py): `ImageCache.prune` deletes the least
  recently used images above it, and runs only when `glance-cache-pruner`
  (glance/cmd/cache_pruner.py) or the cache API's prune call runs; no periodic task of the API
  prunes (the API's periodic worker only prefetches queued images). The size compared is the sum
  of the files at the top of image_cache_dir (`get_cache_size`: `get_cache_files(base_dir)`);
- `glance-cache-cleaner` (glance/cmd/cache_cleaner.py) removes `invalid/` files and `incomplete/`
  files older than `image_cache_stall_time` (default 24 h): also for cron;
- `GET /v2/cache` (glance/api/v2/cached_images.py `get_cache_state`, policy `cache_list`, admin by
  default) lists the cached and the queued images of the node that answers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from glance_hc.redact import redact
from glance_hc.sizes import human
from glance_hc.store_space import StoreListing, age

SHOWN = 5  # largest entries named in evidence
# files of image_cache_dir Glance does not count as cached images (the sqlite driver's database)
NOT_IMAGES = (".db", ".db-journal", ".db-wal", ".db-shm")


@dataclass(frozen=True)
class Usage:
    """The cached images' bytes as Glance's pruner counts them (top-level files of the dir)."""
    size: int
    count: int
    largest: tuple[tuple[str, int, int], ...]  # (name, size, mtime)
    other_size: int       # incomplete/, invalid/, queue/ (the cleaner's, not the pruner's)
    exact: bool           # False: the probe did not name every file, `size` is the whole tree's

    def describe_largest(self, now: float) -> list[str]:
        return [f"{name} ({human(size)}, modified {age(now - mtime)} ago)" for name, size, mtime in self.largest]


def usage(listing: StoreListing) -> Usage:
    """What the pruner would compare with image_cache_max_size, from the probe's listing."""
    top = [f for f in listing.files if "/" not in f.path and not f.path.endswith(NOT_IMAGES)]
    exact = listing.complete and len(listing.files) == listing.count
    size = sum(f.size for f in top) if exact else listing.size
    other = sum(f.size for f in listing.files if "/" in f.path) if exact else 0
    top.sort(key=lambda f: f.size, reverse=True)
    return Usage(size=size, count=len(top) if exact else listing.count,
                 largest=tuple((f.path, f.size, f.mtime) for f in top[:SHOWN]), other_size=other, exact=exact)


@dataclass(frozen=True)
class PrunerSchedule:
    """What the probe found of a scheduled pruner: matching cron lines and systemd units."""
    looked: tuple[str, ...] = ()
    unreadable: dict[str, str] = field(default_factory=dict)
    lines: tuple[tuple[str, str], ...] = ()          # (file, line mentioning the pruner), redacted
    timers: tuple[tuple[str, str], ...] = ()         # (timer file, unit it starts)
    enabled_timers: tuple[str, ...] = ()
    error: str | None = None

    @property
    def cron_lines(self) -> list[tuple[str, str]]:
        return [(p, line) for p, line in self.lines if not p.endswith((".service", ".timer"))]

    @property
    def timer_lines(self) -> list[tuple[str, str, bool]]:
        """(timer, its service's pruner line, enabled) for each timer starting a service that runs it."""
        services = {p.rsplit("/", 1)[-1]: line for p, line in self.lines if p.endswith(".service")}
        return [(t, services[unit], t.rsplit("/", 1)[-1] in self.enabled_timers)
                for t, unit in self.timers if unit in services]

    @property
    def found(self) -> bool:
        return bool(self.cron_lines or self.timer_lines)

    def where_looked(self) -> str:
        dirs = sorted({p.rsplit("/", 1)[0] or "/" for p in self.looked})
        return (f"{len(self.looked)} files read under {', '.join(dirs) or 'nothing'}"
                + (f"; not readable: {', '.join(f'{p} ({why})' for p, why in self.unreadable.items())}"
                   if self.unreadable else ""))


def _texts(value) -> list[str]:
    return [str(x) for x in value if isinstance(x, str)] if isinstance(value, list) else []


def _pairs(value) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    return [(item[0], item[1]) for item in value
            if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)]


def parse_schedule(info) -> PrunerSchedule | None:
    """The probe's `pruner_schedule` (host data: every field checked, every line redacted)."""
    if not isinstance(info, dict):
        return None
    if "error" in info:
        return PrunerSchedule(error=str(info["error"]))
    unreadable = info.get("unreadable") if isinstance(info.get("unreadable"), dict) else {}
    return PrunerSchedule(
        looked=tuple(_texts(info.get("looked"))),
        unreadable={str(k): str(v) for k, v in unreadable.items()},
        lines=tuple((p, redact(line)) for p, line in _pairs(info.get("lines"))),
        timers=tuple(_pairs(info.get("timers"))), enabled_timers=tuple(_texts(info.get("enabled_timers"))))


def over_max_failure(path: str, host: str, used: Usage, max_size: int, now: float | None = None) -> str:
    """Why an over-max cache matters and what to do, in one message."""
    now = time.time() if now is None else now
    return (f"the image cache {path} on {host} holds {human(used.size)} in {used.count} images, over "
            f"image_cache_max_size {human(max_size)} by {human(used.size - max_size)}: Glance never prunes on its "
            f"own (the max is only the threshold glance-cache-pruner acts on), so nothing has pruned it since it "
            f"grew past the max; largest: {'; '.join(used.describe_largest(now)) or 'none named'}. Schedule "
            f"`glance-cache-pruner` (cron or a systemd timer, as the glance user, e.g. every 30 minutes) and run it "
            f"once now; until then the cache takes the filesystem's room from {path}")


def not_pruned_failure(path: str, host: str, used: Usage, max_size: int, schedule: PrunerSchedule) -> str:
    return (f"the image cache {path} on {host} is over image_cache_max_size ({human(used.size)} > {human(max_size)}) "
            f"and no glance-cache-pruner was found in cron or systemd timers on {host} ({schedule.where_looked()}): "
            f"a pruner run elsewhere (a container's cron, an external scheduler) would have brought it under the "
            f"max. Add a cron entry or timer running `glance-cache-pruner` (and `glance-cache-cleaner` for stalled "
            f"incomplete/ files) as the glance user on {host}")
