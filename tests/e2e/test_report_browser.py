"""The html report as an operator sees it: rendered by Chromium, after its javascript ran.

Headless Chromium (Debian's `chromium` package) loads the self-contained
health.html from disk; `--dump-dom` gives the DOM after pytest-html's script
built the results table, `--screenshot` what the page looks like. No driver
(selenium, playwright) is needed.

Without Chromium these tests skip, except under CI (env CI set), where a
missing browser is a broken runner and fails.
"""
from __future__ import annotations

import datetime
import json
import os
import random
import shutil
import struct
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from glance_hc.catalogue import ROOT_CAUSES
from tests.e2e import lab

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_INSTALL = "apt-get install -y chromium"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)
BROWSER_TIMEOUT = 90
SCREENSHOT = lab.ROOT / "reports" / "health-screenshot.png"
SCREENSHOT_SIZE = (1280, 1600)

# What makes the lab run fail and skip without touching the lab: no store may be
# used at all (every file store check fails), and a host that does not exist.
FAILING_ARGS = [*lab.LAB_ARGS, "--host=nosuchhost", "--store-usage-max=0"]


# --------------------------------------------------------------------------
# the browser


def find_chromium() -> str | None:
    explicit = os.environ.get("HC_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = f"no Chromium on PATH (install it: `{CHROMIUM_INSTALL}`, or set HC_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser tests must run: {message}")
        pytest.skip(message)
    return path


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=BROWSER_TIMEOUT,
    )
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def render(chromium: str, page: Path, profile: Path) -> Node:
    """The DOM after the page's scripts ran (and a moment for anything they started)."""
    proc = run_chromium(chromium, profile, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert "</html>" in proc.stdout, f"no DOM dumped: {proc.stderr[-2000:]}"
    return parse_dom(proc.stdout)


def screenshot(chromium: str, page: Path, profile: Path, out: Path) -> tuple[int, int]:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    width, height = SCREENSHOT_SIZE
    run_chromium(chromium, profile, f"--window-size={width},{height}", f"--screenshot={out}",
                 page.as_uri())
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])


# --------------------------------------------------------------------------
# a small DOM, from the serialised one Chromium prints

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None = None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.classes:
                continue
            if any(node.attrs.get(name.replace("_", "-")) != value for name, value in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'}> class={cls} {attrs} in the rendered page"
        return found[0]

    def by_id(self, element_id: str) -> Node:
        return self.find(id=element_id)

    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)

    @property
    def text(self) -> str:
        """textContent, whitespace collapsed: what a reader sees, give or take layout."""
        return " ".join(self.raw_text().split())

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class _DomBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_dom(text: str) -> Node:
    builder = _DomBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def position(root: Node, node: Node) -> int:
    return next(i for i, n in enumerate(root.iter()) if n is node)


def catalogue_text(text: str) -> str:
    """The catalogue's words as the page shows them (`code` spans lose their backticks)."""
    return " ".join(text.replace("`", "").split())


# --------------------------------------------------------------------------
# the lab run, rendered


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    run = lab.run_suite(tmp_path_factory.mktemp("failing-run"), args=FAILING_ARGS)
    assert (run.outdir / "health.html").exists(), run.stdout[-3000:]
    assert run.exit_code == 1, run.stdout[-3000:]
    return run


@pytest.fixture(scope="module")
def rendered(failing_run, chromium, tmp_path_factory) -> Node:
    return render(chromium, failing_run.outdir / "health.html", tmp_path_factory.mktemp("profile"))


def cell_counts(checks: list[dict]) -> dict[tuple[str, str], Counter]:
    cells: dict[tuple[str, str], Counter] = {}
    for check in checks:
        key = (check["root_cause"] or "", check["target"] or "n/a")
        outcome = "failed" if check["outcome"] == "error" else check["outcome"]
        cells.setdefault(key, Counter())[outcome] += 1
    return cells


@pytest.mark.lab
def test_verdict_banner_comes_first(failing_run, rendered):
    health = failing_run.health
    assert health["verdict"] == "unhealthy"
    banner = rendered.find(cls="hc-verdict")
    assert "hc-verdict--unhealthy" in banner.classes
    assert banner.find(cls="hc-verdict__title").text == "Glance upload health: UNHEALTHY"
    summary = health["summary"]
    assert f"{summary['failed']} failed" in banner.text
    assert f"{summary['skipped']} skipped" in banner.text
    assert f"{summary['passed']} passed" in banner.text
    # the failing cells are named in the banner itself
    assert "Store backend full on controller1" in banner.text
    # reading order: verdict, matrix, failures, skips, then pytest-html's table
    order = [position(rendered, node) for node in (
        banner, rendered.by_id("hc-matrix"), rendered.by_id("hc-failed"), rendered.by_id("hc-skipped"),
        rendered.by_id("hc-context"), rendered.find("table", id="results-table"))]
    assert order == sorted(order)


