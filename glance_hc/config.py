"""A parsed model of glance-api.conf, as glance-api itself would read it.

Checks need to know which stores an upload can land in, where their bytes go,
and which options make an upload fail before a byte flows. Option names,
defaults and messages below come from glance 33.0.0 / glance_store 5.7.0
sources (glance/common/config.py, glance/common/wsgi_app.py,
glance_store/backend.py, glance_store/multi_backend.py,
glance_store/_drivers/*.py, oslo_log/_options.py); the module docstrings and
comments name the file each fact comes from.

Parsing follows oslo.config: section names other than ``DEFAULT`` are
case-insensitive, keys are case-sensitive, ``DEFAULT`` does not leak into
other sections, a repeated key keeps its last value except for MultiStrOpt
options (``filesystem_store_datadirs``) which collect every value, and a value
wrapped in matching quotes loses them. Drop-in files are read after the main
file, as oslo.config's ``_parse_config_files`` reads its config dirs (each dir's
``*.conf`` in sorted order): a later file's value wins, multi-valued options
collect across files, and every value remembers the file and line it came from.
"""
from __future__ import annotations

import configparser
import os
import re
import stat
from dataclasses import dataclass, field

from glance_hc.redact import is_secret_name
from glance_hc.sizes import SizeError, parse_glance_quota, parse_size, shorten

DEFAULT_SECTION = "DEFAULT"
GLANCE_STORE_SECTION = "glance_store"
BACKEND_DEFAULTS_SECTION = "backend_defaults"  # glance_store/driver.py SHARED_CONF_GROUP
STAGING_STORE = "os_glance_staging_store"  # glance/common/wsgi_app.py RESERVED_STORES
TASKS_STORE = "os_glance_tasks_store"

# glance_store/_drivers/filesystem.py: filesystem_store_datadir default.
FILESYSTEM_DATADIR_DEFAULT = "/var/lib/glance/images"
# glance_store/multi_backend.py register_store_opts: reserved store datadir default.
RESERVED_DATADIR_DEFAULT = "/var/lib/glance/{}"
# glance/common/config.py node_staging_uri default.
NODE_STAGING_URI_DEFAULT = "file:///tmp/staging/"
# glance_store/backend.py: stores / default_store defaults.
LEGACY_STORES_DEFAULT = ("file", "http")
LEGACY_DEFAULT_STORE_DEFAULT = "file"
# glance_store/_drivers/rbd.py: DEFAULT_POOL; rbd_store_user defaults to None
# ("let librados decide", i.e. client.admin); rbd_store_ceph_conf defaults to ""
# (librados searches its standard locations, /etc/ceph/ceph.conf first).
RBD_POOL_DEFAULT = "images"
RBD_USER_LIBRADOS_DEFAULT = "admin"
RBD_CEPH_CONF_DEFAULT = "/etc/ceph/ceph.conf"
CEPH_CLUSTER = "ceph"  # glance never passes a cluster name to librados
# Ceph's default "keyring" search list.
CEPH_KEYRING_SEARCH = (
    "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin"
)
# glance_store/_drivers/swift/store.py DEFAULT_CONTAINER, swift/utils.py default_swift_reference.
SWIFT_CONTAINER_DEFAULT = "glance"
SWIFT_REFERENCE_DEFAULT = "ref1"
# glance_store/_drivers/s3.py DEFAULT_LARGE_OBJECT_SIZE (100 MiB), DEFAULT_LARGE_OBJECT_CHUNK_SIZE
# (10 MiB), DEFAULT_THREAD_POOLS (10)
S3_LARGE_OBJECT_SIZE_DEFAULT = 100 << 20
S3_CHUNK_SIZE_DEFAULT = 10 << 20
S3_THREAD_POOLS_DEFAULT = 10
# glance/common/config.py image_size_cap: IntOpt default 1 TiB, min=1.
IMAGE_SIZE_CAP_DEFAULT = 1099511627776
# glance/image_cache/__init__.py (Glance 33): 10 GiB, 24 h, the driver keeping its records in Glance's DB
IMAGE_CACHE_MAX_SIZE_DEFAULT = 10 * 1024 ** 3
IMAGE_CACHE_STALL_TIME_DEFAULT = 86400
IMAGE_CACHE_DRIVER_DEFAULT = "centralized_db"
IMAGE_SIZE_CAP_MIN = 1
IMAGE_SIZE_CAP_MAX = 9223372036854775808

# Store driver entry points (glance_store setup.cfg [glance_store.drivers]).
DRIVER_TYPES = {
    "file": "file",
    "http": "http",
    "rbd": "rbd",
    "swift": "swift",
    "cinder": "cinder",
    "s3": "s3",
    "vmware": "vmware",
    "glance.store.filesystem.Store": "file",
    "glance.store.http.Store": "http",
    "glance.store.rbd.Store": "rbd",
    "glance.store.swift.Store": "swift",
    "glance.store.cinder.Store": "cinder",
    "glance.store.s3.Store": "s3",
    "glance.store.vmware_datastore.Store": "vmware",
}
KNOWN_TYPES = ("file", "rbd", "swift", "cinder", "s3", "http", "vmware")
UNKNOWN_TYPE = "unknown"
# Schemes each driver registers (get_schemes() in glance_store/_drivers/*).
SCHEME_TYPES = {
    "file": "file",
    "filesystem": "file",
    "http": "http",
    "https": "http",
    "swift": "swift",
    "swift+http": "swift",
    "swift+https": "swift",
    "swift+config": "swift",
    "rbd": "rbd",
    "cinder": "cinder",
    "vsphere": "vmware",
    "s3": "s3",
    "s3+http": "s3",
    "s3+https": "s3",
}

