"""Keystone and Cinder objects for the lab's Cinder (lab/cinder.py), under the lab venv's openstacksdk.

`keystone`: the `cinder` service user (admin in project service), the volumev3 service and its
endpoints. `volume-type`: the public volume type Glance's cinder store creates its volumes with,
on the `ceph` backend. Idempotent; passwords come in the environment, never in argv.
"""
import os
import sys

import openstack

E = os.environ


def connect():
    return openstack.connect(
        auth_url=E["KEYSTONE_URL"], username="admin", password=E["ADMIN_PASSWORD"], project_name="admin",
        user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
        identity_api_version="3", interface="public", block_storage_api_version="3",
    )


def keystone(conn) -> None:
    ident = conn.identity
    service_p = ident.find_project("service", domain_id="default")
    admin_r = ident.find_role("admin")
    found = ident.find_user("cinder", domain_id="default")
    user = ident.update_user(found, password=E["CINDER_PASSWORD"]) if found else ident.create_user(
        name="cinder", password=E["CINDER_PASSWORD"], domain_id="default", default_project_id=service_p.id)
    ident.assign_project_role_to_user(service_p, user, admin_r)
    svc = next((s for s in ident.services() if s.type == "volumev3"), None) or ident.create_service(
        name="cinderv3", type="volumev3", description="Block storage (glance-hc lab)")
    have = {e.interface for e in ident.endpoints(service_id=svc.id)}
    for iface in ("public", "internal", "admin"):
        if iface not in have:
            ident.create_endpoint(service_id=svc.id, interface=iface, region_id="RegionOne",
                                  url=E["CINDER_URL"] + "/v3/%(project_id)s")


def volume_type(conn) -> None:
    bs = conn.block_storage
    found = bs.find_type(E["VOLUME_TYPE"], ignore_missing=True)
    if found is None:
        bs.create_type(name=E["VOLUME_TYPE"], is_public=True, description="Glance's cinder store (glance-hc lab)",
                       extra_specs={"volume_backend_name": E["BACKEND"]})


if __name__ == "__main__":
    {"keystone": keystone, "volume-type": volume_type}[sys.argv[1]](connect())
