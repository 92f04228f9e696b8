"""The lab's acceptance test: a peer's suite, Tempest's image API tests, run against the running lab.

    python3 -m lab acceptance [--concurrency N]      (`make lab-acceptance`; root, lab up)

It proves the lab is a faithful Glance each time the lab changes: Tempest (pinned in
lab/tempest-requirements.txt, its own venv under $HC_LAB_DIR) gets a tempest.conf made from the
lab's state (admin password, the VIP's Keystone, only Glance enabled, the image feature flags read
from controller1's live glance-api.conf), runs `tempest.api.image.v2`, and its subunit results are
judged against lab/templates/tempest-expected.toml (lab/acceptance_results.py). The summary goes
to reports/lab-acceptance.txt, the JUnit XML beside it; exit 0 only when nothing unexpected happened.
"""
from __future__ import annotations

import configparser
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lab import acceptance_probe
from lab import acceptance_results as results
from lab.common import ADDR, HERE, LAB_DIR, ROOT, TEMPLATES, die, in_namespace, log, ns_pid, secrets_file, template, tool

TEMPEST_VENV = LAB_DIR / "tempest-venv"
REQUIREMENTS = HERE / "tempest-requirements.txt"
WORKSPACE = LAB_DIR / "tempest"
EXPECTED = TEMPLATES / "tempest-expected.toml"
REPORT = ROOT / "reports" / "lab-acceptance.txt"
JUNIT = ROOT / "reports" / "lab-acceptance.xml"
REGEX = r"^tempest\.api\.image\.v2"
BUILD_TIMEOUT = 60
RUN_TIMEOUT = 40 * 60
GLANCE_CONF = "/etc/glance/glance-api.conf"
IMPORT_CONF = "/etc/glance/glance-image-import.conf"


def tempest_bin(name: str) -> str:
    return str(TEMPEST_VENV / "bin" / name)


def tempest_env() -> dict[str, str]:
    """Tempest's environment: its venv first, and the workspace as HOME (nothing in root's home)."""
    return {"PATH": f"{TEMPEST_VENV}/bin:/usr/bin:/bin", "HOME": str(WORKSPACE), "LANG": "C.UTF-8"}


def ensure_tempest_venv() -> None:
    """Tempest from PyPI into its own venv (as lab.common.ensure_venv builds the lab's), rebuilt
    when its requirements change."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = TEMPEST_VENV / ".hc-stamp"
    if stamp.exists() and stamp.read_text() == want:
        return
    t0 = time.monotonic()
    log(f"building Tempest's venv in {TEMPEST_VENV} (Tempest from PyPI; about a minute)")
    shutil.rmtree(TEMPEST_VENV, ignore_errors=True)
    tool(["/usr/bin/python3", "-m", "venv", str(TEMPEST_VENV)], "creating Tempest's venv")
    tool([tempest_bin("pip"), "install", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
         "pip install into Tempest's venv")
    stamp.write_text(want)
    log(f"Tempest's venv ready in {time.monotonic() - t0:.0f}s")


# ---------------------------------------------------------------- what the lab really has
def read_conf(text: str) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None, strict=False, default_section="__none__")
    conf.read_string(text)
    return conf


def _bool(conf: configparser.ConfigParser, section: str, option: str, default: bool) -> bool:
    value = conf.get(section, option, fallback=None) if conf.has_section(section) else None
    return default if value is None else value.strip().lower() in ("true", "1", "yes", "on")


def feature_flags(glance: configparser.ConfigParser, image_import: configparser.ConfigParser) -> dict[str, str]:
    """Tempest's image feature flags from glance-api.conf (and glance-image-import.conf), each
    with Glance 33's default where the file leaves it unset."""
    backends = [b.strip() for b in glance.get("DEFAULT", "enabled_backends", fallback="").split(",") if b.strip()]
    types = {b.split(":", 1)[1].strip() for b in backends if ":" in b}
    weights = {glance.get(b.split(":", 1)[0].strip(), "weight", fallback="0").strip() for b in backends}
    plugins = image_import.get("image_import_opts", "image_import_plugins", fallback="[]")
    flags = {
        "image_caching_enabled": bool(glance.get("DEFAULT", "image_cache_dir", fallback="").strip()),
        "manage_locations": _bool(glance, "DEFAULT", "show_multiple_locations", False),
        "http_store_enabled": "http" in types,
        "store_weight_enabled": len(weights) > 1,
        "image_conversion": "image_conversion" in plugins,
        "do_secure_hash": _bool(glance, "DEFAULT", "do_secure_hash", True),
        "enforce_new_defaults": _bool(glance, "oslo_policy", "enforce_new_defaults", True),
    }
    out = {k: str(v).lower() for k, v in flags.items()}
    out["hashing_algorithm"] = glance.get("DEFAULT", "hashing_algorithm", fallback="sha512").strip() or "sha512"
    return out