# oslo_config/types.py Boolean.
_TRUE = ("true", "1", "on", "yes")
_FALSE = ("false", "0", "off", "no")

# MultiStrOpt options: every occurrence counts, not only the last.
MULTI_VALUED = frozenset({"filesystem_store_datadirs"})

# Options from [DEFAULT] (and friends) that decide whether an upload succeeds.
_UPLOAD_OPTIONS = (
    (DEFAULT_SECTION, "enabled_backends"),
    (DEFAULT_SECTION, "image_size_cap"),
    (DEFAULT_SECTION, "user_storage_quota"),
    (DEFAULT_SECTION, "use_keystone_limits"),
    (DEFAULT_SECTION, "node_staging_uri"),
    (DEFAULT_SECTION, "enabled_import_methods"),
    (DEFAULT_SECTION, "client_socket_timeout"),
    (DEFAULT_SECTION, "workers"),
    (DEFAULT_SECTION, "image_cache_dir"),
    (DEFAULT_SECTION, "image_cache_driver"),
    (DEFAULT_SECTION, "image_cache_max_size"),
    (DEFAULT_SECTION, "image_cache_stall_time"),
    (DEFAULT_SECTION, "do_secure_hash"),
    (DEFAULT_SECTION, "hashing_algorithm"),
    (GLANCE_STORE_SECTION, "default_backend"),
    (GLANCE_STORE_SECTION, "stores"),
    (GLANCE_STORE_SECTION, "default_store"),
    ("task", "work_dir"),
    ("paste_deploy", "flavor"),
    ("wsgi", "task_pool_threads"),
)


class ConfigError(ValueError):
    """glance-api.conf cannot be read at all (not ini, binary, empty)."""


def oslo_config_dirs(prog: str = "uwsgi", home: str | None = None, project: str = "glance") -> list[list[str]]:
    """The drop-in directories oslo.config looks for, as candidate lists in reading order.

    oslo_config/cfg.py find_config_dirs: one dir for the project and one for the program
    (``basename(sys.argv[0])``; under uWSGI that is ``uwsgi``, for the old standalone server
    ``glance-api``), each the first of ~/.glance/, ~/, /etc/glance/, /etc/ that exists. The
    config dir of OS_GLANCE_CONFIG_DIR plays no part in it. Of each inner list only the first
    existing directory counts; its ``*.conf`` files are read in sorted order.
    """
    dirs = []
    for name in dict.fromkeys([project, prog]):
        candidates = []
        if home:
            candidates += [os.path.join(home, f".{project}", f"{name}.conf.d"), os.path.join(home, f"{name}.conf.d")]
        candidates += [f"/etc/{project}/{name}.conf.d", f"/etc/{name}.conf.d"]
        dirs.append(candidates)
    return dirs


def order_dropins(dropins) -> tuple[list[tuple[str, object]], list[tuple[str, str]]]:
    """Drop-ins in the order oslo.config reads them, and those it never reads (with why).

    Directories keep the order they are given in; inside one, the ``*.conf`` files in sorted
    order (glob skips hidden files); anything else in the directory is not read at all.
    """
    groups: dict[str, list[tuple[str, object]]] = {}
    ignored: list[tuple[str, str]] = []
    for path, text in dropins or ():
        directory, name = os.path.split(str(path))
        if not name.endswith(".conf") or name.startswith("."):
            ignored.append((str(path), "not a *.conf file: oslo.config does not read it"))
            continue
        groups.setdefault(directory, []).append((str(path), text))
    ordered = [item for files in groups.values() for item in sorted(files, key=lambda entry: entry[0])]
    return ordered, ignored


@dataclass(frozen=True)
class RawValue:
    """One assignment as written, with the file and line it came from (for evidence)."""

    value: str
    line: int
    source: str = ""


@dataclass
class Store:
    """One store an upload can be sent to.

    Multistore: one per ``enabled_backends`` entry, options read from the
    backend's own section, then ``[backend_defaults]``, then the driver default
    (glance_store/driver.py BackendGroupConfiguration). Legacy: only the
    ``default_store``, options read from ``[glance_store]``.
    Type-specific fields stay None/empty for other types.
    """

    name: str
    type: str
    declared_type: str
    section: str
    section_exists: bool
    is_default: bool = False
    description: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # its section, secrets left out
    # file
    datadirs: list[str] = field(default_factory=list)
    datadir_option: str | None = None  # option the dirs came from; None = driver default
    file_perm: int | None = None
    # rbd
    pool: str | None = None
    user: str | None = None  # as configured; None = librados default (client.admin)
    ceph_conf: str | None = None
    keyring: str | None = None
    # swift
    swift_auth_address: str | None = None
    swift_container: str | None = None
    swift_config_file: str | None = None
    swift_reference: str | None = None
    # s3 (glance_store/_drivers/s3.py; its keys stay in `sections`, never here)
    s3_host: str | None = None
    s3_bucket: str | None = None
    s3_create_bucket_on_put: bool = False
    s3_url_format: str = "auto"
    s3_large_object_size: int = S3_LARGE_OBJECT_SIZE_DEFAULT      # bytes (the option is in MiB)
    s3_large_object_chunk_size: int = S3_CHUNK_SIZE_DEFAULT       # bytes (the option is in MiB)
    s3_thread_pools: int = S3_THREAD_POOLS_DEFAULT

    @property
    def effective_rbd_user(self) -> str | None:
        """The cephx id librados will use (``admin`` when none is configured)."""
        if self.type != "rbd":
            return None
        return self.user or RBD_USER_LIBRADOS_DEFAULT


