"""A canary interrupted by Ctrl-C or SIGTERM still deletes its image and leaves no data in the stores."""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def conn():
    return lab.connect()


def canaries(conn) -> list:
    return [i for i in conn.image.images() if (i.name or "").startswith("hc-canary-")]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never saw {what} within {timeout}s")


class HoldingProxy:
    """A TCP relay in front of one glance-api node that holds the first poll of an image's record
    after its data was sent: the canary is then, for as long as the test likes, "waiting for active".

    Glance's file store makes an image active as the upload returns, so that moment is otherwise a
    few milliseconds wide; the relay widens it on the wire, Glance stays real.
    """

    REQUEST = re.compile(rb"(GET|PUT) /v2/images/([0-9a-f-]{36})(/file)? HTTP/1\.[01]\r\n")

    def __init__(self, target: tuple[str, int], hold_seconds: float = 60):
        self.target, self.hold_seconds = target, hold_seconds
        self.uploaded: set[bytes] = set()
        self.holding = threading.Event()
        self.released = threading.Event()
        self.listener = socket.create_server(("127.0.0.7", 0))
        self.address = self.listener.getsockname()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=120)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, from_client: bool):
        try:
            while chunk := src.recv(65536):
                m = self.REQUEST.match(chunk) if from_client else None
                if m and m.group(1) == b"PUT" and m.group(3):
                    self.uploaded.add(m.group(2))
                elif m and m.group(1) == b"GET" and not m.group(3) and m.group(2) in self.uploaded \
                        and not self.holding.is_set():
                    self.holding.set()
                    self.released.wait(self.hold_seconds)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.released.set()
        self.listener.close()


def _interrupt_while_waiting_for_active(conn, tmp_path, sig) -> tuple[int, str]:
    node = lab.labctl.NODES["controller1"]
    proxy = HoldingProxy((node, 9292))
    cmd = [sys.executable, "-m", "pytest", str(lab.ROOT / "checks" / "test_canary.py"), *lab.LAB_ARGS,
           f"--glance-api-url=controller1=http://{proxy.address[0]}:{proxy.address[1]}",
           "-k", "node-controller1", "-p", "no:cacheprovider", "-q",
           f"--health-json={tmp_path}/health.json", f"--html={tmp_path}/h.html", f"--junitxml={tmp_path}/j.xml"]
    proc = subprocess.Popen(cmd, cwd=lab.ROOT, env=lab.lab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proxy.holding.wait(90), "the canary never polled its image after the upload"
        record = wait_until(lambda: [i for i in canaries(conn) if i.status == "active"], 10, "the canary active")
        assert record, "the held poll should find the image already active"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        proxy.close()
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_canary_interrupted_while_waiting_for_active_leaves_nothing_behind(conn, tmp_path, sig):
    files_before = lab.store_files()
    assert canaries(conn) == []
    returncode, out = _interrupt_while_waiting_for_active(conn, tmp_path, sig)
    assert returncode != 0, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
    wait_until(lambda: not canaries(conn), 30, "the canary image deleted")
    assert lab.store_files() == files_before, "canary data left in a store"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("moment", ["image-created", "mid-stream"])
def test_interrupted_canary_leaves_nothing_behind(conn, tmp_path, sig, moment):
    files_before = lab.store_files()
    assert canaries(conn) == []
    cmd = [sys.executable, "-m", "pytest", str(lab.ROOT / "checks" / "test_canary.py"), *lab.LAB_ARGS,
           "--canary-size=768MiB", "-k", "store-fast", "-p", "no:cacheprovider", "-q",
           f"--health-json={tmp_path}/health.json", f"--html={tmp_path}/h.html", f"--junitxml={tmp_path}/j.xml"]
    proc = subprocess.Popen(cmd, cwd=lab.ROOT, env=lab.lab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        if moment == "image-created":
            wait_until(lambda: canaries(conn), 60, "the canary image")
        else:
            wait_until(lambda: [i for i in canaries(conn) if i.status == "saving"], 60, "the canary saving")
            time.sleep(1.0)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
    wait_until(lambda: not canaries(conn), 30, "the canary image deleted")
    assert lab.store_files() == files_before, "canary data left in a store"
