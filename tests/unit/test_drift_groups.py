"""Which hosts a load balancer sends uploads to together: only they are compared for drift."""
import json
from pathlib import Path

from glance_hc import drift, facts
from glance_hc.hosts import parse_hosts

# captured from the two-controller lab: its haproxy.cfg lists both controllers
DISCOVER = (Path(__file__).resolve().parent.parent / "data" / "probe" / "discover-controller1.json").read_text()
INI = "/etc/glance/glance-api-uwsgi.ini"


def lab_host(name: str, listen: str | None = None, haproxy: bool = True) -> facts.HostFacts:
    """controller1 as captured from the lab, moved to another listen address when asked."""
    doc = json.loads(DISCOVER)
    if listen is not None:
        doc["files"][INI] = doc["files"][INI].replace("http-socket = 127.0.0.2:9292", f"http-socket = {listen}")
    found = facts.HostFacts(spec=parse_hosts([name])[0])
    facts.discover(found, doc)
    if not haproxy:
        found.files.pop("/etc/haproxy/haproxy.cfg")
    return found


def test_the_lab_controllers_are_balanced_together():
    hosts = [lab_host("controller1"), lab_host("controller2", "127.0.0.3:9292", haproxy=False)]
    assert drift.balanced_together(hosts) == (["controller1", "controller2"], [])


def test_a_node_of_another_deployment_is_left_out():
    hosts = [lab_host("controller1"), lab_host("controller2", "127.0.0.3:9292"),
             lab_host("kolla", "127.0.0.4:9292", haproxy=False)]
    assert drift.balanced_together(hosts) == (["controller1", "controller2"], ["kolla"])


def test_without_any_haproxy_every_host_counts():
    hosts = [lab_host("a", haproxy=False), lab_host("b", "10.0.0.9:9292", haproxy=False)]
    assert drift.balanced_together(hosts) == (["a", "b"], [])


def test_a_node_listening_everywhere_is_taken_at_its_word():
    hosts = [lab_host("controller1"), lab_host("wide", "0.0.0.0:9292", haproxy=False)]
    assert drift.balanced_together(hosts) == (["controller1", "wide"], [])
