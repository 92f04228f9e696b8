"""Every limit on a host's upload path, judged by what it really limits.

A timeout is one of two kinds. An *inactivity* timeout (HAProxy ``timeout
client``/``server``, uWSGI ``socket-timeout`` and ``http-timeout``, nginx
``client_body_timeout``/``proxy_*_timeout``) fires only when a side goes quiet: a
steady upload of any length survives it (seen: 200 MiB at 8 MiB/s through
``timeout server 5s``), a client that pauses longer does not. It must outlast the
longest stall a client may have (``client_stall_max``) and, where it also waits for
Glance's answer, the time Glance takes between the last byte and its answer
(``glance_answer_time``, a fixed allowance). A *total* limit (uWSGI ``harakiri``; an
HAProxy ``timeout queue`` a request waits in when servers have ``maxconn``) bounds the
whole request and must outlast the largest image at the slowest client rate.
HAProxy's ``timeout http-request`` with ``option http-buffer-request`` bounds the
headers and the first buffer of body (``tune.bufsize``), not the whole upload.

Size limits (uWSGI ``limit-post``, nginx ``client_max_body_size``) refuse a large image
outright; ``chunked-input-limit`` refuses a chunk larger than it; ``post-buffering`` and
nginx's request buffering hold the whole body before Glance sees it.

A value that cannot be read is *unknown* and fails with its text and file; a file that
could not be fetched makes its cases skip; nothing unreadable ever reads as "no limit".
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from glance_hc import haproxy, nginx, uwsgi
from glance_hc.sizes import human

TOTAL = "total-duration"
INACTIVITY = "inactivity"  # silence from the client
INACTIVITY_ANSWER = "inactivity/answer"  # also silent while Glance answers after the last byte
REQUEST_START = "request-start"  # headers and the first buffer of body
QUEUE = "queue-wait"
SIZE = "request-size"
CHUNK = "chunk-size"
BUFFERING = "body-buffering"

HAPROXY_BUFSIZE_DEFAULT = 16384  # tune.bufsize
UWSGI_CHUNKED_INPUT_LIMIT_DEFAULT = 1 << 20  # core/init.c chunked_input_limit


@dataclass(frozen=True)
class UploadLimit:
    """One limit on one host's upload path (the `upload_timeout` fixture's case)."""

    key: str  # test id part: haproxy-glance_api-server
    component: str  # HAProxy, uWSGI, nginx
    option: str  # "timeout server", "harakiri", "limit-post"
    kind: str
    scope: str  # the proxy route or "" for uWSGI
    value: float | None  # seconds or bytes as the component reads it; None = no limit (or unknown)
    raw: str | None  # the text as written; None when not set (a default applies)
    where: str  # file, section and line; or "uWSGI default" etc.
    unknown: str | None = None  # cannot be read from the files: the case fails
    unreadable: str | None = None  # the file itself could not be read: the case skips
    note: str | None = None  # how the component reads an odd text (e.g. "32M" is 32)
    error: str | None = None  # the whole config does not parse (the component refuses it)
    first_buffer: int = 0  # request-start limits: bytes of body the proxy waits for (tune.bufsize)

    @property
    def what(self) -> str:
        scope = f" on {self.scope}" if self.scope else ""
        return f"{self.component} {self.option}{scope}"

    @property
    def seconds(self) -> float | None:  # older callers
        return self.value


UploadTimeout = UploadLimit  # the name the fixtures know


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str  # the claim's evidence (pass) or the failure text (fail)
    needed: str  # what the limit must allow, in words
    skip: str | None = None


def upload_timeouts(files: Mapping[str, str], haproxy_cfg: tuple[str, str] | None, uwsgi_ini: str | None,
                    file_errors: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
                    argv: list[str] | None = None) -> list[UploadLimit]:
    """Every limit on the upload path of one host: HAProxy, the uWSGI ini (its includes through
    `files`), nginx when its config is among the fetched files.

    `file_errors` (path -> why) tells a file that could not be read from one never looked for;
    `env` is the uWSGI process's environment and `argv` its command line, when known.
    """
    errors = dict(file_errors or {})
    found: list[UploadLimit] = []
    if haproxy_cfg:
        found += _haproxy(*haproxy_cfg)
    if uwsgi_ini:
        found += _uwsgi(uwsgi_ini, files, errors, env, argv)
    conf = nginx.find_config(files)
    if conf:
        found += _nginx(*conf, files)
    return found


# ---------------------------------------------------------------------- judging
def judge(limit: UploadLimit, t) -> Verdict:
    """Whether `limit` lets the largest upload through, by what it limits.

    `t` has largest_image, slowest_client_rate (bytes/s), client_stall_max and
    glance_answer_time (seconds) and largest_chunk (bytes).
    """
    upload = t.largest_image / max(t.slowest_client_rate, 1)
    stall, answer = float(t.client_stall_max), float(t.glance_answer_time)
    shown = _shown(limit)
    if limit.unreadable:
        return Verdict(True, "", "", skip=f"cannot read {limit.what}: {limit.unreadable}")
    if limit.error:
        return Verdict(False, f"{limit.what}: the config cannot be read, so it cannot be judged: {limit.error}", "")
    if limit.unknown:
        return Verdict(False, f"{limit.what} ({_kind(limit)} limit) is {shown} ({limit.where}): its value cannot be "
                              f"known from the files, so nothing says uploads survive it: {limit.unknown}", "")
    needs = {
        TOTAL: (upload + answer, f"{upload + answer:.0f}s: {human(t.largest_image)} at "
                                 f"{human(t.slowest_client_rate)}/s ({upload:.0f}s) and {answer:.0f}s for "
                                 f"Glance's answer"),
        QUEUE: (upload, f"{upload:.0f}s: an upload queued behind another waits for it to end "
                        f"({human(t.largest_image)} at {human(t.slowest_client_rate)}/s)"),
        INACTIVITY: (stall, f"{stall:.0f}s: the longest stall a client may have (client_stall_max)"),
        INACTIVITY_ANSWER: (max(stall, answer), f"{max(stall, answer):.0f}s: the longer of a client's longest "
                                                f"stall ({stall:.0f}s) and Glance's answer after the last byte "
                                                f"({answer:.0f}s)"),
        SIZE: (t.largest_image, f"{human(t.largest_image)}: the largest image"),
        CHUNK: (t.largest_chunk, f"{human(t.largest_chunk)}: the largest chunk a client sends (largest_chunk)"),
    }
    if limit.kind == REQUEST_START:
        first = (limit.first_buffer or HAPROXY_BUFSIZE_DEFAULT) / max(t.slowest_client_rate, 1)
        needs[REQUEST_START] = (stall + first, f"{stall + first:.0f}s: the headers and the first buffer of "
                                               f"body after a client's longest stall ({stall:.0f}s)")
    if limit.kind == BUFFERING:
        if not limit.value:
            return Verdict(True, f"{limit.what} is {shown} ({limit.where}): the body streams to Glance", "")
        return Verdict(False, f"{limit.what} is {shown} ({limit.where}) ({_kind(limit)}): every upload is held "
                              f"whole before Glance sees a byte, so {human(t.largest_image)} must fit its "
                              "buffer space first and the client sees no progress; turn it off for glance-api", "")
    needed, why = needs[limit.kind]
    if limit.value is None:
        return Verdict(True, f"{limit.what} ({_kind(limit)}) is not limited ({limit.where})", why)
    unit = "s" if limit.kind not in (SIZE, CHUNK) else ""
    value_text = f"{limit.value:g}s" if unit else human(limit.value)
    if limit.value >= needed:
        return Verdict(True, f"{limit.what} ({_kind(limit)}) is {value_text} ({limit.where}); needed {why}", why)
    odd = f"; {limit.note}" if limit.note else ""
    written = "" if limit.raw is None or limit.raw.strip() == value_text else f" (written '{limit.raw}')"
    return Verdict(False, f"{limit.what} is {_article(_kind(limit))} limit of {value_text}{written} "
                          f"({limit.where}){odd}: it must allow {why}; raise it", why)


def _article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _kind(limit: UploadLimit) -> str:
    """The kind in the operator's words."""
    return "inactivity" if limit.kind == INACTIVITY_ANSWER else limit.kind


