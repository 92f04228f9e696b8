"""uWSGI options of a glance-api worker, from its command line and ini file.

glance-api runs under uWSGI; its ``socket-timeout`` (default 4 s), ``harakiri``
and, behind the http router, ``http-timeout`` (default 60 s) can cut an upload
short, and ``env = OS_GLANCE_CONFIG_DIR=...`` says which glance-api.conf the
workers really read (glance/common/wsgi_app.py _get_config_files).

Semantics mirror uWSGI 2.0: options are applied in order (an ``--ini`` on the
command line is expanded where it appears), the last value of a single-valued
option wins, ``env``/``socket``/``http-socket`` accumulate, ini values are not
unquoted, a key without ``=`` in an ini file is a flag, and a boolean is false
only for false/off/no/0.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

SOCKET_TIMEOUT_DEFAULT = 4  # uWSGI core default, seconds
HTTP_TIMEOUT_DEFAULT = 60  # "set internal http socket timeout (default: 60 seconds)"
BUFFER_SIZE_DEFAULT = 4096  # uWSGI internal buffer default
CONFIG_DIR_ENV = "OS_GLANCE_CONFIG_DIR"
GLANCE_CONFIG_DIR_DEFAULT = "/etc/glance"  # glance/common/wsgi_app.py

# Short options (uwsgi --help), all of which take a value except the flags.
_SHORT = {
    "s": "socket",
    "p": "processes",
    "t": "harakiri",
    "x": "xmlconfig",
    "S": "set",
    "d": "daemonize",
    "l": "listen",
    "v": "max-vars",
    "b": "buffer-size",
    "m": "memory-report",
    "c": "cgi-mode",
    "a": "abstract-socket",
    "C": "chmod-socket",
    "T": "enable-threads",
    "i": "single-interpreter",
    "M": "master",
    "h": "help",
    "r": "reaper",
    "R": "max-requests",
    "z": "socket-timeout",
    "A": "sharedarea",
    "Q": "spooler",
    "L": "disable-logging",
    "y": "yaml",
    "w": "module",
    "J": "test",
    "H": "home",
    "O": "optimize",
}
# Options that never take a value on the command line.
_FLAGS = frozenset(
    {
        "master",
        "enable-threads",
        "single-interpreter",
        "help",
        "reaper",
        "disable-logging",
        "memory-report",
        "cgi-mode",
        "abstract-socket",
        "lazy-apps",
        "lazy",
        "die-on-term",
        "exit-on-reload",
        "thunder-lock",
        "vacuum",
        "need-app",
        "no-default-app",
        "http-raw-body",
        "http-chunked-input",
        "http-auto-chunked",
        "http-auto-gzip",
        "log-master",
        "log-date",
        "logdate",
        "strict",
        "honour-stdin",
        "py-autoreload-on-edit",
        "auto-procname",
        "no-orphans",
        "ignore-sigpipe",
        "ignore-write-errors",
        "disable-write-exception",
        "harakiri-verbose",
        "show-config",
        "version",
        "skip-atexit",
    }
)
# Aliases -> the name this module reports.
_ALIASES = {
    "workers": "processes",
    "uwsgi-socket": "socket",
    "wsgi": "module",
    "virtualenv": "home",
    "venv": "home",
    "pyhome": "home",
    "chmod": "chmod-socket",
    "logfile": "logto",
    "xml": "xmlconfig",
    "yml": "yaml",
    "lazy": "lazy-apps",
}
_MULTI = frozenset({"env", "socket", "http-socket", "http", "https", "ini", "plugin", "plugins", "add-header"})
_FALSE = ("false", "off", "no", "0")


class UwsgiError(ValueError):
    """A uWSGI ini file that cannot be read."""


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    origin: str  # "argv" or "<file>:<line>"


@dataclass
class UwsgiOptions:
    """Every option uWSGI was given, in the order it applies them."""

    settings: list[Setting] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)  # ini files named but not read

    # ------------------------------------------------------------- raw access
    def values(self, name: str) -> list[str]:
        name = _canonical(name)
        return [s.value for s in self.settings if s.name == name]

    def last(self, name: str) -> str | None:
        values = self.values(name)
        return values[-1] if values else None

    def where(self, name: str) -> str | None:
        name = _canonical(name)
        found = [s.origin for s in self.settings if s.name == name]
        return found[-1] if found else None

    def flag(self, name: str) -> bool:
        value = self.last(name)
        return value is not None and value.strip().lower() not in _FALSE

    def integer(self, name: str) -> int | None:
        """int value, None when unset or not a literal number (e.g. "%(%k + 1)")."""
        value = self.last(name)
        if value is None or not re.fullmatch(r"\s*\d+\s*", value):
            return None
        return int(value)

    # ---------------------------------------------------------- typed fields
    @property
    def http_sockets(self) -> list[str]:
        return self.values("http-socket")

    @property
    def sockets(self) -> list[str]:
        return self.values("socket")

    @property
    def http(self) -> list[str]:
        """Addresses of uWSGI's http router (``--http``), which fronts the workers."""
        return self.values("http")

    @property
    def processes(self) -> int | None:
        return self.integer("processes")

    @property
    def threads(self) -> int | None:
        return self.integer("threads")

    @property
    def socket_timeout(self) -> int:
        """Seconds a worker waits on a silent socket (uWSGI default 4)."""
        value = self.integer("socket-timeout")
        return SOCKET_TIMEOUT_DEFAULT if value is None else value

    @property
    def harakiri(self) -> int | None:
        """Seconds before a busy worker is killed; None/0 means no harakiri."""
        return self.integer("harakiri")

    @property
    def http_timeout(self) -> int | None:
        """http router socket timeout; None when no http router runs."""
        value = self.integer("http-timeout")
        if value is None and self.http:
            return HTTP_TIMEOUT_DEFAULT
        return value

    @property
    def buffer_size(self) -> int:
        value = self.integer("buffer-size")
        return BUFFER_SIZE_DEFAULT if value is None else value

    @property
    def post_buffering(self) -> int:
        return self.integer("post-buffering") or 0

    @property
    def uid(self) -> str | None:
        return self.last("uid")

    @property
    def gid(self) -> str | None:
        return self.last("gid")

    @property
    def logto(self) -> str | None:
        return self.last("logto") or self.last("logto2")

    @property
    def daemonize(self) -> str | None:
        return self.last("daemonize") or self.last("daemonize2")

    @property
    def module(self) -> str | None:
        return self.last("module")

    @property
    def wsgi_file(self) -> str | None:
        return self.last("wsgi-file")

    @property
    def master(self) -> bool:
        return self.flag("master")

    @property
    def env(self) -> dict[str, str]:
        """``env = NAME=value`` entries (last one per name wins, as in setenv)."""
        result: dict[str, str] = {}
        for entry in self.values("env"):
            name, sep, value = entry.partition("=")
            result[name.strip()] = value if sep else ""
        return result

    @property
    def glance_config_dir(self) -> str:
        """Directory glance-api reads glance-api.conf from under this uWSGI."""
        return self.env.get(CONFIG_DIR_ENV, GLANCE_CONFIG_DIR_DEFAULT).strip() or GLANCE_CONFIG_DIR_DEFAULT

    def effective_timeouts(self) -> dict[str, tuple[int | None, str]]:
        """socket-timeout, harakiri, http-timeout -> (seconds, where); None = no limit."""
        result: dict[str, tuple[int | None, str]] = {}
        value = self.integer("socket-timeout")
        result["socket-timeout"] = (
            (value, self.where("socket-timeout") or "")
            if value is not None
            else (SOCKET_TIMEOUT_DEFAULT, "uWSGI default")
        )
        harakiri = self.harakiri
        result["harakiri"] = (
            (harakiri, self.where("harakiri") or "") if harakiri else (None, "unset: no harakiri")
        )
        if self.http or self.integer("http-timeout") is not None:
            value = self.integer("http-timeout")
            result["http-timeout"] = (
                (value, self.where("http-timeout") or "")
                if value is not None
                else (HTTP_TIMEOUT_DEFAULT, "uWSGI default (http router)")
            )
        return result

    def as_dict(self) -> dict[str, str]:
        """name -> value (multi-valued options joined with ', ') for drift comparison."""
        result: dict[str, str] = {}
        for setting in self.settings:
            if setting.name in _MULTI and setting.name in result:
                result[setting.name] += ", " + setting.value
            else:
                result[setting.name] = setting.value
        return result


