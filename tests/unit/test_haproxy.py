"""haproxy.cfg: sections, timeouts in seconds, Glance paths and effective timeouts."""
from pathlib import Path

import pytest

from glance_hc.haproxy import (
    HaproxyError,
    ServerState,
    effective_timeouts,
    glance_paths,
    glance_servers,
    health_checked,
    parse,
    parse_show_stat,
    parse_time,
    runtime_state,
    states_from_log,
    stats_sockets,
)

DATA = Path(__file__).parent.parent / "data" / "haproxy"


def load(name: str):
    return parse((DATA / name).read_text(), source=name)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5000", 5.0),  # bare number: milliseconds
        ("500ms", 0.5),
        ("100us", 0.0001),
        ("10s", 10.0),
        ("1m", 60.0),
        ("6h", 21600.0),
        ("1d", 86400.0),
        ("1.5s", 1.5),
        ("ten", None),
        ("10x", None),
        ("", None),
    ],
)
def test_parse_time(text, seconds):
    assert parse_time(text) == seconds


def test_kolla_sections():
    cfg = load("kolla-listen.cfg")
    assert [(s.kind, s.name) for s in cfg.sections] == [
        ("global", None),
        ("defaults", None),
        ("listen", "stats"),
        ("frontend", "status"),
        ("listen", "keystone_internal"),
        ("listen", "glance_api"),
        ("listen", "glance_api_external"),
    ]
    defaults = cfg.sections[1]
    assert {k: t.seconds for k, t in defaults.timeouts.items()} == {
        "http-request": 10.0,
        "http-keep-alive": 10.0,
        "queue": 60.0,
        "connect": 10.0,
        "client": 60.0,
        "server": 60.0,
        "check": 10.0,
    }
    glance = cfg.find("listen", "glance_api")
    assert glance.mode == "http"
    assert [(b.address, b.port) for b in glance.binds] == [("192.168.121.250", 9292)]
    assert [(s.name, s.address, s.port) for s in glance.servers] == [
        ("controller1", "192.168.121.11", 9292),
        ("controller2", "192.168.121.12", 9292),
    ]
    stats = cfg.find("listen", "stats")
    assert ("stats", "realm", "Haproxy Stats") in [d for _, d in stats.directives]  # backslash escape


@pytest.mark.parametrize(
    ("fixture", "paths"),
    [
        ("kolla-listen.cfg", [("glance_api", "binds port 9292"), ("glance_api_external", "binds port 9292")]),
        (
            "split-frontend-backend.cfg",
            [
                ("glance_api-front-1 -> glance_api-back", "binds port 9292"),
                ("public-https -> image-back", "routes to Glance backend image-back"),
            ],
        ),
    ],
)
def test_glance_paths(fixture, paths):
    assert [(p.name, p.matched_by) for p in glance_paths(load(fixture))] == paths


KOLLA_LISTEN = {
    "client": (21600.0, "kolla-listen.cfg listen glance_api (line 52)"),
    "server": (21600.0, "kolla-listen.cfg listen glance_api (line 52)"),
    "http-request": (10.0, "kolla-listen.cfg defaults (line 15)"),
    "connect": (10.0, "kolla-listen.cfg defaults (line 15)"),
    "queue": (60.0, "kolla-listen.cfg defaults (line 15)"),
    "tunnel": (None, "unset: timeout client/server apply to tunnels"),
}
SPLIT_DEDICATED = {
    "client": (600.0, "split-frontend-backend.cfg frontend glance_api-front-1 (line 25)"),
    "server": (600.0, "split-frontend-backend.cfg backend glance_api-back (line 33)"),
    "http-request": (5.0, "split-frontend-backend.cfg defaults (line 13)"),
    "connect": (10.0, "split-frontend-backend.cfg defaults (line 13)"),
    "queue": (10.0, "unset: timeout connect applies (split-frontend-backend.cfg defaults (line 13))"),
    "tunnel": (None, "unset: timeout client/server apply to tunnels"),
}
# Client side from the named defaults the frontend names with "from"; server side
# from the backend and the *last defaults before the backend*, which reset the rest.
SPLIT_SHARED = {
    "client": (7200.0, "split-frontend-backend.cfg defaults long_uploads (line 43)"),
    "server": (900.0, "split-frontend-backend.cfg backend image-back (line 66)"),
    "http-request": (None, "unset: timeout client applies between request chunks"),
    "connect": (3.0, "split-frontend-backend.cfg defaults (line 60)"),
    "queue": (45.0, "split-frontend-backend.cfg defaults (line 60)"),
    "tunnel": (None, "unset: timeout client/server apply to tunnels"),
}


