"""web-download: the operator's side serves the canary's data over HTTP for the run, and what Glance's
[import_filtering_opts] make of the URL.

Glance 33 (glance/common/utils.py get_validated_address, resolve_pinned_address) checks a web-download
URI before it makes a task and answers 400 "URI for web-download does not pass filtering" when: the
scheme is not in allowed_schemes (default http, https) or is in disallowed_schemes; the host is not in
allowed_hosts (when set) or is in disallowed_hosts; the port is not in allowed_ports (default 80, 443)
or is in disallowed_ports; the host resolves to loopback or link-local only and is not in
allowed_hosts (private RFC 1918 addresses pass). An allowed list set makes its disallowed list ignored.
That is configuration (store_config), never a store's failure.
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from glance_hc.canary.names import CHUNK_SIZE
from glance_hc.canary.source import PatternSource

WEB_DOWNLOAD = "web-download"
SECTION = "import_filtering_opts"
DEFAULTS = {"allowed_schemes": ["http", "https"], "disallowed_schemes": [], "allowed_hosts": [],
            "disallowed_hosts": [], "allowed_ports": ["80", "443"], "disallowed_ports": []}


@dataclass(frozen=True)
class FilterOpts:
    """[import_filtering_opts] as one node's glance-api.conf sets them (Glance's defaults otherwise)."""

    allowed_schemes: tuple[str, ...]
    disallowed_schemes: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    disallowed_hosts: tuple[str, ...]
    allowed_ports: tuple[str, ...]
    disallowed_ports: tuple[str, ...]
    source: str = "Glance's defaults"

    @classmethod
    def from_config(cls, get, source: str = "glance-api.conf") -> FilterOpts:
        """`get(section, option)` -> str | None (glance_hc.facts' GlanceConfig.get)."""
        values, said = {}, []
        for option, default in DEFAULTS.items():
            raw = get(SECTION, option)
            if raw is None:
                values[option] = tuple(default)
            else:
                values[option] = tuple(v.strip() for v in str(raw).split(",") if v.strip())
                said.append(f"{option} = {raw}")
        return cls(**values, source=f"{source} [{SECTION}] " + ("; ".join(said) if said else "(not set: defaults)"))

    def describe(self) -> str:
        return (f"{self.source}; in effect: allowed_schemes={list(self.allowed_schemes)} "
                f"disallowed_schemes={list(self.disallowed_schemes)} allowed_hosts={list(self.allowed_hosts)} "
                f"disallowed_hosts={list(self.disallowed_hosts)} allowed_ports={list(self.allowed_ports)} "
                f"disallowed_ports={list(self.disallowed_ports)}")


def refusals(uri: str, opts: FilterOpts) -> list[str]:
    """Why Glance's filter would refuse `uri` (empty: it passes), as Glance 33 decides it."""
    parsed = urllib.parse.urlparse(uri)
    scheme, host = parsed.scheme, (parsed.hostname or "").lower()
    try:
        port = parsed.port
    except ValueError:
        return [f"the port of {uri} is not a number"]
    why = []
    deny_schemes = () if opts.allowed_schemes else opts.disallowed_schemes
    if not scheme or (opts.allowed_schemes and scheme not in opts.allowed_schemes) or scheme in deny_schemes:
        why.append(f"scheme {scheme!r} not allowed (allowed_schemes={list(opts.allowed_schemes)}, "
                   f"disallowed_schemes={list(deny_schemes)})")
    deny_hosts = () if opts.allowed_hosts else opts.disallowed_hosts
    if not host or (opts.allowed_hosts and host not in opts.allowed_hosts) or host in deny_hosts:
        why.append(f"host {host!r} not allowed (allowed_hosts={list(opts.allowed_hosts)}, "
                   f"disallowed_hosts={list(deny_hosts)})")
    deny_ports = () if opts.allowed_ports else opts.disallowed_ports
    if port and ((opts.allowed_ports and str(port) not in opts.allowed_ports) or str(port) in deny_ports):
        why.append(f"port {port} not allowed (allowed_ports={list(opts.allowed_ports)}, "
                   f"disallowed_ports={list(deny_ports)})")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None  # a name: Glance resolves it; only its addresses could say loopback
    if address is not None and (address.is_loopback or address.is_link_local) and host not in opts.allowed_hosts:
        why.append(f"{host} is a loopback or link-local address, refused unless listed in allowed_hosts")
    return why


def client_address(url: str) -> str:
    """The address this client reaches Glance's endpoint from (a UDP connect sends nothing)."""
    parsed = urllib.parse.urlparse(url)
    family = socket.AF_INET6 if ":" in (parsed.hostname or "") else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((parsed.hostname, parsed.port or 80))
        return sock.getsockname()[0]


class DataServer:
    """An HTTP server on the operator's side for the run: GET /<name> streams a canary's generated data
    (its own PatternSource pass, so the hashes it served are known); nothing else is served."""

    def __init__(self, address: str, port: int = 0):
        self.sources: dict[str, PatternSource] = {}
        self.served: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                source = server.sources.get(self.path.lstrip("/"))
                if source is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(source.size))
                self.end_headers()
                for chunk in source.chunks():
                    self.wfile.write(chunk)
                server.served.append(f"{self.client_address[0]} GET {self.path} -> 200, {source.size} bytes")

            def log_message(self, *args):  # quiet: what was served is kept in `served`
                pass

        self.httpd = ThreadingHTTPServer((address, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hc-canary-web-download", daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/{name}"

    def offer(self, name: str, source: PatternSource) -> str:
        self.sources[name] = source
        return self.url(name)

    def withdraw(self, name: str) -> None:
        self.sources.pop(name, None)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Served:
    size: int
    md5: str
    hash_value: str
    hash_algo: str


def hash_served(url: str, hash_algo: str, timeout: float) -> Served:
    """The operator's URL as it serves now: size, md5 and `hash_algo`, streamed (never held)."""
    md5, other, size = hashlib.md5(usedforsecurity=False), hashlib.new(hash_algo), 0
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        while chunk := resp.read(CHUNK_SIZE):
            md5.update(chunk)
            other.update(chunk)
            size += len(chunk)
    return Served(size, md5.hexdigest(), other.hexdigest(), hash_algo)
