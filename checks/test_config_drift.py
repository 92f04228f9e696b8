"""Controllers that disagree break uploads on one node only: their upload options must match,
and HAProxy must send uploads only to nodes that really run glance-api.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import re

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
    """A node whose glance-api is down is HAProxy's fault only while HAProxy still sends it uploads:
    its runtime state (stats socket, else its health-check log lines) decides, not its config alone.
    A node HAProxy's checks took out is filed where it is wrong: that node's availability checks."""
    if not reachable_host.haproxy_cfg:
        pytest.skip(f"no haproxy.cfg on {reachable_host.name}")
    path, text = reachable_host.haproxy_cfg
    try:
        servers = haproxy.glance_servers(haproxy.parse(text, source=path))
    except haproxy.HaproxyError as exc:
        pytest.fail(f"cannot parse {path} on {reachable_host.name}: {exc}")
    if not servers:
        pytest.skip(f"{path} on {reachable_host.name} has no glance frontend or listen section")
    nodes, stopped = {}, {}
    for host in all_hosts:
        running = bool(host.deployment and host.deployment.running)
        for addr in drift.glance_listen_addresses(host.files, host.uwsgi_ini):
            (nodes if running else stopped)[addr] = host.name
    evidence.add("glance servers in haproxy", [f"{s.name} {s.address}:{s.port}" for _, s in servers])
    evidence.add("glance-api nodes checked", [f"{h} {a}:{p}" for (a, p), h in nodes.items()] or ["none known"])
    if not nodes:
        pytest.skip("no --host host told where its glance-api listens (uWSGI ini not found): cannot compare")

    def node_of(server, table):
        return table.get((server.address, server.port)) or table.get(("0.0.0.0", server.port))

    dead = [(backend, s, node_of(s, stopped)) for backend, s in servers
            if node_of(s, stopped) and not node_of(s, nodes)]
    blamed, taken_out, unknown = [], [], []
    if dead:
        runtime = reachable_host.haproxy_runtime
        running_here = _haproxy_runs_on(reachable_host)
        backends = {backend for backend, _ in servers}
        evidence.add("HAProxy's runtime state", [st.describe() for st in runtime.servers.values()
                                                 if st.backend in backends] or [f"not read: {runtime.unknown_why}"])
        for backend, server, node in dead:
            where = f"{server.name} ({server.address}:{server.port}, {node})"
            state = runtime.of(backend, server.name)
            if not haproxy.health_checked(server):
                blamed.append(f"{where}: its server line has no `check`, so no health check takes it out")
            elif state is not None and state.takes_uploads:
                blamed.append(f"{where}: {state.status} in HAProxy ({state.detail or 'no detail'}, "
                              f"{state.source}) although its health check runs")
            elif state is not None:
                taken_out.append(f"{where}: {state.status} in HAProxy ({state.detail or 'no detail'}, "
                                 f"{state.source}); {node}'s availability checks report its glance-api")
            elif not running_here:
                taken_out.append(f"{where}: no haproxy process runs on {reachable_host.name}, so this "
                                 f"haproxy.cfg sends no uploads; {node}'s availability checks report its glance-api")
            else:
                unknown.append(where)
    if taken_out:
        evidence.add("taken out of the backend by HAProxy's health checks (not HAProxy's fault)", taken_out)
    assert not blamed, (f"HAProxy on {reachable_host.name} sends uploads to {'; '.join(blamed)}, where glance-api "
                        f"is not running: fix its health check (`check`, `option httpchk GET /healthcheck`), "
                        f"take the server out of the backend, or start glance-api")
    if unknown:
        pytest.skip(f"HAProxy on {reachable_host.name} health-checks {', '.join(unknown)}, where glance-api is not "
                    f"running, but its runtime state could not be read ({reachable_host.haproxy_runtime.unknown_why}):"
                    f" whether it still sends uploads there cannot be told; the stopped node's availability "
                    f"checks report it")
    unchecked = [f"{s.name} ({s.address}:{s.port})" for _, s in servers if not node_of(s, nodes)
                 and not node_of(s, stopped)]
    if unchecked:
        pytest.skip(f"HAProxy on {reachable_host.name} also sends uploads to {', '.join(unchecked)}, which "
                    f"this run did not look at: add it with --host")


def _haproxy_runs_on(host) -> bool:
    """A haproxy process in the host's own mount namespace (a container's or another node's is not its own)."""
    return any(re.search(r"(^|/)haproxy( |$)", p.args) and (not host.mount_ns or p.mntns in ("", host.mount_ns))
               for p in host.processes)
