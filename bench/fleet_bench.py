"""P5: a fleet of real glance-api nodes against one node, and 200 hosts simulated.

The lab grows to 16 glance-api nodes for the measure (`python -m lab scale 16`: each its own
mount namespace, sshd, loopback address and uWSGI worker, HAProxy over all of them) and shrinks
back to what it was after, whatever happens. `pytest checks/ -m host` runs against 1, 4, 8 and
16 of them, each a different endpoint, the sizes in turn and in alternating order over the
repetitions; the wall time and the client's peak RSS (GNU time) of N hosts are compared with 1
host's of the same repetition.

200 hosts cannot run here (a node is 167 MiB and its share of 2 cores): they are simulated by
200 ssh aliases over the 16 real nodes, so the client does the work of 200 hosts (200 probes,
200 hosts' facts, checks and report rows) while the nodes answer 12 or 13 times each. Aliases of
one address share its ControlMaster (the suite's ControlPath is per address), so the open ssh
connections stay 16; the probes side by side are capped by `--host-parallel` (16).
"""
from __future__ import annotations

import subprocess
import sys

from bench import labio
from bench.stats import Target, compare, fmt, median
from lab import common as labcommon

SIZES = (1, 4, 8, 16)
SIMULATED = 200
MARKER = "host"


def _scale(count: int) -> str:
    """The lab at `count` controllers; the lab's own line (time and each node's RSS)."""
    proc = subprocess.run([sys.executable, "-m", "lab", "scale", str(count)], cwd=labcommon.ROOT,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise labio.LabError(f"lab scale {count}: {(proc.stdout + proc.stderr).strip()[-600:]}")
    return (proc.stdout + proc.stderr).strip().splitlines()[-1]


def _alias_config(path, count: int, nodes: list[str]) -> list[str]:
    key = labcommon.STATE / "ssh" / "id_ed25519"
    aliases = [f"hc-bench-h{i + 1}" for i in range(count)]
    path.write_text("# glance-hc bench: aliases over the lab's real nodes\n" + "\n".join(
        labio.FLEET_ENTRY.format(alias=a, addr=labcommon.NODES[nodes[i % len(nodes)]], key=key)
        for i, a in enumerate(aliases)))
    return aliases


def _outcomes(run) -> dict[str, str]:
    return {c["nodeid"]: c["outcome"] for c in run.checks}


def _xdist_runs(b, nodes: list[str], reps: int) -> list:
    """The whole fleet again under pytest-xdist (`-n auto`): (wall, run) pairs, one a repetition."""
    return [b.suite(nodes, "-m", MARKER, "-n", "auto", label=f"p5-xdist-{len(nodes)}") for _ in range(reps)]


def _emit_xdist(b, nodes: list[str], plain_walls: list[float], xdist: list, reps: int, plain) -> None:
    """-n auto against no xdist on the whole fleet: faster or equal, and the same results."""
    cmp_ = compare([run.wall for run in xdist], plain_walls)
    same = all(_outcomes(run) == _outcomes(plain) and run.health.get("verdict") == plain.health.get("verdict")
               for run in xdist) if plain else False
    b.emit("P5", f"-n auto vs no xdist ({len(nodes)} real hosts)",
           f"-n auto {fmt(cmp_.subject_median)} s, no xdist {fmt(cmp_.baseline_median)} s, ratio {cmp_.ratio:.2f}; "
           f"results {'identical' if same else 'DIFFER'}", [(Target("ratio", "<=", 1.0), cmp_.ratio)], unit="s",
           repetitions=reps, identical=same, subject="pytest checks/ -m host -n auto", baseline="the same without -n",
           runs=[run.brief() for run in xdist], **cmp_.as_dict())


def p5(b) -> None:
    before = len(labcommon.controllers())
    sizes = [n for n in SIZES if n <= labcommon.MAX_CONTROLLERS]
    reps = b.args.reps or b.args.p5_reps
    try:
        grown = _scale(max(sizes))
        nodes = labcommon.controllers()
        b.suite(nodes[:1], "-m", MARKER, label="p5-warm1")
        b.suite(nodes, "-m", MARKER, label="p5-warm16")
        walls = {n: [] for n in sizes}
        rss = {n: [] for n in sizes}
        runs, last = [], {}
        for rep in range(reps):
            for n in (sizes if rep % 2 == 0 else list(reversed(sizes))):
                run = last[n] = b.suite(nodes[:n], "-m", MARKER, label=f"p5-{n}")
                walls[n].append(run.wall)
                rss[n].append(run.peak_rss_mib or 0.0)
                runs.append({"hosts": n, **run.brief()})
        xdist = _xdist_runs(b, nodes, reps)
        simulated = None
        if b.args.p5_simulate:
            cfg = b.tmp / "fleet_ssh_config"
            aliases = _alias_config(cfg, SIMULATED, nodes)
            simulated = b.suite(aliases, "-m", MARKER, ssh_config=cfg, label=f"p5-{SIMULATED}", timeout=1800)
    except (labio.LabError, subprocess.SubprocessError, RuntimeError) as exc:
        b.not_run("P5", "fleet of real nodes", exc)
        return
    finally:
        try:
            back = _scale(before)
        except labio.LabError as exc:
            b.problems.append(f"P5: the lab could not shrink back to {before} controllers: {exc}")
            back = ""
    base = f"1 host {fmt(median(walls[1]))} s"
    for n in sizes[1:]:
        cmp_ = compare(walls[n], walls[1])
        judged = [(Target("ratio", "<=", 2), cmp_.ratio)] if n == max(sizes) else []
        b.emit("P5", f"fleet of real nodes (-m host, {n} hosts vs 1)",
               f"{n} hosts {fmt(cmp_.subject_median)} s, {base}, ratio {cmp_.ratio:.2f}", judged, unit="s",
               repetitions=reps, subject=f"pytest checks/ -m host with {n} real glance-api nodes",
               baseline="the same with 1 node", lab=grown, **cmp_.as_dict())
    top = max(sizes)
    ratio = median(rss[top]) / median(rss[1]) if median(rss[1]) else None
    b.emit("P5", f"client peak RSS ({top} hosts vs 1)",
           f"{top} hosts {fmt(median(rss[top]))} MiB, 1 host {fmt(median(rss[1]))} MiB, ratio "
           f"{ratio:.2f}" if ratio else "not measured", [(Target("ratio", "<=", 1.5), ratio)], unit="MiB",
           repetitions=reps, rss_by_hosts={n: rss[n] for n in sizes}, runs=runs, lab_after=back)
    _emit_xdist(b, nodes, walls[len(nodes)], xdist, reps, last.get(len(nodes)))
    if simulated is not None:
        b.emit("P5", f"{SIMULATED} hosts simulated (aliases over {top} real nodes)",
               f"wall {fmt(simulated.wall)} s, client peak RSS {fmt(simulated.peak_rss_mib or 0)} MiB "
               f"({fmt((simulated.peak_rss_mib or 0) / median(rss[top]))}x {top} hosts), "
               f"{(simulated.health.get('summary') or {}).get('total', 0)} checks, ssh connections {top} "
               f"(one ControlMaster per address), at most 16 probes at once (--host-parallel)", [],
               note=__doc__.split("\n\n")[2].replace("\n", " "), run=simulated.brief())