@dataclass(frozen=True)
class DirSetting:
    """A directory glance writes to outside the stores (staging, tasks, cache)."""

    path: str | None
    option: str  # "[section] option" that sets it
    explicit: bool  # False when the path is the built-in default


@dataclass
class GlanceConfig:
    """What glance-api would make of one glance-api.conf."""

    source: str
    sections: dict[str, dict[str, list[RawValue]]] = field(repr=False)  # holds secrets
    enabled_backends: dict[str, str]
    default_backend: str | None
    legacy_stores: list[str]
    default_store: str
    stores: list[Store]
    staging: DirSetting
    tasks: DirSetting
    image_cache: DirSetting | None  # set only when the paste flavor enables caching
    caching_enabled: bool
    paste_flavor: str | None
    # glance/image_cache/__init__.py options: a threshold the pruner acts on, never a hard limit
    image_cache_max_size: int
    image_cache_stall_time: int
    image_cache_driver: str
    image_size_cap: int
    user_storage_quota: int  # bytes, 0 = unlimited (glance/api/common.py)
    use_keystone_limits: bool
    client_socket_timeout: int | None  # None = not set (eventlet-era option; default 900)
    workers: int | None
    log_file: str | None
    log_dir: str | None
    use_journal: bool
    use_stderr: bool
    use_syslog: bool
    debug: bool
    log_config_append: str | None
    _problems: list[str] = field(default_factory=list, repr=False)
    dropins: list[str] = field(default_factory=list)  # drop-in files read, in reading order
    ignored_dropins: list[tuple[str, str]] = field(default_factory=list)  # (path, why not read)
    # option -> why glance cannot use its value (it fails uploads rather than apply a limit)
    limit_errors: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ parse
    @classmethod
    def parse(
        cls, text: str | bytes, source: str = "glance-api.conf", dropins=None
    ) -> GlanceConfig:
        """Parse glance-api.conf, then its drop-ins ((path, text) pairs) as oslo.config would.

        ConfigError when a file is not a usable ini file (oslo.config refuses a drop-in that
        does not parse, so glance-api does not start either). An empty drop-in is fine.
        """
        sections = _read_ini(text, source)
        ordered, ignored = order_dropins(dropins)
        for path, dropin_text in ordered:
            for name, options in _read_ini(dropin_text, path, allow_empty=True).items():
                merged = sections.setdefault(name, {})
                for key, values in options.items():
                    merged.setdefault(key, []).extend(values)
        config = _build(sections, source, [source, *(path for path, _ in ordered)])
        config.dropins = [path for path, _ in ordered]
        config.ignored_dropins = ignored
        return config

    @property
    def sources(self) -> list[str]:
        """Every file this model was read from, the main file first."""
        return [self.source, *self.dropins]

    # ---------------------------------------------------------------- access
    @property
    def multistore(self) -> bool:
        """glance uses enabled_backends (multistore) as soon as it is non-empty."""
        return bool(self.enabled_backends)

    @property
    def default_upload_store(self) -> Store | None:
        """The store an upload without a backend header lands in."""
        for store in self.stores:
            if store.is_default:
                return store
        return None

    def store(self, name: str) -> Store | None:
        for candidate in self.stores:
            if candidate.name == name:
                return candidate
        return None

    def has_section(self, section: str) -> bool:
        return _norm_section(section) in self.sections

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        """Last value of an option, as oslo.config would read a StrOpt."""
        values = self.sections.get(_norm_section(section), {}).get(key)
        return values[-1].value if values else default

    def get_all(self, section: str, key: str) -> list[str]:
        """Every value of an option (MultiStrOpt semantics)."""
        return [v.value for v in self.sections.get(_norm_section(section), {}).get(key, [])]

    def where(self, section: str, key: str) -> str:
        """ "glance-api.conf [fast] filesystem_store_datadir (line 18)" for evidence.

        Names the file the value in effect came from (a drop-in overrides the main file).
        """
        values = self.sections.get(_norm_section(section), {}).get(key)
        if values:
            return f"{values[-1].source or self.source} [{section}] {key} (line {values[-1].line})"
        also = f" nor its {len(self.dropins)} drop-in(s)" if self.dropins else ""
        return f"{self.source} [{section}] {key} (not set in it{also})"

    def log_path(self, binary: str = "glance-api") -> str | None:
        """Log file oslo.log writes to (oslo_log/log.py _get_log_file_path)."""
        if self.log_config_append:
            return None
        if self.log_file and not self.log_dir:
            return self.log_file
        if self.log_file and self.log_dir:
            return os.path.join(self.log_dir, self.log_file)
        if self.log_dir:
            return f"{os.path.join(self.log_dir, binary)}.log"
        return None

    def problems(self) -> list[str]:
        """Coherence findings, one sentence each, naming option and value."""
        return list(self._problems)

    def upload_options(self) -> dict[str, str]:
        """Options that matter for uploads, keyed "[section] option", secrets left out.

        Host-specific values (bind addresses, worker_self_reference_url) are not
        included so that the dicts of two controllers can be compared as they are.
        """
        result: dict[str, str] = {}
        for section, key in _UPLOAD_OPTIONS:
            values = self.get_all(section, key)
            if values:
                result[f"[{section}] {key}"] = _effective(key, values)
        store_sections = [store.section for store in self.stores]
        store_sections += [BACKEND_DEFAULTS_SECTION, STAGING_STORE, TASKS_STORE]
        if not self.multistore:
            store_sections = [GLANCE_STORE_SECTION]
        for section in dict.fromkeys(store_sections):
            for key, values in self.sections.get(_norm_section(section), {}).items():
                if is_secret_name(key):
                    continue
                result[f"[{section}] {key}"] = _effective(key, [v.value for v in values])
        return dict(sorted(result.items()))


