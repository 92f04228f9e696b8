"""nginx in front of glance-api, reduced to the directives that cut or refuse an upload.

nginx refuses a body above ``client_max_body_size`` (default 1m) with 413, buffers the
whole body to disk before Glance sees a byte while ``proxy_request_buffering`` is on
(the default), and ends an upload that goes quiet for ``client_body_timeout`` (client
side) or ``proxy_send_timeout`` / ``proxy_read_timeout`` (Glance side) - all three
inactivity timeouts, default 60s. A directive in a ``location`` wins over its
``server``, which wins over ``http`` (nginx's inheritance for these directives);
``include`` is followed through the fetched files, glob patterns included.
"""
from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

GLANCE_PORT = 9292
NGINX_PREFIX = "/etc/nginx"
CONFIG_PATHS = ("/etc/nginx/nginx.conf",)
# directive -> nginx's default (text as it would be written)
DEFAULTS = {
    "client_max_body_size": "1m",
    "client_body_timeout": "60s",
    "proxy_read_timeout": "60s",
    "proxy_send_timeout": "60s",
    "proxy_request_buffering": "on",
    "uwsgi_read_timeout": "60s",
    "uwsgi_send_timeout": "60s",
    "uwsgi_request_buffering": "on",
}
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TIME_UNITS = {"ms": 0.001, "": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


class NginxError(ValueError):
    """An nginx config that cannot be read (unbalanced braces, binary)."""


@dataclass
class Block:
    name: str
    args: list[str]
    source: str
    line: int
    children: list[Block] = field(default_factory=list)
    parent: Block | None = field(default=None, repr=False)

    def directives(self, name: str) -> list[Block]:
        return [child for child in self.children if child.name == name]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Setting:
    name: str
    raw: str
    where: str  # "file:line" or "nginx default"
    value: float | None  # bytes or seconds; None when the text cannot be read
    unknown: str | None = None


@dataclass
class Route:
    """One place nginx sends requests to Glance: a location (or server) with its pass directive."""

    block: Block
    target: str
    unread: list[str] = field(default_factory=list)  # includes that could not be read

    @property
    def name(self) -> str:
        server = _ancestor(self.block, "server")
        names = server.directives("server_name")[0].args if server and server.directives("server_name") else []
        where = self.block.args[-1] if self.block.name == "location" and self.block.args else "/"
        return f"{(names or ['_'])[0]}{where}".replace(" ", "_")

    @property
    def passes_with(self) -> str:
        return "uwsgi" if self.target.startswith("uwsgi:") else "proxy"

    def setting(self, name: str) -> Setting:
        """The directive in effect for this route (location, then server, then http), or the default."""
        if self.passes_with == "uwsgi" and name.startswith("proxy_"):
            name = "uwsgi_" + name[len("proxy_"):]
        block: Block | None = self.block
        while block is not None:
            found = block.directives(name)
            if found:
                directive = found[-1]
                return _typed(name, " ".join(directive.args), directive.where)
            block = block.parent
        setting = _typed(name, DEFAULTS[name], "nginx default")
        if self.unread:
            return Setting(name, setting.raw, setting.where, None,
                           unknown=f"{self.unread[0]} is included but could not be read: it may set {name}")
        return setting


def parse(text: str, source: str, files: Mapping[str, str] | None = None) -> tuple[Block, list[str]]:
    """The config as a tree (includes expanded from `files`), and the includes that could not be read."""
    if "\x00" in text:
        raise NginxError(f"{source}: binary data, not an nginx config")
    root = Block("main", [], source, 0)
    unread: list[str] = []
    _parse_into(root, text, source, files or {}, unread, depth=0)
    return root, unread


def glance_routes(root: Block, unread: list[str] | None = None) -> list[Route]:
    """Locations (or servers) whose proxy_pass/uwsgi_pass reaches Glance."""
    upstreams = {block.args[0]: block for block in _walk(root) if block.name == "upstream" and block.args}
    routes = []
    for block in _walk(root):
        if block.name not in ("proxy_pass", "uwsgi_pass") or not block.args or block.parent is None:
            continue
        target = block.args[0] if block.name == "proxy_pass" else f"uwsgi://{block.args[0]}"
        host = re.sub(r"^[a-z]+://", "", target).split("/")[0]
        upstream = upstreams.get(host.split(":")[0])
        servers = [s.args[0] for s in upstream.directives("server") if s.args] if upstream else []
        server = _ancestor(block, "server")
        listens = [" ".join(d.args) for d in server.directives("listen")] if server else []
        if (f":{GLANCE_PORT}" in host or "glance" in host.lower()
                or any(f":{GLANCE_PORT}" in s for s in servers)
                or any(re.search(rf"(^|:){GLANCE_PORT}\b", lst) for lst in listens)):
            routes.append(Route(block.parent, target, list(unread or [])))
    return routes


def find_config(files: Mapping[str, str]) -> tuple[str, str] | None:
    for path in CONFIG_PATHS:
        if path in files:
            return path, files[path]
    return None


# ---------------------------------------------------------------------- helpers
def _walk(block: Block):
    for child in block.children:
        yield child
        yield from _walk(child)


def _ancestor(block: Block | None, name: str) -> Block | None:
    while block is not None and block.name != name:
        block = block.parent
    return block


def _typed(name: str, raw: str, where: str) -> Setting:
    if name.endswith("_buffering"):
        return Setting(name, raw, where, 1.0 if raw.strip() == "on" else 0.0,
                       None if raw.strip() in ("on", "off") else f"'{raw}' is neither on nor off")
    if name == "client_max_body_size":
        match = re.fullmatch(r"(\d+)([kKmMgG]?)", raw.strip())
        if not match or len(match.group(1)) > 30:
            return Setting(name, raw, where, None, f"'{raw}' is not a size nginx reads (number, k, m or g)")
        return Setting(name, raw, where, float(int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]))
    total = 0.0
    rest = raw.strip()
    parts = re.findall(r"(\d+)(ms|[smhdwMy]?)\s*", rest)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != rest.replace(" ", "") or any(len(n) > 30 for n, _ in parts):
        return Setting(name, raw, where, None, f"'{raw}' is not a time nginx reads (e.g. 60s, 5m, 1h)")
    for number, unit in parts:
        total += int(number) * _TIME_UNITS[unit]
    return Setting(name, raw, where, total)


