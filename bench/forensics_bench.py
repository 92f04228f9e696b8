#!/usr/bin/env python3
"""Forensics of one image over two controllers whose glance-api logs are large stays bounded.

    flock /tmp/hc/lab.lock .venv/bin/python -m bench.forensics_bench [--log-size 256MiB] [--reps 3]

Each controller's /var/log/glance/glance-api.log is replaced for the run by a file of --log-size
of filler lines (other images' requests, in Glance's own format) followed by its real content; the
real file is moved aside, not copied (glance-api keeps writing to it), and moved back afterwards.
One user image is uploaded through the balancer, then:
  * the host probe's two phases on both controllers side by side (what the check's registry does
    before any check runs), and in process the check's two search rounds (the image id and
    glance-api's lifecycle markers, then the request ids found; both controllers side by side),
    against a plain `ssh controller1 true` measured in the same run (baseline);
  * end to end: `pytest checks/test_forensics.py --image ID` on both controllers, against the same
    run without --image (the check skips: collection, no host probe, no forensics).
Filtering happens on the host: the search is `grep -F` of fixed strings from where the log reaches
--since (a binary search on its stamps), the pattern filter a whole-text search of the last 8 MiB;
the client receives only the matching lines. `--filler-age` says how old the filler is: older than
the window (the default, a log's past), or inside it (the worst case: every byte is searched).
Target: the whole check under 5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from bench import labio
from bench.stats import median
from glance_hc import facts as facts_mod
from glance_hc import forensics
from glance_hc.fixtures.options import parse_duration
from glance_hc.hosts import parse_host
from glance_hc.probe import log_search
from glance_hc.sizes import parse_size

ROOT = Path(__file__).resolve().parents[1]

LOG = "/var/log/glance/glance-api.log"
ASIDE = LOG + ".hc-bench-real"
TARGET_S = 5.0
# Writes `size` bytes of Glance-style lines naming other images (one 8 MiB block of unique ones, written
# again and again: 2-5 s per GiB instead of 50), stamped `stamp` (local time), then appends the real log.
FILLER = r"""
import os, sys, uuid
size, real, out, stamp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
line = (stamp + ".000 4242 INFO glance.api.v2.image_data [None req-{r} 0123456789abcdef0123456789abcdef "
        "0123456789abcdef0123456789abcdef - - default default] Image {i} data uploaded to store fast\n")
block = "".join(line.format(r=uuid.uuid4(), i=uuid.uuid4()) for _ in range(36000)).encode()
with open(out, "wb") as f:
    written = 0
    while written < size:
        f.write(block)
        written += len(block)
    with open(real, "rb") as r:
        f.write(r.read())
