"""A fleet checked in shards (`--shard I/N`) and merged gives the run without shards: the same
checks, the same outcomes, one verdict; each host in one shard, the API-wide checks in shard 1."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab]

# a cross-host check (drift, HAProxy's other nodes), the node canaries and the API's: the cases
# a shard could get wrong
SELECTION = ["-m", "store_config or canary"]


def _outcomes(health: dict) -> dict[str, str]:
    return {check["nodeid"]: check["outcome"] for check in health["checks"]}


def test_shards_merged_give_the_run_without_shards(tmp_path):
    if len(lab.controllers()) < 2:
        pytest.skip("needs the lab's two controllers (HC_LAB_CONTROLLERS=2)")
    whole = lab.run_suite(tmp_path / "whole", *SELECTION)
    shards = [lab.run_suite(tmp_path / f"shard{i}", *SELECTION, f"--shard={i}/2") for i in (1, 2)]
    assert whole.health["checks"] and all(s.health["checks"] for s in shards), whole.stdout[-2000:]
    first, second = (_outcomes(s.health) for s in shards)
    assert not set(first) & set(second), "a check ran in both shards"
    assert {**first, **second} == _outcomes(whole.health)
    assert all("controller2" not in n.split("[")[-1] for n in first), first
    assert all("controller2" in n.split("[")[-1] for n in second), second

    merged = subprocess.run([sys.executable, "-m", "glance_hc.report.merge", "--out", str(tmp_path / "merged"),
                             *(str(s.outdir / "health.json") for s in shards)],
                            capture_output=True, text=True, timeout=60, cwd=lab.ROOT)
    health = json.loads((tmp_path / "merged" / "health.json").read_text())
    assert merged.returncode == (0 if whole.health["verdict"] in ("healthy", "degraded") else 1), merged.stderr
    assert health["verdict"] == whole.health["verdict"] and _outcomes(health) == _outcomes(whole.health)
    assert (tmp_path / "merged" / "health.html").stat().st_size > 0


def test_a_shard_with_no_host_is_refused_with_the_reason(tmp_path):
    run = lab.run_suite(tmp_path / "out", "--collect-only", "--shard=3/3")
    assert run.exit_code == 4, run.stdout[-2000:]
    assert "no host falls in this shard" in run.stdout and "Traceback" not in run.stdout
