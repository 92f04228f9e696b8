"""The lab's command line, run from the checkout as root with Debian's python (no venv needed):

    python3 -m lab up | down | status | env | fault list | fault inject NAME | fault revert NAME|all
    python3 -m lab scale N   (a running lab grows or shrinks to N glance-api nodes, HAProxy over all)
    python3 -m lab acceptance [--concurrency N]   (Tempest's image API tests: lab/acceptance.py)

`fault` re-executes itself under the lab venv's python: the faults use its openstacksdk.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab import common
from lab.common import ROOT, VENV, die, lab_command, log, venv_bin


def cmd_fault(args) -> None:
    if Path(sys.executable).resolve() != Path(venv_bin("python")).resolve() and sys.prefix != str(VENV):
        os.chdir(ROOT)  # `-m lab` is found from the checkout
        os.execv(venv_bin("python"), lab_command(*sys.argv[1:], python=venv_bin("python")))
    from lab import faults  # noqa: PLC0415 - under the lab venv only

    catalogue = faults.catalogue()
    if args.action == "list":
        for name, fault in catalogue.items():
            print(f"{name:22} {fault.root_cause:20} {fault.doc}")
        return
    names = list(catalogue) if args.name == "all" else [args.name]
    for name in names:
        if name not in catalogue:
            die(f"unknown fault {name!r}; `python3 -m lab fault list` shows them")
    active = common.active_faults()
    for name in names:
        fault, needs = catalogue[name], faults.needs(name)
        if args.action == "inject":
            if not faults.lab_has(needs):
                die(f"{name} needs {faults.NEEDS[needs]}")
            _inject_or_undo(name, fault)
            active.append(name)
            log(f"injected {name}")
        elif (name in active or args.name != "all") and faults.lab_has(needs):
            fault.revert()
            active = [a for a in active if a != name]
            log(f"reverted {name}")
    common.set_active_faults(active)


def _inject_or_undo(name: str, fault) -> None:
    """A fault whose injection fails half way is reverted before the error is told: a lab left
    half-faulted would fail every test after it for a reason none of them names."""
    try:
        fault.inject()
    except Exception as exc:  # noqa: BLE001 - any failure: undo what was done, then tell it
        try:
            fault.revert()
            undone = "what it had done is reverted"
        except Exception as again:  # noqa: BLE001
            undone = f"and its revert failed too: {type(again).__name__}: {again}"
        die(f"injecting {name} failed: {type(exc).__name__}: {exc}; {undone}")


def cmd_inner(action: str) -> None:
    """Steps run inside a controller (lab.common.inner): its processes start from /, not the checkout."""
    os.chdir("/")
    from lab import controller  # noqa: PLC0415 - under the lab venv, inside the namespace

    controller.inner_up() if action == "_inner-up" else controller.inner_action(action)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("up", "down", "status", "env", "_inner-up"):
        sub.add_parser(name)
    inner = sub.add_parser("_inner")
    inner.add_argument("action")
    sub.add_parser("scale").add_argument("count", type=int)
    sub.add_parser("_in-node").add_argument("node")
    f = sub.add_parser("fault")
    f.add_argument("action", choices=["list", "inject", "revert"])
    f.add_argument("name", nargs="?", default="all")
    acc = sub.add_parser("acceptance")
    acc.add_argument("--concurrency", type=int, default=int(os.environ.get("HC_LAB_ACCEPTANCE_CONCURRENCY", "2")))
    args = parser.parse_args(argv)
    if args.cmd == "acceptance":
        from lab import acceptance  # noqa: PLC0415
        sys.exit(acceptance.main(args.concurrency))
    if args.cmd == "fault":
        return cmd_fault(args)
    if args.cmd in ("_inner", "_inner-up"):
        return cmd_inner(args.action if args.cmd == "_inner" else args.cmd)
    if args.cmd == "env":
        from lab.control import env_text  # noqa: PLC0415
        return print(env_text())
    from lab import control  # noqa: PLC0415
    if args.cmd == "scale":
        return control.scale(args.count)
    if args.cmd == "_in-node":
        return control.node_up(args.node)
    {"up": control.up, "down": control.down, "status": control.status}[args.cmd]()


if __name__ == "__main__":
    main()