def _shown(limit: UploadLimit) -> str:
    return f"'{limit.raw}'" if limit.raw is not None else "unset"


# ---------------------------------------------------------------------- HAProxy
def _haproxy(path: str, text: str) -> list[UploadLimit]:
    try:
        cfg = haproxy.parse(text, source=path)
    except haproxy.HaproxyError as exc:
        return [UploadLimit("haproxy", "HAProxy", "config", TOTAL, "", None, None, path, error=str(exc))]
    found: list[UploadLimit] = []
    bufsize_raw = cfg.global_value("tune.bufsize")
    bufsize = int(bufsize_raw[0]) if bufsize_raw and bufsize_raw[0].isdigit() else HAPROXY_BUFSIZE_DEFAULT
    for route in haproxy.glance_paths(cfg):
        scope = route.name
        key = f"haproxy-{scope.replace(' -> ', '-')}"
        found.append(_haproxy_timeout(cfg, route.frontend, "client", INACTIVITY, scope, key))
        if route.backend is not None:
            found.append(_haproxy_timeout(cfg, route.backend, "server", INACTIVITY_ANSWER, scope, key))
        buffering = cfg.option(route.frontend, "http-buffer-request")
        if buffering and buffering[0]:
            limit = _haproxy_timeout(cfg, route.frontend, "http-request", REQUEST_START, scope, key)
            found.append(dataclasses.replace(limit, first_buffer=bufsize,
                                             note=f"option http-buffer-request ({buffering[1]})"))
        servers_maxconn = [s for s in route.servers if "maxconn" in s.params]
        if route.backend is not None and servers_maxconn:
            queue = cfg.timeout_setting(route.backend, "queue") or cfg.timeout_setting(route.backend, "connect")
            first = servers_maxconn[0]
            limit_of = first.params[first.params.index("maxconn") + 1] if first.params[-1] != "maxconn" else "?"
            note = f"server {first.name} has maxconn {limit_of} (line {first.line}): uploads beyond it wait in the queue"
            if queue is None:
                found.append(UploadLimit(f"{key}-queue", "HAProxy", "timeout queue", QUEUE, scope, None, None,
                                         "unset, and no timeout connect either", note=note))
            else:
                found.append(UploadLimit(f"{key}-queue", "HAProxy", f"timeout {queue.name}" if queue.name == "queue"
                                         else "timeout queue (unset: timeout connect applies)", QUEUE, scope,
                                         queue.seconds, queue.raw, queue.where, unknown=queue.unknown, note=note))
    return found