def ceph_keyring_candidates(user: str | None, ceph_conf_text: str | None = None) -> list[str]:
    """Keyring files librados will try for ``client.<user>``, first one first.

    Uses the ``keyring`` option of ``[client.<user>]``, ``[client]`` or
    ``[global]`` in ceph.conf when given, else Ceph's default search list.
    """
    user = user or RBD_USER_LIBRADOS_DEFAULT
    name = f"client.{user}"
    configured = None
    if ceph_conf_text:
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        parser.optionxform = lambda key: key.strip().replace(" ", "_")
        try:
            parser.read_string(ceph_conf_text)
        except configparser.Error:
            parser = None
        if parser is not None:
            for section in (name, "client", "global"):
                if parser.has_option(section, "keyring"):
                    configured = parser.get(section, "keyring")
                    break
    template = configured or CEPH_KEYRING_SEARCH
    candidates = []
    for entry in re.split(r"[,;\s]+", template.strip()):
        if entry:
            entry = entry.replace("$cluster", CEPH_CLUSTER).replace("$name", name).replace("$id", user)
            candidates.append(entry)
    return candidates


# ---------------------------------------------------------------------- reading
def _norm_section(name: str) -> str:
    """oslo_config/cfg.py _normalize_group_name: DEFAULT exact, others lower-case."""
    return name if name == DEFAULT_SECTION else name.lower()


