#!/usr/bin/env python3
"""`make bench`: the suite's costs against the lab, each as a ratio against a baseline of the same run.

    make bench                                    # lab up, then this with the lab's environment
    OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml .venv/bin/python -m bench.run
    .venv/bin/python -m bench.run --only P1,P4 --reps 2      # a part, fewer repetitions
    .venv/bin/python -m bench.run --cleanup                  # remove what a killed run left

P1  canary throughput: the suite's canary upload (PatternSource + canary.upload) against
    `curl -T` of the same bytes to the same glance-api node (direct, no HAProxy); the canary's
    verified download against `curl | tee >(md5sum) >(sha512sum)`; 64 MiB and 1 GiB.
P1d verified download at the machine's limit: the canary's download over min(unverified
    `curl -o /dev/null`, md5 + sha512 in two threads over memory), both measured in the same run
    (bench/download_bench.py); 64 MiB and 1 GiB.
P2  client memory: peak RSS of a process doing the canary with 1 GiB minus with 1 MiB
    (/usr/bin/time -f %M of a child running bench/canary_child.py).
P3  per-host cost: remote round trips per host in a full run (counted by an ssh wrapper and
    read from health.json), the whole suite's warm wall time on one host against that many
    bare `ssh host true` round trips over a ControlMaster (target 6 s), and the demo's scope
    (every controller, the Kolla container when it runs, `make demo`'s options) warm (10 s).
P4  stale-image sweep: 10,000 queued image records seeded into Glance's database (clones of
    the rows Glance wrote for an image created through the API), the stale-image and
    canary-orphan checks timed and their API requests counted from the glance-api uWSGI logs,
    against one SDK paged listing (limit 1000). The rows are removed at the end, always.
P5  fleet: `-m host` against 1, 4, 8 and 16 real glance-api nodes (the lab scaled to 16 and back,
    `python -m lab scale`), wall time and the client's peak RSS against 1 node; and 200 hosts
    simulated by ssh aliases over the 16 nodes (bench/fleet_bench.py).
P6  history: 365 nightly runs load and render in under 2 s, the report under 5 MB (bench/history_bench.py).

Every figure is the median of several repetitions; subject and baseline run side by side and
the ratio is the median of the pair ratios. Each prints one line, all go to reports/bench.json
with the date, the machine and the versions. Benchmarks report: a missed target does not make
this exit non-zero (a benchmark that could not run, or a cleanup that failed, does).
Everything created is named hc-bench-* and deleted; the 1 GiB images only go to the default
store, one at a time, after checking it has room.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import download_bench, fleet_bench, history_bench, labio
from bench.stats import MIB, Target, compare, fmt, median, paired_differences, verdict
from glance_hc import canary

ROOT = Path(__file__).resolve().parents[1]

GIB = 1 << 30
BENCH_PREFIX = "hc-bench-"
# The suite command of the brief (thresholds sized for the lab's small stores).
SUITE_ARGS = ["--largest-image=64MiB"]
# what `make demo` adds (the Makefile's LAB_ARGS): P3's demo scope
DEMO_ARGS = ["--slowest-client-rate=10MiB", "--canary-size=4MiB"]
# The stale-image checks are test_no_images_stuck_in_transient_status[...]: "-k stale" selects
# none of them (no "stale" in their names, module or markers), only the canary-orphan check.
P4_SELECT = "stuck_in_transient_status or canary_images_left"
STORE_DIRS = {"fast": "/var/lib/glance/images", "cheap": "/var/lib/glance/cheap"}  # the lab's config

CURL_DOWNLOAD = r'''#!/bin/bash
# glance-hc bench P1 baseline: curl into md5sum and sha512sum in parallel (tee into both).
# args: header-file url workdir; prints "curl-exit start end md5 sha512"
set -o pipefail
h=$1 url=$2 d=$3
rm -f "$d/a" "$d/b" "$d/md5" "$d/sha"
mkfifo "$d/a" "$d/b"
md5sum < "$d/a" > "$d/md5" & p1=$!
sha512sum < "$d/b" > "$d/sha" & p2=$!
t0=$EPOCHREALTIME
curl -sS -f -H "@$h" "$url" | tee "$d/a" "$d/b" > /dev/null
rc=$?
wait $p1 $p2
t1=$EPOCHREALTIME
echo "$rc $t0 $t1 $(cut -d' ' -f1 "$d/md5") $(cut -d' ' -f1 "$d/sha")"
'''


class BenchError(RuntimeError):
    """A benchmark could not measure what it should."""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def size_label(num_bytes: int) -> str:
    if num_bytes >= GIB and num_bytes % GIB == 0:
        return f"{num_bytes // GIB}GiB"
    if num_bytes % MIB == 0:
        return f"{num_bytes // MIB}MiB"
    return f"{num_bytes}B"


@dataclass
class SuiteRun:
    cmd: list[str]
    wall: float
    exit_code: int
    health: dict
    ssh: dict
    outdir: Path
    output: str
    peak_rss_mib: float | None = None

    @property
    def checks(self) -> list[dict]:
        return self.health.get("checks", [])

    def brief(self) -> dict:
        bad = [f"{c['nodeid']}: {c['outcome']}" for c in self.checks if c.get("outcome") in ("failed", "error")]
        return {"wall_s": round(self.wall, 3), "exit": self.exit_code, "verdict": self.health.get("verdict"),
                "peak_rss_mib": round(self.peak_rss_mib, 1) if self.peak_rss_mib else None,
                "summary": self.health.get("summary"), "failed": bad[:10],
                "ssh_commands": dict(self.ssh)}


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hc-bench-")))
    results: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    created: dict = field(default_factory=dict)  # image id -> (name, endpoint)
    conn: object = None
    store: str | None = None
    runs: int = 0

    def __post_init__(self):
        os.chmod(self.tmp, 0o700)
        self.cloud = self.args.cloud
        self.node_name = self.args.node
        self.node = canary.api_endpoint(f"http://{labio.NODE_ADDR[self.node_name]}:9292")
        self.control_dir = self.tmp / "cm"
        self.bindir = self.tmp / "bin"
        labio.install_ssh_wrapper(self.bindir)

    # ---------------------------------------------------------------- the cloud

    def connect(self) -> None:
        from glance_hc.fixtures.cloud import connect  # noqa: PLC0415 - the suite's own connection

        state = connect(self.cloud, 30)
        if state.error:
            raise BenchError(state.error)
        self.conn = state.conn
        stores, answer = canary.offered_stores(self.conn, timeout=30)
        self.store = next((str(s["id"]) for s in stores or [] if canary.is_default_store(s)), None)
        log(f"cloud {self.cloud}: default store {self.store}, node {self.node_name} at {self.node}")

    def token_header(self) -> Path:
        """A curl header file with a fresh token (0600, in the 0700 temp dir); never printed."""
        path = self.tmp / f"hdr-{uuid.uuid4().hex[:8]}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"X-Auth-Token: {self.conn.session.get_token()}\n")
        return path

    def create(self, name: str, endpoint: str | None = None, body: dict | None = None) -> str:
        if body is None:
            answer = canary.create_image(self.conn, name, endpoint_override=endpoint, timeout=30)
        else:
            answer, _ = canary.call(self.conn, "POST", "/images", json={"name": name, **body},
                                    endpoint_override=endpoint, timeout=30)
        image_id = (answer.json or {}).get("id") if answer.ok else None
        if not image_id:
            # the create may have worked without us seeing it: the final sweep deletes by name
            raise BenchError(f"could not create {name}: {answer.describe()}")
        self.created[image_id] = (name, endpoint)
        return image_id

    def delete(self, image_id: str) -> None:
        name, endpoint = self.created.get(image_id, (None, None))
        result = canary.delete_and_confirm(self.conn, image_id, name=name, endpoint_override=endpoint,
                                           timeout=60, request_timeout=30)
        if not result.ok:
            raise BenchError(f"could not delete {name} ({image_id}): {result.detail}")
        self.created.pop(image_id, None)

    def sweep(self) -> list[str]:
        """Delete what earlier steps (or a killed run) left: seeded rows, then hc-bench-* images."""
        notes = []
        try:
            removed = labio.db_script("clean", labio.SEEDED_PREFIX)["removed"]
            if removed.get("images"):
                notes.append(f"removed {removed['images']} seeded image rows left in the database")
        except (labio.LabError, subprocess.SubprocessError, ValueError) as exc:
            notes.append(f"seeded rows not cleaned: {exc}")
            self.problems.append(notes[-1])
        if self.conn is None:
            return notes
        for image_id in list(self.created):
            try:
                self.delete(image_id)
            except BenchError as exc:
                notes.append(str(exc))
                self.problems.append(str(exc))
        end = BENCH_PREFIX + "\U0010ffff"
        try:
            images, _ = canary.list_images(self.conn, page_size=1000, timeout=30, sort_key="name", sort_dir="asc",
                                           stop=lambda img: (img.get("name") or "") > end)
        except RuntimeError as exc:
            notes.append(f"could not list leftovers: {exc}")
            return notes
        for img in images:
            if (img.get("name") or "").startswith(BENCH_PREFIX):
                result = canary.delete_and_confirm(self.conn, img["id"], timeout=60, request_timeout=30)
                notes.append(f"deleted leftover {img.get('name')} ({img['id']}): {result.detail}")
                if not result.ok:
                    self.problems.append(notes[-1])
        return notes

    # ---------------------------------------------------------------- the suite

    def suite(self, hosts: list[str], *extra: str, ssh_config: Path | None = None, label: str = "run",
              timeout: float = 600) -> SuiteRun:
        self.runs += 1
        outdir = self.tmp / f"{label}-{self.runs}"
        outdir.mkdir()
        # the client's peak RSS, by GNU time, in a file of its own (the suite's output stays apart)
        cmd = ["/usr/bin/time", "-f", "%M", "-o", str(outdir / "maxrss_kib"),
               sys.executable, "-m", "pytest", "checks/", *[f"--host={h}" for h in hosts]]
        if hosts:
            cmd += [f"--ssh-config={ssh_config or labio.SSH_CONFIG}", f"--ssh-control-dir={self.control_dir}"]
        cmd += [f"--os-cloud={self.cloud}", *SUITE_ARGS, f"--health-json={outdir}/health.json",
                f"--html={outdir}/health.html", f"--junitxml={outdir}/junit.xml", "-q", *extra]
        env = {**os.environ, **labio.ssh_wrapper_env(self.bindir, outdir / "ssh.log", hosts)}
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        wall = time.monotonic() - started
        health_file = outdir / "health.json"
        health = json.loads(health_file.read_text()) if health_file.exists() else {}
        if not health.get("checks"):
            raise BenchError(f"the suite run wrote no results (exit {proc.returncode}): "
                             f"{(proc.stdout + proc.stderr).strip()[-600:]}")
        try:
            rss = int((outdir / "maxrss_kib").read_text().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            rss = None
        return SuiteRun(cmd, wall, proc.returncode, health, dict(labio.ssh_calls(outdir / "ssh.log")), outdir,
                        (proc.stdout + proc.stderr)[-2000:], rss)

    def stop_masters(self) -> None:
        """End the ssh ControlMasters the bench's suite runs and baselines started (their sockets)."""
        if not self.control_dir.exists():
            return
        for sock in self.control_dir.iterdir():
            subprocess.run(["/usr/bin/ssh", "-o", f"ControlPath={sock}", "-O", "exit", "hc-bench"],
                           capture_output=True, timeout=10)

    # ---------------------------------------------------------------- results

    def emit(self, bench_id: str, name: str, line: str, targets: list[tuple[Target, float | None]],
             **data) -> dict:
        full = f"{bench_id} {name}: {line} {verdict(targets)}".rstrip()
        print(full, flush=True)
        record = {"id": bench_id, "name": name, "line": full,
                  "targets": [t.as_dict(m) for t, m in targets],
                  "met": all(t.met(m) for t, m in targets) if targets else None, **data}
        self.results.append(record)
        return record

    def not_run(self, bench_id: str, name: str, exc: BaseException) -> None:
        full = f"{bench_id} {name}: not measured ({exc})"
        print(full, flush=True)
        self.results.append({"id": bench_id, "name": name, "line": full, "met": None, "error": str(exc),
                             "traceback": traceback.format_exc()[-3000:]})
        self.problems.append(full)


