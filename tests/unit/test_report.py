"""The report plugin, driven through pytester the way the suite uses it."""
from __future__ import annotations

import html
import json
import os
import re
import stat
from pathlib import Path

import jinja2
import pytest

from glance_hc.catalogue import ROOT_CAUSES
from glance_hc.report import files
from glance_hc.report import html as html_report

REPO_ROOT = Path(__file__).resolve().parents[2]

PLANTED_PASSWORD = "Pl4nted-S3cret-9f2"

# Stand-ins for the suite's real fixtures: they honour the same contracts
# (docs/design.md) without needing a lab.
CONFTEST = f"""
import jinja2
import pytest
from glance_hc.report import context

pytest_plugins = ["glance_hc.report"]


def pytest_configure(config):
    context(config).update({{
        "hosts": ["controller1", "controller2"],
        "cloud": {{"name": "lab", "auth": {{"username": "admin", "password": "{PLANTED_PASSWORD}"}}}},
        "thresholds": {{"store_usage_ratio": 0.8}},
    }})


class Evidence:
    def __init__(self, node):
        self.node = node

    def add(self, title, body, command=None):
        self.node.user_properties.append(
            ("hc_evidence", {{"title": title, "command": command, "body": body}}))

    def metric(self, name, value, unit, labels=None):
        self.node.user_properties.append(
            ("hc_metric", {{"name": name, "value": value, "unit": unit, "labels": labels or {{}}}}))


@pytest.fixture
def evidence(request):
    return Evidence(request.node)


@pytest.fixture
def controller1(request):
    request.node.user_properties.append(("hc_target", "controller1"))
    return "controller1"


@pytest.fixture
def broken_probe():
    raise RuntimeError("ssh: connect to host controller2 port 22: No route to host")
"""

# glance_hc.report is imported once per process, so later in-process runs
# cannot assertion-rewrite it again; that warning is noise here.
INI = "[pytest]\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\nmarkers =\n" + "".join(
    f"    {name}: marker\n" for name in ("host", "api", "canary", "gate", *ROOT_CAUSES)
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throw-away project that loads glance_hc.report like the root conftest does."""
    pytester.syspathinsert(REPO_ROOT)
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    return pytester


def run(suite: pytest.Pytester, source: str, *args: str) -> tuple[pytest.RunResult, dict]:
    suite.makepyfile(test_checks=source)
    result = suite.runpytest("--health-json=out/health.json", *args)
    health = json.loads((suite.path / "out" / "health.json").read_text())
    return result, health


# --------------------------------------------------------------------------
# verdict

PASSING = """
import jinja2
import pytest
pytestmark = [pytest.mark.api, pytest.mark.availability]
def test_answers(): pass
def test_lists_images(): pass
"""

ONE_FAILURE = """
import jinja2
import pytest
pytestmark = [pytest.mark.api, pytest.mark.availability]
def test_answers(): pass
def test_upload(): assert False, "upload returned 503"
def test_cannot_look(): pytest.skip("no admin credentials")
"""

ONLY_SKIPS = """
import jinja2
import pytest
pytestmark = [pytest.mark.api, pytest.mark.quota]
def test_quota(): pytest.skip("unified limits not enabled")
@pytest.mark.skip(reason="no --os-cloud given")
def test_limit(): pass
"""

SETUP_ERROR = """
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.availability]
def test_ok(): pass
def test_service(broken_probe): pass
"""

NOTHING = """
def helper(): pass
"""


@pytest.mark.parametrize(
    ("source", "verdict", "counts"),
    [
        (PASSING, "healthy", {"passed": 2, "failed": 0, "skipped": 0, "error": 0}),
        (ONE_FAILURE, "unhealthy", {"passed": 1, "failed": 1, "skipped": 1, "error": 0}),
        (ONLY_SKIPS, "degraded", {"passed": 0, "failed": 0, "skipped": 2, "error": 0}),
        (SETUP_ERROR, "unhealthy", {"passed": 1, "failed": 0, "skipped": 0, "error": 1}),
        (NOTHING, "unknown", {"passed": 0, "failed": 0, "skipped": 0, "error": 0}),
    ],
    ids=["all-pass", "a-fail", "only-skips", "setup-error", "nothing-ran"],
)
def test_verdict(suite, source, verdict, counts):
    result, health = run(suite, source)
    assert health["verdict"] == verdict
    assert {k: health["summary"][k] for k in counts} == counts
    assert f"Glance upload health: {verdict.upper()}" in result.stdout.str()


def test_collect_only_keeps_the_last_verdict(suite):
    suite.makepyfile(test_checks=PASSING)
    suite.runpytest("--collect-only", "--health-json=out/health.json")
    assert not (suite.path / "out" / "health.json").exists()


def test_collection_error_is_unhealthy(suite):
    _, health = run(suite, "import no_such_module_anywhere\n")
    assert health["verdict"] == "unhealthy"
    assert health["checks"][0]["outcome"] == "error"


# --------------------------------------------------------------------------
# health.json records

RECORDS = """
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.gate, pytest.mark.store_full]