def live_file(path: str) -> str:
    """A file as controller1 has it now ('' when it has none)."""
    out = in_namespace(["cat", path], check=False, capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


def tempest_conf(flags: dict[str, str]) -> str:
    return template("tempest.conf", workspace=str(WORKSPACE), admin_password=secrets_file()["admin_password"],
                    identity_uri=f"http://{ADDR['vip']}:5000/v3", build_timeout=BUILD_TIMEOUT, **flags)


def redact(text: str) -> str:
    """The lab's passwords never reach a report, even if Tempest quoted one."""
    for value in secrets_file().values():
        if isinstance(value, str) and len(value) >= 8:
            text = text.replace(value, "<redacted>")
    return text


# ---------------------------------------------------------------- running Tempest
def prepare_workspace(flags: dict[str, str]) -> Path:
    """A workspace of its own; the previous run's stestr repository goes, so `stestr last` can
    only be this run."""
    for sub in (".stestr", "logs"):
        shutil.rmtree(WORKSPACE / sub, ignore_errors=True)
    for sub in ("etc", "logs", "lock"):
        (WORKSPACE / sub).mkdir(parents=True, exist_ok=True)
    WORKSPACE.chmod(0o700)
    conf = WORKSPACE / "etc" / "tempest.conf"
    conf.write_text(tempest_conf(flags))
    conf.chmod(0o600)
    return conf


def run_tempest(conf: Path, concurrency: int) -> int:
    cmd = [tempest_bin("tempest"), "run", "--config-file", str(conf), "--regex", REGEX,
           "--concurrency", str(concurrency)]
    with open(WORKSPACE / "logs" / "tempest-run.out", "wb") as out:
        try:
            return subprocess.run(cmd, cwd=WORKSPACE, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                  timeout=RUN_TIMEOUT, env=tempest_env()).returncode
        except subprocess.TimeoutExpired:
            die(f"tempest run did not finish within {RUN_TIMEOUT // 60} min (its output: {out.name})")
    return 1


def junit_of_last_run() -> str:
    """stestr's last run as subunit v2, kept in the workspace, turned into JUnit XML."""
    env = tempest_env()
    sub = subprocess.run([tempest_bin("stestr"), "last", "--subunit"], cwd=WORKSPACE, capture_output=True,
                         env=env, timeout=120)
    if not sub.stdout:
        die(f"stestr has no last run in {WORKSPACE}: {sub.stderr.decode(errors='replace').strip()[-400:]} "
            f"(Tempest's output: {WORKSPACE / 'logs' / 'tempest-run.out'})")
    (WORKSPACE / "last.subunit").write_bytes(sub.stdout)
    xml = subprocess.run([tempest_bin("subunit2junitxml")], input=sub.stdout, capture_output=True, env=env,
                         timeout=120)
    if not xml.stdout.strip():  # it exits 1 when the stream holds failures: the XML is what counts
        die(f"subunit2junitxml wrote nothing: {xml.stderr.decode(errors='replace').strip()[-400:]}")
    text = xml.stdout.decode("utf-8", "replace")
    (WORKSPACE / "last.xml").write_text(text)
    return text


def lab_api() -> tuple[str, str, str]:
    """Keystone's and Glance's URLs on the VIP, and the admin password: what the probes call with."""
    return f"http://{ADDR['vip']}:5000/v3", f"http://{ADDR['vip']}:9292", secrets_file()["admin_password"]


def confirmed_expectations(expected: list[results.Expectation]) -> tuple[list[results.Expectation], str]:
    """The expected list less the entries whose premise this run could not confirm (their
    failures are then unexpected), and what each premise's probe saw."""
    needed = sorted({e.needs for e in expected if e.needs})
    lines, refused = [], set()
    for premise in needed:
        if premise != "store-order":
            die(f"{EXPECTED}: unknown premise {premise!r} (known: store-order)")
        ok, seen = acceptance_probe.probe_store_order(*lab_api())
        lines.append(f"premise {premise}: {'confirmed' if ok else 'NOT confirmed'} (probe image {seen})")
        if not ok:
            refused.add(premise)
    return [e for e in expected if e.needs not in refused], redact("\n".join(lines))


def main(concurrency: int = 2) -> int:
    if not ns_pid():
        die("the lab is not running: `make lab-up` first")
    ensure_tempest_venv()
    flags = feature_flags(read_conf(live_file(GLANCE_CONF)), read_conf(live_file(IMPORT_CONF)))
    conf = prepare_workspace(flags)
    version = subprocess.run([tempest_bin("python"), "-c", "import tempest, importlib.metadata as m; "
                              "print(m.version('tempest'))"], capture_output=True, text=True).stdout.strip()
    log(f"Tempest {version}: {REGEX} against http://{ADDR['vip']}:9292 at concurrency {concurrency} "
        f"(output: {WORKSPACE / 'logs'})")
    t0, since = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    rc = run_tempest(conf, concurrency)
    wall = time.monotonic() - t0
    cleanup = acceptance_probe.delete_tempest_leftovers(*lab_api(), since)
    text = redact(junit_of_last_run())
    expected, premises = confirmed_expectations(results.load_expected(EXPECTED))
    verdict = results.judge(results.parse_junit(text), expected)
    flag_text = ", ".join(f"{k}={v}" for k, v in flags.items())
    header = (f"lab acceptance: Tempest {version} {REGEX} against the lab's Glance (http://{ADDR['vip']}:9292), "
              f"concurrency {concurrency}, {wall:.0f} s (tempest run exit {rc})\n"
              f"feature flags from controller1's glance-api.conf: {flag_text}\n{premises}\n{redact(cleanup)}")
    report = redact(results.summary(verdict, header))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    JUNIT.write_text(text)
    print(report, end="")
    print(f"[lab] summary: {REPORT.relative_to(ROOT)}, JUnit: {JUNIT.relative_to(ROOT)}, "
          f"Tempest's log: {WORKSPACE / 'logs' / 'tempest.log'}", flush=True)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
