"""Capture the probe's real answers from a lab host, redacted, as unit-test data (tests/data/probe).

    .venv/bin/python -m tests.tools.capture_probe NAME [URL] [SSH_CONFIG]
    e.g. capture_probe.py controller1 ssh://controller1 /opt/glance-hc-lab/state/ssh_config

Writes discover-NAME.json and stores_and_logs-NAME.json: the JSON documents the host probe
(glance_hc/probe/host_probe.py) answered in phase one and phase two, as gather() asks them.
Run it under the lab lock.
"""
import json
import sys
from pathlib import Path

import testinfra

from glance_hc import facts
from glance_hc.hosts import parse_host
from glance_hc.probe import transport
from glance_hc.redact import redact_obj

OUT = Path(__file__).resolve().parent.parent / "data" / "probe"
WINDOW_MINUTES = 60


def get_host(url: str, ssh_config: str | None):
    return testinfra.get_host(url, ssh_config=ssh_config) if ssh_config else testinfra.get_host(url)


def capture(host, spec, window_minutes: int = WINDOW_MINUTES) -> tuple[dict, dict]:
    """Both phases, as gather() runs them; the answers as they came back."""
    discover = transport.round_trip(host, facts.discover_request(window_minutes))
    found = facts.HostFacts(spec=spec)
    facts.discover(found, json.loads(json.dumps(discover)))
    stores = transport.round_trip(host, facts.stores_request(found, window_minutes))
    return discover, stores


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redact_obj(doc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


def main(name: str, url: str | None = None, ssh_config: str | None = "/opt/glance-hc-lab/state/ssh_config") -> None:
    url = url or f"ssh://{name}"
    spec = parse_host(url)
    discover, stores = capture(get_host(url, ssh_config if spec.scheme == "ssh" else None), spec)
    write(OUT / f"discover-{name}.json", discover)
    write(OUT / f"stores_and_logs-{name}.json", stores)


if __name__ == "__main__":
    main(*sys.argv[1:])