@pytest.mark.parametrize("store", ["file1"])
def test_store_has_room(controller1, evidence, request, store):
    request.node.user_properties.append(("hc_store", store))
    evidence.add("df of the store", "/dev/vdb 50G 48G 2.0G 96% /var/lib/glance/images",
                 command="df -h /var/lib/glance/images")
    evidence.metric("store_usage_ratio", 0.96, "ratio", {"store": store})
    assert 0.96 < 0.8, "store file1 on controller1 is 96% full (threshold 80%)"

@pytest.mark.api
@pytest.mark.availability
def test_api_answers():
    pass
"""


def test_health_json_records_root_cause_target_evidence_and_remediation(suite):
    _, health = run(suite, RECORDS)
    checks = {check["nodeid"].split("::")[-1]: check for check in health["checks"]}

    failed = checks["test_store_has_room[file1]"]
    assert failed["outcome"] == "failed"
    assert failed["root_cause"] == "store_full"
    assert failed["root_cause_title"] == ROOT_CAUSES["store_full"].title
    assert failed["scope"] == "host"
    assert failed["target"] == "controller1"
    assert failed["store"] == "file1"
    assert failed["evidence"] == [
        {
            "title": "df of the store",
            "command": "df -h /var/lib/glance/images",
            "body": "/dev/vdb 50G 48G 2.0G 96% /var/lib/glance/images",
        }
    ]
    assert failed["metrics"] == [
        {"name": "store_usage_ratio", "value": 0.96, "unit": "ratio", "labels": {"store": "file1"}}
    ]
    assert failed["remediation"] == list(ROOT_CAUSES["store_full"].remediation)
    assert "96% full" in failed["message"]
    assert "def test_store_has_room" not in failed["message"], "message must not be the traceback"

    passed = checks["test_api_answers"]
    # closest marker wins: the function's availability, not the module's store_full
    assert passed["root_cause"] == "availability"
    assert passed["target"] == "api"
    assert passed["outcome"] == "passed"

    assert health["context"]["hosts"] == ["controller1", "controller2"]
    assert health["context"]["cloud"]["auth"]["password"] == "***"


def test_skip_reason_is_recorded(suite):
    _, health = run(suite, ONLY_SKIPS)
    reasons = sorted(check["message"] for check in health["checks"])
    assert reasons == ["no --os-cloud given", "unified limits not enabled"]


# --------------------------------------------------------------------------
# node_exporter textfile

PROM_SOURCE = r"""
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_full]

def test_weird_store(controller1, evidence, request):
    request.node.user_properties.append(("hc_store", 'we"ird\\store\nx'))
    evidence.metric("store_usage_ratio", 0.5, "ratio")
    evidence.metric("canary upload-throughput", 12.5, "MiB/s", {"path": 'a"b'})

def test_full(controller1):
    assert False, "full"

def test_no_ceph(controller1):
    pytest.skip("no rbd store configured")