def _unquote(value: str) -> str:
    """oslo_config/iniparser.py strips one pair of matching quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _joined(values: list[str]) -> str:
    return ", ".join(values)


def _effective(key: str, values: list[str]) -> str:
    """What glance uses: every value of a MultiStrOpt, else the last one (a drop-in's)."""
    return _joined(values) if key in MULTI_VALUED else values[-1]


def _read_ini(
    text: str | bytes, source: str, allow_empty: bool = False
) -> dict[str, dict[str, list[RawValue]]]:
    """Validate with configparser, then collect every assignment with its line."""
    if isinstance(text, bytes):
        if b"\x00" in text:
            line = text.count(b"\n", 0, text.index(b"\x00")) + 1
            raise ConfigError(f"{source}: line {line}: binary data (NUL byte), not an ini file")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            message = f"{source}: line {line}: binary data (not UTF-8 text), not an ini file"
            raise ConfigError(message) from None
    _reject_binary(text, source)
    if not any(line.strip() and not line.lstrip().startswith(("#", ";")) for line in text.splitlines()):
        if allow_empty:  # oslo.config reads an empty drop-in as nothing at all
            return {}
        raise ConfigError(f"{source}: line 1: empty file (no sections, no options)")

    parser = configparser.RawConfigParser(
        strict=False,
        interpolation=None,
        default_section="\x00no-default-section",  # DEFAULT must not leak into sections
        empty_lines_in_values=False,  # oslo ends a multi-line value at a blank line
        comment_prefixes=("#", ";"),
        inline_comment_prefixes=None,
    )
    parser.optionxform = str  # keys are case-sensitive for oslo.config
    try:
        parser.read_string(text, source=source)
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(
            f"{source}: line {exc.lineno}: not an ini file, option before any [section]: "
            f"{_short(exc.line)}"
        ) from None
    except configparser.ParsingError as exc:
        lineno, line = exc.errors[0]
        raise ConfigError(f"{source}: line {lineno}: not an ini file, cannot parse {_short(line)}") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{source}: line {getattr(exc, 'lineno', '?')}: not an ini file: {first}") from None
    if not parser.sections():
        raise ConfigError(f"{source}: line 1: empty file (no sections)")
    return _collect(text, source)


def _reject_binary(text: str, source: str) -> None:
    """A NUL or a run of control characters means this is not a text config."""
    for index, char in enumerate(text):
        if char == "\x00" or (ord(char) < 32 and char not in "\t\n\r\f\v") or char == "\ufffd":
            line = text.count("\n", 0, index) + 1
            raise ConfigError(
                f"{source}: line {line}: binary data (control byte {ord(char):#04x}), not an ini file"
            )


def _short(line: str) -> str:
    line = line.strip()
    return repr(line if len(line) <= 60 else line[:57] + "...")


def _collect(text: str, source: str = "") -> dict[str, dict[str, list[RawValue]]]:
    """Every assignment per (normalized) section, in file order (oslo iniparser rules)."""
    sections: dict[str, dict[str, list[RawValue]]] = {}
    current: dict[str, list[RawValue]] | None = None
    key: str | None = None
    parts: list[str] = []
    start = 0

    def flush() -> None:
        nonlocal key, parts
        if key is not None and current is not None:
            current.setdefault(key, []).append(RawValue(_unquote("\n".join(parts).strip()), start, source))
        key, parts = None, []

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            flush()
            continue
        if line[0] in " \t":
            stripped = line.lstrip()
            if key is not None and not stripped.startswith(("#", ";")):
                parts.append(stripped)
            continue
        flush()
        if line.startswith("["):
            name = line.strip()[1:-1].strip() if line.strip().endswith("]") else line[1:]
            current = sections.setdefault(_norm_section(name), {})
        elif line.startswith(("#", ";")):
            continue
        else:
            colon, equal = line.find(":"), line.find("=")
            if colon < 0 and equal < 0:
                continue
            cut = equal if colon < 0 or (0 <= equal < colon) else colon
            key, parts, start = line[:cut].strip(), [line[cut + 1 :].strip()], lineno
    flush()
    return sections


# ---------------------------------------------------------------------- building
class _Reader:
    """Typed option access that records a problem instead of raising."""

    def __init__(
        self, sections: dict[str, dict[str, list[RawValue]]], source: str, files: list[str] | None = None
    ) -> None:
        self.sections = sections
        self.source = source
        self.problems: list[str] = []
        self.limit_errors: dict[str, str] = {}
        self._rank = {name: index for index, name in enumerate(files or [source])}

    def _latest(self, section: str, keys: tuple[str, ...]) -> RawValue | None:
        """oslo reads the newest file first and takes the first name set there (the real name
        before deprecated ones); inside one file the last assignment counts."""
        options = self.sections.get(_norm_section(section), {})
        best: tuple[int, int] | None = None
        found = None
        for order, key in enumerate(keys):
            if key in options:
                value = options[key][-1]
                rank = (self._rank.get(value.source or self.source, 0), -order)
                if best is None or rank > best:
                    best, found = rank, value
        return found

    def origin(self, section: str, *keys: str) -> str:
        """ " (in drop-in /etc/glance/glance.conf.d/10-cap.conf)" when a drop-in set it, else ""."""
        value = self._latest(section, keys)
        if value is None or not value.source or value.source == self.source:
            return ""
        return f" (in drop-in {value.source}, line {value.line})"

    def has(self, section: str) -> bool:
        return _norm_section(section) in self.sections

    def raw(self, section: str, *keys: str) -> str | None:
        """Value in effect of the first of `keys` (deprecated names after the real one)."""
        value = self._latest(section, keys)
        return value.value if value is not None else None

    def all(self, section: str, key: str) -> list[str]:
        return [v.value for v in self.sections.get(_norm_section(section), {}).get(key, [])]

    def options(self, section: str) -> dict[str, str]:
        return {k: v[-1].value for k, v in self.sections.get(_norm_section(section), {}).items()}

    def boolean(self, section: str, key: str, default: bool, *aliases: str) -> bool:
        value = self.raw(section, key, *aliases)
        if value is None or value == "":
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problems.append(
            f"[{section}] {key} = {value} is not a boolean (true/false/yes/no/on/off/1/0): "
            "oslo.config rejects it when glance reads the option."
        )
        return default

    def integer(self, section: str, key: str) -> int | None:
        value = self.raw(section, key)
        if value is None or value.strip() == "":
            return None
        try:
            return int(value.strip())
        except ValueError:
            self.problems.append(
                f"[{section}] {key} = {value} is not an integer: oslo.config rejects it "
                "when glance reads the option."
            )
            return None


def _build(
    sections: dict[str, dict[str, list[RawValue]]], source: str, files: list[str] | None = None
) -> GlanceConfig:
    reader = _Reader(sections, source, files)
    problems = reader.problems

    enabled_backends = _parse_enabled_backends(reader)
    default_backend = reader.raw(GLANCE_STORE_SECTION, "default_backend") or None
    legacy_raw = reader.raw(GLANCE_STORE_SECTION, "stores")
    legacy_stores = (
        [s.strip() for s in legacy_raw.strip().rstrip(",").split(",") if s.strip()]
        if legacy_raw is not None
        else list(LEGACY_STORES_DEFAULT)
    )
    default_store = reader.raw(GLANCE_STORE_SECTION, "default_store") or LEGACY_DEFAULT_STORE_DEFAULT

    if enabled_backends:
        stores = [
            _make_store(reader, name, declared, name, multistore=True, is_default=(name == default_backend))
            for name, declared in enabled_backends.items()
        ]
        _multistore_problems(reader, enabled_backends, default_backend, stores)
    else:
        stores = _legacy_stores(reader, legacy_stores, default_store)

    for store in stores:
        _store_problems(reader, store)

    staging, tasks = _reserved_dirs(reader, multistore=bool(enabled_backends))
    paste_flavor = reader.raw("paste_deploy", "flavor")
    caching_enabled = bool(paste_flavor and "cach" in paste_flavor)
    image_cache = None
    if caching_enabled:
        cache_dir = reader.raw(DEFAULT_SECTION, "image_cache_dir") or None
        image_cache = DirSetting(cache_dir, f"[{DEFAULT_SECTION}] image_cache_dir", cache_dir is not None)
        if cache_dir is None:
            problems.append(
                f"[paste_deploy] flavor = {paste_flavor} enables the image cache but "
                "[DEFAULT] image_cache_dir is not set: glance logs "
                "'Failed to read image_cache_dir from config'."
            )

    image_size_cap = _image_size_cap(reader)
    user_storage_quota = _user_storage_quota(reader)
    use_keystone_limits = reader.boolean(DEFAULT_SECTION, "use_keystone_limits", False)
    if use_keystone_limits and user_storage_quota:
        problems.append(
            f"[DEFAULT] user_storage_quota = {reader.raw(DEFAULT_SECTION, 'user_storage_quota')} "
            "has no effect "
            "because use_keystone_limits = true (Keystone unified limits apply instead)."
        )

    return GlanceConfig(
        source=source,
        sections=sections,
        enabled_backends=enabled_backends,
        default_backend=default_backend,
        legacy_stores=legacy_stores,
        default_store=default_store,
        stores=stores,
        staging=staging,
        tasks=tasks,
        image_cache=image_cache,
        caching_enabled=caching_enabled,
        paste_flavor=paste_flavor,
        image_cache_max_size=_non_negative(reader, "image_cache_max_size", IMAGE_CACHE_MAX_SIZE_DEFAULT),
        image_cache_stall_time=_non_negative(reader, "image_cache_stall_time", IMAGE_CACHE_STALL_TIME_DEFAULT),
        image_cache_driver=(reader.raw(DEFAULT_SECTION, "image_cache_driver") or "").strip()
        or IMAGE_CACHE_DRIVER_DEFAULT,
        image_size_cap=image_size_cap,
        user_storage_quota=user_storage_quota,
        use_keystone_limits=use_keystone_limits,
        client_socket_timeout=reader.integer(DEFAULT_SECTION, "client_socket_timeout"),
        workers=reader.integer(DEFAULT_SECTION, "workers"),
        log_file=reader.raw(DEFAULT_SECTION, "log_file", "log-file", "logfile") or None,
        log_dir=reader.raw(DEFAULT_SECTION, "log_dir", "log-dir", "logdir") or None,
        use_journal=reader.boolean(DEFAULT_SECTION, "use_journal", False, "use-journal"),
        use_stderr=reader.boolean(DEFAULT_SECTION, "use_stderr", False),
        use_syslog=reader.boolean(DEFAULT_SECTION, "use_syslog", False, "use-syslog"),
        debug=reader.boolean(DEFAULT_SECTION, "debug", False),
        log_config_append=reader.raw(DEFAULT_SECTION, "log_config_append", "log-config-append", "log_config")
        or None,
        _problems=problems,
        limit_errors=reader.limit_errors,
    )


def _parse_enabled_backends(reader: _Reader) -> dict[str, str]:
    """oslo_config/types.py Dict: "a:file, b:rbd"; a piece without ':' joins the next."""
    raw = reader.raw(DEFAULT_SECTION, "enabled_backends")
    if raw is None or raw.strip() == "":
        return {}
    result: dict[str, str] = {}
    pieces = raw.strip().split(",")
    while pieces:
        piece = pieces.pop(0)
        while ":" not in piece and pieces:
            piece += "," + pieces.pop(0)
        if ":" not in piece:
            reader.problems.append(
                f"[DEFAULT] enabled_backends = {raw} is not a list of name:type pairs "
                "separated by ',': oslo.config rejects it and glance-api does not start."
            )
            return result
        key, value = (part.strip() for part in piece.split(":", 1))
        if key == "" or key in result:
            reader.problems.append(
                f"[DEFAULT] enabled_backends = {raw} has an empty or duplicate store name "
                f"'{key}': oslo.config rejects it and glance-api does not start."
            )
            continue
        result[key] = value
    return result


def _option(reader: _Reader, section: str, key: str, multistore: bool) -> str | None:
    """Backend section first, then [backend_defaults] (multistore only)."""
    value = reader.raw(section, key)
    if value is None and multistore:
        value = reader.raw(BACKEND_DEFAULTS_SECTION, key)
    return value


def _make_store(
    reader: _Reader, name: str, declared: str, section: str, *, multistore: bool, is_default: bool
) -> Store:
    store_type = DRIVER_TYPES.get(declared, UNKNOWN_TYPE)
    store = Store(
        name=name,
        type=store_type,
        declared_type=declared,
        section=section,
        section_exists=reader.has(section),
        is_default=is_default,
        description=reader.raw(section, "store_description") if multistore else None,
        options={k: v for k, v in reader.options(section).items() if not is_secret_name(k)},
    )
    get = lambda key: _option(reader, section, key, multistore)  # noqa: E731
    if store_type == "file":
        datadir = get("filesystem_store_datadir")
        datadirs = reader.all(section, "filesystem_store_datadirs")
        if not datadirs and multistore:
            datadirs = reader.all(BACKEND_DEFAULTS_SECTION, "filesystem_store_datadirs")
        if datadirs:
            store.datadirs = [_strip_priority(d) for d in datadirs]
            store.datadir_option = "filesystem_store_datadirs"
        elif datadir:
            store.datadirs = [datadir]
            store.datadir_option = "filesystem_store_datadir"
        else:
            store.datadirs = [FILESYSTEM_DATADIR_DEFAULT]
        perm = get("filesystem_store_file_perm")
        store.file_perm = _int_or_none(perm) if perm not in (None, "") else 0
    elif store_type == "rbd":
        store.pool = get("rbd_store_pool") or RBD_POOL_DEFAULT
        store.user = get("rbd_store_user") or None
        store.ceph_conf = get("rbd_store_ceph_conf") or RBD_CEPH_CONF_DEFAULT
        store.keyring = f"/etc/ceph/{CEPH_CLUSTER}.client.{store.effective_rbd_user}.keyring"
    elif store_type == "swift":
        store.swift_auth_address = get("swift_store_auth_address")
        store.swift_container = get("swift_store_container") or SWIFT_CONTAINER_DEFAULT
        store.swift_config_file = get("swift_store_config_file")
        store.swift_reference = get("default_swift_reference") or SWIFT_REFERENCE_DEFAULT
    elif store_type == "s3":
        store.s3_host = get("s3_store_host") or None
        store.s3_bucket = get("s3_store_bucket") or None
        store.s3_create_bucket_on_put = (get("s3_store_create_bucket_on_put") or "false").strip().lower() in (
            "true", "1", "yes", "on")
        store.s3_url_format = (get("s3_store_bucket_url_format") or "auto").strip().lower()
        mib = {"s3_store_large_object_size": S3_LARGE_OBJECT_SIZE_DEFAULT,
               "s3_store_large_object_chunk_size": S3_CHUNK_SIZE_DEFAULT}
        for option, default in mib.items():
            number = _int_or_none(get(option)) if get(option) not in (None, "") else None
            setattr(store, option.replace("_store", "", 1), default if number is None else number << 20)
        pools = _int_or_none(get("s3_store_thread_pools")) if get("s3_store_thread_pools") else None
        store.s3_thread_pools = pools if pools and pools > 0 else S3_THREAD_POOLS_DEFAULT
    return store


def _strip_priority(datadir: str) -> str:
    """filesystem.py _get_datadir_path_and_priority: "path:priority" -> path."""
    parts = [part.strip() for part in datadir.rsplit(":", 1)]
    if len(parts) == 2 and re.fullmatch(r"-?\d*", parts[1]):
        return parts[0]
    return datadir.strip()


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _legacy_stores(reader: _Reader, legacy_stores: list[str], default_store: str) -> list[Store]:
    problems = reader.problems
    for entry in legacy_stores:
        if entry not in DRIVER_TYPES:
            problems.append(
                f"[glance_store] stores lists '{entry}', which is not a glance_store driver "
                f"(known: {', '.join(KNOWN_TYPES)}): it is not loaded."
            )
    loaded_types = {DRIVER_TYPES[e] for e in legacy_stores if e in DRIVER_TYPES}
    if not legacy_stores or not loaded_types:
        problems.append(
            f"[glance_store] stores = {reader.raw(GLANCE_STORE_SECTION, 'stores')} enables no store at all: "
            "there is nowhere to upload images."
        )
        return []
    wanted = SCHEME_TYPES.get(default_store)
    if wanted is None or wanted not in loaded_types:
        problems.append(
            f"[glance_store] default_store = {default_store} is not served by stores = "
            f"{', '.join(legacy_stores)}: glance-api refuses to start "
            f"('Store for scheme {default_store} not found')."
        )
    declared = next((e for e in legacy_stores if DRIVER_TYPES.get(e) == wanted), default_store)
    store = _make_store(
        reader, default_store, declared, GLANCE_STORE_SECTION, multistore=False, is_default=True
    )
    if wanted is None:
        store.type = UNKNOWN_TYPE
    return [store]


def _multistore_problems(
    reader: _Reader, enabled: dict[str, str], default_backend: str | None, stores: list[Store]
) -> None:
    problems = reader.problems
    listing = ", ".join(f"{k}:{v}" for k, v in enabled.items())
    reserved = [name for name in enabled if name.startswith("os_glance_")]
    if reserved:
        problems.append(
            f"[DEFAULT] enabled_backends = {listing} uses the reserved name {reserved[0]}: glance-api "
            "refuses to start ('os_glance_' prefix should not be used in enabled_backends config option. "
            "It is reserved for internal use only.')."
        )
    if not default_backend:
        problems.append(
            f"[glance_store] default_backend is not set while enabled_backends = {listing}: glance-api "
            "refuses to start ('default_backend' config option is not set.)."
        )
    elif default_backend not in enabled:
        problems.append(
            f"[glance_store] default_backend = {default_backend} is not among enabled_backends "
            f"({', '.join(enabled)}): glance-api refuses to start ('Store for identifier "
            f"{default_backend} not found')."
        )
    for store in stores:
        if store.type == UNKNOWN_TYPE:
            problems.append(
                f"[DEFAULT] enabled_backends entry {store.name}:{store.declared_type} names an unknown "
                f"store type '{store.declared_type}' (known: {', '.join(KNOWN_TYPES)}): glance_store "
                "cannot load it."
            )
        # The read-only http store needs no options; Kolla and OSA enable it sectionless.
        if not store.section_exists and store.type != "http":
            problems.append(
                f"enabled backend {store.name} ({store.declared_type}) has no [{store.name}] section: "
                "it runs on glance_store defaults only."
            )
    if not any(store.type != UNKNOWN_TYPE for store in stores):
        problems.append(f"[DEFAULT] enabled_backends = {listing} enables no usable store at all.")
    for reserved_name in (STAGING_STORE, TASKS_STORE):
        if reader.raw(reserved_name, "filesystem_store_datadir") is None:
            problems.append(
                f"multistore is on but [{reserved_name}] filesystem_store_datadir is not set: glance "
                f"falls back to {RESERVED_DATADIR_DEFAULT.format(reserved_name)}."
            )
    for legacy in ("stores", "default_store"):
        value = reader.raw(GLANCE_STORE_SECTION, legacy)
        if value is not None:
            problems.append(
                f"[glance_store] {legacy} = {value} is ignored because enabled_backends is set "
                "(use default_backend instead)."
            )


def _store_problems(reader: _Reader, store: Store) -> None:
    problems = reader.problems
    where = f"[{store.section}]"
    if store.is_default and store.type == "http":
        problems.append(
            f"default store {store.name} is of type http, which is read-only in glance_store: "
            "uploads to it cannot succeed."
        )
    if store.type != "file":
        return
    datadir = reader.raw(store.section, "filesystem_store_datadir")
    if store.datadir_option == "filesystem_store_datadirs":
        origin = f"= {datadir}" if datadir else f"(default {FILESYSTEM_DATADIR_DEFAULT})"
        problems.append(
            f"{where} filesystem_store_datadirs is set while filesystem_store_datadir {origin} is also in "
            f"effect: store {store.name} disables adding images (\"Specify either "
            "'filesystem_store_datadir' or 'filesystem_store_datadirs' option\")."
        )
        for entry in reader.all(store.section, "filesystem_store_datadirs"):
            parts = [part.strip() for part in entry.rsplit(":", 1)]
            if len(parts) == 2 and parts[1] and not re.fullmatch(r"-?\d+", parts[1]):
                problems.append(
                    f"{where} filesystem_store_datadirs = {entry} has an invalid priority: store "
                    f"{store.name} disables adding images."
                )
    multistore = store.section != GLANCE_STORE_SECTION
    perm_raw = _option(reader, store.section, "filesystem_store_file_perm", multistore)
    if perm_raw not in (None, "") and store.file_perm is None:
        problems.append(f"{where} filesystem_store_file_perm = {perm_raw} is not an integer.")
    elif store.file_perm and store.file_perm > 0:
        try:
            readable = int(str(store.file_perm), 8) & stat.S_IRUSR
        except ValueError:
            readable = 0
        if not readable:
            problems.append(
                f"{where} filesystem_store_file_perm = {store.file_perm} would make image files unreadable "
                f"by glance: store {store.name} disables adding images (\"Invalid 'filesystem_store_file_perm' "
                "option.\")."
            )


def _reserved_dirs(reader: _Reader, multistore: bool) -> tuple[DirSetting, DirSetting]:
    if multistore:
        dirs = []
        for name in (STAGING_STORE, TASKS_STORE):
            path = reader.raw(name, "filesystem_store_datadir")
            dirs.append(
                DirSetting(
                    path or RESERVED_DATADIR_DEFAULT.format(name),
                    f"[{name}] filesystem_store_datadir",
                    bool(path),
                )
            )
        return dirs[0], dirs[1]
    uri = reader.raw(DEFAULT_SECTION, "node_staging_uri")
    staging_uri = uri or NODE_STAGING_URI_DEFAULT
    if staging_uri.startswith("file://"):
        staging_path: str | None = staging_uri[len("file://") :]
    else:
        staging_path = None
        reader.problems.append(
            f"[DEFAULT] node_staging_uri = {staging_uri} is not a file:// URI: glance logs "
            "'Unexpected scheme in staging store; unable to scan for residue'."
        )
    work_dir = reader.raw("task", "work_dir") or None
    if work_dir is None:
        reader.problems.append(
            "[task] work_dir is not set: image import tasks fail (glance: 'not configured properly. "
            "Missing work dir: None')."
        )
    return (
        DirSetting(staging_path, f"[{DEFAULT_SECTION}] node_staging_uri", uri is not None),
        DirSetting(work_dir, "[task] work_dir", work_dir is not None),
    )


def _non_negative(reader: _Reader, key: str, default: int) -> int:
    """An IntOpt with min=0 of [DEFAULT] (the image cache's): unset or refused, its default (the
    reader records why a value is refused)."""
    value = reader.integer(DEFAULT_SECTION, key)
    return value if value is not None and value >= 0 else default


def _image_size_cap(reader: _Reader) -> int:
    """IntOpt with min=1: glance rejects sizes with units and 0 (no 'unlimited' here).

    A value oslo.config refuses (not an integer, out of range, too long for int()) makes every
    upload fail: it is recorded in `limit_errors`, and the default is returned beside it.
    """
    raw = reader.raw(DEFAULT_SECTION, "image_size_cap")
    if raw is None or raw.strip() == "":
        return IMAGE_SIZE_CAP_DEFAULT
    shown, where = shorten(raw.strip()), reader.origin(DEFAULT_SECTION, "image_size_cap")
    digits = raw.strip().lstrip("+-")
    if digits.isdigit() and len(digits) > 4300:
        message = (f"[DEFAULT] image_size_cap = {shown}{where} has {len(digits)} digits: oslo.config's int() "
                   "of it raises ValueError (Python's 4300-digit limit), so every upload fails.")
        reader.problems.append(message)
        reader.limit_errors["image_size_cap"] = message
        return IMAGE_SIZE_CAP_DEFAULT
    try:
        value = int(raw.strip())
    except ValueError:
        message = (f"[DEFAULT] image_size_cap = {shown}{where} is not an integer number of bytes: oslo.config "
                   "raises ConfigFileValueError when an upload reads it, so uploads fail.")
        reader.problems.append(message)
        reader.limit_errors["image_size_cap"] = message
        try:
            return parse_size(raw)
        except SizeError:
            return IMAGE_SIZE_CAP_DEFAULT
    if value < IMAGE_SIZE_CAP_MIN or value > IMAGE_SIZE_CAP_MAX:
        bound = (
            f"Should be greater than or equal to {IMAGE_SIZE_CAP_MIN}"
            if value < IMAGE_SIZE_CAP_MIN
            else f"Should be less than or equal to {IMAGE_SIZE_CAP_MAX}"
        )
        message = (f"[DEFAULT] image_size_cap = {shown}{where} is out of range: oslo.config raises "
                   f"ConfigFileValueError ('{bound}') when an upload reads it, so uploads fail.")
        reader.problems.append(message)
        reader.limit_errors["image_size_cap"] = message
        return value if value >= 0 else 0
    return value


def _user_storage_quota(reader: _Reader) -> int:
    raw = reader.raw(DEFAULT_SECTION, "user_storage_quota")
    if raw is None:
        return 0
    try:
        return parse_glance_quota(raw)
    except SizeError as exc:
        where = reader.origin(DEFAULT_SECTION, "user_storage_quota")
        if str(exc).startswith("Invalid value"):
            message = (
                f"[DEFAULT] user_storage_quota = {shorten(raw)}{where} is not a number with an optional "
                f"B/KB/MB/GB/TB suffix: glance logs 'Invalid value for option user_storage_quota: "
                f"{shorten(raw)}' and uploads fail."
            )
        else:
            message = f"[DEFAULT] {exc}{where}."
        reader.problems.append(message)
        reader.limit_errors["user_storage_quota"] = message
        try:
            return parse_size(raw)
        except SizeError:
            return 0