def _haproxy_timeout(cfg, section, name: str, kind: str, scope: str, key: str) -> UploadLimit:
    setting = cfg.timeout_setting(section, name)
    if setting is None:
        fallback = "unset: no timeout (haproxy warns 'missing timeouts')"
        if name == "http-request":
            client = cfg.timeout_setting(section, "client")
            if client is not None:
                return UploadLimit(f"{key}-{name}", "HAProxy", f"timeout {name} (unset: timeout client applies)",
                                   kind, scope, client.seconds, client.raw, client.where, unknown=client.unknown)
        return UploadLimit(f"{key}-{name}", "HAProxy", f"timeout {name}", kind, scope, None, None, fallback)
    return UploadLimit(f"{key}-{name}", "HAProxy", f"timeout {name}", kind, scope, setting.seconds, setting.raw,
                       setting.where, unknown=setting.unknown)


# ---------------------------------------------------------------------- uWSGI
# option, kind, uWSGI's default (0 = off)
_UWSGI = (
    ("socket-timeout", INACTIVITY, uwsgi.SOCKET_TIMEOUT_DEFAULT),
    ("harakiri", TOTAL, 0),
    ("http-timeout", INACTIVITY_ANSWER, uwsgi.HTTP_TIMEOUT_DEFAULT),
    ("chunked-input-timeout", INACTIVITY, None),  # default: socket-timeout
    ("limit-post", SIZE, 0),
    ("chunked-input-limit", CHUNK, UWSGI_CHUNKED_INPUT_LIMIT_DEFAULT),
    ("post-buffering", BUFFERING, 0),
)