# ==================================================================== P1 canary throughput


def _store_room(store: str | None) -> int | None:
    path = STORE_DIRS.get(store or "")
    if not path:
        return None
    out = labio.in_ns("controller1", ["df", "-B1", "--output=avail", path], timeout=30)
    lines = out.stdout.split()
    return int(lines[-1]) if out.returncode == 0 and lines and lines[-1].isdigit() else None


def _curl_upload(b: Bench, image_id: str, data: Path) -> tuple[int, float, int]:
    header = b.token_header()
    try:
        cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_upload}",
               "-T", str(data), "-H", f"@{header}", "-H", "Content-Type: application/octet-stream",
               "-H", "Expect:"]
        if b.store:
            cmd += ["-H", f"X-Image-Meta-Store: {b.store}"]
        out = subprocess.run(cmd + [f"{b.node}/images/{image_id}/file"], capture_output=True, text=True,
                             timeout=900)
    finally:
        header.unlink(missing_ok=True)
    try:
        status, seconds, sent = out.stdout.split()
        return int(status), float(seconds), int(float(sent))
    except ValueError as exc:
        raise BenchError(f"curl upload: exit {out.returncode}: {out.stderr.strip()[-300:]}") from exc


def _curl_download(b: Bench, image_id: str) -> tuple[float, str, str]:
    script = b.tmp / "curl-download.sh"
    if not script.exists():
        script.write_text(CURL_DOWNLOAD)
    work = b.tmp / "dl"
    work.mkdir(exist_ok=True)
    header = b.token_header()
    try:
        out = subprocess.run(["bash", str(script), str(header), f"{b.node}/images/{image_id}/file", str(work)],
                             capture_output=True, text=True, timeout=900)
    finally:
        header.unlink(missing_ok=True)
    parts = out.stdout.split()
    if len(parts) != 5 or parts[0] != "0":
        raise BenchError(f"curl download failed: {out.stdout.strip()[:200]} {out.stderr.strip()[-300:]}")
    return float(parts[2]) - float(parts[1]), parts[3], parts[4]


