"""Each root cause names the lab faults that make it for real, beside its rules and patterns: the
list is the lab's own catalogue (lab/faults.py), so neither can gain a fault the other lacks."""
from __future__ import annotations

from collections import defaultdict

import pytest

from glance_hc.causes import BY_KEY, CAUSES
from lab import faults


def _faults_by_cause() -> dict[str, set[str]]:
    by_cause: dict[str, set[str]] = defaultdict(set)
    for name, fault in faults.catalogue().items():
        if fault.root_cause:
            by_cause[fault.root_cause].add(name)
    return by_cause


@pytest.mark.parametrize("cause", CAUSES, ids=[c.key for c in CAUSES])
def test_a_cause_lists_exactly_the_lab_faults_that_make_it(cause):
    assert set(cause.lab_faults) == _faults_by_cause()[cause.key]
    assert cause.lab_faults, f"{cause.key}: no lab fault makes this cause for real"


def test_every_lab_fault_names_a_cause_there_is():
    assert set(_faults_by_cause()) <= set(BY_KEY)