def _uwsgi(path: str, files: Mapping[str, str], errors: Mapping[str, str], env, argv) -> list[UploadLimit]:
    text = files.get(path)
    if text is None:
        why = errors.get(path) or "the probe did not fetch it"
        return [UploadLimit(f"uwsgi-{name}", "uWSGI", name, kind, "", None, None, path, unreadable=f"{path}: {why}")
                for name, kind, _ in _UWSGI]
    prefix = "container:" if path.startswith("container:") else ""
    if prefix:  # files read inside a container are keyed "container:/path"; its includes name "/path"
        files = {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}
        errors = {k[len(prefix):]: v for k, v in errors.items() if k.startswith(prefix)}
    try:
        if argv:
            options = uwsgi.parse_command(argv, files=files, file_errors=errors, env=env)
        else:
            options = uwsgi.parse(text, path[len(prefix):], files=files, file_errors=errors, env=env)
    except uwsgi.UwsgiError as exc:
        return [UploadLimit(f"uwsgi-{name}", "uWSGI", name, kind, "", None, None, path, error=str(exc))
                for name, kind, _ in _UWSGI]
    found = []
    socket_timeout = options.value("socket-timeout", uwsgi.SOCKET_TIMEOUT_DEFAULT)
    router = bool(options.values("http"))
    for name, kind, default in _UWSGI:
        if name == "http-timeout" and not router and not options.value(name).is_set:
            continue  # no http router: nothing applies it
        if name == "chunked-input-timeout" and not options.value(name).is_set:
            value = socket_timeout
            from_unread = value.unknown if value.unknown and value.raw is None else None
            found.append(UploadLimit(f"uwsgi-{name}", "uWSGI", f"{name} (unset: socket-timeout applies)", kind, "",
                                     value.number, value.raw, value.origin, unknown=None if from_unread
                                     else value.unknown, unreadable=from_unread, note=value.note))
            continue
        value = options.value(name, default)
        number = value.number
        if name in ("harakiri", "limit-post") and number == 0 and not value.unknown:
            number = None  # 0 = off: no limit
        # an include that could not be read: its file is a source we could not read (skip);
        # a value that is there but cannot be resolved is a finding (fail)
        from_unread = value.unknown if value.unknown and value.raw is None else None
        found.append(UploadLimit(f"uwsgi-{name}", "uWSGI", name, kind, "", number, value.raw, value.origin,
                                 unknown=None if from_unread else value.unknown, unreadable=from_unread,
                                 note=value.note))
    return found


# ---------------------------------------------------------------------- nginx
_NGINX = (
    ("client_max_body_size", SIZE),
    ("client_body_timeout", INACTIVITY),
    ("proxy_send_timeout", INACTIVITY),
    ("proxy_read_timeout", INACTIVITY_ANSWER),
    ("proxy_request_buffering", BUFFERING),
)


def _nginx(path: str, text: str, files: Mapping[str, str]) -> list[UploadLimit]:
    try:
        root, unread = nginx.parse(text, path, files)
    except nginx.NginxError as exc:
        return [UploadLimit("nginx", "nginx", "config", TOTAL, "", None, None, path, error=str(exc))]
    found = []
    for route in nginx.glance_routes(root, unread):
        buffering = route.setting("proxy_request_buffering")
        for name, kind in _NGINX:
            if name == "proxy_send_timeout" and buffering.value:
                continue  # nginx sends a buffered body at once: no client stall reaches Glance's side
            setting = route.setting(name)
            value = setting.value
            if name == "client_max_body_size" and value == 0:
                value = None  # 0 disables the check
            shown_name = setting.name
            found.append(UploadLimit(f"nginx-{route.name}-{shown_name}", "nginx", shown_name, kind, route.name,
                                     value, setting.raw, setting.where, unknown=setting.unknown))
    return found
