"""Where the operator's token may go: only to addresses the operator chose, never to one a host's
files name (glance_hc.endpoints). The hostile values here are what a compromised glance config or a
process posing as glance-api would plant."""
from __future__ import annotations

import http.client
import socket
import threading

import pytest

from glance_hc import endpoints
from glance_hc.config import GlanceConfig
from glance_hc.facts import Deployment, HostFacts
from glance_hc.hosts import parse_host

INI = "/etc/glance/glance-api-uwsgi.ini"
HOSTILE_CONF = """[DEFAULT]
worker_self_reference_url = http://127.0.0.99:{port}
bind_host = evil.example
bind_port = {port}
enabled_backends = fast:file
"""
# a file with [uwsgi] that is not the glance-api process's ini (another process named it)
DECOY_INI = "[uwsgi]\nhttp-socket = 127.0.0.99:{port}\nmodule = glance.wsgi.api:application\n"
REAL_INI = "[uwsgi]\nhttp-socket = {listen}:{port}\nmodule = glance.wsgi.api:application\n"


def facts(host="controller1", conf=HOSTILE_CONF, listen="", port=9292, ini=True, extra_files=None):
    files = {"/tmp/x.ini": DECOY_INI.format(port=port), **(extra_files or {})}
    if ini:
        files[INI] = REAL_INI.format(listen=listen, port=port)
    dep = Deployment(style="uwsgi", detail="uwsgi", running=True, uwsgi_ini_path=INI if ini else None)
    return HostFacts(spec=parse_host(host), deployment=dep, files=files,
                     config=GlanceConfig.parse(conf.format(port=port), source="/etc/glance/glance-api.conf"))


class Config:
    def __init__(self, urls=None, ini=None):
        self.urls, self.ini = urls or [], ini

    def getini(self, name):
        if self.ini is None:
            raise ValueError(name)
        return self.ini

    def getoption(self, name, default=None):
        return self.urls if name == "glance_api_url" else default


def ssh(mapping):
    def resolve(alias, ssh_config=None, user=None, port=None):
        return (mapping[alias], f"HostName of {alias}") if alias in mapping else (None, f"ssh -G {alias} failed")
    return resolve


def no_dns(name, port):
    raise AssertionError(f"looked up {name}: a host-chosen name must never be resolved")


CATALOG = "http://127.0.0.10:9292/v2"


def endpoint(found, config=None, catalog=CATALOG, resolve_ssh=None, resolve=no_dns, environ=None):
    return endpoints.node_endpoint(config or Config(), found, catalog_url=catalog,
                                   resolve_ssh=resolve_ssh or ssh({"controller1": "127.0.0.2"}),
                                   resolve=resolve, environ=environ or {})


def test_hostile_config_values_never_become_the_address():
    node = endpoint(facts(listen="0.0.0.0", port=9393))
    assert node.url == "http://127.0.0.2:9393", node.how
    assert "127.0.0.99" not in node.url and "evil" not in node.url
    assert node.api == "http://127.0.0.2:9393/v2"
    assert "HostName of controller1" in node.how and "http-socket" in node.how


def test_without_the_uwsgi_ini_only_the_port_of_the_self_reference_url_is_used():
    node = endpoint(facts(ini=False, port=9494))
    assert node.url == "http://127.0.0.2:9494" and "worker_self_reference_url" in node.how


def test_a_config_listening_elsewhere_skips_rather_than_follows():
    node = endpoint(facts(listen="127.0.0.99"))
    assert node.url is None
    assert "listens on 127.0.0.99" in node.how and "--glance-api-url" in node.how
    # a name the host chose is never looked up: the operator's address is tried as is
    assert endpoint(facts(listen="evil.example")).url == "http://127.0.0.2:9292"


def test_the_operators_name_may_be_resolved_to_compare():
    looked_up = []

    def dns(name, port):
        looked_up.append(name)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 0))]

    same = endpoint(facts(listen="10.0.0.5"), resolve_ssh=ssh({"controller1": "ctl1.example"}), resolve=dns)
    assert same.url == "http://ctl1.example:9292"
    other = endpoint(facts(listen="10.0.0.6"), resolve_ssh=ssh({"controller1": "ctl1.example"}), resolve=dns)
    assert other.url is None
    assert looked_up == ["ctl1.example", "ctl1.example"]


