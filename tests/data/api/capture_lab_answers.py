"""Capture real failing answers from the lab into tests/data/api/*.json.

Run from the repo root with the lab up and no fault injected:
    OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml .venv/bin/python -m tests.data.api.capture_lab_answers [case ...]
Every case is an ordinary (failing) request: nothing in the lab is changed, except
`store_full` (not run by default), which fills the 96 MiB cheap store with a 100 MiB
upload until Glance refuses it and deletes the partial file.
A case is only saved when `python3 -m lab status` reports no injected fault.
"""
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import openstack
import requests
import testinfra

from glance_hc import canary as C
from glance_hc import facts as F
from glance_hc.hosts import parse_host

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

OUT = os.path.join(ROOT, "tests", "data", "api")
VIP, DIRECT = "127.0.0.10", "127.0.0.2"
os.makedirs(OUT, exist_ok=True)
c = openstack.connect(cloud="hc-lab")
spec = parse_host("controller1")
host = testinfra.get_host(spec.url, ssh_config=os.path.join(os.environ.get("HC_LAB_DIR", "/opt/glance-hc-lab"),
                                                             "state", "ssh_config"))
facts = F.gather(spec, host, timedelta(minutes=60))
assert facts.error is None, facts.error


def lab_faults():
    out = subprocess.run([sys.executable, "-m", "lab", "status"], capture_output=True, text=True,
                         cwd=ROOT).stdout
    return next((line.split(None, 2)[-1].strip() for line in out.splitlines() if line.startswith("injected faults")), "?")


def log_lines(*ids):
    time.sleep(1.0)
    lines = []
    for i in ids:
        if i:
            for line in F.request_lines(facts, host, i):
                if line not in lines:
                    lines.append(line)
    return lines


KEEP = ("status", "size", "checksum", "os_hash_algo", "os_hash_value", "stores", "name")


def record(iid):
    rec = C.image_record(c, iid)
    return {k: v for k, v in (rec or {}).items() if k in KEEP} if rec else None


def save(name, **data):
    faults = lab_faults()
    data = {"name": name, "lab_faults": faults, **data}
    if faults != "none":
        print(f"!! {name}: lab has faults {faults}; not saved")
        return
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    print("saved", name, data.get("status"), (data.get("body") or "")[:100].replace("\n", " "))


def mk(label):
    a = C.create_image(c, f"hc-test-capture-{label}-{os.getpid()}")
    return a.json["id"]


def raw_partial(host_addr, iid, declared, send, extra_headers=None, then=None):
    """Headers with Content-Length `declared`, `send` bytes of body, then `then(sock)`."""
    tok = c.session.get_token()
    gid = C.new_request_id()
    s = socket.create_connection((host_addr, 9292), timeout=30)
    hdrs = {"Host": f"{host_addr}:9292", "X-Auth-Token": tok, "Content-Type": "application/octet-stream",
            "Content-Length": str(declared), "X-OpenStack-Request-ID": gid, **(extra_headers or {})}
    s.sendall((f"PUT /v2/images/{iid}/file HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
               + "\r\n").encode())
    block = b"\x5a" * (1 << 20)
    left = send
    while left > 0:
        s.sendall(block[: min(left, len(block))])
        left -= min(left, len(block))
    return s, gid


def read_all(s, limit=30):
    s.settimeout(limit)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError as exc:
        data += f"\n<<{type(exc).__name__}>>".encode()
    s.close()
    return data.decode(errors="replace")


def split_http(raw):
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def case_unknown_store():
    iid = mk("unknown-store")
    try:
        up = C.upload(c, iid, C.PatternSource(1 << 20, seed=1), "nosuch", timeout=(30, 60))
        save("unknown-store-400", captured="real", how="PUT /v2/images/{id}/file with X-Image-Meta-Store: nosuch (via the VIP)",
             status=up.status, body=up.body, request_id=up.request_id, image_after=record(iid),
             log_lines=log_lines(up.global_request_id, iid),
             expected={"root_cause": "store_config", "rule": "unknown-store"})
    finally:
        C.delete_and_confirm(c, iid)


