"""A run's share of the fleet (`--shard I/N`): hosts dealt round robin, the API-wide checks in shard 1.

Several CI jobs (a matrix) each run one shard; `python -m glance_hc.report.merge` reads their
health.json files back into one report and one verdict. Dealing by position in the host list
(as given, then the inventory's) keeps every shard's share stable from run to run, so a host's
history stays in one job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A --shard value that names no shard."""


@dataclass(frozen=True)
class Shard:
    index: int   # 1-based
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    @property
    def runs_api_checks(self) -> bool:
        return self.index == 1

    def hosts(self, names: list[str]) -> list[str]:
        return [name for k, name in enumerate(names) if k % self.total == self.index - 1]


def parse_shard(value: str | None) -> Shard | None:
    if value is None or value == "":
        return None
    match = _SHARD.match(value)
    if not match:
        raise ShardError(f"--shard {value!r}: give I/N, e.g. --shard 2/4 (the second of four shards)")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1 or not 1 <= index <= total:
        raise ShardError(f"--shard {value}: I must be between 1 and N, and N at least 1")
    return Shard(index, total)
