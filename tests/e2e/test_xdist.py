"""`-n 2` (pytest-xdist) gives the run without it: the same checks and outcomes, one verdict, one
report, each host's facts gathered once (the controller's probe, not one per worker: the ssh
commands per host are as many as without xdist), the canaries once (as many canary figures)."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab]

# Logs each remote command's host; `ssh -G` (reading the config, no connection: the node
# endpoint's address, once per process) is not a round trip to the host.
SSH_WRAPPER = r"""#!/bin/bash
h=-
for a in "$@"; do
  [ "$a" = -G ] && exec /usr/bin/ssh "$@"
  case " $HC_TEST_HOSTS " in *" $a "*) h=$a; break;; esac
done
echo "$h" >> "$HC_TEST_SSH_LOG"
exec /usr/bin/ssh "$@"
"""


def _run(tmp_path, name, *extra):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "ssh").write_text(SSH_WRAPPER)
    (bindir / "ssh").chmod(0o755)
    log = tmp_path / f"{name}-ssh.log"
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "HC_TEST_SSH_LOG": str(log),
           "HC_TEST_HOSTS": " ".join(lab.controllers())}
    run = lab.run_suite(tmp_path / name, *extra, env=env)
    assert run.health["checks"], run.stdout[-3000:]
    return run, Counter(log.read_text().split()) if log.exists() else Counter()


def _canary_figures(run) -> list[tuple]:
    return sorted((c["nodeid"], m["name"]) for c in run.health["checks"] for m in c["metrics"]
                  if m["name"].startswith("canary_"))


def test_xdist_run_is_the_run_without_it(tmp_path):
    alone, alone_ssh = _run(tmp_path, "alone")
    spread, spread_ssh = _run(tmp_path, "xdist", "-n", "2")
    assert "bringing up nodes" in spread.stdout, spread.stdout[-2000:]  # xdist ran
    outcomes = {c["nodeid"]: c["outcome"] for c in alone.health["checks"]}
    assert {c["nodeid"]: c["outcome"] for c in spread.health["checks"]} == outcomes
    assert spread.health["verdict"] == alone.health["verdict"]
    assert _canary_figures(spread) == _canary_figures(alone) and _canary_figures(alone)
    assert set(spread.health["context"]["hosts"]) == set(alone.health["context"]["hosts"])
    for host in lab.controllers():  # the facts came from the controller once, not from each worker
        assert 0 < spread_ssh[host] <= alone_ssh[host], (host, spread_ssh, alone_ssh)
    assert (spread.outdir / "health.html").stat().st_size > 0 and (spread.outdir / "junit.xml").stat().st_size > 0


def test_dist_modes_that_would_split_a_module_are_refused(tmp_path):
    run = lab.run_suite(tmp_path / "out", "-n", "2", "--dist", "worksteal", "--collect-only")
    assert run.exit_code == 4 and "deals checks by module" in run.stdout, run.stdout[-2000:]