def _canary_round(b: Bench, size: int, seed: int, curl_download_first: bool) -> tuple[float, float, float]:
    """The suite's canary steps on one node: (upload MiB/s, canary download MiB/s, curl download MiB/s)."""
    source = canary.PatternSource(size, seed=seed)
    image_id = b.create(f"{BENCH_PREFIX}p1-canary-{size_label(size)}-{uuid.uuid4().hex[:8]}", b.node)
    try:
        up = canary.upload(b.conn, image_id, source, b.store, endpoint_override=b.node, timeout=(30, 900),
                           deadline=900)
        if not up.ok:
            raise BenchError(f"canary upload failed: {up.describe()}")
        record = canary.wait_for_status(b.conn, image_id, "active", 120, endpoint_override=b.node, interval=0.5,
                                        request_timeout=30)
        problems = canary.verify_record(record, source, b.store)
        if problems:
            raise BenchError(f"canary record: {problems}")
        algo = record.get("os_hash_algo") or source.hash_algo
        if algo != "sha512":
            raise BenchError(f"os_hash_algo is {algo}: the curl baseline hashes with sha512sum")
        speeds = {}
        for who in (("curl", "canary") if curl_download_first else ("canary", "curl")):
            if who == "canary":
                down = canary.download(b.conn, image_id, hash_algo=algo, endpoint_override=b.node,
                                       timeout=(30, 900), deadline=900)
                if not down.ok:
                    raise BenchError(f"canary download failed: {down.describe()}")
                problems = canary.verify_download(down, record, source)
                if problems:
                    raise BenchError(f"canary download: {problems}")
                speeds["canary"] = down.mib_per_s
            else:
                seconds, md5, sha = _curl_download(b, image_id)
                if md5 != record.get("checksum") or sha != record.get("os_hash_value"):
                    raise BenchError("curl download: md5/sha512 differ from the image record")
                speeds["curl"] = size / MIB / seconds
        return up.mib_per_s, speeds["canary"], speeds["curl"]
    finally:
        b.delete(image_id)


