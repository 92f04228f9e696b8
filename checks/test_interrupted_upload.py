"""Root cause 5, interrupted uploads: every limit on the upload path lets the largest upload through,
and the logs show no uploads cut short.

Each limit is judged by what it limits (glance_hc/timeouts.py): an inactivity timeout against the
longest client stall (and Glance's answer time where it waits for it), a total-duration limit
against the largest image at the slowest rate, a size limit against the largest image.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

import pytest

from glance_hc.timeouts import judge

pytestmark = [pytest.mark.interrupted_upload]


@pytest.mark.host
def test_upload_path_limit_lets_largest_upload_through(upload_timeout, thresholds, evidence):
    limit, host = upload_timeout
    verdict = judge(limit, thresholds)
    if verdict.skip:
        pytest.skip(f"{verdict.skip} (on {host.name})")
    evidence.add(limit.what, f"{limit.kind} limit: {limit.raw if limit.raw is not None else 'unset'} "
                             f"({limit.where}){'; ' + limit.note if limit.note else ''}")
    if verdict.needed:
        evidence.add("needed", verdict.needed)
    assert verdict.ok, f"on {host.name}: {verdict.message}"


@pytest.mark.host
def test_no_interrupted_uploads_in_logs(quiet_logs):
    quiet_logs("interrupted_upload", "interrupted uploads")
