"""One round trip of the host probe over testinfra: the only module that knows testinfra.

The probe (host_probe.py, a real Python file of this package) travels as an argument:
`timeout N /usr/bin/python3 -I -c BOOT <b64(zlib(source))> <b64(json request)>`, each argument
quoted by testinfra's backend, never pasted into a shell program. The probe elevates itself
once through `sudo -n` when it can, and answers one JSON document on stdout.
"""
from __future__ import annotations

import base64
import json
import zlib
from functools import lru_cache
from pathlib import Path

from glance_hc.probe import host_probe

PYTHON = "/usr/bin/python3"
# Linux's MAX_ARG_STRLEN: no single argument of an exec may be longer (the whole argv has ARG_MAX).
MAX_ARG_STRLEN = 128 * 1024


# The testinfra backends this transport serves: each runs the command line above through a POSIX
# /bin/sh on a Linux host, its arguments quoted by testinfra's shlex quoting. Tested against the lab:
# local, ssh, podman and docker (the Kolla-style container); kubectl, openshift, lxc and chroot run
# the same `/bin/sh -c` and are accepted untested.
SERVED_SCHEMES = ("local", "ssh", "safe-ssh", "docker", "podman", "kubectl", "openshift", "lxc", "chroot")
# Backends testinfra has that the probe cannot travel over, and why (the --host error says so).
REFUSED_SCHEMES = {
    "winrm": "a Windows host: the probe needs a POSIX shell, timeout(1) and /usr/bin/python3",
    "salt": "salt's LocalClient gives up after the master's timeout (5 s by default), shorter than a "
            "probe round trip, and salt is not among the suite's dependencies",
    "paramiko": "paramiko is not among the suite's dependencies and would not use the suite's ssh "
                "options (--ssh-config, shared connections, timeouts); use ssh://",
    "ansible": "ansible would reach the host its own way, without the suite's ssh options; use "
               "--inventory FILE, which reaches an inventory's glance-api hosts over ssh",
}


def scheme_refusal(scheme: str) -> str | None:
    """None when the probe travels over this testinfra backend; otherwise why it cannot."""
    if scheme in SERVED_SCHEMES:
        return None
    return REFUSED_SCHEMES.get(scheme) or f"unknown scheme (use one of {', '.join(SERVED_SCHEMES)})"


class HostUnreachable(RuntimeError):
    """The host could not be reached or the probe could not run there."""


@lru_cache(maxsize=1)
def probe_source() -> str:
    """host_probe.py, compressed and base64-encoded: the first argument of every round trip."""
    return base64.b64encode(zlib.compress(Path(host_probe.__file__).read_bytes(), 9)).decode()


def encode_request(request: dict) -> str:
    return base64.b64encode(json.dumps(request).encode()).decode()


def command(request: dict, timeout: int) -> tuple[str, list[str]]:
    """The command template and its arguments, for `host.run(template, *args)`."""
    args = [host_probe.BOOT, probe_source(), encode_request(request)]
    for arg in args:
        if len(arg.encode()) >= MAX_ARG_STRLEN:
            raise HostUnreachable(f"probe request too large: one argument of {len(arg)} bytes "
                                  f"(Linux allows {MAX_ARG_STRLEN})")
    return f"timeout {int(timeout)} {PYTHON} -I -c %s %s %s", args


def round_trip(host, request: dict, timeout: int = 60) -> dict:
    """Run one phase of the probe on a testinfra host; its JSON answer, or HostUnreachable."""
    template, args = command(request, timeout)
    try:
        result = host.run(template, *args)
    except RuntimeError as exc:  # ssh exit 255: could not connect
        raise HostUnreachable(_ssh_reason(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any backend failure means we cannot look
        text = str(exc).strip()
        raise HostUnreachable(f"{type(exc).__name__}: {text.splitlines()[-1] if text else ''}") from None
    stdout = result.stdout_bytes.decode("utf-8", "replace")
    stderr = result.stderr_bytes.decode("utf-8", "replace").strip()
    if result.rc == 124:
        raise HostUnreachable(f"the probe did not finish within {timeout}s")
    if result.rc == 127 or (result.rc == 126 and not stdout.strip()):
        raise HostUnreachable(f"cannot run the probe: {PYTHON} is missing on the host ({stderr[-200:]})")
    try:
        answer = json.loads(stdout)
    except ValueError:
        raise HostUnreachable(f"probe failed (exit {result.rc}): {(stderr or stdout).strip()[-300:]}") from None
    if not isinstance(answer, dict) or answer.get("protocol") != host_probe.PROTOCOL:
        raise HostUnreachable(f"probe answered in an unknown format (exit {result.rc})")
    return answer


def _ssh_reason(exc: RuntimeError) -> str:
    arg = exc.args[0] if exc.args else exc
    stderr = getattr(arg, "stderr", "") or str(arg)
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return "ssh failed: " + (lines[-1] if lines else "exit 255")


def inspect_from_outside(host, runtime: str) -> dict | None:
    """A docker:// or podman:// host runs the probe inside the container, where the runtime's view
    (restart count, health, OOM kill) cannot be seen; testinfra's backend runs the runtime on this
    machine, so `<runtime> inspect` can run here too. None: the inside view alone."""
    name = getattr(host.backend, "name", None)
    if not name:
        return None
    try:
        out = host.backend.run_local(f"timeout 15 {runtime} inspect --type container %s", name)
    except Exception:  # noqa: BLE001 - the inside view still stands
        return None
    if out.rc != 0:
        return None
    try:
        data = json.loads(out.stdout_bytes.decode("utf-8", "replace"))
    except ValueError:
        return None
    if isinstance(data, list):
        data = data[0] if data else None
    return {"runtime": runtime, "inspect": data} if isinstance(data, dict) else None


def kernel_from_outside(host, minutes: int, timeout: int = 60) -> dict | None:
    """For a docker:// or podman:// host: the kernel's OOM lines read on the machine the runtime runs
    on (the container shares its kernel), by this same probe; None when that cannot be done."""
    if not getattr(host.backend, "name", None):
        return None
    template, args = command({"phase": "kernel", "window_minutes": minutes}, timeout)
    try:
        out = host.backend.run_local(template, *args)
        answer = json.loads(out.stdout_bytes.decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - the inside view (and its reason) still stands
        return None
    kernel = answer.get("kernel") if isinstance(answer, dict) else None
    return kernel if isinstance(kernel, dict) else None
