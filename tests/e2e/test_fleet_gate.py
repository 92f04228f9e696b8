"""The upgrade gate runs once per group of hosts that would give the same answer, and on every
host when asked: four ssh aliases over the lab's two controllers."""
from __future__ import annotations

import pytest

from bench import labio
from tests.e2e import lab

pytestmark = [pytest.mark.lab]


def _fleet_run(tmp_path, *extra):
    cfg = tmp_path / "fleet_ssh_config"
    aliases = labio.write_fleet_ssh_config(cfg, 4, prefix="hc-gate-h")
    args = [*(f"--host={a}" for a in aliases), f"--ssh-config={cfg}", "--os-cloud=hc-lab"]
    run = lab.run_suite(tmp_path / "out", "-m", "gate", *extra, args=args)
    assert run.health["checks"], run.stdout[-2000:]
    assert not run.checks("failed") and not run.checks("error"), run.stdout[-3000:]
    return aliases, run.health["context"]["hosts"], run.health["checks"]


def test_controllers_of_one_config_and_database_share_one_gate_run(tmp_path):
    """Four aliases over the two controllers: they differ only in their own worker_self_reference_url
    and share the database, so the first host's run answers for all four."""
    if len(lab.controllers()) < 2:
        pytest.skip("needs the lab's two controllers (HC_LAB_CONTROLLERS=2)")
    aliases, hosts, checks = _fleet_run(tmp_path)
    first, second, third, fourth = aliases  # they take turns over controller1 and controller2
    assert {a: hosts[a]["gate_shared_with"] for a in aliases} == {first: None, second: first, third: first,
                                                                   fourth: first}
    assert [hosts[a]["round_trips"] for a in aliases] == [3, 2, 2, 2]  # discover, stores (, gate)
    for other in (second, third):  # the other controller, and an alias of the first one
        shared = [c for c in checks if "test_upgrade.py" in c["nodeid"] and f"[{other}]" in c["nodeid"]]
        assert shared and all(any(e["title"] == "where it ran" and first in e["body"] for e in c["evidence"])
                              for c in shared)


def test_gate_every_host_runs_it_on_each(tmp_path):
    aliases, hosts, _ = _fleet_run(tmp_path, "--gate-every-host")
    assert [hosts[a]["gate_shared_with"] for a in aliases] == [None] * 4
    assert [hosts[a]["round_trips"] for a in aliases] == [3, 3, 3, 3]