@pytest.mark.parametrize(
    ("fixture", "index", "expected"),
    [
        ("kolla-listen.cfg", 0, KOLLA_LISTEN),
        ("split-frontend-backend.cfg", 0, SPLIT_DEDICATED),
        ("split-frontend-backend.cfg", 1, SPLIT_SHARED),
    ],
)
def test_effective_timeouts(fixture, index, expected):
    path = glance_paths(load(fixture))[index]
    assert effective_timeouts(path) == expected


@pytest.mark.parametrize(
    ("text", "client", "server"),
    [
        pytest.param(
            "defaults\n timeout client 1m\n timeout server 1m\n"
            "listen glance_api\n bind :9292\n server c1 10.0.0.1:9292\n",
            (60.0, "haproxy.cfg defaults (line 1)"),
            (60.0, "haproxy.cfg defaults (line 1)"),
            id="inherits-defaults",
        ),
        pytest.param(
            "defaults\n timeout client 1m\n timeout server 1m\n"
            "defaults\n timeout connect 5s\n"
            "listen glance_api\n bind :9292\n server c1 10.0.0.1:9292\n",
            (None, "unset: no timeout (haproxy warns 'missing timeouts')"),
            (None, "unset: no timeout (haproxy warns 'missing timeouts')"),
            id="second-defaults-resets-the-first",
        ),
        pytest.param(
            "defaults base\n timeout client 1h\n timeout server 2h\n"
            "defaults child from base\n timeout server 3h\n"
            "listen glance_api from child\n bind :9292\n",
            (3600.0, "haproxy.cfg defaults base (line 1)"),
            (10800.0, "haproxy.cfg defaults child (line 4)"),
            id="defaults-chain-with-from",
        ),
        pytest.param(
            "global\n maxconn 100\n"
            "listen glance_api\n bind *:9292\n clitimeout 30000\n srvtimeout 30000\n",
            (30.0, "haproxy.cfg listen glance_api (line 3)"),
            (30.0, "haproxy.cfg listen glance_api (line 3)"),
            id="legacy-keywords",
        ),
    ],
)
def test_precedence(text, client, server):
    (path,) = glance_paths(parse(text))
    timeouts = effective_timeouts(path)
    assert (timeouts["client"], timeouts["server"]) == (client, server)


@pytest.mark.parametrize(
    ("bind", "address", "port"),
    [
        ("bind :9292", "", 9292),
        ("bind *:9292", "", 9292),
        ("bind 0.0.0.0:9292", "0.0.0.0", 9292),
        ("bind [::]:9292 v4v6", "::", 9292),
        ("bind ipv4@10.0.0.5:9292", "10.0.0.5", 9292),
        ("bind 10.0.0.5:9290-9299", "10.0.0.5", 9290),
        ("bind unix@/run/glance.sock", "unix@/run/glance.sock", None),
    ],
)
def test_bind_addresses(bind, address, port):
    cfg = parse(f"frontend f\n {bind}\n")
    (parsed,) = cfg.sections[0].binds
    assert (parsed.address, parsed.port) == (address, port)


