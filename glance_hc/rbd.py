"""An rbd store as the probe saw it through the store's own cephx user.

The probe's answer for a store (what root saw of its client files and caps, what the
worker user could read and run) becomes one RbdFacts; the judgments the checks make of it (pool usage against its
quota and MAX AVAIL, what a failed ceph command means, whether caps cover the pool)
live here so they can be tested on real output captured from the lab's Ceph.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from glance_hc import redact

# What a failed ceph/rbd command said, in the order it is recognised: a keyring that exists but
# cannot be read is a permissions problem even though librados then says it found no keyring.
_PERMISSION = re.compile(r"\(13\) Permission denied|\(1\) Operation not permitted|EACCES|EPERM|"
                         r"permission denied|not permitted", re.I)
_MISSING = re.compile(r"unable to find a keyring|\(2\) No such file|did not load config file|"
                      r"no keyring found|error reading config file", re.I)


def error_kind(output: str, rc: int | None) -> str | None:
    """None when the command worked; else permission | client-files | timeout | other."""
    if rc == 0:
        return None
    if _PERMISSION.search(output or ""):
        return "permission"
    if rc == 124 or re.search(r"timed out|\(110\)", output or "", re.I):
        return "timeout"
    if _MISSING.search(output or ""):
        return "client-files"
    return "other"


def last_error_line(output: str) -> str:
    """The line that says what went wrong (ceph prefixes them with a timestamp and thread id)."""
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.search(r"error|denied|not permitted|unable|timed out|failed|\(\d+\)", ln, re.I):
            return redact.clip(re.sub(r"^\S+T\S+ [0-9a-f]+ -1 ", "", ln), 300)
    return redact.clip(lines[-1] if lines else "no output", 300)


@dataclass
class CommandResult:
    rc: int | None
    output: str

    @property
    def kind(self) -> str | None:
        return error_kind(self.output, self.rc)


@dataclass
class PoolStats:
    name: str
    stored: int
    max_avail: int
    quota_bytes: int
    objects: int

    @property
    def capacity(self) -> int:
        """What the pool can hold: its quota when one is set, else what it has plus MAX AVAIL."""
        room = self.stored + self.max_avail
        return min(self.quota_bytes, room) if self.quota_bytes else room

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.stored)

    @property
    def used_ratio(self) -> float:
        return self.stored / self.capacity if self.capacity else 1.0

    def describe(self) -> str:
        quota = f"quota {self.quota_bytes} bytes" if self.quota_bytes else "no quota"
        return (f"pool {self.name}: {self.stored} bytes stored in {self.objects} objects, "
                f"MAX AVAIL {self.max_avail} bytes, {quota}")


@dataclass
class RbdFacts:
    store: str
    pool: str = ""
    user: str = ""
    conf: str = ""
    keyring: str = ""
    tools: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)       # path -> "owner:group mode" or "missing: ..."
    missing: dict[str, str] = field(default_factory=dict)     # path -> stat's complaint
    access_user: str | None = None
    conf_readable: bool | None = None
    keyring_readable: bool | None = None
    df: CommandResult | None = None
    ls: CommandResult | None = None
    ls_count: int | None = None
    ls_names: tuple[str, ...] | None = None  # the pool's rbd image names (the first 2000), as the worker user sees them
    caps_result: CommandResult | None = None
    worker_error: str | None = None   # why nothing could be run as the worker user (then df/ls are None)

    def failure_kind(self, result: CommandResult | None) -> str | None:
        """What a failed ceph/rbd command means here: the probe's own file checks outrank the
        command's words (librados reports an unreadable keyring as "no keyring", errno 95)."""
        if result is None or result.rc == 0:
            return None
        if self.keyring in self.missing or self.conf in self.missing:
            return "client-files"
        if self.keyring_readable is False or self.conf_readable is False:
            return "permission"
        return result.kind

    def findings(self) -> list[str]:
        """One line per problem seen, worded like the log lines the canary's rules read."""
        found = [f"rbd store {self.store}: {path} missing ({why})" for path, why in self.missing.items()]
        for path, readable in ((self.conf, self.conf_readable), (self.keyring, self.keyring_readable)):
            if readable is False and path not in self.missing:
                found.append(f"rbd store {self.store}: {path} ({self.files.get(path, '?')}) not readable by "
                             f"{self.access_user}: permission denied")
        for what, result in (("ceph df", self.df), ("rbd ls", self.ls)):
            kind = self.failure_kind(result)
            if kind == "permission":
                found.append(f"rbd store {self.store}: {what} as client.{self.user}: permission denied "
                             f"({last_error_line(result.output)})")
        return found

    @property
    def pool_stats(self) -> PoolStats | None:
        if not self.df or self.df.rc != 0:
            return None
        data = first_json(self.df.output)
        for pool in (data or {}).get("pools", []) if isinstance(data, dict) else []:
            if isinstance(pool, dict) and pool.get("name") == self.pool:
                s = pool.get("stats", {})
                try:
                    return PoolStats(self.pool, int(s.get("stored", s.get("bytes_used", 0))),
                                     int(s.get("max_avail", 0)), int(s.get("quota_bytes", 0)),
                                     int(s.get("objects", 0)))
                except (TypeError, ValueError, AttributeError):
                    return None  # ceph printed something that is not a pool's figures
        return None

    @property
    def caps(self) -> dict[str, str] | None:
        if not self.caps_result or self.caps_result.rc != 0:
            return None
        data = first_json(self.caps_result.output)
        if isinstance(data, list) and data:
            return data[0].get("caps", {})
        return None


