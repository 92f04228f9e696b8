"""Config drift across controllers, and HAProxy's glance backends against the real glance-api nodes."""
from __future__ import annotations

from glance_hc import haproxy, uwsgi

MISSING = "(not set)"


def option_differences(configs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """option -> {host: value} for every upload option whose value is not the same on all hosts."""
    keys = sorted({k for opts in configs.values() for k in opts})
    diffs = {}
    for key in keys:
        values = {host: opts.get(key, MISSING) for host, opts in configs.items()}
        if len(set(values.values())) > 1:
            diffs[key] = values
    return diffs


def side_by_side(diffs: dict[str, dict[str, str]], hosts: list[str]) -> str:
    """A plain-text table: one row per drifted option, one column per host."""
    rows = [["option", *hosts]] + [[key, *(vals[h] for h in hosts)] for key, vals in diffs.items()]
    widths = [min(48, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell[:48].ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def glance_listen_addresses(files: dict[str, str], ini_path: str | None) -> set[tuple[str, int]]:
    """Where a host's glance-api listens, from its uWSGI ini (http-socket/socket/http)."""
    if not ini_path or ini_path not in files:
        return set()
    try:
        opts = uwsgi.parse_ini(files[ini_path], source=ini_path)
    except uwsgi.UwsgiError:
        return set()
    found = set()
    for value in [*opts.http_sockets, *opts.sockets, *opts.http]:
        host, _, port = value.rpartition(":")
        if port.isdigit():
            found.add((host or "0.0.0.0", int(port)))
    return found


def haproxy_glance_servers(text: str, source: str) -> list[tuple[str, str, int | None]]:
    """(server name, address, port) of every server behind a glance frontend or listen."""
    cfg = haproxy.parse(text, source=source)
    servers = []
    for route in haproxy.glance_paths(cfg):
        for server in route.servers:
            entry = (server.name, server.address, server.port)
            if entry not in servers:
                servers.append(entry)
    return servers


def balanced_together(hosts) -> tuple[list[str], list[str]]:
    """(hosts a load balancer sends uploads to together, hosts outside it), from the hosts' facts.

    Drift matters between nodes that share uploads: a container or node of another deployment
    given on the same command line is not behind the same balancer and is left out. With no
    HAProxy config among the hosts every host counts as balanced together.
    """
    servers: set[tuple[str, int | None]] = set()
    for host in hosts:
        if host.haproxy_cfg:
            path, text = host.haproxy_cfg
            try:
                servers |= {(addr, port) for _, addr, port in haproxy_glance_servers(text, path)}
            except haproxy.HaproxyError:
                continue
    if not servers:
        return [h.name for h in hosts], []
    ports = {port for _, port in servers}
    inside, outside = [], []
    for host in hosts:
        listens = glance_listen_addresses(host.files, host.uwsgi_ini)
        # a node listening on all addresses is taken at its word when the port matches
        behind = any((addr, port) in servers or (addr == "0.0.0.0" and port in ports) for addr, port in listens)
        (inside if behind else outside).append(host.name)
    return inside, outside
