"""The pre-upgrade gate, client side: the program it ships and what its JSON report says.

glance_hc/probe/gate_check.py runs on the host in glance's interpreter as the worker user, in
the gate round trip (once per group of identical controllers). Here: its request, and the
report read back as findings the gate checks judge. The report is data from a host: every
field is checked for its type before use, and nothing in it is ever run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROGRAM_PATH = Path(__file__).resolve().parent / "probe" / "gate_check.py"
# where the gate program's answer is kept in HostFacts.gate (shared by hosts of one gate group)
KEY = "gate_check"
DB_CHECK = "glance-manage db check"

# glance/cmd/manage.py DbCommands.check: exit code -> what is pending, in words
DB_PENDING = {
    3: ("expand", "the schema lacks this release's additions: run `glance-manage db expand`, "
                  "then `db migrate` and `db contract`, in the order of the upgrade guide"),
    4: ("migrate", "the schema is expanded but data migrations are pending: run `glance-manage db migrate`, "
                   "then `db contract`"),
    5: ("contract", "expand and migrate are done, the old columns remain: run `glance-manage db contract` "
                    "once every glance-api runs the new release"),
}
# oslo-config-validator's verdicts: which findings fail which claim
UNKNOWN_KINDS = ("unknown", "unknown-section", "wrong-group")
DEPRECATED_KINDS = ("deprecated", "deprecated-for-removal")


@lru_cache(maxsize=1)
def program_text() -> str:
    return PROGRAM_PATH.read_text(encoding="utf-8")


def request(config_path: str, config_dirs: list[str], upgrade_to: str | None, timeout: int) -> dict:
    """The program and its argv for the transport (facts.gate_results' `programs`). The db check
    runs beside it as the gate's own command, so the program skips it."""
    argv = ["--config-file", config_path]
    for d in config_dirs:
        argv += ["--config-dir", d]
    argv += ["--no-db-check", "--timeout", str(int(timeout))]
    if upgrade_to:
        argv += ["--upgrade-to", upgrade_to]
    # the target run is a child of this one: the transport waits for both
    return {"program": program_text(), "argv": argv, "timeout": int(timeout) * (2 if upgrade_to else 1) + 10}


def from_python(results: list[dict]) -> tuple[int, str]:
    """The program's run as it lands in HostFacts.gate[KEY]: (exit code, stdout or why not)."""
    if not results:
        return -1, "the gate program did not run (the probe returned no result for it)"
    got = results[0] if isinstance(results[0], dict) else {}
    rc = got.get("rc") if isinstance(got.get("rc"), int) else -1
    out = got.get("stdout") if isinstance(got.get("stdout"), str) else ""
    if out.strip().startswith("{"):
        return rc, out
    err = got.get("stderr") if isinstance(got.get("stderr"), str) else ""
    tail = " | ".join(line for line in err.strip().splitlines()[-3:] if line.strip())
    return rc, f"exit {rc}, no report: {tail or out.strip()[-300:] or 'no output'}"


@dataclass
class Finding:
    """One option (or policy rule) of one file the release does not take as it is written."""
    kind: str
    file: str
    section: str
    option: str
    detail: str
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.file}: [{self.section}] {self.option}: {self.detail}"


@dataclass
class Release:
    """What one interpreter (the running release, or the --upgrade-to target) said."""
    label: str
    python: str | None = None
    versions: dict = field(default_factory=dict)
    error: str | None = None             # the whole run could not be made, and why
    checks: list[dict] = field(default_factory=list)
    checks_error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    validation_error: str | None = None
    namespaces: list[str] = field(default_factory=list)
    missing_namespaces: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    policy: dict = field(default_factory=dict)

    @property
    def glance(self) -> str:
        v = self.versions
        return f"glance {v.get('glance') or '?'}, glance_store {v.get('glance_store') or '?'}"


def _err(doc) -> str | None:
    if not isinstance(doc, dict):
        return None
    e = doc.get("error")
    if not isinstance(e, dict):
        return None
    return f"{e.get('type', 'error')} while {e.get('stage', 'running')}: {e.get('message', '')}".strip()


def _str(v) -> str:
    return v if isinstance(v, str) else ""


def release(doc, label: str) -> Release:
    """One interpreter's part of the report."""
    if not isinstance(doc, dict):
        return Release(label, error="no report")
    rel = Release(label, python=_str(doc.get("python")) or None,
                  versions=doc.get("versions") if isinstance(doc.get("versions"), dict) else {},
                  error=_err(doc), files=[f for f in doc.get("config_files") or [] if isinstance(f, str)])
    uc = doc.get("upgrade_checks")
    if isinstance(uc, dict):
        rel.checks = [c for c in uc.get("checks") or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]
        rel.checks_error = _err(uc)
    val = doc.get("validation")
    if isinstance(val, dict):
        rel.validation_error = _err(val)
        rel.namespaces = [n for n in val.get("namespaces") or [] if isinstance(n, str)]
        rel.missing_namespaces = [n for n in val.get("missing_namespaces") or [] if isinstance(n, str)]
        for f in val.get("findings") or []:
            if isinstance(f, dict) and isinstance(f.get("kind"), str):
                rel.findings.append(Finding(f["kind"], _str(f.get("file")), _str(f.get("section")),
                                            _str(f.get("option")), _str(f.get("detail")),
                                            {k: v for k, v in f.items() if k not in
                                             ("kind", "file", "section", "option", "detail")}))
    if isinstance(doc.get("policy"), dict):
        rel.policy = doc["policy"]
    return rel