def _curl_round(b: Bench, size: int, data: Path, md5: str, sha512: str) -> float:
    image_id = b.create(f"{BENCH_PREFIX}p1-curl-{size_label(size)}-{uuid.uuid4().hex[:8]}", b.node)
    try:
        status, seconds, sent = _curl_upload(b, image_id, data)
        if status != 204 or sent != size:
            raise BenchError(f"curl upload answered HTTP {status} after {sent} of {size} bytes")
        record = canary.wait_for_status(b.conn, image_id, "active", 120, endpoint_override=b.node, interval=0.5,
                                        request_timeout=30)
        if record.get("size") != size or record.get("checksum") != md5 or record.get("os_hash_value") != sha512:
            raise BenchError("curl upload: the image record does not match the bytes sent")
        return size / MIB / seconds
    finally:
        b.delete(image_id)


def p1(b: Bench) -> None:
    for size in b.args.p1_sizes:
        label = size_label(size)
        reps = b.args.reps or (b.args.p1_reps_small if size <= 64 * MIB else b.args.p1_reps_large)
        try:
            room = _store_room(b.store)
            if room is not None and room < size + 64 * MIB:
                raise BenchError(f"store {b.store} has {room // MIB} MiB free, {label} needs {size // MIB + 64}")
            seed = random.SystemRandom().randrange(1 << 32)
            data = b.tmp / f"pattern-{label}.bin"
            md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha512()
            with open(data, "wb") as out:
                for chunk in canary.PatternSource(size, seed=seed).chunks():
                    out.write(chunk)
                    md5.update(chunk)
                    sha.update(chunk)
            up_c, up_b, down_c, down_b = [], [], [], []
            try:
                for rep in range(reps):
                    log(f"P1 {label} repetition {rep + 1}/{reps}")
                    if rep % 2 == 0:
                        c_up, c_down, b_down = _canary_round(b, size, seed, curl_download_first=False)
                        b_up = _curl_round(b, size, data, md5.hexdigest(), sha.hexdigest())
                    else:
                        b_up = _curl_round(b, size, data, md5.hexdigest(), sha.hexdigest())
                        c_up, c_down, b_down = _canary_round(b, size, seed, curl_download_first=True)
                    up_c.append(c_up), up_b.append(b_up), down_c.append(c_down), down_b.append(b_down)
            finally:
                data.unlink(missing_ok=True)
        except (BenchError, canary.WaitTimeout, canary.UnexpectedStatus, subprocess.SubprocessError) as exc:
            b.not_run("P1", f"upload {label}", exc)
            b.not_run("P1", f"download {label}", exc)
            continue
        target = Target("ratio", ">=", 0.95)
        where = f"glance-api on {b.node_name} direct ({b.node}), store {b.store}"
        up = compare(up_c, up_b)
        b.emit("P1", f"upload {label}", f"canary {fmt(up.subject_median)} MiB/s, curl {fmt(up.baseline_median)} "
               f"MiB/s, ratio {up.ratio:.2f}", [(target, up.ratio)], unit="MiB/s", size=size, repetitions=reps,
               subject="glance_hc.canary PatternSource + upload()", baseline="curl -T FILE (Expect: off)",
               where=where, **up.as_dict())
        down = compare(down_c, down_b)
        b.emit("P1", f"download {label}", f"canary {fmt(down.subject_median)} MiB/s, curl | tee md5sum "
               f"sha512sum {fmt(down.baseline_median)} MiB/s, ratio {down.ratio:.2f}", [(target, down.ratio)],
               unit="MiB/s", size=size, repetitions=reps,
               subject="glance_hc.canary download() with md5 + sha512, verify_download()",
               baseline="curl | tee >(md5sum) >(sha512sum), digests compared", where=where, **down.as_dict())


