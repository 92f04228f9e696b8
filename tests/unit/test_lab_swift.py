"""The pure parts of lab/swift.py: rendered Swift and Glance configs, secrets, restart decisions.

The module is loaded from its file (as `lab_swift`): `import swift` would find Swift itself
wherever that is installed.
"""
from __future__ import annotations

import configparser
import importlib.util
import json
import stat
import sys
from pathlib import Path

import pytest

LAB_SWIFT = Path(__file__).resolve().parents[2] / "lab" / "swift.py"


@pytest.fixture(scope="module")
def sw():
    spec = importlib.util.spec_from_file_location("lab_swift", LAB_SWIFT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lab_swift"] = module
    spec.loader.exec_module(module)
    return module


def parse(text: str) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    return conf


def test_tempauth_pipeline_is_the_sample_one(sw):
    assert sw.proxy_pipeline(keystone=False) == (
        "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats container_sync bulk "
        "tempurl ratelimit tempauth copy container-quotas account-quotas slo dlo versioned_writes "
        "symlink proxy-logging proxy-server")


def test_keystone_filters_come_before_tempauth_and_quotas_after_auth(sw):
    steps = sw.proxy_pipeline(keystone=True).split()
    assert steps.index("authtoken") < steps.index("keystoneauth") < steps.index("tempauth")
    assert steps.index("tempauth") < steps.index("account-quotas")
    assert steps[-2:] == ["proxy-logging", "proxy-server"]


@pytest.mark.parametrize("keystone", [None, {"auth_url": "http://127.0.0.2:5000/v3", "password": "pw"}])
def test_every_pipeline_step_has_its_section(sw, keystone):
    conf = parse(sw.proxy_conf_text("gkey", "rkey", keystone))
    for step in conf["pipeline:main"]["pipeline"].split()[:-1]:
        assert conf.has_section(f"filter:{step}"), step
    assert conf["DEFAULT"]["bind_ip"] == "127.0.0.6" and conf["DEFAULT"]["bind_port"] == "8080"
    assert conf["filter:tempauth"]["user_glance_glance"] == "gkey .admin"
    assert conf["filter:tempauth"]["user_reseller_admin"] == "rkey .reseller_admin"


def test_keystone_accounts_have_a_prefix_of_their_own(sw):
    conf = parse(sw.proxy_conf_text("g", "r", {"auth_url": "http://127.0.0.2:5000/v3", "password": "pw"}))
    assert conf["filter:keystoneauth"]["reseller_prefix"] != conf["filter:tempauth"]["reseller_prefix"]
    assert conf["filter:authtoken"]["auth_url"] == "http://127.0.0.2:5000"  # no /v3: it discovers
    assert conf["filter:authtoken"]["delay_auth_decision"] == "true"  # else tempauth tokens are refused


@pytest.mark.parametrize("kind,port", [("account", "6202"), ("container", "6201"), ("object", "6200")])
def test_storage_servers(sw, kind, port):
    conf = parse(sw.server_conf_text(kind))
    assert conf["DEFAULT"]["bind_ip"] == "127.0.0.6" and conf["DEFAULT"]["bind_port"] == port
    assert conf["DEFAULT"]["mount_check"] == "false" and conf["DEFAULT"]["workers"] == "0"
    assert conf.has_section("container-updater") == (kind == "container")


def test_glance_reference_is_what_glance_store_reads(sw):
    conf = parse(sw.glance_store_reference("http://127.0.0.2:5000/v3", "service:glance", "k"))
    ref = conf["ref1"]
    assert (ref["auth_address"], ref["user"], ref["key"]) == ("http://127.0.0.2:5000/v3", "service:glance", "k")
    assert "auth_version" not in ref  # glance_store 5.7 only knows 3 and warns about the option


def test_glance_backend_section(sw):
    conf = parse(sw.glance_store_options("swift"))
    section = conf["swift"]
    assert section["default_swift_reference"] == "ref1"
    assert section["swift_store_config_file"] == "/etc/glance/glance-swift-store.conf"
    assert section["swift_store_create_container_on_put"] == "True"


def test_secrets_keep_other_keys(sw, tmp_path, monkeypatch):
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"admin_password": "a", "swift_glance_key": "kept"}))
    monkeypatch.setattr(sw, "STATE", tmp_path)
    monkeypatch.setattr(sw, "SECRETS", path)
    got = sw.swift_keys()
    assert got["admin_password"] == "a" and got["swift_glance_key"] == "kept"
    assert len(got["swift_reseller_key"]) >= 20
    assert json.loads(path.read_text()) == got
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sw.swift_keys() == got


def test_only_services_whose_config_changed_restart(sw, tmp_path, monkeypatch):
    monkeypatch.setattr(sw, "ETC", tmp_path)
    keys = {"swift_glance_key": "g", "swift_reseller_key": "r"}
    assert sw.render_configs(keys, None) == set(sw.SERVICES) - {"memcached"}
    assert sw.render_configs(keys, None) == set()
    keystone = {"auth_url": "http://127.0.0.2:5000/v3", "password": "pw"}
    assert sw.render_configs(keys, keystone) == {"proxy"}
    assert stat.S_IMODE((tmp_path / "proxy-server.conf").stat().st_mode) == 0o600
