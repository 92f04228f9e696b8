"""uWSGI options from ini files and command lines, with uWSGI's defaults."""
from pathlib import Path

import pytest

from glance_hc.uwsgi import UwsgiError, Value, merge, parse, parse_argv, parse_command, parse_ini, read_number

DATA = Path(__file__).parent.parent / "data" / "uwsgi"


def load(name: str):
    return parse_ini((DATA / name).read_text(), source=f"/etc/glance/{name}")


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "devstack-glance-uwsgi.ini",
            {
                "http": ["127.0.0.1:60999"],
                "http_sockets": [],
                "sockets": [],
                "processes": 2,
                "threads": None,
                "socket_timeout": 4,  # uWSGI default
                "harakiri": None,
                "http_timeout": 60,  # http router default
                "buffer_size": 65535,
                "post_buffering": 0,
                "uid": None,
                "logto": None,
                "module": None,
                "wsgi_file": "/opt/stack/data/venv/bin/glance-wsgi-api",
                "master": True,
                "glance_config_dir": "/etc/glance",
            },
        ),
        (
            "osa-glance-api-uwsgi.ini",
            {
                "http": [],
                "http_sockets": ["172.29.236.11:9292"],
                "sockets": [],
                "processes": 8,
                "threads": 1,
                "socket_timeout": 10,
                "harakiri": None,
                "http_timeout": None,
                "buffer_size": 65535,
                "post_buffering": 0,
                "uid": "glance",
                "logto": "/var/log/glance/glance-api-uwsgi.log",
                "module": None,
                "wsgi_file": "/openstack/venvs/glance-29.0.0/bin/glance-wsgi-api",
                "master": True,
                "glance_config_dir": "/etc/glance",
            },
        ),
    ],
)
def test_ini_files(fixture, expected):
    options = load(fixture)
    assert {name: getattr(options, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "devstack-glance-uwsgi.ini",
            {
                "socket-timeout": (4, "uWSGI default"),
                "harakiri": (None, "unset: no harakiri"),
                "http-timeout": (60, "uWSGI default (http router)"),
            },
        ),
        (
            "osa-glance-api-uwsgi.ini",
            {
                "socket-timeout": (10, "/etc/glance/osa-glance-api-uwsgi.ini:25"),
                "harakiri": (None, "unset: no harakiri"),
            },
        ),
    ],
)
def test_effective_timeouts(fixture, expected):
    assert load(fixture).effective_timeouts() == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["/usr/bin/uwsgi", "--http-socket", "10.0.0.11:9292", "--processes", "4", "--threads", "2",
             "--socket-timeout", "600", "--harakiri", "3600", "--master", "--enable-threads",
             "--module", "glance.wsgi.api:application", "--env", "OS_GLANCE_CONFIG_DIR=/etc/glance-hc",
             "--uid", "glance", "--gid", "glance", "--logto", "/var/log/glance/uwsgi.log"],
            {"http_sockets": ["10.0.0.11:9292"], "processes": 4, "threads": 2, "socket_timeout": 600,
             "harakiri": 3600, "master": True, "module": "glance.wsgi.api:application",
             "glance_config_dir": "/etc/glance-hc", "uid": "glance", "gid": "glance",
             "logto": "/var/log/glance/uwsgi.log"},
            id="long-options",
        ),
        pytest.param(
            ["uwsgi", "-s", "/run/glance.sock", "-p", "3", "-z", "30", "-t", "120", "-M", "-T",
             "-w", "glance.wsgi.api:application", "-b", "32768", "-d", "/var/log/uwsgi.log"],
            {"sockets": ["/run/glance.sock"], "processes": 3, "socket_timeout": 30, "harakiri": 120,
             "master": True, "module": "glance.wsgi.api:application", "buffer_size": 32768,
             "daemonize": "/var/log/uwsgi.log"},
            id="short-options",
        ),
        pytest.param(
            ["uwsgi", "--workers=5", "--socket-timeout=45", "--http=:9292", "--http-timeout=900",
             "--post-buffering=8192", "-p6"],
            {"processes": 6, "socket_timeout": 45, "http": [":9292"], "http_timeout": 900,
             "post_buffering": 8192},
            id="equals-form-and-last-wins",
        ),
        pytest.param(
            ["uwsgi", "--http-socket", ":9292", "--wsgi-file", "/usr/bin/glance-wsgi-api"],
            {"socket_timeout": 4, "harakiri": None, "http_timeout": None, "buffer_size": 4096,
             "processes": None, "master": False, "glance_config_dir": "/etc/glance"},
            id="defaults",
        ),
        pytest.param(
            ["uwsgi", "--processes", "%(%k + 1)", "--master", "--env", "A=1", "--env", "B=two=2"],
            {"processes": None, "env": {"A": "1", "B": "two=2"}},
            id="placeholders-are-not-numbers",
        ),
    ],
)
def test_argv(argv, expected):
    options = parse_argv(argv)
    assert {name: getattr(options, name) for name in expected} == expected


