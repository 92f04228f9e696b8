"""Which hosts may share one run of the upgrade gate, on discover answers captured from the lab."""
import json
from datetime import timedelta
from pathlib import Path

from glance_hc import facts
from glance_hc.fixtures.gate import gate_groups
from glance_hc.hosts import parse_host

DATA = Path(__file__).parent.parent / "data"


def _host(name: str, capture: str, edit=lambda doc: doc) -> facts.HostFacts:
    found = facts.HostFacts(spec=parse_host(name), window=timedelta(hours=1))
    facts.discover(found, edit(json.loads((DATA / capture).read_text())))
    return found


def _edit_tools(old: str, new: str):
    def edit(doc):
        doc["gate_tools"] = [line.replace(old, new) for line in doc["gate_tools"]]
        return doc
    return edit


def _names(groups):
    return [[f.name for f in group] for group in groups]


def test_aliases_of_one_controller_share_one_gate_run():
    hosts = [_host("alias-a", "probe/discover-controller1.json"), _host("alias-b", "probe/discover-controller1.json")]
    assert facts.gate_key(hosts[0]) is not None
    assert _names(gate_groups(hosts)) == [["alias-a", "alias-b"]]


def _remote_db(name: str, capture: str, edit=lambda doc: doc) -> facts.HostFacts:
    """A lab capture on its own machine, with the database a fleet's controllers share."""
    db = "mysql+pymysql://glance:x@db.example.org/glance"
    return _host(name, capture, lambda doc: edit(_same_config_elsewhere(doc, db, host=name)))


def test_controllers_differing_only_in_their_own_worker_self_reference_url_share_one_gate_run():
    """The lab's two controllers: each names itself, as Glance's docs ask; the gate reads no such value."""
    hosts = [_remote_db("controller1", "probe/discover-controller1.json"),
             _remote_db("controller2", "probe/discover-controller2.json")]
    assert _names(gate_groups(hosts)) == [["controller1", "controller2"]]


def test_controllers_whose_config_differs_run_their_own():
    def other_option(doc):
        doc["files"][CONF] = doc["files"][CONF].replace("debug = false", "debug = true")
        return doc
    hosts = [_remote_db("controller1", "probe/discover-controller1.json"),
             _remote_db("controller2", "probe/discover-controller2.json", other_option)]
    assert _names(gate_groups(hosts)) == [["controller1"], ["controller2"]]


def test_a_misplaced_worker_self_reference_url_still_splits_the_group():
    """Only its value is set aside: the option in another section is a finding of its own."""
    def misplaced(doc):
        doc["files"][CONF] = doc["files"][CONF].replace(
            "worker_self_reference_url = http://127.0.0.3:9292", "") + "\n[paste_deploy]\nworker_self_reference_url = x\n"
        return doc
    hosts = [_remote_db("controller1", "probe/discover-controller1.json"),
             _remote_db("controller2", "probe/discover-controller2.json", misplaced)]
    assert len(gate_groups(hosts)) == 2


def test_another_glance_release_runs_its_own():
    other = _host("upgraded", "probe/discover-controller1.json", _edit_tools("glance=33.0.0", "glance=34.0.0"))
    assert _names(gate_groups([_host("c1", "probe/discover-controller1.json"), other])) == [["c1"], ["upgraded"]]


def test_a_policy_file_on_one_host_only_splits_the_group():
    with_policy = _host("c1b", "probe/discover-controller1.json",
                        lambda doc: dict(doc, gate_tools=doc["gate_tools"] + ["policy=/etc/glance/policy.json 1234"]))
    assert len(gate_groups([_host("c1", "probe/discover-controller1.json"), with_policy])) == 2


CONF = "/etc/glance/glance-api.conf"


def _same_config_elsewhere(doc: dict, db: str, host: str = "controller9") -> dict:
    """controller1's capture as seen on another machine (other hostname and mount namespace)."""
    doc["whoami"].update(host=host, mntns="1")
    doc["files"][CONF] = doc["files"][CONF].replace("connection = sqlite:////var/lib/glance/glance.sqlite",
                                                    f"connection = {db}")
    return doc