"""

_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})?"
    r" (?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))$"
)
_COMMENT = re.compile(r"^# (?:HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* gauge)$")


def parse_exposition(text: str) -> list[re.Match]:
    assert text.endswith("\n")
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            assert _COMMENT.match(line), f"bad comment line: {line!r}"
        else:
            sample = _SAMPLE.match(line)
            assert sample, f"bad sample line: {line!r}"
            samples.append(sample)
    return samples


def test_prom_textfile_is_valid_exposition_with_escaped_labels(suite):
    run(suite, PROM_SOURCE, "--prom-textfile=out/glance_hc.prom")
    prom = suite.path / "out" / "glance_hc.prom"
    text = prom.read_text()
    samples = parse_exposition(text)

    status = {
        re.search(r'check="([^"]*)"', s["labels"]).group(1).split("::")[-1]: s["value"]
        for s in samples
        if s["name"] == "glance_hc_check_status"
    }
    assert status == {"test_weird_store": "1", "test_full": "0", "test_no_ceph": "-1"}
    assert 'glance_hc_verdict{verdict="unhealthy"} 1' in text.splitlines()
    assert 'glance_hc_verdict{verdict="healthy"} 0' in text.splitlines()

    escaped_store = 'store="we\\"ird\\\\store\\nx"'
    assert escaped_store in text
    assert (
        f'glance_hc_store_usage_ratio{{{escaped_store},target="controller1"}} 0.5' in text.splitlines()
    )
    assert 'glance_hc_canary_upload_throughput{path="a\\"b",' in text

    # every family is written once, with its samples together
    names = [s["name"] for s in samples]
    assert names == sorted(names, key=names.index)
    assert len(re.findall(r"^# TYPE glance_hc_check_status ", text, re.M)) == 1
    # the rename left no temporary file behind
    assert sorted(p.name for p in prom.parent.iterdir()) == ["glance_hc.prom", "health.json"]


# --------------------------------------------------------------------------
# pytest-html

HTML_SOURCE = """
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_config]

def test_backend_enabled(controller1, evidence):
    evidence.add("glance-api.log", "ERROR <script>alert(1)</script> store disabled",
                 command="tail -n 80 /var/log/glance/api.log")
    assert False, "default_backend names a store that is not enabled"

def test_conf_parses(controller1):
    pass

def test_remote(controller1):
    pytest.skip("<b>no ssh</b> to controller2")

@pytest.mark.api
@pytest.mark.canary
@pytest.mark.availability
def test_api(evidence):
    evidence.metric("canary_upload_throughput", 42.5, "MiB/s")
"""


def _html_test_data(report: str) -> dict:
    blob = re.search(r'data-jsonblob="([^"]*)"', report).group(1)
    return json.loads(html.unescape(blob))


def test_html_report_has_matrix_and_escapes_evidence(suite):
    run(suite, HTML_SOURCE, "--html=out/report.html")
    report = (suite.path / "out" / "report.html").read_text()

    assert '<h1 id="title">Glance upload health</h1>' in report
    assert "hc-verdict--unhealthy" in report
    assert 'class="hc-matrix"' in report
    # store_config on controller1: 1 pass, 1 fail, 1 skip -> red; availability on api -> green
    cell = re.search(r'<td class="hc-cell hc-cell--fail" [^>]*data-root-cause="store_config"[^>]*>(.*?)</td>', report)
    assert cell, "no red store_config cell"
    assert 'data-target="controller1" data-failed="1" data-skipped="1" data-passed="1"' in cell.group(0)
    assert cell.group(1).startswith('<a href="#hc-cell-store_config--controller1">')
    assert re.sub(r"<[^>]+>", "", cell.group(1)).replace("&nbsp;", " ") == "1 fail / 1 skip / 1 pass"
    assert re.search(r'class="hc-cell hc-cell--pass"[^>]*data-root-cause="availability" data-target="api"', report)
    assert 'id="hc-cell-store_config--controller1"' in report
    assert 'data-column-type="rootCause">Root cause</th>' in report
    assert 'data-column-type="target">Target</th>' in report
    assert '<section id="hc-figures"><h2>Figures</h2>' in report
    assert '<td>canary_upload_throughput</td><td class="hc-num">42.5</td><td>MiB/s</td>' in report
    assert "<script>alert" not in report

    data = _html_test_data(report)
    rows = {nodeid.split("::")[-1]: entries[0] for nodeid, entries in data["tests"].items()}
    failed = rows["test_backend_enabled"]
    assert '<td class="col-rootCause">store_config</td>' in failed["resultsTableRow"]
    assert '<td class="col-target">controller1</td>' in failed["resultsTableRow"]
    rendered = json.dumps(failed)  # what the page's javascript will put in the DOM
    assert "<script>alert" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "Remediation: " + html.escape(ROOT_CAUSES["store_config"].title) in rendered

    skipped = json.dumps(rows["test_remote"])
    assert "&lt;b&gt;no ssh&lt;/b&gt; to controller2" in skipped
    assert "<b>no ssh" not in skipped


def test_works_without_pytest_html(suite):
    result, health = run(suite, PASSING, "-p", "no:html")
    result.assert_outcomes(passed=2)
    assert health["verdict"] == "healthy"


# --------------------------------------------------------------------------
# secrets

SECRET_SOURCE = f"""
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_config]
SECRET = "{PLANTED_PASSWORD}"