@pytest.mark.lab
def test_matrix_cells_match_the_run(failing_run, rendered):
    matrix = rendered.by_id("hc-matrix")
    header = [th.text for th in matrix.find("thead").find_all("th")]
    assert header[0] == "Root cause"
    assert header[-1] == "api", "the API column comes last"
    assert {"controller1", "nosuchhost"} <= set(header[1:-1])
    assert [th.text.split()[-1] for th in matrix.find("tbody").find_all("th", scope="row")][:len(ROOT_CAUSES)] \
        == list(ROOT_CAUSES)

    expected = cell_counts(failing_run.health["checks"])
    shown = {}
    for td in matrix.find_all("td", cls="hc-cell"):
        if "hc-cell--none" in td.classes:
            continue
        key = (td.attrs["data-root-cause"], td.attrs["data-target"])
        counts = {o: int(td.attrs[f"data-{o}"]) for o in ("failed", "skipped", "passed")}
        shown[key] = counts
        assert td.text == f"{counts['failed']} fail / {counts['skipped']} skip / {counts['passed']} pass"
        state = "fail" if counts["failed"] else "skip" if counts["skipped"] else "pass"
        assert f"hc-cell--{state}" in td.classes, (key, td.classes)
        # each cell links to the list of its checks, which is on the page
        link = td.find("a").attrs["href"]
        listing = rendered.by_id(link.removeprefix("#"))
        assert len(listing.find("ul").find_all("li")) == sum(counts.values())
    assert shown == {key: {o: c.get(o, 0) for o in ("failed", "skipped", "passed")}
                     for key, c in expected.items()}

    # the threshold made every file store on controller1 fail; the missing host skipped
    assert shown[("store_full", "controller1")]["failed"] >= 4
    assert shown[("store_full", "nosuchhost")]["skipped"] >= 1
    assert shown[("availability", "api")]["passed"] >= 1


@pytest.mark.lab
def test_failed_check_shows_claim_evidence_and_catalogue_remediation(failing_run, rendered):
    failures = rendered.by_id("hc-failed")
    failed = [c for c in failing_run.health["checks"] if c["outcome"] in ("failed", "error")]
    assert f"Failed checks ({len(failed)})" in failures.find("h2").text
    block = failures.find(cls="hc-cause", data_root_cause="store_full")
    cause = ROOT_CAUSES["store_full"]
    assert cause.title in block.find(cls="hc-cause__title").text
    remediation = block.find(cls="hc-remediation").text
    for step in cause.remediation:
        assert catalogue_text(step) in remediation

    fast_usage = "test_file_store_usage_is_below_alert_level[controller1-fast]"
    check = next(c for c in failed if c["nodeid"].endswith(fast_usage))
    card = block.find(cls="hc-failure", data_nodeid=check["nodeid"])
    assert "File store usage is below alert level [controller1-fast]" in card.find(cls="hc-claim").text
    assert "alert level 0%" in card.find(cls="hc-message").text
    evidence = card.find_all(cls="hc-evidence")
    assert evidence, "a failed check shows what it looked at"
    assert check["evidence"][0]["body"].split()[0] in evidence[0].text

    # pytest-html's table (built by its javascript): failed rows first, with the same remediation
    table = rendered.find("table", id="results-table")
    rows = table.find_all("tbody", cls="results-table-row")
    results = [row.find("td", cls="col-result").text for row in rows]
    assert results, "the results table was not rendered: did the page's javascript run?"
    assert "Passed" not in results, "passed rows start hidden"
    first_skip = results.index("Skipped") if "Skipped" in results else len(results)
    assert set(results[:first_skip]) <= {"Failed", "Error"} and results[:first_skip], results
    store_row = next(row for row in rows if row.find("td", cls="col-testId").text == check["nodeid"])
    assert catalogue_text(cause.remediation[0]) in store_row.find(cls="extraHTML").text
    assert "hidden" not in store_row.find("tr", cls="extras-row").classes, "failed rows start unfolded"


@pytest.mark.lab
def test_skipped_checks_say_why(failing_run, rendered):
    section = rendered.by_id("hc-skipped")
    skipped = [c for c in failing_run.health["checks"] if c["outcome"] == "skipped"]
    assert skipped, "--host=nosuchhost must make host checks skip"
    assert f"Skipped checks ({len(skipped)})" in section.find("h2").text
    reasons = [" ".join(r.raw_text().split()) for r in section.find_all(cls="hc-skip-reason")]
    for check in skipped:
        assert " ".join(check["message"].split()) in reasons, check
    assert any("nosuchhost" in reason for reason in reasons)
    # every skipped check is listed under its reason
    assert len(section.find_all("li")) == len(skipped)


