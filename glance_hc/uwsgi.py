"""uWSGI options of a glance-api worker, from its command line and ini file.

glance-api runs under uWSGI; its ``socket-timeout`` (default 4 s), ``harakiri``
and, behind the http router, ``http-timeout`` (default 60 s) can cut an upload
short, and ``env = OS_GLANCE_CONFIG_DIR=...`` says which glance-api.conf the
workers really read (glance/common/wsgi_app.py _get_config_files).

Semantics mirror uWSGI 2.0 (core/ini.c, core/config.c, uwsgi_apply_config_pass):
options are applied in order (an ``--ini``, ``ini =``, ``inherit =`` or
``include =`` is expanded where it appears), the last value of a single-valued
option wins, ``env``/``socket``/``http-socket`` accumulate, ini values are not
unquoted, a key without ``=`` in an ini file is a flag, and a boolean is false
only for false/off/no/0. Magic variables (``%d``, ``%p``, ``%s``, ``%n``, ``%e``,
``%c``) are expanded when a file is read; once everything is read,
``$(ENV)``, ``%(option)`` (the first option or placeholder of that name, from
any file) and ``@(file)`` are substituted. A number is read as uWSGI's atoi and
strtoul read it: its leading digits (``32M`` is 32). What the fetched files
cannot tell (an include that was not read, an environment variable, an unknown
placeholder) stays *unknown*, never a default.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
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


UNREAD = "\x00unread"  # marker in `settings`: an include whose options could not be read


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    origin: str  # "argv" or "<file>:<line>"
    key: str = ""  # the key as written (placeholders look options up by it)
    unknown: str | None = None  # why the value cannot be known from the files read


@dataclass(frozen=True)
class Unread:
    """An include uWSGI reads but this run could not: its options are unknown."""

    path: str
    origin: str  # where it is included ("file:line" or "argv")
    reason: str


@dataclass(frozen=True)
class Value:
    """One option as uWSGI applies it, with where it came from.

    `number` is what uWSGI's atoi/strtoul make of the text; None when the value is unknown
    (`unknown` says why) or unset without a default.
    """

    name: str
    number: int | None
    raw: str | None  # the text in the file (after substitution); None when unset
    origin: str  # "file:line", "argv", or "uWSGI default"
    unknown: str | None = None
    note: str | None = None  # e.g. "uWSGI reads '32M' as 32 (leading digits only)"

    @property
    def is_set(self) -> bool:
        return self.raw is not None


@dataclass
class UwsgiOptions:
    """Every option uWSGI was given, in the order it applies them."""

    settings: list[Setting] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)  # ini files named but not read
    unread: list[Unread] = field(default_factory=list)  # includes whose options are unknown
    files_read: list[str] = field(default_factory=list)

    def value(self, name: str, default: int | None = None, default_origin: str = "uWSGI default") -> Value:
        """The option in effect, read as uWSGI reads a number; unknown when the files cannot tell."""
        name = _canonical(name)
        for setting in reversed(self.settings):
            if setting.name == UNREAD:
                unread = next((u for u in self.unread if u.path == setting.value and u.origin == setting.origin),
                              None)
                why = unread.reason if unread else "not read"
                return Value(name, None, None, setting.origin,
                             unknown=f"{setting.value}, included at {setting.origin}, may set {name} and could "
                                     f"not be read ({why})")
            if setting.name != name:
                continue
            if setting.unknown:
                return Value(name, None, setting.value, setting.origin, unknown=setting.unknown)
            number, note = read_number(setting.value)
            if number is None:
                return Value(name, None, setting.value, setting.origin, unknown=note)
            return Value(name, number, setting.value, setting.origin, note=note)
        return Value(name, default, None, default_origin)

    # ------------------------------------------------------------- raw access
    def values(self, name: str) -> list[str]:
        name = _canonical(name)
        return [s.value for s in self.settings if s.name == name and s.name != UNREAD]

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
            if setting.name.startswith("\x00"):  # unread-include markers and placeholders
                continue
            if setting.name in _MULTI and setting.name in result:
                result[setting.name] += ", " + setting.value
            else:
                result[setting.name] = setting.value
        return result


def parse_argv(
    argv: Iterable[str], read_file: Callable[[str], str] | None = None, _ctx: _Context | None = None
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
                if _ctx is not None:
                    _include(options, "ini" if ".ini" in arg else "include", arg, "argv", _ctx, ())
                else:
                    _add_config(options, "ini" if ".ini" in arg else "config", arg, read_file)
            continue
        if value is None:
            if name in _FLAGS or index >= len(args) or _looks_like_option(args[index]):
                value = "true"
            else:
                value = args[index]
                index += 1
        if name in _INCLUDES and _ctx is not None:
            _include(options, name, value, "argv", _ctx, ())
            continue
        if name == "ini":
            _add_config(options, "ini", value, read_file)
            continue
        options.settings.append(Setting(name, value, "argv", key=name))
    return options


def parse_ini(text: str, source: str = "uwsgi.ini", section: str = "uwsgi") -> UwsgiOptions:
    """Options from the ``[uwsgi]`` section (or `section`) of a uWSGI ini file, includes not followed."""
    return parse(text, source, section=section)


def merge(*parts: UwsgiOptions) -> UwsgiOptions:
    """Later parts apply after earlier ones (e.g. ini first, then argv overrides)."""
    merged = UwsgiOptions()
    for part in parts:
        merged.settings.extend(part.settings)
        merged.config_files.extend(part.config_files)
        merged.unread.extend(part.unread)
        merged.files_read.extend(part.files_read)
    return merged


def parse(
    text: str,
    source: str = "uwsgi.ini",
    files: Mapping[str, str] | None = None,
    file_errors: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    section: str = "uwsgi",
) -> UwsgiOptions:
    """A uWSGI ini file as uWSGI reads it, following its includes through `files` (path -> text).

    `file_errors` (path -> why) says why a file could not be fetched; `env` is the uWSGI
    process's environment when known (None: every ``$(VAR)`` stays unknown).
    UwsgiError when the main file itself is not a uWSGI ini file.
    """
    options = UwsgiOptions()
    ctx = _Context(dict(files or {}), dict(file_errors or {}), env)
    _read_file(options, text, source, section, ctx, stack=(f"{source}:{section}",), origin="", main=True)
    _substitute(options, ctx)
    return options


def parse_command(
    argv: Iterable[str],
    files: Mapping[str, str] | None = None,
    file_errors: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> UwsgiOptions:
    """A uWSGI command line (``/proc/<pid>/cmdline``) with its ini files expanded in place."""
    ctx = _Context(dict(files or {}), dict(file_errors or {}), env)
    options = parse_argv(argv, read_file=None, _ctx=ctx)
    _substitute(options, ctx)
    return options


def read_number(text: str) -> tuple[int | None, str | None]:
    """(value, note) as uWSGI's atoi/strtoul read `text`: its leading digits, 0 when there are none."""
    match = re.match(r"^[ \t]*([+-]?)(\d*)", text)
    digits = match.group(2) if match else ""
    if len(digits.lstrip("0")) > 30:
        return None, f"'{text[:40]}...' is an absurd number ({len(digits)} digits)"
    number = int(digits or "0") * (-1 if match and match.group(1) == "-" else 1)
    if re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return number, None
    return number, f"uWSGI reads '{text}' as {number}: it takes the leading digits only"


