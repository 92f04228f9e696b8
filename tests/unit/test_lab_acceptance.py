"""The lab's acceptance test's judge (lab/acceptance_results.py) on Tempest's real results, and the
feature flags lab/acceptance.py reads from glance-api.conf.

tests/data/tempest/image-v2-lab-concurrency2.xml: Tempest 47.0.0's tempest.api.image.v2 against the
lab (2026-12-02, concurrency 2), the JUnit XML `make lab-acceptance` wrote from stestr's subunit
(reports/lab-acceptance.xml, copied): 52 passed, 19 skipped, 4 failed. image-v2-lab-store-permissions.xml:
the same run with the lab's store-permissions fault injected (default store owned by root): 47 passed,
19 skipped, 9 failed.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lab import acceptance, acceptance_probe, acceptance_results
from lab.acceptance_results import Expectation, judge, load_expected, parse_junit

DATA = Path(__file__).resolve().parent.parent / "data" / "tempest"
EXPECTED = load_expected(acceptance.EXPECTED)
WEB_DOWNLOAD = "tempest.api.image.v2.test_images.ImportImagesTest.test_image_web_download_import"
WAITER_QUIRK = "tempest.api.image.v2.test_images.ImportImagesTest.test_image_glance_direct_import"
A_PASSING_TEST = "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_register_upload_get_image_file"


@pytest.fixture(scope="module")
def results():
    return parse_junit((DATA / "image-v2-lab-concurrency2.xml").read_text())


def without(test: str) -> list[Expectation]:
    return [e for e in EXPECTED if e.test != test]


def test_the_junit_xml_gives_every_test_once_with_its_status(results):
    statuses = [r.status for r in results]
    assert (statuses.count("passed"), statuses.count("skipped"), statuses.count("failed")) == (52, 19, 4)
    assert len({r.id for r in results}) == len(results)


def test_a_class_fixture_keeps_its_own_id_and_a_test_loses_its_attributes(results):
    by_id = {r.id: r for r in results}
    caching = by_id["tempest.api.image.v2.admin.test_image_caching.ImageCachingTest.setUpClass"]
    assert caching.status == "skipped" and "not configured with glance caching" in caching.message
    passing = by_id[A_PASSING_TEST]
    assert passing.status == "passed" and passing.attrs.startswith("[id-")


def test_the_lab_as_it_is_passes_with_only_expected_skips_and_quirks(results):
    verdict = judge(results, EXPECTED)
    assert verdict.ok
    assert (len(verdict.passed), len(verdict.expected_skips), len(verdict.expected_failures)) == (52, 19, 4)
    assert not verdict.unexpected_failures and not verdict.unexpected_skips and not verdict.stale


def test_a_real_fault_fails_the_verdict_and_its_quirk_lookalikes_are_not_excused():
    faulty = parse_junit((DATA / "image-v2-lab-store-permissions.xml").read_text())
    verdict = judge(faulty, EXPECTED)
    assert not verdict.ok
    assert len(verdict.unexpected_failures) == 8
    # the three store-order tests failed as the fault made them (OtherRestClientException: failed in
    # fast), not as the quirk does (a TimeoutException with no failed store): not excused
    unexpected = {r.id for r in verdict.unexpected_failures}
    assert {e.test for e in EXPECTED if e.needs == "store-order"} <= unexpected
    assert [r.id for r, _ in verdict.expected_failures] == [WEB_DOWNLOAD]
    text = acceptance_results.summary(verdict, "header")
    assert "Unexpected response code received | Details: 503" in text
    assert "failed to import on stores: fast" in text


def test_a_failure_not_in_the_list_fails_the_verdict_with_tempests_message(results):
    verdict = judge(results, without(WEB_DOWNLOAD))
    assert not verdict.ok
    assert [r.id for r in verdict.unexpected_failures] == [WEB_DOWNLOAD]
    text = acceptance_results.summary(verdict, "header")
    assert "FAIL" in text.splitlines()[1]
    assert "BadRequest" in text and "URI for web-download does not pass filtering" in text
    assert "Traceback" not in text  # Tempest's message, not its frames


def test_an_expected_failure_that_fails_for_another_reason_is_unexpected(results):
    other = [dataclasses.replace(e, match="Image storage media is full") if e.test == WAITER_QUIRK else e
             for e in EXPECTED]
    verdict = judge(results, other)
    assert [r.id for r in verdict.unexpected_failures] == [WAITER_QUIRK]
    # and the entry that no longer matched anything is stale
    assert [e.test for e, _ in verdict.stale] == [WAITER_QUIRK]


def test_an_expected_failure_that_passes_is_reported_stale(results):
    quirk = Expectation("failure", A_PASSING_TEST, "a quirk since fixed", "TimeoutException")
    verdict = judge(results, [*EXPECTED, quirk])
    assert not verdict.ok
    assert [(e.test, "passed" in why) for e, why in verdict.stale] == [(A_PASSING_TEST, True)]
    assert "stale expectations" in acceptance_results.summary(verdict, "header")


def test_an_intermittent_quirk_may_pass_without_going_stale(results):
    quirk = Expectation("failure", A_PASSING_TEST, "passes on a lucky run", "TimeoutException", intermittent=True)
    assert judge(results, [*EXPECTED, quirk]).ok


def test_a_skip_not_in_the_list_fails_the_verdict(results):
    verdict = judge(results, without("tempest.api.image.v2.test_images.StoreWeightTest"))
    assert [r.id for r in verdict.unexpected_skips] == ["tempest.api.image.v2.test_images.StoreWeightTest.setUpClass"]
    assert not verdict.ok


def test_an_entry_that_matches_no_test_is_stale(results):
    gone = Expectation("skip", "tempest.api.image.v2.test_gone.GoneTest", "a renamed test", ".")
    verdict = judge(results, [*EXPECTED, gone])
    assert [e.test for e, _ in verdict.stale] == [gone.test] and not verdict.ok


def test_a_run_without_results_never_passes():
    verdict = judge([], [])
    assert not verdict.ok and "no test at all" in acceptance_results.summary(verdict, "header")


def test_an_expected_entry_without_its_reason_is_refused(tmp_path):
    path = tmp_path / "expected.toml"
    path.write_text('[[failure]]\ntest = "tempest.api.image.v2.x"\nmatch = "Timeout"\n')
    with pytest.raises(ValueError, match="lacks reason"):
        load_expected(path)


GLANCE_CONF = """
[DEFAULT]
enabled_backends = fast:file, cheap:file, rbd:rbd
show_multiple_locations = True
image_cache_dir = /var/lib/glance/cache
[fast]
weight = 100
[oslo_policy]
enforce_new_defaults = false
"""


@pytest.mark.parametrize(("conf", "import_conf", "flag", "value"), [
    ("[DEFAULT]\nenabled_backends = fast:file, cheap:file\n", "", "image_caching_enabled", "false"),
    (GLANCE_CONF, "", "image_caching_enabled", "true"),
    ("[DEFAULT]\nenabled_backends = fast:file\n", "", "manage_locations", "false"),
    (GLANCE_CONF, "", "manage_locations", "true"),
    (GLANCE_CONF, "", "store_weight_enabled", "true"),
    ("[DEFAULT]\nenabled_backends = fast:file, cheap:file\n", "", "store_weight_enabled", "false"),
    ("[DEFAULT]\nenabled_backends = fast:file, web:http\n", "", "http_store_enabled", "true"),
    (GLANCE_CONF, "", "http_store_enabled", "false"),
    (GLANCE_CONF, "[image_import_opts]\nimage_import_plugins = ['image_conversion']\n", "image_conversion", "true"),
    (GLANCE_CONF, "", "image_conversion", "false"),
    (GLANCE_CONF, "", "enforce_new_defaults", "false"),
    ("[DEFAULT]\n", "", "enforce_new_defaults", "true"),
    ("[DEFAULT]\n", "", "do_secure_hash", "true"),
    ("[DEFAULT]\n", "", "hashing_algorithm", "sha512"),
])
def test_feature_flags_say_what_glance_api_conf_says(conf, import_conf, flag, value):
    flags = acceptance.feature_flags(acceptance.read_conf(conf), acceptance.read_conf(import_conf))
    assert flags[flag] == value


def test_tempest_conf_has_only_glance_and_no_unfilled_field(monkeypatch):
    monkeypatch.setattr(acceptance, "secrets_file", lambda: {"admin_password": "hcsecret-admin-0123"})
    flags = acceptance.feature_flags(acceptance.read_conf(GLANCE_CONF), acceptance.read_conf(""))
    conf = acceptance.read_conf(acceptance.tempest_conf(flags))
    available = dict(conf.items("service_available"))
    assert [name for name, on in available.items() if on == "true"] == ["glance"]
    assert conf.get("auth", "admin_password") == "hcsecret-admin-0123"
    assert conf.get("identity", "uri_v3").endswith(":5000/v3")
    assert conf.get("image-feature-enabled", "manage_locations") == "true"


def test_redact_removes_the_labs_passwords(monkeypatch):
    monkeypatch.setattr(acceptance, "secrets_file", lambda: {"admin_password": "hcsecret-admin-0123"})
    assert acceptance.redact("token for admin:hcsecret-admin-0123") == "token for admin:<redacted>"


# tests/data/tempest/store-order-probe.json: the probe's image on the lab (2026-12-02), staged and once
# imported to all stores with glance-direct, and /v2/info/stores
PROBE = json.loads((DATA / "store-order-probe.json").read_text())
STORE_IDS = [s["id"] for s in PROBE["info_stores"]["stores"]]


@pytest.mark.parametrize(("image", "holds", "says"), [
    (PROBE["active"], True, "Tempest waits for cheap,fast,rbd,swift"),
    ({**PROBE["active"], "stores": "cheap,fast,rbd,swift"}, False, "already sorted"),
    (PROBE["staged"], False, "the lab's fault"),
    ({**PROBE["active"], "stores": "fast,cheap"}, False, "not active in all of"),
    ({**PROBE["active"], "os_glance_failed_import": "rbd"}, False, "import failed in rbd"),
])
def test_the_store_order_premise_holds_only_for_an_image_active_everywhere_unsorted(image, holds, says):
    ok, seen = acceptance_probe.store_order_verdict(image, STORE_IDS)
    assert ok is holds and says in seen


@pytest.mark.parametrize(("probe_ok", "quirks_excused"), [(True, 3), (False, 0)])
def test_the_store_order_quirk_is_excused_only_when_this_run_confirmed_it(monkeypatch, results, probe_ok,
                                                                          quirks_excused):
    monkeypatch.setattr(acceptance, "secrets_file", lambda: {"admin_password": "hcsecret-admin-0123"})
    monkeypatch.setattr(acceptance_probe, "probe_store_order", lambda *a: (probe_ok, "active in fast,cheap"))
    expected, premises = acceptance.confirmed_expectations(EXPECTED)
    verdict = judge(results, expected)
    excused = [r.id for r, e in verdict.expected_failures if e.needs == "store-order"]
    assert len(excused) == quirks_excused
    assert len(verdict.unexpected_failures) == 3 - quirks_excused
    assert ("NOT confirmed" in premises) is not probe_ok


# tests/data/tempest/leftover-images.json: the lab's image list (admin) after five acceptance runs,
# before cleanup existed: one queued image per run from test_image_web_download_import_with_bad_url
LEFTOVERS = json.loads((DATA / "leftover-images.json").read_text())["images"]


@pytest.mark.parametrize(("since", "count"), [
    ("2026-12-02T04:15:00Z", 5),   # every run's
    ("2026-12-02T04:49:30Z", 1),   # the last run's only
    ("2026-12-02T05:00:00Z", 0),   # none is this run's
])
def test_only_this_runs_tempest_images_are_leftovers(since, count):
    assert len(acceptance_probe.tempest_leftovers(LEFTOVERS, since)) == count


def test_an_image_not_named_by_tempest_is_never_a_leftover():
    ours = [{**LEFTOVERS[0], "name": "hc-canary-controller1-0da9bfbe6d"}, {**LEFTOVERS[0], "name": None}]
    assert acceptance_probe.tempest_leftovers(ours, "2026-12-02T04:15:00Z") == []
