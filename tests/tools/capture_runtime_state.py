"""Capture what the probe sees when a node behind HAProxy is down, or a store is unusable in ways
the permission wording must name (issue 17), as unit-test data.

Run from the repo root, as root, with the lab up (two controllers) and no fault injected, under
the lab lock:
    flock /tmp/hc/lab.lock env PYTHONPATH=. .venv/bin/python tests/tools/capture_runtime_state.py [CASE...]
Each case breaks controller1 or controller2 by hand for a few seconds and undoes it in `finally`:
  node-down      glance-api on controller2 stopped (SIGTERM to its uWSGI master), until HAProxy's
                 health check marks it DOWN: controller1's probe answer (`show stat` on the stats
                 socket) -> tests/data/haproxy/show-stat-controller2-down.csv, and HAProxy's
                 health-check log lines -> tests/data/haproxy/health-check-controller2.log;
                 controller2 is restarted afterwards
  read-only      the cheap store's tmpfs remounted read-only
  unknown-uid    the cheap store's directory owned by uid:gid 1999:1999 (no such user), mode 750
  untraversable  /var/lib/glance root:root 0700 (the stores' parent; the database too, for seconds)
The dir cases write controller1's phase-two answer for its store dirs (`dirs` and the worker
user's `worker.dirs`) to tests/data/probe/dirs-CASE.json.
"""
import json
import sys
import time
from pathlib import Path

import testinfra

from glance_hc import facts, haproxy
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.redact import redact, redact_obj
from lab import common

ROOT = Path(__file__).resolve().parent.parent.parent
STATE = common.STATE
DATA = ROOT / "tests" / "data"
CHEAP = "/var/lib/glance/cheap"


def ns(node: str, *argv: str) -> str:
    """argv inside a lab controller's namespaces (each value one argument)."""
    return common.in_namespace(list(argv), node=node, capture_output=True, text=True, timeout=120).stdout


def answers(name: str):
    """Phase one and two of the probe against one lab controller, as gather() asks them."""
    spec = parse_host(f"ssh://{name}")
    host = testinfra.get_host(spec.url, ssh_config=str(STATE / "ssh_config"))
    found = facts.HostFacts(spec=spec)
    facts.discover(found, transport.round_trip(host, facts.discover_request(60)))
    return found, transport.round_trip(host, facts.stores_request(found, 60))


def case_node_down() -> None:
    master = ns("controller2", "cat", "/run/glance-api-uwsgi.pid").strip()
    ns("controller2", "kill", "-TERM", master)
    try:
        deadline, doc = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            _, doc = answers("controller1")
            state = haproxy.runtime_state(doc.get("haproxy_stats"), [])
            if (st := state.of("glance_api", "controller2")) and st.status == "DOWN":
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"HAProxy never marked controller2 DOWN: {doc.get('haproxy_stats')}")
        out = DATA / "haproxy" / "show-stat-controller2-down.csv"
        out.write_text(redact(doc["haproxy_stats"]["text"]))
        print(f"wrote {out}")
        log = ns("controller1", "cat", "/var/log/haproxy/haproxy.log")
        lines = [line for line in log.splitlines() if haproxy.states_from_log([line], "log")]
        out = DATA / "haproxy" / "health-check-controller2.log"
        out.write_text(redact("\n".join(lines) + "\n"))
        print(f"wrote {out}")
    finally:
        common.inner("restart-glance", node="controller2")


def _dirs_case(name: str, break_it, undo) -> None:
    break_it()
    try:
        _, doc = answers("controller1")
    finally:
        undo()
    keep = {"dirs": doc.get("dirs"), "worker": {"user": doc.get("worker", {}).get("user"),
                                                "dirs": doc.get("worker", {}).get("dirs")}}
    out = DATA / "probe" / f"dirs-{name}.json"
    out.write_text(json.dumps(redact_obj(keep), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


CASES = {
    "node-down": case_node_down,
    "read-only": lambda: _dirs_case("read-only", lambda: ns("controller1", "mount", "-o", "remount,ro", CHEAP),
                                    lambda: ns("controller1", "mount", "-o", "remount,rw", CHEAP)),
    "unknown-uid": lambda: _dirs_case("unknown-uid", lambda: ns("controller1", "chown", "1999:1999", CHEAP),
                                      lambda: ns("controller1", "chown", "glance:glance", CHEAP)),
    "untraversable": lambda: _dirs_case(
        "untraversable",
        lambda: (ns("controller1", "chown", "root:root", "/var/lib/glance"),
                 ns("controller1", "chmod", "700", "/var/lib/glance")),
        lambda: (ns("controller1", "chmod", "755", "/var/lib/glance"),
                 ns("controller1", "chown", "glance:glance", "/var/lib/glance"))),
}


def main(names: list[str]) -> None:
    for name in names or list(CASES):
        CASES[name]()
    for node in common.controllers():  # the incident is closed: the next run judges only what is new
        common.inner("rotate-logs", node=node)


if __name__ == "__main__":
    main(sys.argv[1:])
