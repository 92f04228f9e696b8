"""web-download: Glance 33's [import_filtering_opts] as the canary predicts them, and the suite's server.
The lab's default answer (tests/data/api/web-download-filtered-400.json) is the refusal predicted here."""
from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from glance_hc.canary import web_download
from glance_hc.canary.source import PatternSource

LAB_400 = json.loads((Path(__file__).parent.parent / "data" / "api" / "web-download-filtered-400.json").read_text())


def opts(text: str = "") -> web_download.FilterOpts:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string("[DEFAULT]\n" + text)

    def get(section, option):
        return parser.get(section, option) if parser.has_section(section) and parser.has_option(section, option) \
            else None
    return web_download.FilterOpts.from_config(get, "test glance-api.conf")


def test_the_labs_refused_url_is_refused_by_the_defaults():
    url = LAB_400["body"].split("filtering: ")[1].split("<")[0]
    why = web_download.refusals(url, opts())
    assert any("port 38411" in w for w in why) and any("loopback" in w for w in why), why


@pytest.mark.parametrize(("conf", "url", "word"), [
    ("[import_filtering_opts]\nallowed_schemes = https\n", "http://198.51.100.7/x", "scheme"),
    ("[import_filtering_opts]\ndisallowed_hosts = 198.51.100.7\n", "http://198.51.100.7/x", "host"),
    ("[import_filtering_opts]\ndisallowed_ports = 80\nallowed_ports =\n", "http://198.51.100.7:80/x", "port"),
    ("", "http://169.254.169.254/x", "link-local"),
])
def test_a_refusal_says_which_option_refused(conf, url, word):
    why = web_download.refusals(url, opts(conf))
    assert why and any(word in w for w in why), why


def test_loopback_passes_once_listed_with_its_port():
    conf = "[import_filtering_opts]\nallowed_hosts = 127.0.0.1\nallowed_ports = 8099\n"
    assert web_download.refusals("http://127.0.0.1:8099/x", opts(conf)) == []


def test_an_allowed_list_makes_its_disallowed_list_ignored():
    conf = "[import_filtering_opts]\nallowed_hosts = 198.51.100.7\ndisallowed_hosts = 198.51.100.7\n"
    assert web_download.refusals("http://198.51.100.7/x", opts(conf)) == []


def test_what_the_config_sets_is_said():
    said = opts("[import_filtering_opts]\nallowed_ports = 8099\n").describe()
    assert "allowed_ports = 8099" in said and "allowed_hosts=[]" in said
    assert "(not set: defaults)" in opts().describe()


def test_the_server_serves_the_generated_data_and_only_that():
    source = PatternSource(3 * (1 << 20) + 17, seed=7)
    server = web_download.DataServer("127.0.0.1")
    try:
        url = server.offer("hc-canary-x.raw", source)
        served = web_download.hash_served(url, "sha512", timeout=10)
        assert (served.size, served.md5, served.hash_value) == (source.size, source.digest("md5"),
                                                                 source.digest("sha512"))
        server.withdraw("hc-canary-x.raw")
        with pytest.raises(OSError):
            web_download.hash_served(url, "sha512", timeout=10)
    finally:
        server.close()


def test_an_operator_url_this_client_cannot_read_is_a_failure_not_a_crash():
    import threading  # noqa: PLC0415

    from glance_hc import canary_imports, canary_runs  # noqa: PLC0415

    server = web_download.DataServer("127.0.0.1")
    url = server.url("nothing-here")  # served by nobody: 404
    try:
        plan = canary_runs.Plan(key="web", label="import-web", kind="web", web=canary_imports.WebSource(url=url))
        settings = canary_runs.Settings(size=1 << 20, canary_timeout=10, api_timeout=5, command_timeout=5,
                                        hash_algo="sha512", run_id="r")
        result = canary_runs.Result(plan)
        canary_imports.run_kind(None, plan, settings, threading.Event(), result, "image-id",
                                PatternSource(1 << 20), lambda _: None)
    finally:
        server.close()
    assert result.failure is not None and result.failure.step == "read the operator's --web-download-url"
    assert "404" in result.failure.body
