"""The report plugin, driven through pytester the way the suite uses it."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from glance_hc.catalogue import ROOT_CAUSES

REPO_ROOT = Path(__file__).resolve().parents[2]

PLANTED_PASSWORD = "Pl4nted-S3cret-9f2"

# Stand-ins for the suite's real fixtures: they honour the same contracts
# (docs/design.md) without needing a lab.
CONFTEST = f"""
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
import pytest
pytestmark = [pytest.mark.api, pytest.mark.availability]
def test_answers(): pass
def test_lists_images(): pass
"""

ONE_FAILURE = """
import pytest
pytestmark = [pytest.mark.api, pytest.mark.availability]
def test_answers(): pass
def test_upload(): assert False, "upload returned 503"
def test_cannot_look(): pytest.skip("no admin credentials")
"""

ONLY_SKIPS = """
import pytest
pytestmark = [pytest.mark.api, pytest.mark.quota]
def test_quota(): pytest.skip("unified limits not enabled")
@pytest.mark.skip(reason="no --os-cloud given")
def test_limit(): pass
"""

SETUP_ERROR = """
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
    assert (
        '<td class="hc-cell hc-cell--fail" style="background:#f8d7da">'
        '<a href="#hc-cell-store_config--controller1">1 pass / 1 fail / 1 skip</a></td>'
    ) in report
    assert 'class="hc-cell hc-cell--pass"' in report
    assert 'id="hc-cell-store_config--controller1"' in report
    assert 'data-column-type="rootCause">Root cause</th>' in report
    assert 'data-column-type="target">Target</th>' in report
    assert "<h2>Figures</h2>" in report
    assert "<td>canary_upload_throughput</td><td>42.5</td><td>MiB/s</td>" in report
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