def first_json(text: str):
    """The JSON document in a command's output, past any warnings ceph printed before it."""
    for i, ch in enumerate(text or ""):
        if ch in "[{":
            try:
                return json.JSONDecoder().raw_decode(text[i:])[0]
            except ValueError:
                continue
    return None


def _result(got) -> CommandResult | None:
    if not isinstance(got, dict):
        return None
    rc = got.get("rc")
    return CommandResult(rc if isinstance(rc, int) and not isinstance(rc, bool) else None,
                         got.get("output") if isinstance(got.get("output"), str) else "")


def from_probe(root_side, worker_side, access_user: str | None, worker_error: str | None = None
               ) -> dict[str, RbdFacts]:
    """Each rbd store of the probe's answer: `root_side` (client files, tools, caps) and
    `worker_side` (what the worker user could read and run), both JSON data from the host."""
    stores: dict[str, RbdFacts] = {}
    worker_side = worker_side if isinstance(worker_side, dict) else {}
    for name, seen in (root_side if isinstance(root_side, dict) else {}).items():
        if not isinstance(seen, dict):
            continue
        facts = stores[name] = RbdFacts(store=name)
        for key in ("pool", "user", "conf", "keyring"):
            if isinstance(seen.get(key), str):
                setattr(facts, key, seen[key])
        facts.tools = [t for t in seen.get("tools") or [] if isinstance(t, str)]
        for path, info in (seen.get("files") or {}).items():
            if not isinstance(info, dict):
                continue
            if "error" in info:
                facts.missing[path] = str(info["error"])
            else:
                facts.files[path] = f"{info.get('owner')}:{info.get('group')} mode {info.get('mode')}"
        facts.caps_result = _result(seen.get("caps"))
        mine = worker_side.get(name)
        if worker_error or not access_user or not isinstance(mine, dict):
            facts.worker_error = worker_error or "the worker user's view of this store did not come back"
        else:
            facts.access_user = access_user
            facts.conf_readable = mine.get("conf_read_rc") == 0
            facts.keyring_readable = mine.get("keyring_read_rc") == 0
            facts.df = _result(mine.get("df"))
            facts.ls = _result(mine.get("ls"))
            count = (mine.get("ls") or {}).get("count") if isinstance(mine.get("ls"), dict) else None
            facts.ls_count = count if isinstance(count, int) and not isinstance(count, bool) else None
            names = (mine.get("ls") or {}).get("names") if isinstance(mine.get("ls"), dict) else None
            if isinstance(names, list):
                facts.ls_names = tuple(n for n in names if isinstance(n, str))
    return stores


def caps_cover_pool(caps: dict[str, str], pool: str) -> tuple[bool, str]:
    """Do a client's mon and osd caps let it read and write rbd images in `pool`?"""
    osd = caps.get("osd", "")
    mon = caps.get("mon", "")
    if not mon:
        return False, "no mon caps: the client cannot even reach the cluster map"
    grants = [g.strip() for g in osd.split(",") if g.strip()]
    if not grants:
        return False, "no osd caps"
    for grant in grants:
        m = re.search(r"pool=(\S+)", grant)
        if m and m.group(1) != pool:
            continue
        if "profile rbd-read-only" in grant:
            continue
        if "profile rbd" in grant or re.search(r"allow (\*|rwx|rw\b)", grant):
            return True, f"osd caps {osd!r} cover pool {pool}"
    return False, f"osd caps {osd!r} give no write access to pool {pool}"
