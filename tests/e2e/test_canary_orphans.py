"""A canary left by a dead run is an orphan at any age; another suite's live canary is not.

Two canaries are made the way the suite makes them (tag, name prefix, run id and lease
properties): one whose lease has already run out (its run is gone, though it is seconds old, far
below the 2 h stale age) and one of a live run (an hour's lease). The leftovers check fails naming
the first only; with --reap-canaries it deletes the first and leaves the live one alone.
"""
from __future__ import annotations

import time

import pytest

from glance_hc import canary
from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ARGS = ["--os-cloud=hc-lab", "-p", "no:randomly", "-k", "left_from_earlier_runs"]


@pytest.fixture
def conn():
    return lab.connect()


@pytest.fixture
def two_canaries(conn):
    made = {}
    try:
        for kind, lease in (("dead", 0), ("live", 3600)):
            answer = canary.create_image(conn, canary.canary_name(f"e2e-{kind}"), run_id=f"e2e-{kind}-run",
                                         lease=lease, timeout=30)
            assert answer.ok, answer.describe()
            made[kind] = answer.json["id"]
        time.sleep(1.5)  # the dead one's lease of 0 s has run out
        yield made
    finally:
        for image_id in made.values():
            assert canary.delete_and_confirm(conn, image_id, timeout=30).ok


def leftovers(run) -> dict:
    return next(c for c in run.health["checks"] if c["nodeid"].endswith("test_no_canary_images_left_from_earlier_runs"))


def test_an_expired_lease_is_an_orphan_and_a_live_one_is_not(two_canaries, conn, tmp_path):
    run = lab.run_suite(tmp_path / "check", *ARGS, args=[])
    check = leftovers(run)
    assert check["outcome"] == "failed", check
    assert check["root_cause"] == "worker_crash"
    assert two_canaries["dead"] in check["message"] and "lease of 0s ran out" in check["message"], check["message"]
    orphans = " ".join(e["body"] for e in check["evidence"] if e["title"] == "left-over canary images")
    assert two_canaries["dead"] in orphans and two_canaries["live"] not in orphans, orphans
    held = " ".join(e["body"] for e in check["evidence"] if e["title"] == "held by a live run")
    assert two_canaries["live"] in held, held

    reaped = leftovers(lab.run_suite(tmp_path / "reap", *ARGS, "--reap-canaries", args=[]))
    assert reaped["outcome"] == "passed", reaped["message"]
    assert canary.image_record(conn, two_canaries["dead"])["status"] == "<gone>"
    assert canary.image_record(conn, two_canaries["live"])["status"] == "queued", "a live run's canary was reaped"