def test_argv_expands_ini_in_place_and_later_options_win():
    files = {"/etc/glance/glance-api-uwsgi.ini": (DATA / "osa-glance-api-uwsgi.ini").read_text()}
    options = parse_argv(
        ["/usr/bin/uwsgi", "--socket-timeout", "99", "--ini", "/etc/glance/glance-api-uwsgi.ini",
         "--processes", "2"],
        read_file=files.__getitem__,
    )
    assert options.socket_timeout == 10  # the ini came after the command-line value
    assert options.processes == 2  # and the command line after the ini
    assert options.where("socket-timeout") == "/etc/glance/glance-api-uwsgi.ini:25"
    assert options.where("processes") == "argv"
    assert options.config_files == []


@pytest.mark.parametrize(
    "argv",
    [
        ["uwsgi", "--ini", "/etc/glance/glance-uwsgi.ini"],
        ["uwsgi", "/etc/glance/glance-uwsgi.ini"],  # uWSGI loads a bare *.ini argument
        ["uwsgi", "--ini", "/etc/glance/glance-uwsgi.ini:uwsgi"],
    ],
)
def test_argv_lists_ini_files_it_could_not_read(argv):
    assert parse_argv(argv).config_files == ["/etc/glance/glance-uwsgi.ini"]


def test_merge_applies_parts_in_order():
    ini = load("osa-glance-api-uwsgi.ini")
    override = parse_argv(["uwsgi", "--socket-timeout", "300", "--harakiri", "0"])
    merged = merge(ini, override)
    assert merged.socket_timeout == 300
    assert merged.effective_timeouts()["harakiri"] == (None, "unset: no harakiri")
    assert merged.as_dict()["http-socket"] == "172.29.236.11:9292"


@pytest.mark.parametrize(
    ("text", "name", "value", "flag"),
    [
        ("[uwsgi]\nmaster\n", "master", "true", True),
        ("[uwsgi]\nmaster = false\n", "master", "false", False),
        ("[uwsgi]\nmaster = 0\n", "master", "0", False),
        ("[uwsgi]\nprocesses = \"3\"\n", "processes", '"3"', True),  # uWSGI does not unquote
        ("[other]\nprocesses = 9\n[uwsgi]\n; processes = 7\nprocesses = 3\n", "processes", "3", True),
        ("[uwsgi]\nworkers = 3\n", "processes", "3", True),  # alias
    ],
)
def test_ini_semantics(text, name, value, flag):
    options = parse_ini(text)
    assert (options.last(name), options.flag(name)) == (value, flag)


def test_ini_section_can_be_chosen():
    text = "[uwsgi]\nprocesses = 1\n[glance-api]\nprocesses = 4\n"
    assert parse_ini(text, section="glance-api").processes == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[uwsgi\\] section"),
        ("[glance]\nprocesses = 1\n", "no \\[uwsgi\\] section"),
        ("\x00\x01binary", "binary data"),
    ],
)
def test_unreadable_ini(text, message):
    with pytest.raises(UwsgiError, match=message):
        parse_ini(text)


# --------------------------------------------------------------- includes and placeholders, as uWSGI reads them
INCLUDES = DATA / "includes"
CAPTURE = "/tmp/hc-uwsgi-capture"  # where tests/data/uwsgi/includes was when uWSGI 2.0.31 read it
INCLUDE_FILES = {f"{CAPTURE}/{name}": (INCLUDES / name).read_text()
                 for name in ("glance-api-uwsgi.ini", "tuning.ini", "limit-post.txt")}


def show_config() -> list[tuple[str, str]]:
    """What `uwsgi --ini ... --show-config` printed for these files (HC_HTTP_TIMEOUT=1800)."""
    lines = (INCLUDES / "show-config.txt").read_text().splitlines()
    pairs = [tuple(part.strip() for part in line.split("=", 1)) for line in lines if " = " in line]
    return [(k, v) for k, v in pairs if k not in ("ini", "show-config")]


def test_includes_and_placeholders_read_as_uwsgi_2_0_31_read_them():
    options = parse(INCLUDE_FILES[f"{CAPTURE}/glance-api-uwsgi.ini"], f"{CAPTURE}/glance-api-uwsgi.ini",
                    files=INCLUDE_FILES, env={"HC_HTTP_TIMEOUT": "1800"})
    ours = [(s.key, s.value) for s in options.settings if s.name != "\x00placeholder"]
    assert ours == show_config()
    assert options.value("harakiri") == Value("harakiri", 3600, "3600", f"{CAPTURE}/glance-api-uwsgi.ini:7")
    assert options.value("socket-timeout").number == 900  # %(later): an option set further down
    assert options.value("limit-post").number == 64 << 30  # @(file), its newline chomped
    assert options.value("chunked-input-limit").number == 4194304  # set again after the include
    assert options.value("listen").origin == f"{CAPTURE}/tuning.ini:3"
    assert options.value("processes").origin == f"{CAPTURE}/glance-api-uwsgi.ini:20"  # %p:override
    assert options.value("post-buffering").unknown.startswith("%(nope) names no option")
    assert options.value("buffer-size") == Value(
        "buffer-size", 32, "32k", f"{CAPTURE}/glance-api-uwsgi.ini:17",
        note="uWSGI reads '32k' as 32: it takes the leading digits only")


