"""Shards' health.json files merged into one report and one verdict.

A fleet is checked in several runs (a CI matrix, one job per shard: `--shard I/N`, or one job
per cloud); each writes its own health.json. This reads them and writes the same outputs a
single run writes: health.json, health.html (a page of its own with the same summary) and the
node_exporter textfile. The verdict is judged again from every check's outcome, as a run's is:
a shard that could not finish (verdict unknown, or no file) makes the whole unknown.

    python -m glance_hc.report.merge --out reports/merged shard-1/health.json shard-2/health.json

A check found in two files (the API checks of shards run without `--shard`) keeps its worst
outcome and says which files had it. Every value read is data; the documents were redacted when
written, and are redacted again before they leave.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections import Counter
from pathlib import Path

from glance_hc.redact import redact_obj
from glance_hc.report import html, json_out, prometheus
from glance_hc.report.files import write_atomically
from glance_hc.report.records import ERROR, FAILED, PASSED, SKIPPED, UNKNOWN, compute_verdict

WORST_FIRST = (ERROR, FAILED, SKIPPED, PASSED)


class MergeError(Exception):
    """A file that is not a health.json the suite wrote."""


class MergedRun:
    """What the report's renderers read of a run, made from shards' documents."""

    def __init__(self, documents: list[tuple[str, dict]]):
        self.sources = [name for name, _ in documents]
        self.documents = [doc for _, doc in documents]
        self.checks = _merge_checks(documents)
        starts = [_started(doc) for doc in self.documents]
        self.started_at = min(starts)
        ends = [start + datetime.timedelta(seconds=float(doc.get("duration") or 0))
                for start, doc in zip(starts, self.documents, strict=True)]
        self.duration = (max(ends) - self.started_at).total_seconds()
        statuses = [doc.get("exit_status") for doc in self.documents if isinstance(doc.get("exit_status"), int)]
        self.exitstatus = max(statuses) if statuses else None

    @property
    def verdict(self) -> str:
        if any(doc.get("verdict") == UNKNOWN for doc in self.documents):
            return UNKNOWN  # a shard cut short proves nothing about its hosts
        return compute_verdict(check["outcome"] for check in self.checks)

    def summary(self) -> dict[str, int]:
        counts = Counter(check["outcome"] for check in self.checks)
        return {"total": len(self.checks), **{o: counts.get(o, 0) for o in (PASSED, FAILED, SKIPPED, ERROR)}}

    def check_dicts(self) -> list[dict]:
        return redact_obj([dict(check) for check in self.checks])

    def context(self) -> dict:
        """The first shard's context, with every shard's hosts, and a line per shard."""
        merged = dict(self.documents[0].get("context") or {})
        hosts: dict = {}
        for doc in self.documents:
            shard_hosts = (doc.get("context") or {}).get("hosts") or {}
            if isinstance(shard_hosts, list):
                shard_hosts = {str(h): {} for h in shard_hosts}
            if isinstance(shard_hosts, dict):
                hosts.update(shard_hosts)
        if hosts:
            merged["hosts"] = hosts
        merged["shards"] = [
            f"{name}: {doc.get('verdict')}, {(doc.get('summary') or {}).get('total', 0)} checks, started "
            f"{doc.get('started')}" + (f", shard {(doc.get('context') or {}).get('shard')}"
                                       if (doc.get("context") or {}).get("shard") else "")
            for name, doc in zip(self.sources, self.documents, strict=True)]
        return redact_obj(merged)

    def document(self) -> dict:
        return {
            "verdict": self.verdict,
            "started": self.started_at.isoformat(timespec="seconds"),
            "duration": round(self.duration, 3),
            "exit_status": self.exitstatus,
            "context": self.context(),
            "summary": self.summary(),
            "checks": self.check_dicts(),
        }


def _started(doc: dict) -> datetime.datetime:
    try:
        started = datetime.datetime.fromisoformat(str(doc.get("started")))
    except ValueError as exc:
        raise MergeError(f"its 'started' is not a time: {doc.get('started')!r}") from exc
    return started if started.tzinfo else started.replace(tzinfo=datetime.UTC)


def _merge_checks(documents: list[tuple[str, dict]]) -> list[dict]:
    by_id: dict[str, dict] = {}
    seen_in: dict[str, list[str]] = {}
    for name, doc in documents:
        for check in doc.get("checks") or []:
            nodeid = check["nodeid"]
            seen_in.setdefault(nodeid, []).append(name)
            kept = by_id.get(nodeid)
            if kept is None or WORST_FIRST.index(check["outcome"]) < WORST_FIRST.index(kept["outcome"]):
                by_id[nodeid] = dict(check)
    for nodeid, names in seen_in.items():
        if len(names) > 1:
            by_id[nodeid]["merged_from"] = names
    return list(by_id.values())


def load(path: Path) -> dict:
    """One health.json, checked for the fields the merge reads."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MergeError(f"{path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list) or "verdict" not in doc:
        raise MergeError(f"{path}: not a health.json of this suite (no verdict or checks)")
    for check in doc["checks"]:
        if not isinstance(check, dict) or not isinstance(check.get("nodeid"), str) \
                or check.get("outcome") not in WORST_FIRST:
            raise MergeError(f"{path}: a check without a nodeid or a known outcome: {str(check)[:200]}")
    try:
        _started(doc)
    except MergeError as exc:
        raise MergeError(f"{path}: {exc}") from exc
    return doc


def merge_files(paths: list[Path], out: Path) -> MergedRun:
    run = MergedRun([(str(p), load(p)) for p in paths])
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "health.json", json_out.render(run.document()))
    write_atomically(out / "health.html", html.render_page(run, run.context(), "Glance upload health (merged)"))
    write_atomically(out / "health.prom", prometheus.render_run(run))
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glance_hc.report.merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory for health.json, health.html, health.prom")
    parser.add_argument("files", nargs="+", type=Path, help="the shards' health.json files")
    args = parser.parse_args(argv)
    try:
        run = merge_files(args.files, args.out)
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    summary = run.summary()
    print(f"Glance upload health: {run.verdict.upper()} ({summary['failed']} failed, {summary['error']} errors, "
          f"{summary['skipped']} skipped, {summary['passed']} passed; {len(args.files)} files) -> {args.out}")
    return {"healthy": 0, "degraded": 0}.get(run.verdict, 1)


if __name__ == "__main__":
    sys.exit(main())