# ==================================================================== P2 client memory


def _child_peak_rss(b: Bench, size: int) -> tuple[float, dict]:
    """Peak RSS (MiB) of a child process doing one canary of `size` bytes.

    Read by /usr/bin/time (-f %M), not from wait4()/RUSAGE_CHILDREN of this process: a child's
    ru_maxrss includes the image it was forked from until exec (Linux keeps the old mm's
    high-water mark), so a direct child of this ~60 MiB process never reads below 60 MiB.
    `time` is small; the child also reports its own VmHWM (/proc/self/status) as a cross-check.
    """
    out_path, err_path, rss_path = b.tmp / "child.out", b.tmp / "child.err", b.tmp / "child.rss"
    rss_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.canary_child", "--cloud", b.cloud, "--size", str(size),
           "--endpoint", b.node, *(["--store", b.store] if b.store else [])]
    timer = shutil.which("time", path="/usr/bin:/bin")  # GNU time (Debian package "time")
    if timer:
        cmd = [timer, "-f", "%M", "-o", str(rss_path), *cmd]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=err, cwd=ROOT, timeout=900)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"the canary child ({size_label(size)}) did not finish in 900 s") from exc
    lines = out_path.read_text().strip().splitlines()
    try:
        result = json.loads(lines[-1])
        rss_kib = (int(rss_path.read_text().strip().splitlines()[-1]) if timer
                   else int(float(result["vmhwm_mib"]) * 1024))
    except (IndexError, ValueError, OSError) as exc:
        raise BenchError(f"the canary child gave no result (exit {proc.returncode}): "
                         f"{err_path.read_text()[-400:]}") from exc
    if not result.get("ok"):
        raise BenchError(f"the canary child failed: {result.get('problems') or result.get('error')}")
    return rss_kib / 1024, result


def p2(b: Bench) -> None:
    small, big = b.args.p2_small, b.args.p2_large
    reps = b.args.reps or b.args.p2_reps
    try:
        rss_small, rss_big, runs = [], [], []
        for rep in range(reps):
            log(f"P2 repetition {rep + 1}/{reps}")
            for size in ((small, big) if rep % 2 == 0 else (big, small)):
                rss, result = _child_peak_rss(b, size)
                (rss_small if size == small else rss_big).append(rss)
                runs.append({"size": size, "peak_rss_mib": round(rss, 2), "vmhwm_mib": result.get("vmhwm_mib"),
                             "upload_mib_per_s": result.get("upload_mib_per_s"),
                             "download_mib_per_s": result.get("download_mib_per_s")})
    except BenchError as exc:
        b.not_run("P2", "client memory", exc)
        return
    diffs = paired_differences(rss_big, rss_small)
    diff = median(diffs)
    cmp_ = compare(rss_big, rss_small)
    b.emit("P2", "client memory", f"canary {size_label(big)} peak RSS {fmt(cmp_.subject_median)} MiB, "
           f"{size_label(small)} {fmt(cmp_.baseline_median)} MiB, difference {fmt(diff)} MiB, ratio {cmp_.ratio:.2f}",
           [(Target("difference", "<", 30, "MiB"), diff)], unit="MiB", repetitions=reps,
           subject=f"child process: canary of {size_label(big)}", baseline=f"the same with {size_label(small)}",
           how="/usr/bin/time -f %M of the child (its own VmHWM alongside)", pair_differences=[round(d, 2) for d in diffs],
           difference=round(diff, 2), runs=runs, **cmp_.as_dict())


# ==================================================================== P3 per-host cost


def _ssh_true(host: str, count: int, control_dir: Path) -> float:
    base = ["/usr/bin/ssh", "-F", str(labio.SSH_CONFIG), "-o", "BatchMode=yes", "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control_dir}/cm-%r@%h:%p", "-o", "ControlPersist=60s", host, "true"]
    subprocess.run(base, check=True, capture_output=True, timeout=30)  # the master is up (warm, like the suite)
    started = time.monotonic()
    for _ in range(count):
        subprocess.run(base, check=True, capture_output=True, timeout=30)
    return time.monotonic() - started


def _slowest(run: SuiteRun, count: int = 5) -> list[str]:
    return [f"{c['nodeid']} {c.get('duration')}s" for c in
            sorted(run.checks, key=lambda c: -(c.get("duration") or 0))[:count]]