def test_a_sqlite_database_is_never_shared_between_machines():
    db = "sqlite:////var/lib/glance/glance.sqlite"
    here = _host("c1", "probe/discover-controller1.json")
    there = _host("c9", "probe/discover-controller1.json", lambda d: _same_config_elsewhere(d, db))
    assert len(gate_groups([here, there])) == 2


def test_machines_with_the_same_config_and_remote_database_share():
    db = "mysql+pymysql://glance:x@db.example.org/glance"
    one = _host("c8", "probe/discover-controller1.json", lambda d: _same_config_elsewhere(d, db))
    two = _host("c9", "probe/discover-controller1.json", lambda d: _same_config_elsewhere(d, db, "controller8"))
    assert _names(gate_groups([one, two])) == [["c8", "c9"]]
    assert _names(gate_groups([one, two], every_host=True)) == [["c8"], ["c9"]]


def test_without_the_tools_section_each_host_runs_its_own():
    # an answer without the gate's tools (none found on PATH): the key cannot be told
    hosts = [_host(n, "probe/discover-controller1.json", lambda d: dict(d, gate_tools=[])) for n in ("old-a", "old-b")]
    assert facts.gate_key(hosts[0]) is None
    assert _names(gate_groups(hosts)) == [["old-a"], ["old-b"]]


def test_a_kolla_container_is_keyed_by_its_image():
    kolla = _host("kolla", "kolla/host/discover.json")
    assert kolla.deployment.exec_container == "glance_api" and kolla.deployment.image

    def rebuild(doc):
        doc["container"]["inspect"]["Image"] = "0123"
        return doc
    rebuilt = _host("kolla2", "kolla/host/discover.json", rebuild)
    assert facts.gate_key(kolla) not in (None, facts.gate_key(rebuilt))


def _one_kernel(name: str, capture: str, db: str, netns: str, boot_id: str = "b0") -> facts.HostFacts:
    """A capture as a namespace of one machine (the lab's controllers): its own mount namespace,
    the network namespace and kernel given."""
    def edit(doc):
        doc["whoami"]["netns"] = netns
        doc["files"][CONF] = doc["files"][CONF].replace("connection = sqlite:////var/lib/glance/glance.sqlite",
                                                        f"connection = {db}")
        return doc
    found = _host(name, capture, edit)
    found.boot_id = boot_id
    return found


LOOPBACK_DB = "mysql+pymysql://glance:x@127.0.0.8:3306/glance"


def test_namespaces_of_one_kernel_reaching_one_loopback_database_share_one_gate_run():
    hosts = [_one_kernel("controller1", "probe/discover-controller1.json", LOOPBACK_DB, "4026531840"),
             _one_kernel("controller2", "probe/discover-controller2.json", LOOPBACK_DB, "4026531840")]
    assert hosts[0].mount_ns != hosts[1].mount_ns
    assert _names(gate_groups(hosts)) == [["controller1", "controller2"]]


def test_a_loopback_database_of_another_kernel_or_network_namespace_is_another_database():
    here = _one_kernel("controller1", "probe/discover-controller1.json", LOOPBACK_DB, "4026531840")
    other_machine = _one_kernel("controller2", "probe/discover-controller2.json", LOOPBACK_DB, "4026531840", "b1")
    other_netns = _one_kernel("controller3", "probe/discover-controller2.json", LOOPBACK_DB, "4026539999")
    assert len(gate_groups([here, other_machine, other_netns])) == 3


def test_a_sqlite_file_in_another_mount_namespace_is_another_database():
    db = "sqlite:////var/lib/glance/glance.sqlite"
    hosts = [_one_kernel("controller1", "probe/discover-controller1.json", db, "4026531840"),
             _one_kernel("controller2", "probe/discover-controller2.json", db, "4026531840")]
    assert len(gate_groups(hosts)) == 2
