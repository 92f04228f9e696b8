"""Controllers that disagree break uploads on one node only: their upload options must match,
and HAProxy must send uploads only to nodes that really run glance-api.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc import drift, haproxy

pytestmark = [pytest.mark.host, pytest.mark.store_config, pytest.mark.gate]


def test_upload_options_match_across_controllers(all_hosts, evidence, request):
    request.node.user_properties.append(("hc_target", "all hosts"))
    with_config = [h for h in all_hosts if h.config is not None]
    together, apart = drift.balanced_together(with_config)
    if apart:
        evidence.add("not compared", f"{', '.join(apart)}: not behind the load balancer of "
                                     f"{', '.join(together) or 'the others'} (another deployment)")
    readable = {h.name: h.config.upload_options() for h in with_config if h.name in together}
    if len(readable) < 2:
        pytest.skip(f"drift needs two or more controllers behind one load balancer with a readable "
                    f"glance-api.conf (have: {', '.join(readable) or 'none'})")
    diffs = drift.option_differences(readable)
    evidence.add("compared", f"{len(set().union(*readable.values()))} upload options on {', '.join(readable)}")
    if diffs:
        evidence.add("options that differ", drift.side_by_side(diffs, list(readable)))
    assert not diffs, (f"{len(diffs)} upload option(s) differ between controllers: "
                       + "; ".join(f"{k}: " + ", ".join(f"{h}={v}" for h, v in vals.items())
                                   for k, vals in list(diffs.items())[:5]))


def test_haproxy_sends_uploads_only_to_running_glance_nodes(reachable_host, all_hosts, evidence):
    if not reachable_host.haproxy_cfg:
        pytest.skip(f"no haproxy.cfg on {reachable_host.name}")
    path, text = reachable_host.haproxy_cfg
    try:
        servers = drift.haproxy_glance_servers(text, path)
    except haproxy.HaproxyError as exc:
        pytest.fail(f"cannot parse {path} on {reachable_host.name}: {exc}")
    if not servers:
        pytest.skip(f"{path} on {reachable_host.name} has no glance frontend or listen section")
    nodes, stopped = {}, {}
    for host in all_hosts:
        running = bool(host.deployment and host.deployment.running)
        for addr in drift.glance_listen_addresses(host.files, host.uwsgi_ini):
            (nodes if running else stopped)[addr] = host.name
    evidence.add("glance servers in haproxy", [f"{n} {a}:{p}" for n, a, p in servers])
    evidence.add("glance-api nodes checked", [f"{h} {a}:{p}" for (a, p), h in nodes.items()] or ["none known"])
    if not nodes:
        pytest.skip("no --host host told where its glance-api listens (uWSGI ini not found): cannot compare")
    def known(addr, port, table):
        return (addr, port) in table or ("0.0.0.0", port) in table

    dead = [f"{n} ({a}:{p}, {stopped.get((a, p)) or stopped.get(('0.0.0.0', p))})"
            for n, a, p in servers if known(a, p, stopped) and not known(a, p, nodes)]
    assert not dead, (f"HAProxy on {reachable_host.name} sends uploads to {', '.join(dead)}, where glance-api "
                      f"is not running: take it out of the backend or start it")
    unchecked = [f"{n} ({a}:{p})" for n, a, p in servers if not known(a, p, nodes)]
    if unchecked:
        pytest.skip(f"HAProxy on {reachable_host.name} also sends uploads to {', '.join(unchecked)}, which "
                    f"this run did not look at: add it with --host")
