"""Where the operator's token may go when a check talks to one glance-api node directly.

The token goes only to addresses the operator chose: a URL given on the command line or in
the ini (`--glance-api-url NAME=URL`, `glance_api_urls`), or the address the suite reached the
host by (the host spec's hostname; for an ssh alias the HostName that `ssh -G` resolves with the
suite's `--ssh-config`; for `local://` and a local container runtime, the catalog's host). Of
the host's own files only the PORT is used: a config (or a process posing as glance-api) that
names another address never receives a request. The scheme is https where the catalog is https.
When no such address can be had the caller skips and says why (`NodeEndpoint.url` is None).
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 9292  # glance's bind_port default
WILDCARDS = ("", "0.0.0.0", "::", "*", "[::]")
SSH_SCHEMES = ("ssh", "safe-ssh")  # the ssh backends glance_hc.probe.transport serves
CONTAINER_SCHEMES = ("docker", "podman")
HINT = "name the node's URL with --glance-api-url NAME=URL (ini glance_api_urls)"

_SOCKET = re.compile(r"^(?:(?P<host>\[[^\]]*\]|[^:\[\]]*):)?(?P<port>\d{1,5})(?:,.*)?$")


@dataclass(frozen=True)
class NodeEndpoint:
    """A node's base URL (http[s]://host:port) and where each part came from, or why there is none."""

    url: str | None
    how: str

    @property
    def api(self) -> str | None:
        return api_endpoint(self.url) if self.url else None


def api_endpoint(node_url: str) -> str:
    """The Image API v2 endpoint of a node URL (http://host:9292 -> http://host:9292/v2)."""
    url = node_url.rstrip("/")
    return url if url.endswith("/v2") else url + "/v2"


# ------------------------------------------------------------------ what the operator named


def parse_node_urls(values: Iterable[str]) -> dict[str, str]:
    """`name=url` entries (comma, space or newline separated) into {host name: url}."""
    urls: dict[str, str] = {}
    for value in values or []:
        for item in re.split(r"[\s,]+", str(value)):
            name, sep, url = item.partition("=")
            if sep and name.strip() and url.strip():
                urls[name.strip()] = url.strip().rstrip("/")
    return urls


def node_url_overrides(config) -> dict[str, str]:
    """Node URLs the operator gave: ini `glance_api_urls` and `--glance-api-url NAME=URL` (wins).

    `config` is a pytest Config (duck-typed); options that are not registered count as unset.
    """
    values: list[str] = []
    try:
        ini = config.getini("glance_api_urls")
    except (ValueError, KeyError):
        ini = None
    if ini:
        values += ini if isinstance(ini, list) else [str(ini)]
    values += list(config.getoption("glance_api_url", default=None) or [])
    return parse_node_urls(values)


def ssh_hostname(alias: str, ssh_config: str | None = None, *, user: str | None = None,
                 port: str | None = None, timeout: float = 5.0) -> tuple[str | None, str]:
    """The HostName ssh connects to for `alias` under the suite's ssh config (`ssh -G`)."""
    cmd = ["ssh", "-G"]
    if ssh_config:
        cmd += ["-F", ssh_config]
    if port:
        cmd += ["-p", str(port)]
    if user:
        cmd += ["-l", user]
    cmd += ["--", alias]
    shown = " ".join(cmd)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`{shown}` failed: {type(exc).__name__}: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        return None, f"`{shown}` exited {proc.returncode}: {last}"
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() == "hostname" and value.strip():
            return value.strip(), f"HostName of {alias} from `{shown}`"
    return None, f"`{shown}` printed no hostname"


def _split_target(rest: str) -> tuple[str | None, str, str | None]:
    """user, host, port of `[user@]host[:port][?query]` (IPv6 in brackets)."""
    target = rest.split("?", 1)[0].split("/", 1)[0]
    user, _, hostport = target.rpartition("@")
    m = re.fullmatch(r"\[(?P<h6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<h>[^:]*)(?::(?P<p>\d+))?", hostport)
    if not m:
        return user or None, hostport, None
    return user or None, m.group("h6") or m.group("h") or "", m.group("p6") or m.group("p")


def catalog_host(catalog_url: str | None) -> str | None:
    return urlsplit(catalog_url).hostname if catalog_url else None


def reached_host(spec, *, ssh_config: str | None = None, catalog_url: str | None = None,
                 resolve_ssh: Callable[..., tuple[str | None, str]] = ssh_hostname,
                 environ: dict | None = None) -> tuple[str | None, str]:
    """The address the operator reached the host by: (host or None, how / why not)."""
    scheme = spec.scheme
    rest = spec.url.split("://", 1)[1] if "://" in spec.url else spec.url
    env = os.environ if environ is None else environ
    if scheme in SSH_SCHEMES:
        user, host, port = _split_target(rest)
        if not host:
            return None, f"no host name in {spec.url}"
        return resolve_ssh(host, ssh_config, user=user, port=port)
    local = "the host is this machine (local://)"
    if scheme in CONTAINER_SCHEMES:
        daemon = env.get("DOCKER_HOST" if scheme == "docker" else "CONTAINER_HOST") or ""
        if daemon and not daemon.startswith("unix://"):
            parts = urlsplit(daemon)
            if parts.scheme == "ssh" and parts.hostname:
                return resolve_ssh(parts.hostname, ssh_config, user=parts.username,
                                   port=str(parts.port) if parts.port else None)
            if parts.hostname:
                return parts.hostname, f"the {scheme} daemon's host ({daemon})"
            return None, f"cannot tell the {scheme} daemon's host from {daemon!r}"
        local = f"the container runs on this machine ({scheme} daemon on a local socket)"
    elif scheme != "local":
        return None, f"the suite cannot tell the address of a {scheme}:// host"
    host = catalog_host(catalog_url)
    if not host:
        return None, f"{local} and the catalog names no image endpoint"
    return host, f"{local}: the catalog's image endpoint host"