def test_without_the_process_environment_an_env_placeholder_is_unknown():
    options = parse(INCLUDE_FILES[f"{CAPTURE}/glance-api-uwsgi.ini"], f"{CAPTURE}/glance-api-uwsgi.ini",
                    files=INCLUDE_FILES)
    value = options.value("http-timeout")
    assert value.number is None and value.raw == "$(HC_HTTP_TIMEOUT)"
    assert value.unknown == "$(HC_HTTP_TIMEOUT) comes from the uWSGI process's environment, which was not read"


@pytest.mark.parametrize(
    ("file_errors", "reason"),
    [({}, "the probe did not fetch it"), ({"/etc/glance/extra.ini": "Permission denied"}, "Permission denied")],
)
def test_an_include_that_was_not_read_makes_what_follows_it_unknown(file_errors, reason):
    text = "[uwsgi]\nsocket-timeout = 30\nini = /etc/glance/extra.ini\nprocesses = 2\n"
    options = parse(text, "/etc/glance/glance-api-uwsgi.ini", files={}, file_errors=file_errors)
    assert options.value("harakiri").unknown == (
        f"/etc/glance/extra.ini, included at /etc/glance/glance-api-uwsgi.ini:3, may set harakiri and could "
        f"not be read ({reason})")
    assert options.value("socket-timeout").unknown is not None  # the include may override it
    assert options.value("processes").number == 2  # set after the include: known
    assert options.unread[0].path == "/etc/glance/extra.ini"


@pytest.mark.parametrize(
    ("line", "unknown"),
    [
        ("harakiri = %(x)", "%(x) names no option or placeholder of the files read"),
        ("harakiri = %(%k * 10)", "%(%k * 10) is an expression uWSGI computes at run time"),
        ("harakiri = @(/etc/glance/harakiri)", "@(/etc/glance/harakiri) is the content of /etc/glance/harakiri"),
        ("harakiri = $(H)", "$(H) is not set in the uWSGI process's environment"),
    ],
)
def test_placeholders_that_cannot_be_resolved_are_unknown(line, unknown):
    options = parse(f"[uwsgi]\n{line}\n", "/etc/glance/u.ini", files={}, env={})
    assert options.value("harakiri").unknown.startswith(unknown)
    assert options.value("harakiri").number is None


def test_set_placeholder_and_magic_variables():
    text = "[uwsgi]\nset-placeholder = t=600\nsocket-timeout = %(t)\nlogto = %d%n.log\n"
    options = parse(text, "/etc/glance/glance-api-uwsgi.ini")
    assert options.value("socket-timeout").number == 600
    assert options.last("logto") == "/etc/glance/glance-api-uwsgi.log"


@pytest.mark.parametrize(
    ("text", "number", "note"),
    [("900", 900, None), (" 900 ", 900, None), ("32M", 32, "uWSGI reads '32M' as 32: it takes the leading digits only"),
     ("30S", 30, "uWSGI reads '30S' as 30: it takes the leading digits only"), ("", 0, "uWSGI reads '' as 0: it takes "
     "the leading digits only"), ("9" * 5000, None, None)],
)
def test_read_number_is_atoi(text, number, note):
    value, why = read_number(text)
    assert value == number
    assert why == note or (number is None and "absurd" in why)


def test_command_line_with_ini_from_fetched_files():
    options = parse_command(["/opt/venv/bin/uwsgi", "--ini", f"{CAPTURE}/glance-api-uwsgi.ini", "--harakiri", "60"],
                            files=INCLUDE_FILES, env={"HC_HTTP_TIMEOUT": "5"})
    assert options.value("harakiri").number == 60 and options.value("harakiri").origin == "argv"
    assert options.value("http-timeout").number == 5


def test_lab_ini():
    options = parse((DATA / "lab-glance-api-uwsgi.ini").read_text(), "/etc/glance/glance-api-uwsgi.ini")
    assert options.value("socket-timeout") == Value("socket-timeout", 900, "900", "/etc/glance/glance-api-uwsgi.ini:5")
    assert options.value("harakiri", 0) == Value("harakiri", 0, None, "uWSGI default")
    assert options.unread == []


def test_as_dict_leaves_markers_out():
    options = parse("[uwsgi]\nset-ph = a=1\nini = /nowhere.ini\nprocesses = %(a)\n", "/etc/glance/u.ini")
    assert options.as_dict() == {"processes": "1"}
