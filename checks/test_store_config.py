"""Root cause 2, store misconfigured or disabled: the config glance-api runs with is coherent.

Reads glance-api.conf where the running service takes it from (process
environment, /etc/glance, or the Kolla config dir) and the service's logs; for
an rbd store, its ceph conf and keyring and whether its cluster answers.
For a cinder store: its [cinder] options (the four cinder_store_* credentials together, a parseable
cinder_catalog_info, a cinder_volume_type), and, as the store's own Cinder user, that the volume type
exists for its project (glance-api only warns at start; every upload then answers 500).

Across controllers: Controllers that disagree break uploads on one node only: their upload options must match,
and HAProxy must send uploads only to nodes that really run glance-api; the staging dir is one directory
on every node, or each node has its own worker_self_reference_url (glance_hc.staging).

Through the API: the stores `/v2/info/stores` lists on each node are the stores that node's
glance-api.conf enables (same names, same default).

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from glance_hc import canary, drift, haproxy, rbd, staging
from glance_hc import cinder_store as cinder_api
from glance_hc import facts as facts_mod
from glance_hc import s3_store as s3_store_mod
from glance_hc.fixtures.cloud import cloud_state_of, node_endpoint_of
from glance_hc.fixtures.stores import needs_ceph_tool

pytestmark = [pytest.mark.store_config]


@pytest.mark.host
def test_glance_api_conf_is_readable_and_parses(reachable_host, evidence):
    host = reachable_host
    evidence.add("config", host.deployment.config_path if host.deployment else "unknown")
    path = host.deployment.config_path if host.deployment else None
    if host.config is None and host.privilege == "none" and path in host.file_errors:
        pytest.skip(f"cannot read glance-api.conf on {host.name} without root or sudo: {host.config_error}")
    assert host.config is not None, f"glance-api.conf on {host.name}: {host.config_error}"


@pytest.mark.host
def test_store_options_are_coherent(configured_host, evidence):
    config = configured_host.config
    evidence.add("stores", [f"{s.name}: {s.type} (section [{s.section}]{'' if s.section_exists else ' missing'})"
                            f"{' default' if s.is_default else ''}" for s in config.stores])
    problems = config.problems()
    if problems:
        evidence.add("problems", problems)
    assert not problems, f"glance-api.conf on {configured_host.name}: " + "; ".join(problems)


@pytest.mark.host
def test_file_store_directory_exists(file_store, evidence):
    ref, host, d = file_store
    evidence.add(f"{ref.role} directory", d.describe(), command=f"stat {ref.path}")
    assert d.exists, (f"{ref.role} store directory {ref.path} on {ref.host} is unusable: {d.error}; "
                      f"glance disables the store and answers 410 to uploads")
    assert d.kind == "directory", f"{ref.role} store path {ref.path} on {ref.host} is a {d.kind}, not a directory"


@pytest.mark.host
def test_no_store_configuration_errors_in_logs(quiet_logs):
    quiet_logs("store_config", "store configuration errors")


@pytest.mark.host
def test_rbd_client_files_exist(rbd_store, evidence):
    name, host, seen = rbd_store
    evidence.add(f"rbd store {name} client files", [f"{p}: {v}" for p, v in seen.files.items()]
                 + [f"{p}: {v}" for p, v in seen.missing.items()], command=f"stat {seen.conf} {seen.keyring}")
    assert not seen.missing, (
        f"rbd store {name} on {host.name} needs {', '.join(seen.missing)} "
        f"(ceph conf and the keyring of client.{seen.user}), which "
        f"{'is' if len(seen.missing) == 1 else 'are'} missing")


@pytest.mark.host
def test_rbd_cluster_answers_store_user(rbd_store, evidence):
    name, host, seen = rbd_store
    needs_ceph_tool(seen, host.name, "ceph", f"cannot look at rbd store {name} as client.{seen.user}")
    if seen.failure_kind(seen.df) == "permission":
        pytest.skip(f"client.{seen.user} was refused on {host.name}: the store permission checks report it")
    evidence.add(f"`ceph df` as client.{seen.user}", rbd.last_error_line(seen.df.output) if seen.df.rc else "answered",
                 command=f"ceph -c {seen.conf} --id {seen.user} --connect-timeout 10 df")
    assert seen.df.rc == 0, (
        f"the Ceph cluster of rbd store {name} does not answer client.{seen.user} on {host.name} "
        f"({seen.failure_kind(seen.df)}, exit {seen.df.rc}): {rbd.last_error_line(seen.df.output)}")


@pytest.mark.host
def test_cinder_store_options_are_coherent(cinder_store_section, evidence):
    store, host = cinder_store_section
    password = host.config.get(store.section, "cinder_store_password")
    evidence.add(f"cinder store {store.name}", [f"{k} = {v}" for k, v in sorted(store.options.items())
                                                if k.startswith("cinder_")]
                 + [f"cinder_store_password {'set' if password else 'not set'}"])
    problems = cinder_api.config_problems(store.options, bool(password))
    assert not problems, f"cinder store {store.name} on {host.name}: " + "; ".join(problems)


@pytest.mark.host
def test_cinder_volume_type_exists_for_store_project(cinder_store, evidence):
    store, host, view = cinder_store
    wanted = store.options.get("cinder_volume_type")
    if not wanted:
        pytest.skip(f"cinder store {store.name} on {host.name} names no cinder_volume_type (the options check "
                    f"reports it): Cinder's default type is used")
    evidence.add("volume types the store's user may use", [t.get("name") for t in view.types],
                 command="GET /v3/PROJECT/types")
    problem = cinder_api.volume_type_problem(view, wanted)
    assert problem is None, (f"cinder store {store.name} on {host.name}: {problem}; every upload to it fails "
                             f"with 500 (glance-api only warned at start)")


def _balanced_together(all_hosts, evidence, request) -> list:
    """The hosts with a readable glance-api.conf behind one load balancer: one deployment's nodes,
    compared with each other (the others said, not compared)."""
    request.node.user_properties.append(("hc_target", "all hosts"))
    with_config = [h for h in all_hosts if h.config is not None]
    together, apart = drift.balanced_together(with_config)
    if apart:
        evidence.add("not compared", f"{', '.join(apart)}: not behind the load balancer of "
                                     f"{', '.join(together) or 'the others'} (another deployment)")
    return [h for h in with_config if h.name in together]


@pytest.mark.host
@pytest.mark.gate
def test_upload_options_match_across_controllers(all_hosts, evidence, request):
    readable = {h.name: h.config.upload_options() for h in _balanced_together(all_hosts, evidence, request)}
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


def _why_unprobed(host) -> str:
    d = host.dirs.get(facts_mod.staging_dir(host.config) or "")
    return (d.error if d is not None else None) or "not probed"


@pytest.mark.host
def test_staging_is_shared_or_each_node_has_its_own_self_reference_url(all_hosts, evidence, request, pytestconfig):
    """An import call may reach any node behind the balancer, but the staged data is only where the
    upload landed: unless every node sees one staging dir, each node needs its own
    worker_self_reference_url so the others proxy the import to it (glance/api/v2/images.py
    is_proxyable); with the same URL everywhere nothing is proxied and the import fails on the others."""
    nodes = _balanced_together(all_hosts, evidence, request)
    if len(nodes) < 2:
        pytest.skip(f"one glance-api node with a readable glance-api.conf behind the load balancer "
                    f"({', '.join(h.name for h in nodes) or 'none'}): an import always reaches the node that "
                    f"staged its image, so there is nothing to share")
    identities = {h.name: h.staging_identity() for h in nodes}
    evidence.add("staging dir of each node", [f"{name}: {ident.describe() if ident else 'not probed'}"
                                              for name, ident in identities.items()],
                 command="stat and statvfs of [os_glance_staging_store] filesystem_store_datadir; "
                         "/proc/self/mountinfo; /proc/sys/kernel/random/boot_id")
    groups, said = staging.sharing_groups([i for i in identities.values() if i is not None])
    evidence.add("one directory?", said)
    unprobed = [f"{h.name} ({_why_unprobed(h)})" for h in nodes if identities[h.name] is None]
    if not unprobed and len(groups) == 1:
        evidence.add("verdict", "every node sees one staging dir: an import finds the staged data on any node")
        return
    selfs = [staging.node_self(h, urlsplit(node_endpoint_of(pytestconfig, h).url or '').hostname) for h in nodes]
    catalog = cloud_state_of(pytestconfig).catalog_url if pytestconfig.getoption("os_cloud") else None
    problems = staging.self_url_problems(selfs, catalog)
    evidence.add("worker_self_reference_url of each node",
                 [f"{n.host}: {n.url or '(not set)'} ({n.where}); public_endpoint {n.public_endpoint or '(not set)'}; "
                  f"the node is {', '.join(sorted(n.names))}"
                  + (f"; glance-api listens on {n.listen_address or '*'}:{n.listen_port}" if n.listen_port else "")
                  + ("" if problems[n.host] or staging.points_here(n) else "; cannot confirm it names this node")
                  for n in selfs] + ([f"the catalog's image endpoint: {catalog}"] if catalog else []))
    bad = {h: p for h, p in problems.items() if p}
    if bad and unprobed:
        pytest.skip(f"the staging dir of {', '.join(unprobed)} was not looked at, so whether the nodes share it "
                    f"cannot be told, and the nodes do not each have their own worker_self_reference_url: "
                    + "; ".join(f"{h}: {'; '.join(p)}" for h, p in bad.items()))
    assert not bad, staging.sharing_failure(groups, said, bad)


@pytest.mark.host
@pytest.mark.gate
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


@pytest.mark.api
def test_api_stores_match_host_config(image_api, configured_host, thresholds, evidence, request):
    host, config = configured_host, configured_host.config
    node = node_endpoint_of(request.config, host)
    if node.url is None:
        pytest.skip(f"cannot ask glance-api on {host.name} itself (behind the load balancer any node "
                    f"answers): {node.how}")
    endpoint = node.api
    evidence.add("node endpoint", f"{endpoint} ({node.how})")
    answer, _ = canary.call(image_api, "GET", "/info/stores", endpoint_override=endpoint,
                            timeout=thresholds.api_timeout)
    asked = f"glance-api on {host.name} at {endpoint}"
    evidence.add("asked", f"{asked}: {answer.describe()}", command="GET /v2/info/stores")
    if not isinstance(answer.status, int) or answer.status >= 500:
        pytest.skip(f"{asked} gave no usable answer ({answer.describe()}): a node that cannot answer is "
                    f"no evidence of its store configuration; the node's canary (availability) reports it")
    stores = (answer.json or {}).get("stores", []) if answer.ok else []
    conf_stores = {s.name: s.is_default for s in config.stores}
    evidence.add(f"stores in {config.source}",
                 [f"{name}{' (default)' if default else ''}" for name, default in conf_stores.items()]
                 + [f"enabled_backends = {', '.join(f'{k}:{v}' for k, v in config.enabled_backends.items())}"
                    if config.multistore else "no enabled_backends (single store)"])
    if answer.status == 404:
        assert not config.multistore, (
            f"{asked} answers 404 on /v2/info/stores (no multiple stores), but glance-api.conf on {host.name} "
            f"sets enabled_backends = {', '.join(config.enabled_backends)}: the running service does not use "
            f"this config, or it failed to load it")
        return
    if not answer.ok:
        pytest.fail(f"{asked} could not list its stores: {answer.describe()}", pytrace=False)
    api_stores = {str(s.get("id")): canary.is_default_store(s) for s in stores or []}
    evidence.add("stores the API lists",
                 [f"{name}{' (default)' if default else ''}" for name, default in api_stores.items()])
    if not config.multistore:
        pytest.fail(f"{asked} lists stores {', '.join(api_stores)} but glance-api.conf on {host.name} has no "
                    f"enabled_backends", pytrace=False)
    problems = []
    only_conf = [n for n in conf_stores if n not in api_stores]
    only_api = [n for n in api_stores if n not in conf_stores]
    if only_conf:
        problems.append(f"in glance-api.conf but not listed by the API: {', '.join(only_conf)}")
    if only_api:
        problems.append(f"listed by the API but not in glance-api.conf: {', '.join(only_api)}")
    conf_default = [n for n, d in conf_stores.items() if d]
    api_default = [n for n, d in api_stores.items() if d]
    if conf_default != api_default:
        problems.append(f"default store is {', '.join(api_default) or 'none'} for the API, "
                        f"{', '.join(conf_default) or 'none'} in glance-api.conf")
    assert not problems, f"stores of {host.name} and {asked} differ: " + "; ".join(problems)


# ------------------------------------------------------------------------------ s3 stores
def _s3_evidence(s3_store, evidence):
    store, host, reading = s3_store
    evidence.add(f"s3 store {store.name} of {host.name}", reading.describe(),
                 command=f"ListBuckets, ListObjectsV2 {reading.target.bucket}, HeadBucket (signed with the keys of "
                         f"[{store.section}])")
    return store, host, reading


@pytest.mark.host
def test_s3_store_keys_are_accepted(s3_store, evidence):
    """A refused key id or signature (a rotated secret not rolled out) fails every upload with 500."""
    store, host, reading = _s3_evidence(s3_store, evidence)
    verdict = s3_store_mod.keys_verdict(reading)
    assert verdict.cause is None, f"{host.name}: {verdict.message}"


@pytest.mark.host
def test_s3_store_bucket_exists(s3_store, evidence):
    """glance_store makes no bucket unless s3_store_create_bucket_on_put is true: a missing one is a 500."""
    store, host, reading = _s3_evidence(s3_store, evidence)
    if s3_store_mod.keys_verdict(reading).cause:
        pytest.skip(f"the keys of s3 store {store.name} are refused (test_s3_store_keys_are_accepted): "
                    f"the bucket cannot be seen")
    verdict = s3_store_mod.bucket_verdict(reading, store.s3_create_bucket_on_put)
    if verdict.cause == "store_permissions":  # it exists: the refusal is test_s3_store_keys_may_use_the_bucket's
        evidence.add("bucket", verdict.message)
        return
    assert verdict.cause is None, f"{host.name}: {verdict.message}"
