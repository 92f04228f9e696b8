"""Every timeout on a host's upload path that must outlast the largest upload.

The runbook's advice: load-balancer `timeout client`/`timeout server` longer than
the largest expected upload. uWSGI's harakiri and http-timeout bound a whole
request too. (Inactivity timeouts such as uWSGI socket-timeout only fire on a
stalled body, so they are not held to the upload's length.)
"""
from __future__ import annotations

from dataclasses import dataclass

from glance_hc import haproxy, uwsgi

HAPROXY_UPLOAD_TIMEOUTS = ("client", "server")
UWSGI_UPLOAD_TIMEOUTS = ("harakiri", "http-timeout")


@dataclass(frozen=True)
class UploadTimeout:
    key: str                 # test id part: haproxy-glance_api-server
    what: str                # "HAProxy timeout server on glance_api"
    seconds: float | None    # None: no limit
    where: str               # file and section it came from
    error: str | None = None


def upload_timeouts(files: dict[str, str], haproxy_cfg: tuple[str, str] | None,
                    uwsgi_ini: str | None) -> list[UploadTimeout]:
    found: list[UploadTimeout] = []
    if haproxy_cfg:
        path, text = haproxy_cfg
        try:
            cfg = haproxy.parse(text, source=path)
        except haproxy.HaproxyError as exc:
            found.append(UploadTimeout("haproxy", "HAProxy config", None, path, error=str(exc)))
        else:
            for route in haproxy.glance_paths(cfg):
                effective = haproxy.effective_timeouts(route)
                for name in HAPROXY_UPLOAD_TIMEOUTS:
                    seconds, where = effective.get(name, (None, "unset"))
                    found.append(UploadTimeout(
                        f"haproxy-{route.name.replace(' -> ', '-')}-{name}",
                        f"HAProxy timeout {name} on {route.name}", seconds, where))
    if uwsgi_ini and uwsgi_ini in files:
        try:
            opts = uwsgi.parse_ini(files[uwsgi_ini], source=uwsgi_ini)
        except uwsgi.UwsgiError as exc:
            found.append(UploadTimeout("uwsgi", "uWSGI ini", None, uwsgi_ini, error=str(exc)))
        else:
            effective = opts.effective_timeouts()
            for name in UWSGI_UPLOAD_TIMEOUTS:
                if name in effective:
                    seconds, where = effective[name]
                    found.append(UploadTimeout(f"uwsgi-{name}", f"uWSGI {name}", seconds,
                                               where or uwsgi_ini))
    return found