def case_twice():
    iid = mk("twice")
    try:
        C.upload(c, iid, C.PatternSource(1 << 20, seed=2), timeout=(30, 60))
        up = C.upload(c, iid, C.PatternSource(1 << 20, seed=2), timeout=(30, 60))
        save("upload-twice-409", captured="real", how="a second PUT of data to an active image (via the VIP)",
             status=up.status, body=up.body, request_id=up.request_id, image_after=record(iid),
             log_lines=log_lines(up.global_request_id),
             expected={"root_cause": "availability", "rule": "unexpected"})
    finally:
        C.delete_and_confirm(c, iid)


def case_quota(label, endpoint):
    iid = mk("quota")
    try:
        up = C.upload(c, iid, C.PatternSource(9 << 30, seed=3), timeout=(30, 60), endpoint_override=endpoint)
        save(f"quota-unified-limits-413-{label}", captured="real",
             how="PUT with Content-Length 9 GiB, over the project's image_size_total limit of 8192 MiB; "
                 "Glance answers before reading the body (" + label + ")",
             status=up.status, body=up.body, request_id=up.request_id, client_note=up.error,
             image_after=record(iid), log_lines=log_lines(up.global_request_id, iid),
             expected={"root_cause": "quota", "rule": "quota"})
    finally:
        C.delete_and_confirm(c, iid)


def case_chunked_direct():
    iid = mk("chunked")
    try:
        gid = C.new_request_id()

        def gen():
            for _ in range(4):
                yield b"\x00" * (1 << 20)
        r = requests.put(f"http://{DIRECT}:9292/v2/images/{iid}/file", data=gen(), timeout=60,
                         headers={"X-Auth-Token": c.session.get_token(), "Content-Type": "application/octet-stream",
                                  "X-OpenStack-Request-ID": gid})
        save("chunked-body-direct-500", captured="real",
             how="PUT with Transfer-Encoding: chunked straight to uWSGI's http-socket (no Content-Length)",
             status=r.status_code, body=r.text, request_id=r.headers.get("x-openstack-request-id"),
             image_after=record(iid), log_lines=log_lines(gid, iid),
             expected={"root_cause": "interrupted_upload", "rule": "500-body-unreadable"})
    finally:
        C.delete_and_confirm(c, iid)


def case_disconnect(label, addr):
    iid = mk("disconnect")
    try:
        s, gid = raw_partial(addr, iid, 8 << 20, 2 << 20)
        time.sleep(0.5)
        s.close()
        time.sleep(2)
        save(f"client-disconnect-{label}", captured="real",
             how=f"PUT announcing 8 MiB, 2 MiB sent, then the client closes the socket ({label})",
             status=C.CLIENT_DISCONNECT, body="", request_id=None, image_after=record(iid),
             log_lines=log_lines(gid, iid),
             expected={"root_cause": "interrupted_upload", "rule": "client-disconnect"})
    finally:
        C.delete_and_confirm(c, iid)


def case_size_mismatch():
    iid = mk("size")
    try:
        s, gid = raw_partial(DIRECT, iid, 4 << 20, 4 << 20, {"x-openstack-image-size": str(8 << 20)})
        status, headers, body = split_http(read_all(s))
        save("size-mismatch-400", captured="real",
             how="PUT with x-openstack-image-size 8 MiB but a 4 MiB body (direct)",
             status=status, body=body, request_id=headers.get("x-openstack-request-id"),
             image_after=record(iid), log_lines=log_lines(gid, iid),
             expected={"root_cause": "interrupted_upload", "rule": "size-mismatch-400"})
    finally:
        C.delete_and_confirm(c, iid)