# ---------------------------------------------------------------------- helpers
def _canonical(name: str) -> str:
    name = name.strip().replace("_", "-")
    return _ALIASES.get(name, name)


def _looks_like_option(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-\d+", arg)


def _add_config(
    options: UwsgiOptions, kind: str, spec: str, read_file: Callable[[str], str] | None
) -> None:
    """The older reader interface (parse_argv with read_file): an ini expanded in place."""
    path, section = _split_spec(spec)
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
    files = _ReadFileMapping(read_file) if read_file else {}
    ctx = _Context(files, {}, None)
    _read_file(options, text, source, section, ctx, stack=(f"{source}:{section}",), origin="", main=True)
    _substitute(options, ctx)


class _ReadFileMapping(dict):
    """A read_file callable seen as the path -> text mapping the reader wants."""

    def __init__(self, read_file: Callable[[str], str]) -> None:
        super().__init__()
        self._read = read_file

    def get(self, path, default=None):
        try:
            return self._read(path)
        except (KeyError, OSError):
            return default


_INCLUDES = frozenset({"ini", "inherit", "include"})
_MAX_DEPTH = 16
# Magic variables uWSGI expands when it reads a file (core/utils.c uwsgi_open_and_read magic table).
_MAGIC = frozenset("dpsnec")


@dataclass
class _Context:
    files: Mapping[str, str]
    file_errors: Mapping[str, str]
    env: Mapping[str, str] | None
    last: tuple[str, str] | None = None  # the file read last: ``ini = :section`` means that one


def _split_spec(spec: str) -> tuple[str, str]:
    """ "path.ini:section" -> (path, section); a bare ":section" names the current file."""
    head, colon, tail = spec.rpartition(":")
    if colon and "/" not in tail and tail and ("://" not in spec or spec.rfind("/") < len(head)):
        return head, tail
    return spec, "uwsgi"


def _magic(text: str, path: str) -> str:
    """%d %p %s %n %e %c of the file being read; %% is a literal %."""
    absolute = path if path.startswith("/") else os.path.join("/", path)
    directory = os.path.dirname(absolute)
    name = os.path.basename(absolute)
    stem, dot, ext = name.rpartition(".")
    values = {
        "d": directory.rstrip("/") + "/",
        "p": absolute,
        "s": name,
        "n": stem if dot else name,
        "e": ext if dot else "",
        "c": os.path.basename(directory),
    }
    return re.sub(r"%([%dpsnec])", lambda m: "%" if m.group(1) == "%" else values[m.group(1)], text)


def _read_file(
    options: UwsgiOptions,
    text: str,
    source: str,
    section: str,
    ctx: _Context,
    stack: tuple[str, ...],
    origin: str,
    main: bool = False,
) -> None:
    if "\x00" in text:
        if main:
            raise UwsgiError(f"{source}: binary data (NUL byte), not a uWSGI ini file")
        _mark_unread(options, source, origin, "binary data, not a uWSGI ini file")
        return
    options.files_read.append(source)
    ctx.last = (source, text)
    text = _magic(text, source)
    current = None
    found = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip(" \t\r")
        if not line:
            continue
        if line.startswith("["):
            current = line[1:-1] if line.endswith("]") else line[1:]  # uWSGI cuts the last character
            found = found or current == section
            continue
        if line.startswith((";", "#")) or current != section:
            continue
        key, sep, value = line.partition("=")
        key = key.strip(" \t\r")
        name = _canonical(key)
        value = value.strip(" \t\r") if sep else "true"
        here = f"{source}:{lineno}"
        if name in _INCLUDES:
            _include(options, name, value, here, ctx, stack)
            continue
        if name in ("set-placeholder", "set-ph"):
            ph_key, _, ph_value = value.partition("=")
            options.settings.append(Setting("\x00placeholder", ph_value, here, key=ph_key.strip()))
            continue
        options.settings.append(Setting(name, value, here, key=key))
    if not found and main:
        raise UwsgiError(f"{source}: no [{section}] section, not a uWSGI ini file")


def _mark_unread(options: UwsgiOptions, path: str, origin: str, reason: str) -> None:
    options.unread.append(Unread(path, origin or "argv", reason))
    options.settings.append(Setting(UNREAD, path, origin or "argv"))
    options.config_files.append(path)


def _include(
    options: UwsgiOptions,
    kind: str,
    spec: str,
    origin: str,
    ctx: _Context,
    stack: tuple[str, ...],
) -> None:
    """``ini``/``inherit``/``include``: the file's options apply here, as uWSGI's immediate options do."""
    path, section = _split_spec(spec)
    if re.search(r"[$%@]\(", path):
        _mark_unread(options, path, origin, f"its path '{spec}' depends on a placeholder, read only at run time")
        return
    if path == "" and ctx.last is not None:  # core/ini.c: the last file uWSGI read, not this one
        path, text = ctx.last
    elif "://" in path:
        _mark_unread(options, path, origin, "uWSGI fetches it through a URL scheme, not from a file")
        return
    elif not path.endswith(".ini") and kind == "include":
        _mark_unread(options, path, origin, "not an ini file (xml/yaml/json configs are not read here)")
        return
    else:
        text = ctx.files.get(path)
        if text is None:
            why = ctx.file_errors.get(path) or "the probe did not fetch it"
            _mark_unread(options, path, origin, why)
            return
    if len(stack) > _MAX_DEPTH or f"{path}:{section}" in stack:
        _mark_unread(options, path, origin, "include loop")
        return
    _read_file(options, text, path, section, ctx, stack + (f"{path}:{section}",), origin)


_PLACEHOLDER = re.compile(r"([$%@])\(([^()]*)\)")


def _substitute(options: UwsgiOptions, ctx: _Context) -> None:
    """uwsgi_apply_config_pass for '$' (environment), '%' (options), '@' (file contents)."""
    exported = [s for s in options.settings if s.name != UNREAD]
    placeholder_names = {s.key for s in exported}

    def lookup(kind: str, key: str) -> tuple[str | None, str | None]:
        if kind == "$":
            if ctx.env is None:
                return None, f"$({key}) comes from the uWSGI process's environment, which was not read"
            if key not in ctx.env:
                return None, f"$({key}) is not set in the uWSGI process's environment"
            return ctx.env[key], None
        if kind == "%":
            if re.search(r"[\s+*/-]", key.strip()) and key.strip() not in placeholder_names:
                return None, f"%({key}) is an expression uWSGI computes at run time"
            for setting in exported:
                if setting.key == key:
                    return setting.value, None
            if options.unread:
                return None, f"%({key}) may be set in {options.unread[0].path}, which could not be read"
            return None, (f"%({key}) names no option or placeholder of the files read "
                          f"(uWSGI then keeps the literal text)")
        text = ctx.files.get(key)
        if text is None:
            reason = ctx.file_errors.get(key) or "not fetched"
            return None, f"@({key}) is the content of {key}, which could not be read ({reason})"
        return text.rstrip("\r\n"), None

    for _ in range(8):  # placeholders may name options that hold placeholders
        changed = False
        for index, setting in enumerate(options.settings):
            if setting.name == UNREAD or setting.unknown or not _PLACEHOLDER.search(setting.value):
                continue
            unknown = None

            def replace(match: re.Match) -> str:
                nonlocal unknown
                value, why = lookup(match.group(1), match.group(2))
                if value is None:
                    unknown = unknown or why
                    return match.group(0)
                return value

            new = _PLACEHOLDER.sub(replace, setting.value)
            if new != setting.value or unknown:
                options.settings[index] = Setting(setting.name, new, setting.origin, setting.key,
                                                  unknown if not _PLACEHOLDER.search(new) or unknown else None)
                if new != setting.value:
                    changed = True
                    exported = [s for s in options.settings if s.name != UNREAD]
        if not changed:
            break
    # what is still not substituted is unknown
    for index, setting in enumerate(options.settings):
        if setting.name != UNREAD and not setting.unknown and _PLACEHOLDER.search(setting.value):
            match = _PLACEHOLDER.search(setting.value)
            options.settings[index] = Setting(setting.name, setting.value, setting.origin, setting.key,
                                              f"{match.group(0)} could not be resolved")