def test_comments_and_multiple_bind_addresses():
    cfg = parse("frontend glance # the API\n bind 10.0.0.1:9292,10.0.0.2:9292 # two VIPs\n default_backend b\n")
    front = cfg.sections[0]
    assert front.name == "glance"
    assert [(b.address, b.port) for b in front.binds] == [("10.0.0.1", 9292), ("10.0.0.2", 9292)]
    (path,) = glance_paths(cfg)
    assert path.backend is None and path.servers == []
    assert effective_timeouts(path)["server"] == (None, "no backend: not applicable")


def test_use_backend_conditions_are_kept():
    cfg = load("split-frontend-backend.cfg")
    front = cfg.find("frontend", "public-https")
    assert front.from_defaults == "long_uploads"
    assert front.use_backends == [("image-back", "if is_image")]
    assert front.default_backend == "horizon-back"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("# nothing here\n\n", "empty file"),
        (" timeout client 1m\n", "line 1: directive before any section"),
        (b"\x1f\x8b\x08\x00\x00", "binary data"),
    ],
)
def test_unreadable(text, message):
    with pytest.raises(HaproxyError, match=message):
        parse(text)


# --------------------------------------------------------------- settings as haproxy applies them (lab's real file)
LAB = (DATA / "lab-controller1.cfg").read_text()


def test_lab_timeouts_come_from_defaults_with_their_line():
    cfg = parse(LAB, source="/etc/haproxy/haproxy.cfg")
    glance = cfg.find("listen", "glance_api")
    server = cfg.timeout_setting(glance, "server")
    assert (server.seconds, server.raw, server.unknown) == (900.0, "15m", None)
    assert server.where == "/etc/haproxy/haproxy.cfg defaults (line 8), line 13"
    assert cfg.timeout_setting(glance, "tunnel") is None
    assert cfg.option(glance, "http-buffer-request") is None
    assert cfg.option(glance, "httplog") == (True, "/etc/haproxy/haproxy.cfg defaults (line 8), line 10")
    assert cfg.global_value("maxconn") == ("512", "/etc/haproxy/haproxy.cfg global (line 2), line 4")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [('"${SERVER_TIMEOUT}"', "depends on an environment variable of the haproxy process"),
     ("30S", "has the unit 'S', which haproxy does not know"),
     ("soon", "is not a time haproxy can read")],
)
def test_an_unreadable_timeout_is_unknown_not_unset(raw, reason):
    cfg = parse(LAB.replace("timeout server 15m", f"timeout server {raw}"), source="haproxy.cfg")
    setting = cfg.timeout_setting(cfg.find("listen", "glance_api"), "server")
    assert setting.seconds is None and reason in setting.unknown


def test_no_option_in_a_proxy_turns_a_default_off():
    text = LAB.replace("    option httplog\n", "    option httplog\n    option http-buffer-request\n")
    text = text.replace("    option httpchk GET /healthcheck\n",
                        "    option httpchk GET /healthcheck\n    no option http-buffer-request\n")
    cfg = parse(text, source="haproxy.cfg")
    assert cfg.option(cfg.find("listen", "glance_api"), "http-buffer-request")[0] is False
    assert cfg.option(cfg.find("listen", "keystone_external"), "http-buffer-request")[0] is True


def test_a_named_defaults_chain_is_followed():
    text = ("defaults base\n    timeout server 1h\ndefaults tuned from base\n    timeout client 2h\n"
            "defaults\n    timeout server 1s\nlisten glance_api from tuned\n    bind :9292\n")
    cfg = parse(text, source="haproxy.cfg")
    glance = cfg.find("listen", "glance_api")
    assert [s.label for s in cfg.chain(glance)] == ["listen glance_api (line 7)", "defaults tuned (line 3)",
                                                    "defaults base (line 1)"]
    assert cfg.timeout_setting(glance, "server").seconds == 3600.0