# ------------------------------------------------------------------ what the host's files say


@dataclass(frozen=True)
class Listen:
    """How the node's own config says glance-api listens: only `port` is ever used for a URL."""

    port: int
    how: str
    address: str | None = None   # a specific listen address, to compare with the reached one
    tls: bool | None = None      # True https, False plain http, None unknown


def _port(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\s*\d{1,5}\s*", str(text)):
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def _bare(host: str | None) -> str | None:
    host = (host or "").strip().strip("[]")
    return None if host in WILDCARDS else host


def listen_of(host_facts) -> Listen:
    """The port (and listen address) from the glance-api uWSGI ini (its https/http sockets or
    router), worker_self_reference_url or bind_port, in that order; Glance's default 9292 when
    none says. Only the ini of the glance-api process itself counts (`HostFacts.uwsgi_ini`), not
    any file with a [uwsgi] section."""
    files = getattr(host_facts, "files", None) or {}
    ini = getattr(host_facts, "uwsgi_ini", None)
    config = getattr(host_facts, "config", None)
    if ini and files.get(ini):
        from glance_hc import uwsgi  # noqa: PLC0415

        try:
            opts = uwsgi.parse_ini(files[ini], source=ini)
        except Exception:  # noqa: BLE001 - an unreadable ini: the other sources decide
            opts = None
        if opts is not None:
            for name, tls in (("https-socket", True), ("https", True), ("http-socket", False), ("http", False)):
                for value in opts.values(name):
                    m = _SOCKET.match(value.strip())
                    port = _port(m.group("port")) if m else None
                    if port:
                        return Listen(port, f"{ini} {name} = {value}", _bare(m.group("host")), tls)
    if config is not None:
        url = (config.get("DEFAULT", "worker_self_reference_url") or "").strip()
        if url:
            try:
                parts = urlsplit(url)
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                port = None
            if port:
                return Listen(port, f"port of worker_self_reference_url "
                                    f"({config.where('DEFAULT', 'worker_self_reference_url')})",
                              None, {"https": True, "http": False}.get(parts.scheme))
        bind_port = _port(config.get("DEFAULT", "bind_port"))
        cert = bool(config.get("DEFAULT", "cert_file")) and bool(config.get("DEFAULT", "key_file"))
        if bind_port:
            return Listen(bind_port, f"bind_port ({config.where('DEFAULT', 'bind_port')})",
                          _bare(config.get("DEFAULT", "bind_host")), cert or None)
    return Listen(DEFAULT_PORT, "no port in the node's config: Glance's default bind_port")


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _elsewhere(listen: str, reached: str, resolve) -> bool:
    """True when the config's listen address is surely not the reached host. A name from the
    host's files is never looked up (that would be a query it chose); only the operator's is."""
    theirs = _ip(listen)
    if theirs is None:
        return False  # a name: cannot tell without resolving it, so the reached address is tried
    ours = _ip(reached)
    if ours is not None:
        return theirs != ours
    try:
        addresses = {str(ipaddress.ip_address(info[4][0].split("%")[0])) for info in resolve(reached, None)}
    except (OSError, UnicodeError, ValueError):
        return False
    return bool(addresses) and theirs not in addresses


def node_endpoint(config, host_facts, *, catalog_url: str | None,
                  ssh_config: str | None = None, resolve_ssh=ssh_hostname,
                  resolve=socket.getaddrinfo, environ: dict | None = None) -> NodeEndpoint:
    """The one address the per-node checks may send the token to, or None with the reason."""
    name = host_facts.name
    given = node_url_overrides(config).get(name)
    if given:
        return NodeEndpoint(given, "--glance-api-url / ini glance_api_urls")
    host, how_host = reached_host(host_facts.spec, ssh_config=ssh_config, catalog_url=catalog_url,
                                  resolve_ssh=resolve_ssh, environ=environ)
    if not host:
        return NodeEndpoint(None, f"cannot tell the address of glance-api on {name}: {how_host}; {HINT}")
    listen = listen_of(host_facts)
    catalog_tls = urlsplit(catalog_url).scheme == "https" if catalog_url else False
    if catalog_tls and listen.tls is False:
        return NodeEndpoint(None, f"the catalog's image endpoint is https, but glance-api on {name} serves "
                                  f"plain http ({listen.how}): the token is not sent unencrypted; {HINT}")
    if listen.address and _elsewhere(listen.address, host, resolve):
        return NodeEndpoint(None, f"glance-api on {name} listens on {listen.address} ({listen.how}), "
                                  f"not on {host}, the address the suite reached the host by "
                                  f"({how_host}); the token goes only to addresses you name: if "
                                  f"{listen.address} is right, {HINT}")
    scheme = "https" if catalog_tls or listen.tls else "http"
    shown = f"[{host}]" if ":" in host else host
    return NodeEndpoint(f"{scheme}://{shown}:{listen.port}",
                        f"host {host} ({how_host}), port {listen.port} ({listen.how}), "
                        f"{scheme} ({'the catalog is https' if catalog_tls else 'the catalog is http' if catalog_url else 'no catalog'}"
                        f"{', the node serves https' if listen.tls else ''})")