def test_conf(controller1, evidence, request):
    evidence.add("glance-api.conf", "[database]\\nconnection = mysql+pymysql://glance:" + SECRET
                 + "@db/glance\\n[keystone_authtoken]\\npassword = " + SECRET,
                 command="mysql -u glance -p" + SECRET + " -e 'select 1'")
    evidence.metric("db_reachable", 1, "bool", {{"dsn": "mysql://glance:" + SECRET + "@db/glance"}})
    request.node.user_properties.append(("hc_store", "password=" + SECRET))
    print("connecting with password=" + SECRET)
    assert False, "login refused, password = " + SECRET
"""


def test_planted_password_never_reaches_an_output_file(suite):
    result, health = run(
        suite, SECRET_SOURCE, "--html=out/report.html", "--prom-textfile=out/glance_hc.prom"
    )
    written = [p for p in (suite.path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"health.json", "glance_hc.prom", "report.html"}
    assert any(p.parent.name == "assets" for p in written), "text extras were written"
    for path in written:
        assert PLANTED_PASSWORD not in path.read_text(errors="replace"), path
    assert "password = ***" in health["checks"][0]["message"]
    # the terminal (CI logs) is a report too: traceback, captured output, -ra line
    terminal = result.stdout.str()
    assert PLANTED_PASSWORD not in terminal
    assert "connecting with password=***" in terminal
    assert "FAILED test_checks.py::test_conf - AssertionError: login refused, password = ***" in terminal


# Every format redaction knows, planted where a check may put it: an evidence title,
# command and body, a record_property value (text and dict), a metric label, a suite
# property, a skip, an xfail, an assertion message, captured output, a collection error.
PLANTED = {
    "cephx key": "AQCxPl4ntedCephxKeyForTheJunitTest0123==",
    "aws key id": "AKIAHCPLANTED0TEST1Z",
    "aws secret": "Pl4ntedAwsSecret/K7MDENG+bPxRfiCYzz",
    "cookie": "sessionid=Pl4ntedC00kie; csrftoken=Pl4ntedCsrf",
    "ansible password": "Pl4nted;Ansible Pass",
    "json credential": "Pl4ntedCred,with&odd chars",
    "pgp key body": "lQOYBGPl4ntedPgpBodyLineABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQbDRudGVkIn0.Pl4ntedSignatureAbCdEfGhIjKlMnOp",
    "fernet": "gAAAAABPl4ntedFernetTokenForTheJunitTest0123456789abcdefABCDEF_-",
    "db password": "Pl4nted;Db,Pw&x y",
    "cut password": "Pl4ntedCutAt300Chars",
}
PLANTED_TEXT = "\n".join([
    f"[client.glance]\nkey = {PLANTED['cephx key']}",
    f"s3 access key {PLANTED['aws key id']} aws_secret_access_key={PLANTED['aws secret']}",
    f"< Set-Cookie: {PLANTED['cookie']}",
    f"ctl1 ansible_host=10.0.0.11 ansible_ssh_pass={PLANTED['ansible password']} ansible_user=root",
    '{"Credential": "' + PLANTED["json credential"] + '", "id": "c1"}',
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + PLANTED["pgp key body"] + "\n-----END PGP PRIVATE KEY BLOCK-----",
    f"id token {PLANTED['jwt']} accepted",
    f"X-Subject-Token: {PLANTED['fernet']}",
    f"connection = mysql+pymysql://glance:{PLANTED['db password']}@db/glance",
])
JUNIT_SOURCE = f"""
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_config]
PLANTED_TEXT = {PLANTED_TEXT!r}
CUT = ("x" * 280 + " password={PLANTED['cut password']}")[:300]