def parse_argv(
    argv: Iterable[str], read_file: Callable[[str], str] | None = None
) -> UwsgiOptions:
    """Options from a uWSGI command line (``/proc/<pid>/cmdline`` split on NUL).

    ``--ini path`` (and a bare ``*.ini`` argument) is expanded in place when
    `read_file` is given; otherwise its path is listed in `config_files`.
    """
    options = UwsgiOptions()
    args = list(argv)
    if args and not args[0].startswith("-") and "uwsgi" in args[0].rsplit("/", 1)[-1]:
        args = args[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        name: str | None = None
        value: str | None = None
        if arg.startswith("--"):
            name, sep, inline = arg[2:].partition("=")
            name = _canonical(name)
            if sep:
                value = inline
        elif arg.startswith("-") and len(arg) > 1:
            letter, inline = arg[1], arg[2:]
            name = _canonical(_SHORT.get(letter, letter))
            if inline:
                value = inline
        else:
            if re.search(r"\.(ini|xml|ya?ml|json)(:[\w-]+)?$", arg):
                _add_config(options, "ini" if ".ini" in arg else "config", arg, read_file)
            continue
        if value is None:
            if name in _FLAGS or index >= len(args) or _looks_like_option(args[index]):
                value = "true"
            else:
                value = args[index]
                index += 1
        if name == "ini":
            _add_config(options, "ini", value, read_file)
            continue
        options.settings.append(Setting(name, value, "argv"))
    return options


def parse_ini(text: str, source: str = "uwsgi.ini", section: str = "uwsgi") -> UwsgiOptions:
    """Options from the ``[uwsgi]`` section (or `section`) of a uWSGI ini file."""
    options = UwsgiOptions()
    _read_ini_into(options, text, source, section, read_file=None)
    return options


def merge(*parts: UwsgiOptions) -> UwsgiOptions:
    """Later parts apply after earlier ones (e.g. ini first, then argv overrides)."""
    merged = UwsgiOptions()
    for part in parts:
        merged.settings.extend(part.settings)
        merged.config_files.extend(part.config_files)
    return merged


# ---------------------------------------------------------------------- helpers
def _canonical(name: str) -> str:
    name = name.strip().replace("_", "-")
    return _ALIASES.get(name, name)


def _looks_like_option(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-\d+", arg)


def _add_config(
    options: UwsgiOptions, kind: str, spec: str, read_file: Callable[[str], str] | None
) -> None:
    path, section = spec, "uwsgi"
    match = re.match(r"^(.*\.ini):([\w-]+)$", spec)
    if match:
        path, section = match.group(1), match.group(2)
    if kind != "ini" or read_file is None:
        options.config_files.append(path)
        return
    _read_ini_into(options, read_file(path), path, section, read_file)


def _read_ini_into(
    options: UwsgiOptions,
    text: str,
    source: str,
    section: str,
    read_file: Callable[[str], str] | None,
) -> None:
    if "\x00" in text:
        raise UwsgiError(f"{source}: binary data (NUL byte), not a uWSGI ini file")
    current = None
    found = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            found = found or current == section
            continue
        if current != section:
            continue
        key, sep, value = line.partition("=")
        name = _canonical(key)
        value = value.strip() if sep else "true"
        if name == "ini":
            _add_config(options, "ini", value, read_file)
            continue
        options.settings.append(Setting(name, value, f"{source}:{lineno}"))
    if not found:
        raise UwsgiError(f"{source}: no [{section}] section, not a uWSGI ini file")
