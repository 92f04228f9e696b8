"""Small, pure helpers of the benchmarks: medians, pair-by-pair ratios, targets, the printed line.

The machine is noisy (two cores shared by the lab, the client and whatever else runs), so a
figure is never one measurement: each benchmark repeats subject and baseline side by side,
pairs them in the order they ran, and reports the median of the pair ratios (one slow moment
then spoils one pair, not the figure) next to the median of each side.
"""
from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

MIB = 1 << 20

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def median(values: Sequence[float]) -> float:
    """The median of the values; ValueError when there are none or one is not a finite number."""
    values = list(values)
    if not values:
        raise ValueError("median of no values")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
    return float(statistics.median(values))


def paired_ratios(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """subject[i] / baseline[i] for each pair measured together."""
    subject, baseline = list(subject), list(baseline)
    if len(subject) != len(baseline):
        raise ValueError(f"{len(subject)} subject values but {len(baseline)} baseline values: not pairs")
    if not subject:
        raise ValueError("no pairs")
    ratios = []
    for s, b in zip(subject, baseline, strict=True):
        if b == 0:
            raise ValueError("a baseline value of 0: no ratio")
        ratios.append(s / b)
    return ratios


def paired_differences(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """subject[i] - baseline[i] for each pair measured together."""
    subject, baseline = list(subject), list(baseline)
    if len(subject) != len(baseline):
        raise ValueError(f"{len(subject)} subject values but {len(baseline)} baseline values: not pairs")
    if not subject:
        raise ValueError("no pairs")
    return [s - b for s, b in zip(subject, baseline, strict=True)]


@dataclass
class Comparison:
    """Subject against baseline, pair by pair."""

    subject: list[float]
    baseline: list[float]
    subject_median: float = field(init=False)
    baseline_median: float = field(init=False)
    ratios: list[float] = field(init=False)
    ratio: float = field(init=False)  # median of the pair ratios

    def __post_init__(self):
        self.subject, self.baseline = [float(v) for v in self.subject], [float(v) for v in self.baseline]
        self.ratios = paired_ratios(self.subject, self.baseline)
        self.subject_median = median(self.subject)
        self.baseline_median = median(self.baseline)
        self.ratio = median(self.ratios)

    def as_dict(self) -> dict:
        return {"subject_values": [round(v, 4) for v in self.subject],
                "baseline_values": [round(v, 4) for v in self.baseline],
                "subject_median": round(self.subject_median, 4), "baseline_median": round(self.baseline_median, 4),
                "pair_ratios": [round(r, 4) for r in self.ratios], "ratio": round(self.ratio, 4)}


def compare(subject: Sequence[float], baseline: Sequence[float]) -> Comparison:
    return Comparison(list(subject), list(baseline))


def mib_per_s(num_bytes: int, seconds: float) -> float:
    """Throughput in MiB/s; ValueError for a time that is not positive."""
    if seconds <= 0:
        raise ValueError(f"not a duration: {seconds!r}")
    return num_bytes / MIB / seconds


@dataclass(frozen=True)
class Target:
    """`measured op value`, e.g. ratio >= 0.95."""

    what: str
    op: str
    value: float
    unit: str = ""

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"unknown comparison {self.op!r}")

    def met(self, measured: float | None) -> bool:
        return measured is not None and _OPS[self.op](measured, self.value)

    def text(self) -> str:
        return f"{self.what} {self.op} {self.value:g}{(' ' + self.unit) if self.unit else ''}"

    def as_dict(self, measured: float | None) -> dict:
        return {"what": self.what, "op": self.op, "value": self.value, "unit": self.unit,
                "measured": None if measured is None else round(measured, 4), "met": self.met(measured)}


def fmt(value: float | None, digits: int | None = None) -> str:
    """A figure as printed: 2 decimals under 10, 1 under 1000, none above; '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if digits is None:
        magnitude = abs(value)
        digits = 2 if magnitude < 10 else 1 if magnitude < 1000 else 0
    return f"{value:.{digits}f}"


def verdict(targets: Sequence[tuple[Target, float | None]]) -> str:
    """'(target >= 0.95: met)'; with several: '(targets ratio >= 0.95: met; seconds < 15: missed)'."""
    if not targets:
        return ""
    if len(targets) == 1:
        t, m = targets[0]
        return f"(target {t.op} {t.value:g}{(' ' + t.unit) if t.unit else ''}: {'met' if t.met(m) else 'missed'})"
    return "(targets " + "; ".join(f"{t.text()}: {'met' if t.met(m) else 'missed'}" for t, m in targets) + ")"
