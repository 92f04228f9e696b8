"""haproxy.cfg, reduced to what decides whether a long Glance upload survives.

A large upload dies after a fixed time when the load balancer's client or
server timeout is shorter than the transfer; this module finds the proxies that
carry Glance traffic and the timeouts that actually apply to them, following
haproxy's rules: a proxy's own ``timeout`` wins, else the ``defaults`` section
it inherits from (the last one before it, or the one named with ``from``).
Each ``defaults`` section starts afresh ("Those default parameters are reset by
the next defaults section"), unless it names a parent with ``from``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

GLANCE_PORT = 9292
PROXY_KINDS = ("frontend", "backend", "listen")
SECTION_KINDS = (
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "fcgi-app",
    "crt-store",
    "traces",
)
# Timeouts that matter for an upload, and which side of a proxy reads them.
FRONTEND_TIMEOUTS = ("client", "http-request")
BACKEND_TIMEOUTS = ("server", "connect", "queue", "tunnel")
UPLOAD_TIMEOUTS = ("client", "server", "http-request", "connect", "queue", "tunnel")
# Pre-1.5 spellings, still accepted by old configs.
_LEGACY_TIMEOUTS = {"clitimeout": "client", "srvtimeout": "server", "contimeout": "connect"}
# unit -> (multiplier, divisor); dividing keeps "100us" exactly 0.0001.
_TIME_UNITS = {
    "us": (1, 1_000_000),
    "ms": (1, 1000),
    "s": (1, 1),
    "m": (60, 1),
    "h": (3600, 1),
    "d": (86400, 1),
}
_TIME = re.compile(r"^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)?$")


class HaproxyError(ValueError):
    """haproxy.cfg text that cannot be read (binary, empty, no sections)."""


@dataclass(frozen=True)
class Bind:
    address: str  # "" for "*" / any
    port: int | None
    params: tuple[str, ...]
    raw: str
    line: int


@dataclass(frozen=True)
class Server:
    name: str
    address: str
    port: int | None
    params: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Timeout:
    seconds: float | None  # None when the value cannot be read
    raw: str
    line: int


@dataclass(frozen=True)
class Setting:
    """A timeout or limit as haproxy applies it to one proxy, with where it came from.

    `seconds` None and `unknown` None: not set anywhere (haproxy's own default applies);
    `unknown` set: the text is there but cannot be read (haproxy refuses it, or it depends on
    an environment variable of the haproxy process).
    """

    name: str
    seconds: float | None
    raw: str | None
    where: str
    unknown: str | None = None


@dataclass
class Section:
    """One haproxy section with the directives this suite cares about."""

    kind: str
    name: str | None
    line: int
    from_defaults: str | None = None
    mode: str | None = None
    timeouts: dict[str, Timeout] = field(default_factory=dict)
    binds: list[Bind] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    default_backend: str | None = None
    use_backends: list[tuple[str, str]] = field(default_factory=list)  # (backend, condition)
    directives: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """ "listen glance_api (line 40)" for evidence."""
        name = f" {self.name}" if self.name else ""
        return f"{self.kind}{name} (line {self.line})"


@dataclass
class HaproxyConfig:
    source: str
    sections: list[Section]

    @classmethod
    def parse(cls, text: str | bytes, source: str = "haproxy.cfg") -> HaproxyConfig:
        return parse(text, source)

    def proxies(self, *kinds: str) -> list[Section]:
        kinds = kinds or PROXY_KINDS
        return [s for s in self.sections if s.kind in kinds]

    def find(self, kind: str, name: str) -> Section | None:
        for section in self.sections:
            if section.kind == kind and section.name == name:
                return section
        return None

    def backend(self, name: str) -> Section | None:
        """A backend by name (a ``listen`` section is also a valid use_backend target)."""
        return self.find("backend", name) or self.find("listen", name)

    def defaults_for(self, section: Section) -> Section | None:
        """The defaults section `section` inherits from (named via ``from`` or the last before it)."""
        if section.from_defaults:
            return self._named_defaults(section.from_defaults, before=section.line)
        previous = None
        for candidate in self.sections:
            if candidate.line >= section.line:
                break
            if candidate.kind == "defaults":
                previous = candidate
        return previous

    def _named_defaults(self, name: str, before: int) -> Section | None:
        found = None
        for candidate in self.sections:
            if candidate.line >= before:
                break
            if candidate.kind == "defaults" and candidate.name == name:
                found = candidate
        return found

    def chain(self, section: Section) -> list[Section]:
        """`section`, then the defaults it inherits from, nearest first (``from`` chains followed)."""
        seen: set[int] = set()
        found: list[Section] = []
        current: Section | None = section
        while current is not None and current.line not in seen:
            seen.add(current.line)
            found.append(current)
            if current.kind == "defaults" and not current.from_defaults:
                break
            current = self.defaults_for(current)
        return found

    def timeout_setting(self, section: Section, name: str) -> Setting | None:
        """``timeout <name>`` for a proxy as haproxy applies it; None when set nowhere in its chain."""
        for current in self.chain(section):
            if name in current.timeouts:
                found = current.timeouts[name]
                where = f"{self.source} {current.label}, line {found.line}"
                return Setting(name, found.seconds, found.raw, where, None if found.seconds is not None
                               else unreadable_time(found.raw))
        return None

    def option(self, section: Section, name: str) -> tuple[bool, str] | None:
        """Whether ``option <name>`` is on for a proxy (``no option`` turns a default off), and where."""
        for current in self.chain(section):
            for lineno, words in reversed(current.directives):
                if words[:2] == ("option", name):
                    return True, f"{self.source} {current.label}, line {lineno}"
                if words[:3] == ("no", "option", name):
                    return False, f"{self.source} {current.label}, line {lineno}"
        return None

    def global_value(self, keyword: str) -> tuple[str, str] | None:
        """A ``global`` directive's first argument (e.g. tune.bufsize) and where it is."""
        for section in self.sections:
            if section.kind != "global":
                continue
            for lineno, words in reversed(section.directives):
                if words[0] == keyword and len(words) >= 2:
                    return words[1], f"{self.source} {section.label}, line {lineno}"
        return None

    def timeout(self, section: Section, name: str) -> tuple[float | None, str] | None:
        """Value of ``timeout <name>`` for a proxy, with the section it came from; None if unset."""
        seen: set[int] = set()
        current: Section | None = section
        while current is not None and current.line not in seen:
            seen.add(current.line)
            if name in current.timeouts:
                return current.timeouts[name].seconds, f"{self.source} {current.label}"
            if current.kind == "defaults" and not current.from_defaults:
                return None
            current = self.defaults_for(current)
        return None


@dataclass
class Path:
    """One way a client request reaches glance-api through this haproxy."""

    frontend: Section  # a frontend or listen section
    backend: Section | None  # the backend used (the listen section itself for listen)
    matched_by: str  # why this proxy counts as Glance's
    config: HaproxyConfig = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        if self.backend is None or self.backend is self.frontend:
            return self.frontend.name or ""
        return f"{self.frontend.name} -> {self.backend.name}"

    @property
    def binds(self) -> list[Bind]:
        return self.frontend.binds

    @property
    def servers(self) -> list[Server]:
        return self.backend.servers if self.backend is not None else []


def parse(text: str | bytes, source: str = "haproxy.cfg") -> HaproxyConfig:
    """Sections of haproxy.cfg in file order; HaproxyError when it is not a config."""
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise HaproxyError(f"{source}: binary data (NUL byte), not a haproxy config")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise HaproxyError(f"{source}: binary data (not UTF-8 text), not a haproxy config") from None
    if "\x00" in text:
        raise HaproxyError(f"{source}: binary data (NUL byte), not a haproxy config")
    sections: list[Section] = []
    current: Section | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        words = _tokens(raw)
        if not words:
            continue
        keyword = words[0]
        if keyword in SECTION_KINDS:
            current = _new_section(words, lineno)
            sections.append(current)
            continue
        if current is None:
            raise HaproxyError(f"{source}: line {lineno}: directive before any section: {raw.strip()[:60]!r}")
        _apply(current, words, lineno)
    if not sections:
        raise HaproxyError(f"{source}: empty file (no sections)")
    return HaproxyConfig(source=source, sections=sections)


MAX_TIME_MS = 2147483647  # haproxy keeps times as int milliseconds: larger ones are refused (PARSE_TIME_OVER)


def unreadable_time(raw: str) -> str:
    """Why haproxy cannot read a time value, in the operator's words."""
    match = _TIME.match(raw.strip())
    if match:
        return (f"'{raw[:40]}' is above haproxy's largest time ({MAX_TIME_MS} ms, about 24.8 days): "
                "haproxy refuses this config")
    if "$" in raw:
        return (f"'{raw}' depends on an environment variable of the haproxy process (haproxy expands "
                "\"${VAR}\" when it reads the file), which the files alone cannot tell")
    match = re.match(r"^\d+(?:\.\d+)?(.*)$", raw.strip())
    if match and match.group(1):
        return (f"'{raw}' has the unit '{match.group(1)}', which haproxy does not know (us, ms, s, m, h, d): "
                "haproxy refuses this config")
    return f"'{raw}' is not a time haproxy can read: it refuses this config"


def parse_time(value: str) -> float | None:
    """haproxy time value in seconds; a bare number is milliseconds."""
    match = _TIME.match(value.strip())
    if not match or len(match.group(1)) > 30:
        return None
    multiplier, divisor = _TIME_UNITS[match.group(2) or "ms"]
    seconds = float(match.group(1)) * multiplier / divisor
    return None if seconds * 1000 > MAX_TIME_MS else seconds


def glance_paths(cfg: HaproxyConfig) -> list[Path]:
    """Frontends/listens that carry Glance traffic, one Path per backend they use.

    A proxy counts when it binds port 9292, its name contains "glance", or it
    routes to a backend whose name contains "glance".
    """
    paths: list[Path] = []
    for proxy in cfg.proxies("frontend", "listen"):
        reason = _glance_reason(proxy)
        if proxy.kind == "listen":
            if reason:
                paths.append(Path(proxy, proxy, reason, cfg))
            continue
        targets = [proxy.default_backend] if proxy.default_backend else []
        targets += [name for name, _ in proxy.use_backends]
        targets = list(dict.fromkeys(targets))
        shared = any(_is_glance_backend(t, cfg.backend(t)) for t in targets)
        for target in targets:
            backend = cfg.backend(target)
            is_glance = _is_glance_backend(target, backend)
            if reason and (is_glance or not shared):
                paths.append(Path(proxy, backend, reason, cfg))
            elif not reason and is_glance:
                paths.append(Path(proxy, backend, f"routes to Glance backend {target}", cfg))
        if reason and not targets:
            paths.append(Path(proxy, None, reason, cfg))
    return paths


def effective_timeouts(path: Path) -> dict[str, tuple[float | None, str]]:
    """client, server, http-request, connect, queue, tunnel -> (seconds, where).

    Client-side timeouts come from the frontend (or listen) and its defaults,
    server-side ones from the backend and the defaults *it* inherits. None
    means haproxy applies no such timeout; `where` then says what applies
    instead, as haproxy documents it.
    """
    cfg = path.config
    result: dict[str, tuple[float | None, str]] = {}
    for name in UPLOAD_TIMEOUTS:
        side = path.frontend if name in FRONTEND_TIMEOUTS else (path.backend or path.frontend)
        if name in BACKEND_TIMEOUTS and path.backend is None:
            result[name] = (None, "no backend: not applicable")
            continue
        found = cfg.timeout(side, name)
        if found is not None:
            result[name] = found
    for name in UPLOAD_TIMEOUTS:
        if name in result:
            continue
        if name == "queue" and result.get("connect", (None,))[0] is not None:
            seconds, where = result["connect"]
            result[name] = (seconds, f"unset: timeout connect applies ({where})")
        elif name == "http-request":
            result[name] = (None, "unset: timeout client applies between request chunks")
        elif name == "tunnel":
            result[name] = (None, "unset: timeout client/server apply to tunnels")
        else:
            result[name] = (None, "unset: no timeout (haproxy warns 'missing timeouts')")
    return {name: result[name] for name in UPLOAD_TIMEOUTS}


# ---------------------------------------------------------------------- helpers
def _tokens(line: str) -> list[str]:
    """haproxy word splitting: '#' starts a comment, quotes and backslashes escape."""
    words: list[str] = []
    current: list[str] = []
    quote = None
    in_word = False
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"' and index + 1 < len(line):
                index += 1
                current.append(line[index])
            else:
                current.append(char)
        elif char == "\\" and index + 1 < len(line):
            index += 1
            current.append(line[index])
            in_word = True
        elif char in "\"'":
            quote = char
            in_word = True
        elif char == "#":
            break
        elif char in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if in_word:
        words.append("".join(current))
    return words


def _new_section(words: list[str], lineno: int) -> Section:
    kind = words[0]
    name = None
    from_defaults = None
    rest = words[1:]
    if rest and rest[0] != "from":
        name = rest[0]
        rest = rest[1:]
    if len(rest) >= 2 and rest[0] == "from":
        from_defaults = rest[1]
    return Section(kind=kind, name=name, line=lineno, from_defaults=from_defaults)


def _apply(section: Section, words: list[str], lineno: int) -> None:
    section.directives.append((lineno, tuple(words)))
    keyword = words[0]
    if keyword == "timeout" and len(words) >= 3:
        section.timeouts[words[1]] = Timeout(parse_time(words[2]), words[2], lineno)
    elif keyword in _LEGACY_TIMEOUTS and len(words) >= 2:
        legacy = Timeout(parse_time(words[1]), words[1], lineno)
        section.timeouts.setdefault(_LEGACY_TIMEOUTS[keyword], legacy)
    elif keyword == "mode" and len(words) >= 2:
        section.mode = words[1]
    elif keyword == "bind" and len(words) >= 2:
        for address in words[1].split(","):
            host, port = _split_address(address)
            section.binds.append(Bind(host, port, tuple(words[2:]), " ".join(words[1:]), lineno))
    elif keyword in ("server", "server-template") and len(words) >= 3:
        target = words[3] if keyword == "server-template" and len(words) >= 4 else words[2]
        params = words[4:] if keyword == "server-template" else words[3:]
        host, port = _split_address(target)
        section.servers.append(Server(words[1], host, port, tuple(params), lineno))
    elif keyword == "default_backend" and len(words) >= 2:
        section.default_backend = words[1]
    elif keyword == "use_backend" and len(words) >= 2:
        section.use_backends.append((words[1], " ".join(words[2:])))


def _split_address(address: str) -> tuple[str, int | None]:
    """'10.0.0.1:9292', ':9292', '*:9292', '[::1]:9292', 'ipv4@1.2.3.4:80', 'unix@/x' -> (host, port)."""
    if "@" in address:
        family, _, address = address.partition("@")
        if family in ("unix", "abns", "abns2", "fd", "sockpair"):
            return f"{family}@{address}", None
    if address.startswith("/"):
        return address, None
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
    elif address.count(":") > 1:  # bare IPv6 with the port after the last colon
        host, _, port_text = address.rpartition(":")
    else:
        host, port_text = address, ""
    if host in ("*", "0.0.0.0", "::"):
        host = host if host != "*" else ""
    port_text = port_text.split("-")[0]
    port = int(port_text) if port_text.isdigit() else None
    return host, port


def _glance_reason(proxy: Section) -> str:
    if any(bind.port == GLANCE_PORT for bind in proxy.binds):
        return f"binds port {GLANCE_PORT}"
    if proxy.name and "glance" in proxy.name.lower():
        return "name contains 'glance'"
    return ""


def _is_glance_backend(name: str, backend: Section | None) -> bool:
    if "glance" in name.lower():
        return True
    return backend is not None and any(server.port == GLANCE_PORT for server in backend.servers)


# ---------------------------------------------------------------------- runtime state
# HAProxy's own view of its servers: before a node behind it is blamed as "receiving uploads",
# what HAProxy's health checks made of it. `show stat` on the stats socket is the current state;
# without a socket, the last health-check transition the log holds ("Server B/S is DOWN").
STATE_LINE = r"server [^\s/]+/\S+ (?:is|was) "  # the probe's log filter keeps these (data)
_STATE = re.compile(r"\bserver ([^\s/]+)/(\S+) (?:is|was) (.*)", re.I)


@dataclass(frozen=True)
class ServerState:
    """One server as HAProxy runs it: its status word and why (the check's own words)."""

    backend: str
    server: str
    status: str  # UP, DOWN, MAINT, DRAIN, NOLB, "no check", "UP 1/3" (going down), "DOWN 1/2" (going up)
    detail: str
    source: str

    @property
    def takes_uploads(self) -> bool:
        """HAProxy sends new requests to it: UP (even while a failing check counts down) or
        unchecked; not DOWN (nor coming back), MAINT, DRAIN or NOLB."""
        word = self.status.split(" ")[0].upper()
        return word == "UP" or self.status.lower() == "no check"

    def describe(self) -> str:
        return f"{self.backend}/{self.server} {self.status}" + (f" ({self.detail})" if self.detail else "") + \
            f", from {self.source}"


def stats_sockets(cfg: HaproxyConfig) -> list[str]:
    """The `stats socket` addresses the global section declares (haproxy's own runtime API)."""
    found = []
    for section in cfg.sections:
        if section.kind == "global":
            found += [words[2] for _, words in section.directives
                      if words[:2] == ("stats", "socket") and len(words) >= 3]
    return found


def parse_show_stat(text: str, source: str) -> dict[tuple[str, str], ServerState]:
    """`show stat` CSV (header `# pxname,svname,...`) -> server states; FRONTEND/BACKEND rows left out.

    Raises HaproxyError when the answer is not a stats CSV (an error line, another daemon)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# pxname,svname,"):
        first = lines[0][:120] if lines else "an empty answer"
        raise HaproxyError(f"{source} did not answer `show stat` with HAProxy's stats (first line: {first!r})")
    header = lines[0][2:].split(",")
    col = {name: i for i, name in enumerate(header)}
    if "status" not in col:
        raise HaproxyError(f"{source}: `show stat` has no status column")
    states = {}
    for line in lines[1:]:
        row = line.split(",")
        if len(row) < len(col) - 1:
            continue
        backend, server = row[col["pxname"]], row[col["svname"]]
        if server in ("FRONTEND", "BACKEND"):
            continue
        cell = {k: (row[i] if i < len(row) else "") for k, i in col.items()}
        detail = cell.get("check_desc") or cell.get("check_status") or ""
        if cell.get("check_code"):
            detail = f"{detail}, code {cell['check_code']}" if detail else f"code {cell['check_code']}"
        if cell.get("lastchg", "").isdigit():
            detail += f"{', ' if detail else ''}for {cell['lastchg']}s"
        states[(backend, server)] = ServerState(backend, server, cell["status"], detail, source)
    return states


def states_from_log(lines, source: str) -> dict[tuple[str, str], ServerState]:
    """The last health-check transition of each server in HAProxy's log lines (file order)."""
    states = {}
    for line in lines:
        m = _STATE.search(line)
        if not m:
            continue
        backend, server, rest = m.group(1), m.group(2), m.group(3).strip()
        low = rest.lower()
        if "maintenance" in low and "leaving" not in low:
            status = "MAINT"
        elif low.startswith("stopping") or "drain" in low.split(",")[0]:
            status = "DRAIN"
        elif low.startswith("down"):
            status = "DOWN"
        elif low.startswith("up"):
            status = "UP"
        else:
            continue
        reason = re.search(r"reason: ([^,]+(?:, info: \"[^\"]*\")?)", rest)
        states[(backend, server)] = ServerState(backend, server, status,
                                                reason.group(1) if reason else rest[:120], source)
    return states


@dataclass
class RuntimeState:
    """What a host's HAProxy says of its servers, and where that was read (or why it was not)."""

    servers: dict[tuple[str, str], ServerState]
    source: str | None
    unknown_why: str | None = None

    def of(self, backend: str, server: str) -> ServerState | None:
        return self.servers.get((backend, server))


def runtime_state(stats: dict | None, log_lines: list[tuple[str, str]], logs_read=()) -> RuntimeState:
    """The stats socket's answer when there is one, else the health-check lines of the log;
    `log_lines` are (source, text) in file order, `logs_read` the HAProxy log sources read."""
    why = []
    if isinstance(stats, dict) and isinstance(stats.get("text"), str):
        source = f"`show stat` on {stats.get('socket') or 'the stats socket'}"
        try:
            return RuntimeState(parse_show_stat(stats["text"], source), source)
        except HaproxyError as exc:
            why.append(str(exc))
    elif isinstance(stats, dict) and stats.get("error"):
        why.append(f"stats socket: {stats['error']}")
    else:
        why.append("haproxy.cfg declares no stats socket")
    by_source: dict[str, list[str]] = {}
    for source, text in log_lines:
        by_source.setdefault(source, []).append(text)
    merged: dict[tuple[str, str], ServerState] = {}
    for source, texts in by_source.items():
        merged.update(states_from_log(texts, source))
    if merged:
        return RuntimeState(merged, ", ".join(by_source), "; ".join(why))
    why.append(f"no health-check line in {', '.join(logs_read)}" if logs_read else "HAProxy's log was not read")
    return RuntimeState({}, None, "; ".join(why))


def glance_servers(cfg: HaproxyConfig) -> list[tuple[str, Server]]:
    """(backend name, server) of every server behind a Glance frontend or listen, once each."""
    found: list[tuple[str, Server]] = []
    for route in glance_paths(cfg):
        backend = route.backend.name if route.backend is not None else ""
        for server in route.servers:
            if (backend, server) not in found:
                found.append((backend or "", server))
    return found


def health_checked(server: Server) -> bool:
    """The server line has `check`: HAProxy's health checks take it out when it stops answering."""
    return "check" in server.params