def _demo_scope(hosts: list[str]) -> tuple[list[str], list[str], str]:
    """`make demo`'s hosts and options (the Makefile's LAB_ARGS, the Kolla container when it runs)."""
    from lab import kolla  # noqa: PLC0415 - the lab's own view of its container

    scope, extra = list(hosts), list(DEMO_ARGS)
    try:
        container = kolla.running()
    except Exception as exc:  # noqa: BLE001 - no podman, no container: said in the line
        container, why = False, f"Kolla container not looked at ({exc})"
    else:
        why = "with the Kolla container" if container else "Kolla container not running: not in the scope"
    if container:
        scope.append(f"podman://{kolla.CONTAINER}")
        extra.append(f"--glance-api-url=podman:{kolla.CONTAINER}=http://{kolla.ADDR}:9292")
    return scope, extra, why


def _p3_demo(b: Bench, hosts: list[str], reps: int) -> None:
    """The demo's scope (every controller, the container, every store's canary, the gate) warm."""
    scope, extra, why = _demo_scope(hosts)
    try:
        b.suite(scope, *extra, label="p3-demo-warmup")
        runs = [b.suite(scope, *extra, label="p3-demo") for _ in range(reps)]
    except (BenchError, subprocess.SubprocessError) as exc:
        b.not_run("P3", "the demo's scope wall time", exc)
        return
    walls = [r.wall for r in runs]
    b.emit("P3", f"the demo's scope wall time ({len(scope)} hosts, warm)",
           f"suite {fmt(median(walls))} s (runs {', '.join(fmt(w) for w in walls)} s; {why})",
           [(Target("seconds", "<=", 10, "s"), median(walls))], unit="s", repetitions=reps,
           subject=f"pytest checks/ {' '.join('--host=' + h for h in scope)} {' '.join(extra)}",
           runs=[r.brief() | {"checks_duration_s": r.health.get("duration"), "slowest_checks": _slowest(r)}
                 for r in runs])


def p3(b: Bench) -> None:
    hosts = labio.nodes()
    try:
        full = b.suite(hosts, label="p3-full")
        counted = {h: full.ssh.get(h, 0) for h in hosts}
        recorded = {h: (full.health.get("context", {}).get("hosts", {}).get(h) or {}).get("round_trips")
                    for h in hosts}
        worst = max(counted.values())
        b.emit("P3", f"round trips per host (full run, {len(hosts)} hosts)",
               ", ".join(f"{h} {counted[h]}" for h in hosts) + " counted at ssh; health.json says "
               + ", ".join(f"{h} {recorded[h]}" for h in hosts), [(Target("round trips", "<=", 10), worst)],
               counted=counted, health_json_round_trips=recorded, run=full.brief(),
               how="an ssh wrapper first on PATH logs every ssh command the suite runs, by host alias")
    except (BenchError, subprocess.SubprocessError) as exc:
        b.not_run("P3", "round trips per host", exc)
    reps = b.args.reps or b.args.p3_reps
    _p3_demo(b, hosts, reps)
    host = b.node_name
    extra = ["-k", b.args.p3_select] if b.args.p3_select else []
    try:
        log("P3 one-host warm-up run")
        b.suite([host], *extra, label="p3-warmup")
        walls, bases, trips, runs, serial = [], [], [], [], []
        for rep in range(reps):
            log(f"P3 repetition {rep + 1}/{reps}")
            run = b.suite([host], *extra, label="p3")
            n = run.ssh.get(host, 0)
            walls.append(run.wall)
            trips.append(n)
            runs.append(run.brief() | {"checks_duration_s": run.health.get("duration"),
                                       "slowest_checks": _slowest(run)})
            bases.append(_ssh_true(host, max(n, 1), b.control_dir))
            # the same run with its canaries one after another (the suite before canary_parallel)
            serial.append(b.suite([host], *extra, "--canary-parallel=1", label="p3-serial").wall)
    except (BenchError, subprocess.SubprocessError) as exc:
        b.not_run("P3", f"suite wall time ({host})", exc)
        return
    side = compare(walls, serial)
    b.emit("P3", f"canaries side by side ({host}, warm)", f"suite {fmt(side.subject_median)} s, with "
           f"--canary-parallel=1 {fmt(side.baseline_median)} s, ratio {fmt(side.ratio)}",
           [(Target("ratio", "<", 1.0), side.ratio)], unit="s", repetitions=reps,
           subject=f"pytest checks/ --host={host} (canary_parallel default)",
           baseline=f"pytest checks/ --host={host} --canary-parallel=1", **side.as_dict())
    cmp_ = compare(walls, bases)
    b.emit("P3", f"suite wall time ({host}, warm)", f"suite {fmt(cmp_.subject_median)} s, "
           f"{median(trips):g} bare ssh round trips {fmt(cmp_.baseline_median, 3)} s, ratio {fmt(cmp_.ratio)}",
           [(Target("seconds", "<=", 6, "s"), cmp_.subject_median)], unit="s", repetitions=reps,
           subject=f"pytest checks/ --host={host} (canary included){' ' + ' '.join(extra) if extra else ''}",
           baseline=f"as many `ssh -F ssh_config {host} true` over a warm ControlMaster", round_trips=trips,
           runs=runs, **cmp_.as_dict())


