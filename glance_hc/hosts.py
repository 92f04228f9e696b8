"""Turning `--host` values into testinfra host specs."""
from __future__ import annotations

import re
from dataclasses import dataclass

from glance_hc.probe.transport import scheme_refusal

_BARE = re.compile(r"^[A-Za-z0-9_.@:\[\]-]+$")


class HostSpecError(ValueError):
    """A --host value the suite cannot use; the message says why."""


@dataclass(frozen=True)
class HostSpec:
    name: str  # the test id: what the operator typed, minus the scheme for ssh
    url: str   # what testinfra gets

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]


def parse_host(value: str) -> HostSpec:
    """A bare name means ssh (so ~/.ssh/config applies); a URL is taken as given."""
    value = value.strip()
    if not value:
        raise HostSpecError("empty --host value")
    if "://" in value:
        scheme, rest = value.split("://", 1)
        refusal = scheme_refusal(scheme)
        if refusal:
            raise HostSpecError(f"--host {value!r}: {scheme}:// cannot carry the probe: {refusal}")
        if scheme == "local":
            return HostSpec(name="local", url="local://")
        target = rest.split("?", 1)[0]
        if not target:
            raise HostSpecError(f"--host {value!r}: no host or container after {scheme}://")
        name = target if scheme in ("ssh", "safe-ssh") else f"{scheme}:{target}"
        return HostSpec(name=name.split("@")[-1] if scheme == "ssh" else name, url=value)
    if not _BARE.match(value):
        raise HostSpecError(f"--host {value!r}: not a host name or a testinfra URL")
    return HostSpec(name=value.split("@")[-1], url=f"ssh://{value}")


def parse_hosts(values: list[str] | None) -> list[HostSpec]:
    """Repeatable and comma-separated; duplicates dropped, order kept."""
    specs: list[HostSpec] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                spec = parse_host(part)
                if spec not in specs:
                    specs.append(spec)
    return specs
