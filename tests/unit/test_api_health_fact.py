"""The run's API-health fact: one probe per run; when the Image API gives no usable answer, the
availability check fails with it and no other API check files it under its own root cause.

The suite's real API check modules run here (pytester) against a fake connection whose every
Image API call answers what Glance answers when it cannot open its database (HTTP 500)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from glance_hc.fixtures import cloud as cloud_mod

REPO_ROOT = Path(__file__).resolve().parents[2]
DB_500 = ("<html><head><title>500 Internal Server Error</title></head><body><h1>500 Internal Server "
          "Error</h1>The server has either erred or is incapable of performing the requested operation."
          "<br /><br />\n</body></html>")


class Response:
    def __init__(self, status, payload=None, text=""):
        self.status_code = status
        self._payload = payload
        self.text = json.dumps(payload) if payload is not None else text
        self.headers = {"content-type": "application/json" if payload is not None else "text/html"}

    def json(self):
        return self._payload


class Image:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def request(self, path, method, **kwargs):
        self.calls.append((method, path, kwargs.get("params")))
        try:
            return self.answer(method, path, kwargs.get("params") or {})
        except TypeError:
            return self.answer(method, path)

    get = lambda self, path, **kw: self.request(path, "GET")  # noqa: E731
    get_endpoint = lambda self: "http://127.0.0.10:9292/v2"  # noqa: E731


def conn_answering(answer):
    versions = Response(300, {"versions": [{"id": "v2.16", "status": "CURRENT"}]})
    return SimpleNamespace(image=Image(answer), current_project_id="p1",
                           session=SimpleNamespace(get=lambda *a, **k: versions))


def test_probe_is_usable_only_with_an_image_list():
    ok = cloud_mod.probe_api(conn_answering(lambda m, p: Response(200, {"images": [], "first": "/v2/images"})), 5)
    assert ok.ok and "HTTP 200" in ok.reason
    down = cloud_mod.probe_api(conn_answering(lambda m, p: Response(500, text=DB_500)), 5)
    assert not down.ok and "HTTP 500" in down.reason
    assert "test_image_api_lists_images" in down.skip_reason and "availability" in down.skip_reason
    odd = cloud_mod.probe_api(conn_answering(lambda m, p: Response(200, {"stores": []})), 5)
    assert not odd.ok and "not an image list" in odd.reason
    conn = conn_answering(lambda m, p: Response(200, {"images": []}))
    cloud_mod.probe_api(conn, 5)
    assert conn.image.calls == [("GET", "/images", {"limit": 1})], "one bounded request"


CONFTEST = """
import pytest
from glance_hc.fixtures import cloud
from tests.unit.test_api_health_fact import conn_answering, ANSWER

pytest_plugins = ["glance_hc.plugin"]


def pytest_configure(config):
    config.stash[cloud._KEY] = cloud.CloudState(name="fake", conn=conn_answering(ANSWER["now"]),
                                                catalog_url="http://127.0.0.10:9292/v2", auth_seconds=0.01)
