"""Which hosts may share one run of the upgrade gate, on discover output captured from the lab."""
from datetime import timedelta
from pathlib import Path

from fixtures.hosts import gate_groups
from glance_hc import facts
from glance_hc.hosts import parse_host

DATA = Path(__file__).parent.parent / "data"


def _host(name: str, capture: str, edit=lambda text: text) -> facts.HostFacts:
    found = facts.HostFacts(spec=parse_host(name), window=timedelta(hours=1))
    facts.discover(found, facts.split_sections(edit((DATA / capture).read_text())))
    return found


def _names(groups):
    return [[f.name for f in group] for group in groups]


def test_aliases_of_one_controller_share_one_gate_run():
    hosts = [_host("alias-a", "probe/discover-controller1.txt"), _host("alias-b", "probe/discover-controller1.txt")]
    assert facts.gate_key(hosts[0]) is not None
    assert _names(gate_groups(hosts)) == [["alias-a", "alias-b"]]


def test_controllers_whose_config_differs_run_their_own():
    hosts = [_host("controller1", "probe/discover-controller1.txt"),
             _host("controller2", "probe/discover-controller2.txt")]
    assert _names(gate_groups(hosts)) == [["controller1"], ["controller2"]]


def test_another_glance_release_runs_its_own():
    other = _host("upgraded", "probe/discover-controller1.txt", lambda t: t.replace("glance=33.0.0", "glance=34.0.0"))
    assert _names(gate_groups([_host("c1", "probe/discover-controller1.txt"), other])) == [["c1"], ["upgraded"]]


def test_a_policy_file_on_one_host_only_splits_the_group():
    with_policy = _host("c1b", "probe/discover-controller1.txt", lambda t: t.replace(
        "glance=33.0.0\n", "glance=33.0.0\npolicy=/etc/glance/policy.json 1234\n"))
    assert len(gate_groups([_host("c1", "probe/discover-controller1.txt"), with_policy])) == 2


def _same_config_elsewhere(text: str, db: str) -> str:
    """controller1's capture as seen on another machine (other hostname and mount namespace)."""
    return (text.replace("host=controller1", "host=controller9").replace("mntns=4026532177", "mntns=1")
            .replace("connection = sqlite:////var/lib/glance/glance.sqlite", f"connection = {db}"))


def test_a_sqlite_database_is_never_shared_between_machines():
    db = "sqlite:////var/lib/glance/glance.sqlite"
    here = _host("c1", "probe/discover-controller1.txt")
    there = _host("c9", "probe/discover-controller1.txt", lambda t: _same_config_elsewhere(t, db))
    assert len(gate_groups([here, there])) == 2


def test_machines_with_the_same_config_and_remote_database_share():
    db = "mysql+pymysql://glance:x@db.example.org/glance"
    one = _host("c8", "probe/discover-controller1.txt", lambda t: _same_config_elsewhere(t, db))
    two = _host("c9", "probe/discover-controller1.txt",
                lambda t: _same_config_elsewhere(t, db).replace("host=controller9", "host=controller8"))
    assert _names(gate_groups([one, two])) == [["c8", "c9"]]
    assert _names(gate_groups([one, two], every_host=True)) == [["c8"], ["c9"]]


def test_without_the_tools_section_each_host_runs_its_own():
    # captured before the probe reported the gate's tools: the key cannot be told
    hosts = [_host("old-a", "probe/discover.txt"), _host("old-b", "probe/discover.txt")]
    assert facts.gate_key(hosts[0]) is None
    assert _names(gate_groups(hosts)) == [["old-a"], ["old-b"]]


def test_a_kolla_container_is_keyed_by_its_image():
    kolla = _host("kolla", "kolla/host/discover.txt")
    assert kolla.deployment.exec_container == "glance_api" and kolla.deployment.image
    rebuilt = _host("kolla2", "kolla/host/discover.txt", lambda t: t.replace(
        '"Image": "5279de678ae699476349055345880b24153376cb985b34edb372ea904329ac1f"', '"Image": "0123"'))
    assert facts.gate_key(kolla) not in (None, facts.gate_key(rebuilt))
