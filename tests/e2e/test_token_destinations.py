"""The operator's token never goes to an address a host's own files name.

controller1's glance-api.conf is given a `worker_self_reference_url` and a `bind_host` that name a
decoy listener on 127.0.0.99:9292 (what a compromised config would plant; Glance reads both only at
start, so the running service is untouched). The per-node canaries and store checks still run and
pass through the address the suite reached each host by, and the decoy receives no request at all.
The config is written back afterwards, byte for byte.
"""
from __future__ import annotations

import re
import socket
import threading

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

DECOY = ("127.0.0.99", 9292)
CONF = "/etc/glance/glance-api.conf"


class Decoy:
    """Accepts on the decoy address and keeps whatever arrives (an answer, so nobody hangs)."""

    def __init__(self, address):
        self.sock = socket.create_server(address)
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                client.settimeout(2)
                try:
                    self.received.append(client.recv(65536))
                    client.sendall(b"HTTP/1.1 500 Decoy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    self.received.append(b"(connection)")

    def close(self):
        self.sock.close()


def read_conf(node: str) -> str:
    return lab.labctl.in_namespace(["cat", CONF], node=node, capture_output=True, text=True).stdout


def write_conf(node: str, text: str) -> None:
    lab.labctl.in_namespace(["sh", "-c", 'cat > "$1"', "sh", CONF], input=text, text=True, node=node)


@pytest.fixture
def planted_config():
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    original = read_conf("controller1")
    decoy_url = f"http://{DECOY[0]}:{DECOY[1]}"
    planted, count = re.subn(r"^worker_self_reference_url = .*$",
                             f"worker_self_reference_url = {decoy_url}\nbind_host = {DECOY[0]}",
                             original, flags=re.M)
    assert count == 1, "the lab's glance-api.conf has no worker_self_reference_url to plant over"
    decoy = Decoy(DECOY)
    write_conf("controller1", planted)
    try:
        assert f"worker_self_reference_url = {decoy_url}" in read_conf("controller1")
        yield decoy
    finally:
        write_conf("controller1", original)
        decoy.close()
    assert read_conf("controller1") == original


def test_no_request_reaches_a_listener_named_in_the_hosts_config(planted_config, tmp_path):
    run = lab.run_suite(tmp_path, "-k", "node- or stores_match", "-p", "no:randomly")
    chosen = {c["nodeid"].split("::")[-1]: c for c in run.health["checks"]}
    wanted = {f"test_canary_upload_roundtrip[node-{n}]" for n in lab.controllers()} | {
        f"test_api_stores_match_host_config[{n}]" for n in lab.controllers()}
    assert wanted <= set(chosen), (sorted(chosen), run.stdout[-2000:])
    assert {name: chosen[name]["outcome"] for name in wanted} == {name: "passed" for name in wanted}, \
        "\n".join(f"{n}: {chosen[n]['message'][:300]}" for n in wanted if chosen[n]["outcome"] != "passed")
    assert planted_config.received == [], f"the decoy got: {planted_config.received[:2]!r}"
    node = chosen["test_canary_upload_roundtrip[node-controller1]"]
    shown = " ".join(e["body"] for e in node["evidence"] if e["title"] == "node endpoint")
    assert f"http://{lab.labctl.NODES['controller1']}:9292/v2" in shown and DECOY[0] not in shown.split(" (")[0], shown