"""
ANSWER = {"now": None}
MODULES = ("test_availability", "test_store_config", "test_quota", "test_worker_crash", "test_checksum_mismatch",
           "test_canary")


def run_api_checks(pytester, answer, *args: str) -> tuple[dict, object]:
    ANSWER["now"] = answer
    pytester.syspathinsert(REPO_ROOT)
    pytester.makeini((REPO_ROOT / "pytest.ini").read_text().replace(
        "addopts = ", "addopts = -p no:randomly ").replace("--html=reports/health.html", "")
        .replace("--self-contained-html", "").replace("--junitxml=reports/junit.xml", ""))
    pytester.makeconftest(CONFTEST)
    for name in MODULES:
        pytester.makepyfile(**{name: (REPO_ROOT / "checks" / f"{name}.py").read_text()})
    result = pytester.runpytest_inprocess("--health-json=out/health.json", "-m", "api", "--os-cloud=fake", *args)
    return json.loads((pytester.path / "out" / "health.json").read_text()), result


def test_an_api_that_answers_500_everywhere_fails_availability_only(pytester):
    health, result = run_api_checks(pytester, lambda m, p: Response(500, text=DB_500))
    failed = [c for c in health["checks"] if c["outcome"] in ("failed", "error")]
    assert [c["nodeid"].split("::")[-1] for c in failed] == ["test_image_api_lists_images"], \
        [(c["nodeid"], c["message"][:200]) for c in failed]
    assert {c["root_cause"] for c in failed} == {"availability"}
    assert "HTTP 500" in failed[0]["message"]
    skipped = [c for c in health["checks"] if c["outcome"] == "skipped"
               and "test_image_api_lists_images" in (c.get("message") or "")]
    names = {c["nodeid"].split("::")[-1].split("[")[0] for c in skipped}
    assert {"test_project_quota_has_headroom", "test_no_images_stuck_in_transient_status",
            "test_active_images_can_be_verified", "test_canary_upload_roundtrip",
            "test_no_canary_images_left_from_earlier_runs"} <= names, names


def test_a_healthy_api_passes_the_list_check_with_a_real_first_entry(pytester):
    image = {"id": "0b6d1c5e-8a39-4a3c-9f0e-0d1f9c2a7b11", "status": "active", "visibility": "public",
             "created_at": "2026-12-01T10:00:00Z", "self": "/v2/images/0b6d", "file": "/v2/images/0b6d/file"}
    health, _ = run_api_checks(pytester, lambda m, p: Response(200, {"images": [image]}) if p == "/images"
                               else Response(404, text="not here"))
    check = next(c for c in health["checks"] if c["nodeid"].endswith("test_image_api_lists_images"))
    assert check["outcome"] == "passed", check
    broken = dict(image)
    del broken["status"]
    health, _ = run_api_checks(pytester, lambda m, p: Response(200, {"images": [broken]}))
    check = next(c for c in health["checks"] if c["nodeid"].endswith("test_image_api_lists_images"))
    assert check["outcome"] == "failed" and "missing status" in check["message"], check


OLD = "2026-01-01T00:00:00Z"


def test_the_stuck_sweep_flags_queued_uploads_without_data_and_leaves_canaries_to_their_check(pytester):
    queued = [
        {"id": "q-nodata", "name": "failed-upload", "status": "queued", "size": None, "checksum": None,
         "updated_at": OLD, "created_at": OLD},
        {"id": "q-sized", "name": "reserved", "status": "queued", "size": 10, "checksum": None,
         "updated_at": OLD, "created_at": OLD},
        {"id": "q-canary", "name": "hc-canary-fast-1", "tags": ["hc-canary"], "status": "queued", "size": None,
         "updated_at": OLD, "created_at": OLD},
    ]
    lists = []

    def answer(method, path, params):
        if path == "/images":
            lists.append(dict(params))
            images = queued if params.get("status") == "queued" and params.get("os_hidden") is None else []
            return Response(200, {"images": images if params.get("limit") != 1 else []})
        return Response(404, text="not here")

    health, _ = run_api_checks(pytester, answer, "-k", "stuck_in_transient")
    outcomes = {c["nodeid"].split("[")[-1].rstrip("]"): c for c in health["checks"]}
    assert set(outcomes) == {"saving", "importing", "uploading", "queued-without-data"}, \
        "killed is not offered: Glance's v2 list never returns it"
    failed = outcomes["queued-without-data"]
    assert failed["outcome"] == "failed" and failed["root_cause"] == "worker_crash"
    assert "q-nodata" in failed["message"] and "1 image(s)" in failed["message"]
    assert "q-sized" not in failed["message"] and "q-canary" not in failed["message"]
    assert all(outcomes[s]["outcome"] == "passed" for s in ("saving", "importing", "uploading"))
    sweeps = [p for p in lists if p.get("limit") != 1]
    assert len(sweeps) == 8, "one server-filtered request per status (visible and hidden)"
    assert all(p["updated_at"].startswith("lt:") and p["status"] for p in sweeps)
