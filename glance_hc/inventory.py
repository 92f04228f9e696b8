"""Hosts from an Ansible inventory (INI or YAML), the way Kolla-Ansible and OpenStack-Ansible list them.

Only what the suite needs: group membership through `:children`, and per-host
`ansible_host`, `ansible_port`, `ansible_user` (host line vars, then group vars).
"""
from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path

import yaml

from glance_hc.hosts import HostSpec

DEFAULT_GROUPS = ("glance-api", "glance_api", "glance_all", "glance")


class InventoryError(ValueError):
    """The inventory cannot be read or has no such group; the message says which."""


class Inventory:
    def __init__(self):
        self.hosts: dict[str, dict[str, str]] = {}
        self.group_hosts: dict[str, list[str]] = defaultdict(list)
        self.children: dict[str, list[str]] = defaultdict(list)
        self.group_vars: dict[str, dict[str, str]] = defaultdict(dict)

    def members(self, group: str, seen: set | None = None) -> list[str]:
        seen = seen if seen is not None else set()
        if group in seen:
            return []
        seen.add(group)
        found = list(self.group_hosts.get(group, []))
        for child in self.children.get(group, []):
            found += [h for h in self.members(child, seen) if h not in found]
        return found

    def groups_of(self, host: str) -> list[str]:
        return [g for g in list(self.group_hosts) + list(self.children) if host in self.members(g)]

    def host_vars(self, host: str) -> dict[str, str]:
        merged: dict[str, str] = {}
        for group in ["all", *self.groups_of(host)]:
            merged.update(self.group_vars.get(group, {}))
        merged.update(self.hosts.get(host, {}))
        return merged

    def spec(self, host: str) -> HostSpec:
        v = self.host_vars(host)
        target = v.get("ansible_host", host)
        user = v.get("ansible_user")
        port = v.get("ansible_port")
        url = f"ssh://{user + '@' if user else ''}{target}{':' + str(port) if port else ''}"
        return HostSpec(name=host, url=url)

    def group_specs(self, group: str | None) -> list[HostSpec]:
        groups = [group] if group else [g for g in DEFAULT_GROUPS if self.members(g)][:1]
        if not groups or not self.members(groups[0]):
            known = sorted(set(self.group_hosts) | set(self.children))
            wanted = group or " / ".join(DEFAULT_GROUPS)
            raise InventoryError(f"inventory has no hosts in group {wanted} (groups: {', '.join(known) or 'none'})")
        return [self.spec(h) for h in self.members(groups[0])]


_HOST_RANGE = re.compile(r"\[(\d+):(\d+)\]")


def _expand(name: str) -> list[str]:
    m = _HOST_RANGE.search(name)
    if not m:
        return [name]
    lo, hi = m.group(1), m.group(2)
    return [name[:m.start()] + str(i).zfill(len(lo)) + name[m.end():] for i in range(int(lo), int(hi) + 1)]


def parse_ini(text: str) -> Inventory:
    inv = Inventory()
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise InventoryError(f"line {number}: unclosed section {line!r}")
            name = line[1:-1]
            group, _, kind = name.partition(":")
            kind = kind or "hosts"
            continue
        words = shlex.split(line, comments=True)
        if kind == "children":
            inv.children[group].append(words[0])
        elif kind == "vars":
            key, _, value = line.partition("=")
            inv.group_vars[group][key.strip()] = value.strip()
        else:
            for host in _expand(words[0]):
                inv.hosts.setdefault(host, {}).update(
                    dict(w.split("=", 1) for w in words[1:] if "=" in w))
                inv.group_hosts[group].append(host)
    return inv


def parse_yaml(data) -> Inventory:
    inv = Inventory()

    def walk(group: str, body) -> None:
        body = body or {}
        for host, host_vars in (body.get("hosts") or {}).items():
            for name in _expand(str(host)):
                inv.hosts.setdefault(name, {}).update({k: str(v) for k, v in (host_vars or {}).items()})
                inv.group_hosts[group].append(name)
        inv.group_vars[group].update({k: str(v) for k, v in (body.get("vars") or {}).items()})
        for child, child_body in (body.get("children") or {}).items():
            inv.children[group].append(child)
            walk(child, child_body)

    if not isinstance(data, dict):
        raise InventoryError("YAML inventory is not a mapping of groups")
    for group, body in data.items():
        walk(group, body)
    return inv


def load(path: str, group: str | None = None) -> list[HostSpec]:
    """The hosts of `group` (or the usual glance-api group names) in an inventory file."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InventoryError(f"cannot read inventory {path}: {exc.strerror}") from None
    if path.endswith((".yml", ".yaml")) or text.lstrip().startswith(("all:", "---")):
        try:
            inv = parse_yaml(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise InventoryError(f"inventory {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    else:
        inv = parse_ini(text)
    try:
        return inv.group_specs(group)
    except InventoryError as exc:
        raise InventoryError(f"{path}: {exc}") from None
