"""Keystone objects the lab needs: service user, image endpoint, projects, unified limits.

Run by lab/controller.py inside controller1 with the lab venv (openstacksdk comes with Glance).
Idempotent, so a half-finished first start can simply be run again.
"""
import os

import openstack

E = os.environ
AUTH = f"http://{E['KEYSTONE_ADDR']}:5000/v3"
# Generous defaults; the quota fault lowers one project's limit below a normal upload.
REGISTERED_LIMITS = {
    "image_size_total": 8192,      # MiB
    "image_stage_total": 8192,     # MiB
    "image_count_total": 1000,
    "image_count_uploading": 20,
}


def main() -> None:
    conn = openstack.connect(
        auth_url=AUTH, username="admin", password=E["ADMIN_PASSWORD"], project_name="admin",
        user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
        identity_api_version="3", interface="public",
    )
    ident = conn.identity

    def project(name):
        return ident.find_project(name, domain_id="default") or ident.create_project(
            name=name, domain_id="default", description="glance-hc lab")

    def user(name, password, default_project):
        found = ident.find_user(name, domain_id="default")
        if found:
            return ident.update_user(found, password=password)
        return ident.create_user(name=name, password=password, domain_id="default",
                                 default_project_id=default_project.id)

    def role(name):
        return ident.find_role(name) or ident.create_role(name=name)

    service_p, demo_p = project("service"), project("demo")
    admin_r, member_r, reader_r = role("admin"), role("member"), role("reader")
    glance_u = user("glance", E["GLANCE_PASSWORD"], service_p)
    demo_u = user("demo", E["DEMO_PASSWORD"], demo_p)
    ident.assign_project_role_to_user(service_p, glance_u, admin_r)
    ident.assign_project_role_to_user(demo_p, demo_u, member_r)
    # oslo.limit reads limits with a system-scoped token.
    conn.session.put(f"{AUTH}/system/users/{glance_u.id}/roles/{reader_r.id}",
                     endpoint_filter=None)

    svc = next((s for s in ident.services() if s.type == "image"), None) or ident.create_service(
        name="glance", type="image", description="Image service")
    have = {e.interface for e in ident.endpoints(service_id=svc.id)}
    for iface in ("public", "internal", "admin"):
        if iface not in have:
            ident.create_endpoint(service_id=svc.id, interface=iface, region_id="RegionOne",
                                  url=f"http://{E['VIP']}:9292")
    # oslo.limit looks the endpoint up by id when it has one: three Keystone calls fewer per
    # quota enforcement than by service type and region (Glance makes a new Enforcer each time)
    public = next(e for e in ident.endpoints(service_id=svc.id) if e.interface == "public")
    with open(os.path.join(E["STATE"], "glance-endpoint-id"), "w") as out:
        out.write(public.id + "\n")
    existing = {rl.resource_name for rl in ident.registered_limits(service_id=svc.id)}
    for name, value in REGISTERED_LIMITS.items():
        if name not in existing:
            ident.create_registered_limit(service_id=svc.id, region_id="RegionOne",
                                          resource_name=name, default_limit=value)


if __name__ == "__main__":
    main()