def case_deleted_during_upload():
    iid = mk("deleted")
    s, gid = raw_partial(VIP, iid, 8 << 20, 2 << 20)
    time.sleep(0.5)
    c.image.delete(f"/images/{iid}")
    s.sendall(b"\x5a" * (6 << 20))
    status, headers, body = split_http(read_all(s))
    save("deleted-during-upload-410", captured="real",
         how="PUT announcing 8 MiB via the VIP; after 2 MiB the image is deleted, then the rest is sent",
         status=status, body=body, request_id=headers.get("x-openstack-request-id"),
         image_after=record(iid), log_lines=log_lines(gid, iid),
         expected={"root_cause": "interrupted_upload", "rule": "deleted-during-upload"})
    C.delete_and_confirm(c, iid)


def case_refused():
    iid = mk("refused")
    try:
        up = C.upload(c, iid, C.PatternSource(1 << 20, seed=4), endpoint_override=f"http://{DIRECT}:9299/v2",
                      timeout=(5, 30))
        save("connection-refused", captured="real", how="upload to a port of the glance node where nothing listens",
             status=up.status, body=up.body, error=up.error, request_id=None, image_after=record(iid),
             log_lines=[], expected={"root_cause": "availability", "rule": "cannot-connect"})
    finally:
        C.delete_and_confirm(c, iid)


def case_haproxy_408():
    s = socket.create_connection((VIP, 9292), timeout=60)
    s.sendall(b"PUT /v2/images/00000000-0000-0000-0000-000000000000/file HTTP/1.1\r\nHost: x\r\n")
    t = time.monotonic()
    status, headers, body = split_http(read_all(s, 60))
    save("haproxy-request-timeout-408", captured="real",
         how=f"request headers left incomplete at the VIP; HAProxy's timeout http-request answered after {time.monotonic() - t:.0f}s",
         status=status, body=body, request_id=None, image_after={"status": "queued"}, log_lines=[],
         expected={"root_cause": "interrupted_upload", "rule": "request-timeout"})


def case_no_data():
    iid = mk("nodata")
    try:
        dl = C.download(c, iid, timeout=(30, 60))
        save("download-no-data-204", captured="real", how="GET /v2/images/{id}/file of an image without data",
             status=dl.status, body=dl.body, bytes=dl.bytes, request_id=dl.request_id, image_after=record(iid),
             log_lines=[], expected={"root_cause": "checksum_mismatch", "rule": "no-data", "as_status": C.NO_DATA})
    finally:
        C.delete_and_confirm(c, iid)


def case_store_full():
    iid = mk("store-full")
    try:
        up = C.upload(c, iid, C.PatternSource(100 << 20, seed=6), "cheap", timeout=(30, 120))
        save("store-full-413", captured="real",
             how="100 MiB upload to the 96 MiB cheap store: ENOSPC mid-body; Glance deleted the partial file",
             status=up.status, body=up.body, request_id=up.request_id, image_after=record(iid),
             log_lines=[line for line in log_lines(up.global_request_id, iid) if "/file" in line or "glance.api" in line],
             expected={"root_cause": "store_full", "rule": "store-full"})
    finally:
        C.delete_and_confirm(c, iid)


def case_missing_image():
    iid = "3f0e4c1e-0000-4000-8000-00000000dead"
    up = C.upload(c, iid, C.PatternSource(1 << 20, seed=5), timeout=(30, 60))
    save("upload-unknown-image-404", captured="real", how="PUT data for an image id that does not exist",
         status=up.status, body=up.body, request_id=up.request_id, image_after=record(iid), log_lines=[],
         expected={"root_cause": "availability", "rule": "unexpected"})


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["unknown_store", "twice", "quota", "chunked_direct", "disconnect", "size_mismatch",
                              "deleted_during_upload", "refused", "no_data", "missing_image", "haproxy_408"]
    for name in wanted:
        if lab_faults() != "none":
            print("lab has faults; waiting")
            while lab_faults() != "none":
                time.sleep(5)
        if name == "quota":
            case_quota("vip", None)
            case_quota("direct", f"http://{DIRECT}:9292/v2")
        elif name == "disconnect":
            case_disconnect("direct", DIRECT)
            case_disconnect("vip", VIP)
        else:
            globals()[f"case_{name}"]()