class Opaque:
    def __str__(self):
        return PLANTED_TEXT

def test_evidence(controller1, evidence, record_property, record_testsuite_property):
    evidence.add("ceph.conf " + PLANTED_TEXT, PLANTED_TEXT, command="cat " + PLANTED_TEXT)
    evidence.add("cut", CUT)
    evidence.metric("store_used_ratio", 0.5, "ratio", {{"note": PLANTED_TEXT}})
    record_property("raw", PLANTED_TEXT)
    record_property("as_dict", {{"title": PLANTED_TEXT, "password": "{PLANTED['db password']}"}})
    record_property("object", Opaque())
    record_testsuite_property("suite_note", PLANTED_TEXT)
    print(PLANTED_TEXT)
    assert False, CUT

def test_skips(controller1):
    pytest.skip(PLANTED_TEXT)

@pytest.mark.xfail(reason=PLANTED_TEXT, strict=False)
def test_xfails(controller1):
    assert False, PLANTED_TEXT
"""


def _planted_leaks(text: str) -> list[str]:
    return [name for name, secret in PLANTED.items() if secret in text or secret[:10] in text]


def test_planted_secrets_never_reach_junit_xml(suite):
    suite.makepyfile(test_broken=f"raise ImportError({PLANTED_TEXT!r})")
    result, health = run(suite, JUNIT_SOURCE, "-rA", "-p", "no:html", "--junitxml=out/junit.xml",
                             "--continue-on-collection-errors")
    junit = (suite.path / "out" / "junit.xml").read_text()
    properties = re.findall(r'<property name="([^"]*)" value="([^"]*)"', junit)
    names = {name for name, _value in properties}
    assert {"hc_evidence", "hc_metric", "raw", "as_dict", "object", "suite_note"} <= names, names
    assert "key = ***" in html.unescape(junit)  # the planted text was written, redacted
    assert not _planted_leaks(junit), junit
    assert not _planted_leaks(result.stdout.str() + result.stderr.str())
    assert not _planted_leaks(json.dumps(health))
    assert {c["outcome"] for c in health["checks"]} >= {"failed", "skipped", "error"}


LOCALS_SOURCE = f"""
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_config]
LINE = "x" * 150 + " password={PLANTED['db password']}-TailOfTheSecret and more words " + "y" * 80

@pytest.fixture
def host():
    return {{"name": "ctl1", "log": LINE}}

def test_x(host):
    line = LINE
    assert False
"""


@pytest.mark.parametrize("args", [["-l"], ["-l", "--tb=long"], ["--tb=long"]], ids=" ".join)
def test_locals_and_arguments_are_redacted_before_pytest_cuts_them(suite, args):
    """pytest cuts a long repr in the middle: without care the tail of a secret survives."""
    result, _health = run(suite, LOCALS_SOURCE, "-p", "no:html", "--junitxml=out/junit.xml", *args)
    shown = result.stdout.str() + (suite.path / "out" / "junit.xml").read_text()
    assert "host = {'log': 'xxx" in shown  # the argument is shown...
    assert "TailOfTheSecret" not in shown and "Pl4nted" not in shown  # ...redacted before the cut


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644), (0o027, 0o640)],
                         ids=["umask077", "umask022", "umask027"])
def test_reports_are_written_with_the_callers_umask(suite, umask, mode):
    previous = os.umask(umask)
    try:
        run(suite, PASSING, "--html=out/report.html", "--junitxml=out/junit.xml",
            "--prom-textfile=out/glance_hc.prom")
    finally:
        os.umask(previous)
    written = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (suite.path / "out").rglob("*") if p.is_file()}
    assert {"health.json", "glance_hc.prom", "junit.xml", "report.html"} <= set(written)
    assert written == {name: mode for name in written}
    assert not [name for name in written if name.endswith(".tmp")]


def test_atomic_write_replaces_a_wider_file_with_the_umask_mode(tmp_path):
    target = tmp_path / "glance_hc.prom"
    target.write_text("old\n")
    target.chmod(0o644)
    previous = os.umask(0o077)
    try:
        files.write_atomically(target, "new\n")
    finally:
        os.umask(previous)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["glance_hc.prom"]


# --------------------------------------------------------------------------
# what the page gives an operator

OPERATOR_SOURCE = """
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_full]