def test_https_where_the_catalog_is_https():
    plain = endpoint(facts(listen="127.0.0.2"), catalog="https://cloud.example:9292/v2")
    assert plain.url is None and "unencrypted" in plain.how
    conf = "[DEFAULT]\nworker_self_reference_url = https://evil.example:9443\n"
    tls = endpoint(facts(conf=conf, ini=False), catalog="https://cloud.example/v2")
    assert tls.url == "https://127.0.0.2:9443"
    # the node itself serves TLS (uWSGI's https router): https even behind an http catalog
    tls_ini = {INI: "[uwsgi]\nhttps = 0.0.0.0:9443,/etc/glance/cert.pem,/etc/glance/key.pem\n"}
    found = facts(ini=False, extra_files=tls_ini)
    found.deployment.uwsgi_ini_path = INI
    assert endpoint(found).url == "https://127.0.0.2:9443"
    # no port anywhere: Glance's default, https because the catalog is
    assert endpoint(facts(conf="[DEFAULT]\n", ini=False), catalog="https://c/v2").url == "https://127.0.0.2:9292"


def test_the_operators_url_wins():
    config = Config(urls=["controller1=http://10.9.9.9:9292/"], ini=["controller1=http://10.8.8.8:9292"])
    node = endpoint(facts(), config=config)
    assert node.url == "http://10.9.9.9:9292" and "--glance-api-url" in node.how
    assert endpoint(facts(), config=Config(ini=["controller1=http://10.8.8.8:9292"])).url == "http://10.8.8.8:9292"


@pytest.mark.parametrize("host, environ, expected", [
    ("local://", {}, "http://127.0.0.10:9292"),                 # the catalog's host
    ("ssh://hcops@10.1.2.3:2222", {}, "http://10.1.2.3:9292"),   # the spec's own host
    ("ssh://root@[fd00::5]", {}, "http://[fd00::5]:9292"),
    ("podman://glance_api", {"CONTAINER_HOST": "tcp://10.4.4.4:8888"}, "http://10.4.4.4:9292"),
    ("docker://glance_api", {}, "http://127.0.0.10:9292"),      # a local daemon: this machine
    ("kubectl://glance-api-0", {}, None),
], ids=["local", "ssh-url", "ssh-ipv6", "podman-remote-daemon", "docker-local", "kubectl"])
def test_the_reached_address_of_each_kind_of_host(host, environ, expected):
    found = facts(host=host)
    node = endpoint(found, resolve_ssh=lambda alias, *a, **k: (alias, "as given"), environ=environ)
    assert node.url == expected, node.how
    if expected is None:
        assert "cannot tell" in node.how and "--glance-api-url" in node.how


def test_an_unresolvable_alias_skips_saying_why():
    node = endpoint(facts(), resolve_ssh=ssh({}))
    assert node.url is None and "ssh -G controller1 failed" in node.how


def test_ssh_hostname_reads_the_suites_ssh_config(tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host controller1\n    HostName 127.0.0.42\n    Port 2222\n")
    assert endpoints.ssh_hostname("controller1", str(cfg))[0] == "127.0.0.42"
    assert endpoints.ssh_hostname("10.0.0.7", str(cfg))[0] == "10.0.0.7"
    # a leading dash is a host name to ssh, not an option
    host, how = endpoints.ssh_hostname("-oProxyCommand=id", str(cfg))
    assert host in (None, "-oProxyCommand=id"), how


class Listener:
    """A real HTTP listener that records every request line and X-Auth-Token it gets."""

    def __init__(self, address: str, port: int = 0):
        self.sock = socket.create_server((address, port))
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                self.requests.append(client.recv(65536))
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
                               b'{"images": []}')

    def close(self):
        self.sock.close()


def test_a_decoy_named_in_the_config_receives_nothing():
    """controller1's config names a listener on 127.0.0.99: the request goes to the reached host."""
    real = Listener("127.0.0.98")
    decoy = Listener("127.0.0.99", real.port)
    try:
        found = facts(listen="", port=real.port, extra_files={
            "/etc/glance/glance-api.conf.d/x.ini": DECOY_INI.format(port=real.port)})
        node = endpoint(found, resolve_ssh=ssh({"controller1": "127.0.0.98"}))
        host = node.url.split("//", 1)[1].rsplit(":", 1)[0]
        conn = http.client.HTTPConnection(host, real.port, timeout=5)
        conn.request("GET", "/v2/images?limit=1", headers={"X-Auth-Token": "gAAAA-operator-token"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        real.close()
        decoy.close()
    assert len(real.requests) == 1 and b"gAAAA-operator-token" in real.requests[0]
    assert decoy.requests == [], "the token reached a listener the host's config named"