os.chown(out, os.stat(real).st_uid, os.stat(real).st_gid)
"""


def grow_logs(nodes: list[str], size: int, stamp: str) -> None:
    for node in nodes:
        got = labio.in_ns(node, ["mv", LOG, ASIDE])
        if got.returncode:
            raise labio.LabError(f"{node}: {got.stderr}")
        got = labio.in_ns(node, ["python3", "-c", FILLER, str(size), ASIDE, LOG, stamp], timeout=600)
        if got.returncode:
            raise labio.LabError(f"{node}: {got.stderr}")


def restore_logs(nodes: list[str]) -> None:
    for node in nodes:
        labio.in_ns(node, ["mv", "-f", ASIDE, LOG])


def user_image(env: dict) -> str:
    """A healthy user image, uploaded through the balancer by the lab's openstacksdk."""
    code = ("import openstack,sys; c=openstack.connect(cloud='hc-lab'); "
            "i=c.image.create_image(name=sys.argv[1], disk_format='raw', container_format='bare', "
            "allow_duplicates=True, wait=False)\n"
            "r=c.image.put('/images/%s/file' % i.id, data=b'\\0'*(1<<20), raise_exc=False, "
            "headers={'Content-Type':'application/octet-stream'}); print(i.id, r.status_code)")
    out = subprocess.run([str(labio.LAB_PYTHON), "-c", code, f"hc-forensics-bench-{uuid.uuid4().hex[:8]}"],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return out.stdout.split()[0]


def delete_image(env: dict, image_id: str) -> None:
    code = "import openstack,sys; openstack.connect(cloud='hc-lab').image.delete_image(sys.argv[1], ignore_missing=True)"
    subprocess.run([str(labio.LAB_PYTHON), "-c", code, image_id], env=env, timeout=120)


def ssh_true() -> float:
    started = time.monotonic()
    subprocess.run(["ssh", "-F", str(labio.SSH_CONFIG), "controller1", "true"], check=True, timeout=60)
    return time.monotonic() - started


def in_process(hosts, image_id: str, window: timedelta) -> tuple[float, int]:
    """The check's two search rounds (glance_hc.fixtures.forensics): the image id and glance-api's
    lifecycle markers on every host side by side, then the request ids found."""
    started = time.monotonic()
    first = log_search.search(hosts, lambda _f: [image_id, *forensics.MARKERS], window)
    events = [e for got in first for e in forensics.events_of(got.host, got.lines)]
    ids = forensics.request_ids(e.text for e in events if image_id in e.text)
    if ids:
        events += [e for got in log_search.search(hosts, lambda _f: ids, window)
                   for e in forensics.events_of(got.host, got.lines)]
    return time.monotonic() - started, len(events)


def gather_all(nodes: list[str], window: timedelta) -> tuple[list, float]:
    """Both probe phases on every controller side by side, as the check's registry does (prefetch)."""
    import testinfra  # noqa: PLC0415

    started = time.monotonic()
    conns = [testinfra.get_host(f"ssh://{n}", ssh_config=str(labio.SSH_CONFIG)) for n in nodes]
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        found = list(pool.map(lambda pair: facts_mod.gather(parse_host(pair[0]), pair[1], window),
                              zip(nodes, conns, strict=True)))
    return list(zip(found, conns, strict=True)), time.monotonic() - started


def phase_breakdown(nodes: list[str], window: timedelta, reps: int) -> dict:
    """Where the probe's time goes, per host (one after another, so hosts do not share the cores):
    phase one, phase two, phase two without its log filter (no logs asked) and the search rounds'
    one round trip of a needle no log holds."""
    import testinfra  # noqa: PLC0415

    from glance_hc.probe import transport  # noqa: PLC0415

    minutes = int(window.total_seconds() // 60)
    out = {}
    for n in nodes:
        host = testinfra.get_host(f"ssh://{n}", ssh_config=str(labio.SSH_CONFIG))
        host.run("true")
        times: dict[str, list[float]] = {"discover": [], "stores_and_logs": [], "stores_and_logs_without_logs": [],
                                         "search_round": []}
        for _ in range(reps):
            started = time.monotonic()
            doc = transport.round_trip(host, facts_mod.discover_request(minutes))
            times["discover"].append(time.monotonic() - started)
            found = facts_mod.HostFacts(spec=parse_host(n), window=window)
            facts_mod.discover(found, doc)
            req = facts_mod.stores_request(found, minutes)
            for label, ask in (("stores_and_logs", req), ("stores_and_logs_without_logs", dict(req, logs=[]))):
                started = time.monotonic()
                transport.round_trip(host, ask)
                times[label].append(time.monotonic() - started)
            started = time.monotonic()
            log_search.search([(found, host)], lambda _f: [str(uuid.uuid4())], window)
            times["search_round"].append(time.monotonic() - started)
        out[n] = {k: round(median(v), 3) for k, v in times.items()}
    return out


def pytest_run(env: dict, nodes: list[str], image_id: str | None) -> float:
    args = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "test_forensics.py"), "-q", "-p", "no:randomly",
            *(f"--host={n}" for n in nodes), f"--ssh-config={labio.SSH_CONFIG}", "--os-cloud=hc-lab",
            "--health-json=", "-o", "addopts=", *( [f"--image={image_id}"] if image_id else [])]
    started = time.monotonic()
    subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=300)
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log-size", default="256MiB", help="size of each controller's glance-api.log (default 256MiB)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the in-process measure")
    ap.add_argument("--e2e-reps", type=int, default=1, help="repetitions of the pytest runs")
    ap.add_argument("--filler-age", default="1d", help="how old the filler lines are (default 1d: older "
                    "than --since, as a log's past; 10m puts the whole filler inside the 60m window)")
    opts = ap.parse_args()
    size = parse_size(opts.log_size)
    nodes = labio.nodes()
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(labio.CLOUDS_YAML)}
    window = timedelta(minutes=60)  # the suite's --since default
    stamp = (datetime.now() - parse_duration(opts.filler_age)).strftime("%Y-%m-%d %H:%M:%S")
    image_id = user_image(env)
    try:
        t0 = time.monotonic()
        grow_logs(nodes, size, stamp)
        print(f"grew glance-api.log to {opts.log_size} on {', '.join(nodes)} in {time.monotonic() - t0:.1f}s "
              f"(filler stamped {stamp})")
        try:
            probes = [gather_all(nodes, window) for _ in range(opts.reps)]
            hosts = probes[-1][0]
            base = [ssh_true() for _ in range(opts.reps)]
            subj = [in_process(hosts, image_id, window) for _ in range(opts.reps)]
            e2e_base = [pytest_run(env, nodes, None) for _ in range(opts.e2e_reps)]
            e2e = [pytest_run(env, nodes, image_id) for _ in range(opts.e2e_reps)]
            sizes = {n: labio.in_ns(n, ["stat", "-c", "%s", LOG]).stdout.strip() for n in nodes}
            phases = phase_breakdown(nodes, window, opts.reps)
        finally:
            restore_logs(nodes)
    finally:
        delete_image(env, image_id)
    result = {
        "log_bytes": sizes, "reps": opts.reps,
        "baseline_ssh_true_s": median(base),
        "forensics_round_trips_s": median([s[0] for s in subj]), "lines_received": subj[0][1],
        "filler_stamp": stamp,
        # the suite's host facts (both phases, every host side by side), gathered once per run for every check
        "host_probe_both_phases_s": median([p[1] for p in probes]),
        "probe_phases_per_host_s": phases,
        "pytest_without_image_s": median(e2e_base), "pytest_with_image_s": median(e2e),
    }
    result["forensics_over_baseline"] = result["forensics_round_trips_s"] / max(result["baseline_ssh_true_s"], 1e-6)
    result["check_cost_s"] = result["pytest_with_image_s"] - result["pytest_without_image_s"]
    # the forensics' own work (its round trips and the verdict) is what the log size must not grow
    result["verdict"] = "PASS" if result["forensics_round_trips_s"] < TARGET_S else "FAIL"
    result["whole_check_under_target"] = result["pytest_with_image_s"] < TARGET_S
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