def _tokens(text: str):
    """(token, line) pairs; '{', '}' and ';' are tokens of their own; '#' starts a comment."""
    line = 1
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
            index += 1
        elif char.isspace():
            index += 1
        elif char == "#":
            while index < len(text) and text[index] != "\n":
                index += 1
        elif char in "{};":
            yield char, line
            index += 1
        elif char in "\"'":
            end = index + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            yield text[index + 1:end], line
            line += text.count("\n", index, end)
            index = end + 1
        else:
            end = index
            while end < len(text) and not text[end].isspace() and text[end] not in "{};#":
                end += 1
            yield text[index:end], line
            index = end


def _parse_into(root: Block, text: str, source: str, files: Mapping[str, str], unread: list[str], depth: int) -> None:
    stack = [root]
    words: list[str] = []
    start = 0
    for token, line in _tokens(text):
        if token == "{":
            if not words:
                raise NginxError(f"{source}:{line}: '{{' without a directive")
            block = Block(words[0], words[1:], source, start, parent=stack[-1])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            if len(stack) == 1 or words:
                raise NginxError(f"{source}:{line}: unbalanced '}}'")
            stack.pop()
        elif token == ";":
            if words:
                if words[0] == "include" and len(words) > 1:
                    _include(stack[-1], words[1], source, files, unread, depth)
                else:
                    stack[-1].children.append(Block(words[0], words[1:], source, start, parent=stack[-1]))
            words = []
        else:
            if not words:
                start = line
            words.append(token)
    if len(stack) != 1 or words:
        raise NginxError(f"{source}: unexpected end of file (a block or directive is not closed)")


def _include(parent: Block, pattern: str, source: str, files: Mapping[str, str], unread: list[str], depth: int) -> None:
    path = pattern if pattern.startswith("/") else os.path.join(NGINX_PREFIX, pattern)
    if depth > 10:
        unread.append(f"{path} (includes nested too deep)")
        return
    if any(ch in path for ch in "*?["):
        matches = sorted(name for name in files if fnmatch.fnmatch(name, path))
    else:
        matches = [path] if path in files else []
        if not matches:
            unread.append(path)
            return
    for name in matches:
        holder = Block("main", [], name, 0)
        _parse_into(holder, files[name], name, files, unread, depth + 1)
        for child in holder.children:
            child.parent = parent
            parent.children.append(child)