@dataclass
class GateReport:
    running: Release
    target: Release | None = None
    error: str | None = None  # the program's output could not be read at all

    def of(self, which: str) -> Release | None:
        return self.running if which == "running" else self.target


def parse(rc: int, text: str) -> GateReport:
    """The program's stdout (one JSON document) into a GateReport; never raises."""
    try:
        doc = json.loads(text)
    except (ValueError, TypeError):
        return GateReport(Release("running", error=text.strip()[-500:] or f"exit {rc}, no output"),
                          error=text.strip()[-500:] or f"exit {rc}, no output")
    if not isinstance(doc, dict):
        return GateReport(Release("running", error="the report is not a JSON object"), error="not a JSON object")
    target = release(doc["target"], "target") if "target" in doc else None
    if target is not None and isinstance(doc.get("target"), dict) and isinstance(doc["target"].get("path"), str):
        target.label = f"target {doc['target']['path']}"
    return GateReport(release(doc, "running"), target)


def failing_checks(rel: Release) -> list[dict]:
    return [c for c in rel.checks if c.get("code") == "failure"]


def crashed_checks(rel: Release) -> list[dict]:
    return [c for c in rel.checks if c.get("code") not in ("success", "warning", "failure")]


def check_lines(rel: Release) -> list[str]:
    out = []
    for c in rel.checks:
        line = f"{c['name']}: {c.get('code')}"
        if isinstance(c.get("details"), str) and c["details"]:
            line += f" - {c['details']}"
        if isinstance(c.get("error"), dict):
            line += f" ({_err(c)})"
        out.append(line)
    return out


def findings(rel: Release, kinds: tuple[str, ...]) -> list[Finding]:
    return [f for f in rel.findings if f.kind in kinds]


def policy_findings(rel: Release) -> list[str]:
    """Policy overrides the release deprecates or no longer has, with the release's own reason."""
    out = []
    path = _str(rel.policy.get("path"))
    for f in rel.policy.get("findings") or []:
        if not isinstance(f, dict):
            continue
        rule, kind = _str(f.get("rule")), _str(f.get("kind"))
        reason = " ".join(_str(f.get("reason")).split())
        since = f" since {f['since']}" if isinstance(f.get("since"), str) and f.get("since") else ""
        if kind == "deprecated-name":
            out.append(f"{path}: rule {rule} is a deprecated name{since}: use {_str(f.get('replacement'))}. {reason}")
        elif kind == "pins-deprecated-default":
            out.append(f"{path}: rule {rule} pins the default deprecated{since} (the new default is "
                       f"{_str(f.get('default'))!r}): drop the override or set the new rule. {reason}")
        elif kind == "deprecated-for-removal":
            out.append(f"{path}: rule {rule} is deprecated for removal{since}. {reason}")
        else:
            out.append(f"{path}: rule {rule}: {reason}")
    return [line.strip() for line in out]


def db_words(rc: int, output: str) -> tuple[str | None, str]:
    """(pending step or None, the words for it) of `glance-manage db check`."""
    if rc in DB_PENDING:
        step, words = DB_PENDING[rc]
        return step, f"db {step} pending: {words}"
    if rc == 0:
        return None, "the schema is current: no expand, migrate or contract pending"
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
    return None, f"glance-manage db check could not tell (exit {rc}): {last}"


def upgrade_to(config) -> str | None:
    """--upgrade-to, else ini upgrade_to; None when no target release is given."""
    value = config.getoption("upgrade_to", default=None)
    if value is None:
        value = config.getini("upgrade_to")
    return str(value).strip() or None


def host_request(found, upgrade_to_path: str | None, timeout: int) -> dict:
    """The request for one host: the config file the gate reads and the drop-in dirs beside it
    that hold files (oslo.config reads them after it, as glance-api does)."""
    from glance_hc import facts as facts_mod  # noqa: PLC0415 - facts imports the probe side

    conf = facts_mod._gate_config(found)
    dirs: list[str] = []
    dropins = getattr(facts_mod, "config_dropins", None)
    if dropins is not None:
        key = f"container:{conf}" if found.deployment and found.deployment.exec_container else conf
        for path, _ in dropins(found, key):
            d = path.removeprefix("container:").rsplit("/", 1)[0]
            if d not in dirs:
                dirs.append(d)
    return request(conf, dirs, upgrade_to_path, timeout)
