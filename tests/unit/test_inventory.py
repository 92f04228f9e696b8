"""Ansible inventories shaped like Kolla-Ansible's and OpenStack-Ansible's."""
from pathlib import Path

import pytest

from glance_hc import inventory

DATA = Path(__file__).parent.parent / "data" / "inventory"


def test_kolla_glance_api_group_resolves_children_and_ranges():
    specs = inventory.load(str(DATA / "kolla-multinode.ini"))
    assert [(s.name, s.url) for s in specs] == [
        ("control01", "ssh://kolla@control01"), ("control02", "ssh://kolla@control02"),
        ("control03", "ssh://kolla@control03")]


def test_osa_yaml_uses_ansible_host_port_and_inherited_user():
    specs = inventory.load(str(DATA / "osa.yml"))
    assert [(s.name, s.url) for s in specs] == [
        ("infra1_glance_container-1a2b3c4d", "ssh://root@172.29.236.11"),
        ("infra2_glance_container-5e6f7a8b", "ssh://root@172.29.236.12:2222")]


def test_explicit_group_is_used():
    assert [s.name for s in inventory.load(str(DATA / "kolla-multinode.ini"), "compute")] == ["compute01"]


@pytest.mark.parametrize("path, group, message", [
    ("kolla-multinode.ini", "nosuchgroup", "no hosts in group nosuchgroup"),
    ("missing.ini", None, "cannot read inventory"),
])
def test_bad_inventory_says_why(path, group, message):
    with pytest.raises(inventory.InventoryError, match=message):
        inventory.load(str(DATA / path), group)