@pytest.mark.parametrize("raw", ["30d", "9" * 5000])
def test_a_time_above_haproxys_largest_is_unknown(raw):
    assert parse_time(raw) is None
    cfg = parse(LAB.replace("timeout server 15m", f"timeout server {raw}"), source="haproxy.cfg")
    assert "above haproxy's largest time" in cfg.timeout_setting(cfg.find("listen", "glance_api"), "server").unknown


# --------------------------------------------------------------- runtime state (tests/tools/capture_runtime_state.py)
SHOW_STAT_DOWN = (DATA / "show-stat-controller2-down.csv").read_text()
HEALTH_LOG = (DATA / "health-check-controller2.log").read_text().splitlines()


def test_show_stat_gives_each_server_its_state_and_why():
    states = parse_show_stat(SHOW_STAT_DOWN, "`show stat` on /run/haproxy-lab.sock")
    down, up = states[("glance_api", "controller2")], states[("glance_api", "controller1")]
    assert (down.status, down.takes_uploads) == ("DOWN", False)
    assert down.detail.startswith("Layer4 connection problem")
    assert (up.status, up.takes_uploads) == ("UP", True)
    assert not [key for key in states if key[1] in ("FRONTEND", "BACKEND")]


@pytest.mark.parametrize("status, takes", [("UP", True), ("UP 1/3", True), ("no check", True), ("DOWN", False),
                                           ("DOWN 1/2", False), ("MAINT", False), ("MAINT(via)", False),
                                           ("DRAIN", False), ("NOLB", False)])
def test_which_states_take_uploads(status, takes):
    assert ServerState("b", "s", status, "", "x").takes_uploads is takes


def test_an_answer_that_is_not_haproxys_stats_is_refused():
    with pytest.raises(HaproxyError, match="did not answer `show stat`"):
        parse_show_stat("Unknown command. Please enter one of the following commands only :\n", "sock")


def test_health_check_lines_give_the_last_transition():
    states = states_from_log(HEALTH_LOG, "log /var/log/haproxy/haproxy.log")
    assert states[("glance_api", "controller2")].status == "DOWN"
    assert 'Layer4 connection problem, info: "Connection refused"' == states[("glance_api", "controller2")].detail
    back = states_from_log([*HEALTH_LOG, "Server glance_api/controller2 is UP, reason: Layer7 check passed, "
                                         "code: 200, check duration: 7ms."], "log")
    assert back[("glance_api", "controller2")].takes_uploads


def test_runtime_state_prefers_the_stats_socket_then_the_log():
    stats = {"socket": "/run/haproxy-lab.sock", "text": SHOW_STAT_DOWN}
    assert runtime_state(stats, []).source == "`show stat` on /run/haproxy-lab.sock"
    log = [("log /var/log/haproxy/haproxy.log", line) for line in HEALTH_LOG]
    fallback = runtime_state({"error": "/run/haproxy-lab.sock: No such file or directory"}, log,
                             ["log /var/log/haproxy/haproxy.log"])
    assert fallback.of("glance_api", "controller2").status == "DOWN"
    assert fallback.source == "log /var/log/haproxy/haproxy.log"
    none = runtime_state({"error": "/run/haproxy-lab.sock: No such file or directory"}, [], [])
    assert none.servers == {} and none.unknown_why == ("stats socket: /run/haproxy-lab.sock: No such file or "
                                                       "directory; HAProxy's log was not read")


def test_the_lab_declares_its_stats_socket_and_health_checks_its_glance_servers():
    cfg = parse(LAB, source="/etc/haproxy/haproxy.cfg")
    assert stats_sockets(cfg) == ["/run/haproxy-lab.sock"]
    servers = glance_servers(cfg)
    assert [(b, s.name) for b, s in servers] == [("glance_api", "controller1"), ("glance_api", "controller2")]
    assert all(health_checked(s) for _, s in servers)
    assert not health_checked(parse("listen g\n bind :9292\n server c1 1.2.3.4:9292 inter 2s\n").proxies()[0].servers[0])