@pytest.mark.lab
def test_figures_and_run_context(failing_run, rendered):
    figures = rendered.by_id("hc-figures-table")
    metrics = [m["name"] for c in failing_run.health["checks"] for m in c["metrics"]]
    shown = [row.find_all("td")[0].text for row in figures.find("tbody").find_all("tr")]
    assert sorted(shown) == sorted(metrics), "every hc_metric of the run is in the figures table"
    assert "store_used_ratio" in shown
    canary = [name for name in shown if name.startswith("canary")]
    assert shown[:len(canary)] == canary, "the canary's figures come first"

    ctx = rendered.by_id("hc-context-table").text
    for expected in ("Hosts", "controller1", "nosuchhost", "Cloud", "hc-lab", "Thresholds in force",
                     "store_usage_max_percent", "largest_image", "64MiB", "Versions", "pytest",
                     "openstacksdk", "glance", "Duration"):
        assert expected in ctx, expected
    deployment = failing_run.health["context"]["hosts"]["controller1"]["deployment"]
    assert " ".join(deployment.split()) in ctx


@pytest.mark.lab
def test_screenshot_of_the_failing_report(failing_run, chromium, tmp_path):
    width, height = screenshot(chromium, failing_run.outdir / "health.html", tmp_path / "profile", SCREENSHOT)
    assert (width, height) == SCREENSHOT_SIZE
    assert SCREENSHOT.stat().st_size > 20_000, "a blank page compresses to almost nothing"


# --------------------------------------------------------------------------
# hostile evidence, without the lab

XSS_CONFTEST = """
pytest_plugins = ["glance_hc.fixtures.options", "glance_hc.fixtures.evidence", "glance_hc.report"]
"""

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = """<img src=x onerror="document.body.setAttribute('data-pwned','1')">"""

EVIDENCE_TITLE = "glance-api.log " + HOSTILE
EVIDENCE_BODY = "ERROR " + HOSTILE + " store disabled\n" + HOSTILE_IMG
EVIDENCE_COMMAND = "grep '" + HOSTILE + "' /var/log/glance/api.log"
CLAIM_MESSAGE = "default_backend " + HOSTILE + " is not enabled"
SKIP_REASON = "cannot look at " + HOSTILE

XSS_CHECKS = f"""
import pytest

pytestmark = [pytest.mark.host, pytest.mark.store_config]

@pytest.fixture
def on_controller1(request):
    request.node.user_properties.append(("hc_target", "controller1"))

def test_backend_enabled(on_controller1, evidence):
    evidence.add({EVIDENCE_TITLE!r}, {EVIDENCE_BODY!r}, command={EVIDENCE_COMMAND!r})
    evidence.metric({"x" + HOSTILE!r}, 1, {HOSTILE!r}, {{"store": {HOSTILE!r}}})
    assert False, {CLAIM_MESSAGE!r}

@pytest.mark.parametrize("store", [{HOSTILE_IMG!r}])
def test_store_named_by_the_remote_config(on_controller1, store, request):
    request.node.user_properties.append(("hc_store", store))
    pytest.skip({SKIP_REASON!r})
"""

XSS_INI = "[pytest]\nmarkers =\n" + "".join(
    f"    {name}: marker\n" for name in ("host", "api", "canary", "gate", *ROOT_CAUSES))