# ==================================================================== P4 stale-image sweep


def _pages_in_evidence(check: dict) -> int | None:
    for item in check.get("evidence", []):
        m = re.search(r"\((\d+) page\(s\)", item.get("body") or "")
        if m:
            return int(m.group(1))
    return None


def p4(b: Bench) -> None:
    count = b.args.p4_images
    reps = b.args.reps or b.args.p4_reps
    tag = uuid.uuid4().hex[:8]
    prefix = f"{labio.SEEDED_PREFIX}{tag}-"
    name = f"sweep {count} images"
    cleanup: dict = {}
    try:
        template = b.create(f"{BENCH_PREFIX}sweep-template-{tag}",
                            body={"disk_format": "raw", "container_format": "bare", "visibility": "private"})
        log(f"P4 seeding {count} image records (clones of {template}'s rows)")
        started = time.monotonic()
        seeded = labio.db_script("seed", template, prefix, str(count))
        seed_seconds = time.monotonic() - started
        b.delete(template)  # through the API, as any image (Glance keeps its soft-deleted row)
        check_s, sdk_s, walls, runs = [], [], [], []
        worst_per_image, listed = 0, 0
        for rep in range(reps):
            log(f"P4 repetition {rep + 1}/{reps}")
            for who in (("sdk", "suite") if rep % 2 == 0 else ("suite", "sdk")):
                offsets = labio.log_sizes()
                if who == "sdk":
                    started = time.monotonic()
                    images = list(b.conn.image.images(limit=1000))
                    sdk_s.append(time.monotonic() - started)
                    listed = len(images)
                    if listed < count:
                        raise BenchError(f"the SDK listing shows {listed} images, {count} were seeded")
                    reqs = labio.classify_requests(sum(labio.log_lines_since(offsets).values(), []))
                    runs.append({"who": "sdk", "seconds": round(sdk_s[-1], 3), "images": listed, "requests": reqs})
                else:
                    run = b.suite([], "-k", b.args.p4_select, label="p4")
                    reqs = labio.classify_requests(sum(labio.log_lines_since(offsets).values(), []))
                    seconds = sum(c.get("duration") or 0 for c in run.checks)
                    check_s.append(seconds)
                    walls.append(run.wall)
                    worst_per_image = max(worst_per_image, reqs["per_image"])
                    runs.append({"who": "suite", "checks_seconds": round(seconds, 3), **run.brief(), "requests": reqs,
                                 "checks": [{"nodeid": c["nodeid"], "outcome": c["outcome"],
                                             "duration": c.get("duration"), "pages": _pages_in_evidence(c)}
                                            for c in run.checks]})
    except (BenchError, labio.LabError, subprocess.SubprocessError, canary.WaitTimeout) as exc:
        b.not_run("P4", name, exc)
        return
    finally:
        try:
            cleanup = labio.db_script("clean", prefix)
            left = labio.db_script("count", prefix)["count"]
            cleanup["left"] = left
            log(f"P4 cleanup: {cleanup}")
            if left:
                b.problems.append(f"P4: {left} seeded rows left ({prefix}*)")
        except (labio.LabError, subprocess.SubprocessError, ValueError) as exc:
            b.problems.append(f"P4 cleanup failed: {exc}; run bench/run.py --cleanup")
            log(b.problems[-1])
    cmp_ = compare(check_s, sdk_s)
    suite_reqs = [r["requests"] for r in runs if r["who"] == "suite"]
    sdk_reqs = [r["requests"] for r in runs if r["who"] == "sdk"]
    b.emit("P4", name, f"checks {fmt(cmp_.subject_median)} s (pytest wall {fmt(median(walls))} s), SDK listing "
           f"(limit 1000) {fmt(cmp_.baseline_median)} s, ratio {cmp_.ratio:.2f}; "
           f"{suite_reqs[-1]['total']} API requests ({suite_reqs[-1]['list']} list pages, "
           f"{worst_per_image} per image) vs {sdk_reqs[-1]['list']} pages",
           [(Target("checks seconds", "<", 5, "s"), cmp_.subject_median),
            (Target("per-image requests", "==", 0), worst_per_image)],
           unit="s", repetitions=reps, images_seeded=count, images_listed=listed, select=b.args.p4_select,
           seed_seconds=round(seed_seconds, 2), seeded_rows={"columns": seeded.get("columns"),
                                                             "children": {k: len(v) for k, v in
                                                                          seeded.get("children", {}).items()}},
           subject=f"pytest checks/ --os-cloud -k \"{b.args.p4_select}\" (sum of the checks' durations)",
           baseline="list(conn.image.images(limit=1000))", cleanup=cleanup, runs=runs, **cmp_.as_dict())