@pytest.fixture(params=["controller10", "controller2"])
def host(request):
    request.node.user_properties.append(("hc_target", request.param))
    return request.param

def test_store_has_room(host, evidence):
    evidence.add("df", "/dev/vdb 50G 49G 1G 98% /var/lib/glance/images", command="df -h")
    evidence.metric("store_available_bytes", 1610612736, "bytes", {"store": "fast"})
    assert False, "store fast on " + host + " is 98% full"

def test_cache_dir(host):
    pytest.skip("no image cache configured")

@pytest.mark.store_config
def test_conf_parses(host, evidence):
    evidence.metric("store_used_ratio", 0.25, "ratio")
    evidence.metric("canary_upload_mib_per_s", 2.5, "MiB/s", {"store": "fast"})
"""


def _summary_section(report: str) -> str:
    """Our part of the page: from the verdict to pytest-html's own table."""
    return report[report.index('<div id="hc-report">'):report.index('id="hc-all-results"')]


def test_html_groups_failures_by_root_cause_with_remediation_once(suite):
    _, health = run(suite, OPERATOR_SOURCE, "--html=out/report.html")
    report = (suite.path / "out" / "report.html").read_text()
    ours = _summary_section(report)

    # the claim is the check's name as a sentence, in health.json and on the page
    claims = sorted(c["claim"] for c in health["checks"] if c["outcome"] == "failed")
    assert claims == ["Store has room [controller10]", "Store has room [controller2]"]
    assert '<span class="hc-label">Claim:</span> Store has room [controller2]</div>' in ours

    # both failures under one store_full block, remediation shown once for it
    assert ours.count('class="hc-cause"') == 1
    assert 'data-root-cause="store_full"><h3 class="hc-cause__title">' in ours
    assert ours.count("Remediation: " + html.escape(ROOT_CAUSES["store_full"].title)) == 1
    assert "- 2 failing on controller2, controller10</h3>" in ours
    # the pytest prefix is dropped from what was found
    assert '<pre class="hc-message">store fast on controller2 is 98% full' in ours
    # the catalogue's `commands` are code
    assert "<code>df -h /var/lib/glance/images</code>" in ours

    # skips grouped by their reason, every check listed under it
    assert ours.count('class="hc-skip-group"') == 1
    assert '2 checks could not look because:<pre class="hc-skip-reason">no image cache configured</pre>' in ours

    # hosts in natural order, the API column last
    header = re.search(r'<table class="hc-matrix" id="hc-matrix"><thead>(.*?)</thead>', ours).group(1)
    # (controller1 is in the run context: a host with no checks still gets its column)
    assert re.findall(r"<th>(.*?)</th>", header) == ["Root cause", "controller1", "controller2", "controller10", "api"]
    # the banner names the failing cells and where checks could not look
    assert "Store backend full on controller2</a>: 1 failing check" in ours
    assert "Could not look: controller2 (1), controller10 (1)" in ours
    # figures: the canary's first, bytes read as sizes, ratios as percentages
    figures = re.findall(r"<tr><td>([a-z_]+)</td><td class=\"hc-num\">(.*?)</td>", ours)
    assert [name for name, _ in figures[:2]] == ["canary_upload_mib_per_s"] * 2
    assert ("store_available_bytes", "1.5 GiB (1610612736)") in figures
    assert ("store_used_ratio", "0.25 (25.0%)") in figures


def test_html_results_table_opens_on_failures(suite):
    run(suite, OPERATOR_SOURCE, "--html=out/report.html")
    report = (suite.path / "out" / "report.html").read_text()
    # one script of ours, before pytest-html's: passed hidden, skipped folded, unless the address says
    assert report.count("<script>") == 2
    ours = report[report.index("<script>"):report.index("</script>")]
    assert 'url.searchParams.set("visible", "failed,error,skipped,xfailed,xpassed,rerun")' in ours
    assert 'url.searchParams.set("collapsed", "passed,skipped,xfailed")' in ours
    assert report.index("<script>") < report.index('id="data-container"')
    # the environment table moves below the results (CSS order, no script)
    assert "#environment{order:4}" in report
    # the page stays one self-contained file: our css and js are the static files, inlined
    assert f"<style>{(html_report.STATIC / 'report.css').read_text()}</style>" in report
    assert f"<script>{(html_report.STATIC / 'report.js').read_text()}</script>" in report
    assert "<link" not in _summary_section(report) and "<script src" not in _summary_section(report)