def test_hostile_evidence_renders_as_text(pytester: pytest.Pytester, chromium, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(lab.ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeini(XSS_INI)
    pytester.makeconftest(XSS_CONFTEST)
    pytester.makepyfile(test_hostile=XSS_CHECKS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--html=out/report.html", "--self-contained-html",
        "--health-json=out/health.json", "--metadata", "branch", HOSTILE_IMG,
    )
    result.assert_outcomes(failed=1, skipped=1)
    page = pytester.path / "out" / "report.html"
    dom = render(chromium, page, tmp_path / "profile")

    # the page's own scripts only: ours (the results filter) and pytest-html's
    scripts = dom.find_all("script")
    assert len(scripts) == 2, [s.raw_text()[:80] for s in scripts]
    assert all("alert(1)" not in s.raw_text() for s in scripts)
    assert not [n for n in dom.iter() if "onerror" in n.attrs], "an element with an onerror handler was created"
    body = dom.find("body")
    assert "data-pwned" not in body.attrs, "an injected handler ran"

    # the evidence is shown, as text, above and in pytest-html's table
    card = dom.by_id("hc-failed").find(cls="hc-failure")
    assert HOSTILE in card.find(cls="hc-evidence").find("pre").raw_text()
    assert f"$ {EVIDENCE_COMMAND}" in card.find(cls="hc-evidence").text
    assert CLAIM_MESSAGE in card.find(cls="hc-message").raw_text()
    row_extras = dom.find("table", id="results-table").find(cls="extraHTML")
    assert HOSTILE in row_extras.text, "the javascript-built row shows the evidence as text"
    assert SKIP_REASON in dom.by_id("hc-skipped").text
    assert HOSTILE_IMG in dom.find("table", id="results-table").text, "a test id from a store name is text"
    assert "onerror" in dom.find("table", id="environment").text, "the environment value is text"
    assert HOSTILE in dom.by_id("hc-figures-table").text
    health = json.loads((pytester.path / "out" / "health.json").read_text())
    assert health["verdict"] == "unhealthy"


# --------------------------------------------------------------------------
# the pictures, with a history, without the lab

# Added to a copy of the page only: once laid out, each chart's size and what it drew.
MEASURE_CHARTS = """<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("svg.hc-chart").forEach(function (chart) {
    var box = chart.getBoundingClientRect();
    var marks = chart.querySelectorAll("rect.hc-bar, polyline.hc-series");
    var drawn = Array.prototype.filter.call(marks, function (m) {
      var b = m.getBBox(); return b.width > 0 || b.height > 0; });
    out.push({chart: chart.getAttribute("data-chart"), width: box.width, height: box.height,
              marks: marks.length, drawn: drawn.length});
  });
  var pictures = document.getElementById("hc-pictures").getBoundingClientRect();
  var pre = document.createElement("pre");
  pre.id = "hc-test-charts";
  pre.textContent = JSON.stringify({charts: out, pictures_bottom: pictures.bottom + window.scrollY});
  document.body.appendChild(pre);
});
</script>"""
PICTURES_SCREENSHOT = lab.ROOT / "reports" / "health-pictures-screenshot.png"


def test_pictures_render_with_a_history(chromium, tmp_path):
    """Store usage and canary throughput, now and over 60 nights: every chart laid out and drawn."""
    from bench import history_bench  # noqa: PLC0415 - the lab document replayed, a history made from it
    from glance_hc import forecast  # noqa: PLC0415

    base = json.loads(history_bench.BASE.read_text())
    history_bench.make_history(tmp_path / "history", base, 60)
    tonight = history_bench.night(base, 60, 61, datetime.datetime.now(datetime.UTC), random.Random(1))
    project = tmp_path / "replay"
    project.mkdir()
    (tmp_path / "current.json").write_text(json.dumps(tonight))
    history_bench.write_replay(project, tmp_path / "current.json", tonight)
    _, size, health = history_bench.replay_run(project, tmp_path / "out", tmp_path / "history")
    assert health["forecasts"]["runs"] == 61 and size < 5 * 2**20
    page = tmp_path / "out" / "health.html"
    measured = page.with_name("measured.html")
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE_CHARTS + "</body>"),
                        encoding="utf-8")
    dom = render(chromium, measured, tmp_path / "profile")
    measured = json.loads(dom.by_id("hc-test-charts").raw_text())
    charts = measured["charts"]

    kinds = Counter(c["chart"] for c in charts)
    assert kinds["store-usage"] == 1 and kinds["canary-throughput"] == 1
    assert kinds["store-usage-history"] == len(forecast.store_series([base]))
    assert kinds["canary-throughput-history"] == len(forecast.canary_series([base]))
    for chart in charts:
        assert chart["width"] >= 300 and chart["height"] >= 150, chart
        assert chart["marks"] > 0 and chart["drawn"] == chart["marks"], chart
    usage = next(c for c in charts if c["chart"] == "store-usage")
    assert usage["marks"] == len({(t, s) for t, s, _ in forecast.store_series([base])}), "a bar per store and host"
    section = dom.by_id("hc-pictures")
    assert position(dom, dom.by_id("hc-history")) < position(dom, section) < position(dom, dom.by_id("hc-context"))

    # what a person sees: the page from the verdict down to the last picture (headless Chromium
    # draws nothing when a screenshot starts at an anchor, so the window is made that tall)
    height = min(int(measured["pictures_bottom"]) + 20, 12000)
    PICTURES_SCREENSHOT.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / "profile-shot", f"--window-size=1280,{height}",
                 f"--screenshot={PICTURES_SCREENSHOT}", page.as_uri())
    data = PICTURES_SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, height)
    assert len(data) > 200_000, "a page of charts compresses worse than a blank one"