# ==================================================================== main

# P4 last: its 10,000 rows exceed the count quota
BENCHES = {"P1": p1, "P1D": download_bench.p1d, "P2": p2, "P3": p3, "P5": fleet_bench.p5, "P6": history_bench.p6, "P4": p4}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma list of P1, P1d, P2..P6 (default: all)")
    parser.add_argument("--cloud", default=os.environ.get("OS_CLOUD") or "hc-lab")
    parser.add_argument("--node", default="controller1", choices=sorted(labio.NODE_ADDR),
                        help="glance-api node for P1/P2 (direct) and P3")
    parser.add_argument("--reps", type=int, default=0, help="repetitions of every benchmark (default: per benchmark)")
    parser.add_argument("--p1-sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[64 * MIB, GIB], help="bytes, comma list")
    parser.add_argument("--p1-reps-small", type=int, default=5)
    parser.add_argument("--p1-reps-large", type=int, default=5)  # 1 GiB pairs vary by +-10%: 3 are too few
    parser.add_argument("--p1d-reps", type=int, default=3)
    parser.add_argument("--p2-small", type=int, default=MIB)
    parser.add_argument("--p2-large", type=int, default=GIB)
    parser.add_argument("--p2-reps", type=int, default=3)
    parser.add_argument("--p3-reps", type=int, default=3)
    parser.add_argument("--p3-select", default="", help='-k for the one-host runs, e.g. "not store-cheap"')
    parser.add_argument("--p4-images", type=int, default=10000)
    parser.add_argument("--p4-reps", type=int, default=3)
    parser.add_argument("--p4-select", default=P4_SELECT)
    parser.add_argument("--p5-reps", type=int, default=3)
    parser.add_argument("--p5-simulate", type=int, default=1,
                        help="also run 200 hosts simulated by ssh aliases over the 16 real nodes (0: skip it)")
    parser.add_argument("--output", default=str(ROOT / "reports" / "bench.json"))
    parser.add_argument("--keep-tmp", action="store_true", help="keep the suite runs' reports (temp dir)")
    parser.add_argument("--cleanup", action="store_true", help="only delete what earlier runs left, then exit")
    return parser.parse_args(argv)


def _on_term(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    b = Bench(args)
    started, date = time.monotonic(), datetime.now(UTC)
    selected = [x.strip().upper() for x in args.only.split(",") if x.strip()]
    unknown = [x for x in selected if x not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    faults = labio.faults_injected()
    if faults:
        log(f"warning: the lab has faults injected ({', '.join(faults)}): figures are not of a healthy lab")
    interrupted = False
    try:
        b.connect()
        notes = b.sweep()
        for note in notes:
            log(note)
        if args.cleanup:
            return 1 if b.problems else 0
        for bench_id in (x for x in BENCHES if x in selected):
            t0 = time.monotonic()
            try:
                BENCHES[bench_id](b)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one benchmark must not stop the others
                b.not_run(bench_id, "benchmark", exc)
            log(f"{bench_id} took {time.monotonic() - t0:.0f}s")
    except KeyboardInterrupt as exc:
        interrupted = True
        b.problems.append(f"interrupted: {exc}")
    except BenchError as exc:
        b.problems.append(str(exc))
        print(f"bench: {exc}", file=sys.stderr)
    finally:
        for note in b.sweep():
            log(note)
        b.stop_masters()
        if not args.keep_tmp:
            shutil.rmtree(b.tmp, ignore_errors=True)
        else:
            log(f"suite runs kept in {b.tmp}")
    if args.cleanup:
        return 1 if b.problems else 0
    report = {
        "date": date.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": labio.machine(),
        "versions": labio.versions(),
        "lab": {"dir": str(labio.LAB_DIR), "cloud": args.cloud, "node": args.node, "default_store": b.store,
                "controllers": labio.nodes(), "faults_at_start": faults},
        "selected": selected,
        "results": b.results,
        "summary": {"met": sum(1 for r in b.results if r.get("met") is True),
                    "missed": sum(1 for r in b.results if r.get("met") is False),
                    "not_measured": sum(1 for r in b.results if "error" in r),
                    "diagnostics": sum(1 for r in b.results if r.get("met") is None and "error" not in r)},
        "problems": b.problems,
        "interrupted": interrupted,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    s = report["summary"]
    print(f"bench: {s['met']} met, {s['missed']} missed, {s['not_measured']} not measured, "
          f"{s['diagnostics']} diagnostic(s) without a target in "
          f"{report['duration_s']:.0f}s; {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}", flush=True)
    for problem in b.problems:
        print(f"bench: problem: {problem}", file=sys.stderr)
    return 1 if (b.problems or interrupted) else 0


if __name__ == "__main__":
    sys.exit(main())