def test_a_template_prints_every_value_redacted_then_escaped():
    """The templates' two rules hold for any value, whatever the template: redaction
    (Jinja's finalize) first, then autoescape; only Markup made by the report passes as it is."""
    env = html_report.environment()
    printed = env.from_string("<td>{{ value }}</td>{{ fragment }}").render(
        value=f"<b>x</b> password={PLANTED_PASSWORD}", fragment=html_report.Markup("<i>ours</i>"))
    assert printed == "<td>&lt;b&gt;x&lt;/b&gt; password=***</td><i>ours</i>"
    with pytest.raises(jinja2.UndefinedError, match="missing"):  # a typo in a template fails, never prints nothing
        env.from_string("{{ missing }}").render()


def test_template_lines_are_layout_only():
    """The loader joins a template's lines: an evidence block is the same html the report always
    wrote (no whitespace between tags), and its body keeps its own line breaks."""
    entry = {"title": "df -P", "command": "df -P /var/lib/glance", "body": "a <1>\nb"}
    assert html_report.evidence_html(entry) == (
        '<div class="hc-evidence"><h4>Evidence: df -P</h4><div><code>$ df -P /var/lib/glance</code></div>'
        "<pre>a &lt;1&gt;\nb</pre></div>"
    )
    assert html_report.skip_html("no ssh") == (
        '<div class="hc-block hc-skip"><h4>Skipped: this check could not look</h4><pre>no ssh</pre></div>'
    )


def test_run_context_has_versions_and_given_thresholds(suite):
    _, health = run(suite, PASSING, "--html=out/report.html")
    versions = health["context"]["versions"]
    assert set(versions) >= {"suite", "python", "pytest", "pytest-html", "pytest-testinfra", "openstacksdk"}
    assert versions["pytest"] == pytest.__version__
    # thresholds a fixture recorded are kept as they are
    assert health["context"]["thresholds"] == {"store_usage_ratio": 0.8}
    ours = _summary_section((suite.path / "out" / "report.html").read_text())
    assert "<tr><th>Thresholds in force</th>" in ours
    assert f"<tr><th>pytest</th><td>{pytest.__version__}</td></tr>" in ours
    assert "<tr><th>glance</th><td>not recorded</td></tr>" in ours
    assert "<tr><th>Duration</th>" in ours


def test_thresholds_in_force_come_from_the_options_plugin(pytester):
    """With the suite's own options plugin, the report lists thresholds as the operator gave them."""
    pytester.syspathinsert(REPO_ROOT)
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["glance_hc.fixtures.options", "glance_hc.report"]\n')
    pytester.makepyfile(test_checks=PASSING)
    pytester.runpytest("--health-json=out/health.json", "--largest-image=64MiB")
    health = json.loads((pytester.path / "out" / "health.json").read_text())
    thresholds = health["context"]["thresholds"]
    assert thresholds["largest_image"] == "64MiB"
    assert thresholds["store_usage_max_percent"] == "80"


def test_test_ids_and_environment_are_text_in_pytest_html_table(suite):
    source = """
import jinja2
import pytest
pytestmark = [pytest.mark.host, pytest.mark.store_config]

@pytest.mark.parametrize("store", ["<b>bold</b>"])
def test_store(controller1, store):
    assert False
"""
    run(suite, source, "--html=out/report.html", "--metadata", "branch", "<i>x</i>",
        "--metadata", "OS_PASSWORD", PLANTED_PASSWORD)
    report = (suite.path / "out" / "report.html").read_text()
    data = _html_test_data(report)
    row = next(iter(data["tests"].values()))[0]["resultsTableRow"]
    assert '<td class="col-testId">test_checks.py::test_store[&lt;b&gt;bold&lt;/b&gt;]</td>' in row
    assert data["environment"]["branch"] == "&lt;i&gt;x&lt;/i&gt;"
    assert data["environment"]["OS_PASSWORD"] == "***"
    assert PLANTED_PASSWORD not in report
