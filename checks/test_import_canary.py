"""The import canary: a glance-direct import staged through one node and imported through another.

Why: with several glance-api nodes the staged data sits on the node that took the stage call; an
import sent to another node must reach it (Glance's distributed import: worker_self_reference_url,
the import proxied to the node that has the image) or share its staging dir. The upload canary
never goes that way. One case per `--host` node N: create `hc-canary-import-N-<random>` (run id
and lease, its deletion registered first), stage generated data through N (PUT /v2/images/ID/stage,
streamed like the upload), POST /v2/images/ID/import {"method": {"name": "glance-direct"}} through
the next node (N itself when it is the only one), to the default store; wait for active, bounded
well below canary_timeout (glance_hc.canary.imports.import_deadline); check the record's and a
download's hashes; delete. A failed or stuck import says the status it last saw and its task's
status and message (GET /v2/images/ID/tasks), and is classified and remediated as the upload
canary's failures are.

Opt-in (`--import-canary`, ini `import_canary`): without it the cases are deselected and the
run's context says why. The pool, the cases and the signal guard are glance_hc.fixtures.canaries'.
"""
from __future__ import annotations

import pytest

from glance_hc.fixtures.canaries import import_cases
from glance_hc.fixtures.canary_failure import judge_canary
from glance_hc.fixtures.import_canaries import KINDS, store_import_cases

pytestmark = [pytest.mark.api, pytest.mark.canary, pytest.mark.availability]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "import_case" in metafunc.fixturenames:
        cases = import_cases(metafunc.config)
        metafunc.parametrize("import_case", cases, ids=[c.id for c in cases])
    if "store_import_case" in metafunc.fixturenames:
        kind = KINDS[metafunc.function.__name__]
        cases = [c for c in store_import_cases(metafunc.config) if c.kind == kind]
        metafunc.parametrize("store_import_case", cases, ids=[c.id for c in cases])


def _start_both(cloud, request, import_pool, store_import_pool) -> None:
    """Both pools at the first import check: the imports to every store (seconds each) overlap the
    glance-direct ones instead of waiting for them."""
    for pool in (import_pool, store_import_pool):
        if pool.pool is None:
            pool.start(cloud, request.session.items)


def test_glance_direct_import_through_another_node_becomes_active(
        import_case, image_api, thresholds, evidence, request, canary_guard, import_pool, store_import_pool,
        testinfra_host_of):
    case, cloud = import_case, image_api
    if case.node:
        request.node.user_properties.append(("hc_target", case.node))
    if case.store:
        request.node.user_properties.append(("hc_store", case.store))
    _start_both(cloud, request, import_pool, store_import_pool)
    plan = import_pool.plans[case.id]
    if isinstance(plan, str):
        pytest.skip(plan)
    if plan.endpoint:
        evidence.add("node endpoints", plan.endpoint_how)
    result = import_pool.pool.result(case.id)
    if result.failure is not None and result.failure.step == "stage":
        case_what = " [failed at the stage call: the data goes to the node's staging dir (os_glance_staging_store)]"
    else:
        case_what = ""
    if import_pool.one_by_one:
        evidence.add("canaries one after another", import_pool.one_by_one)
    judge_canary(result, request, cloud, evidence, case, plan, thresholds, canary_guard, testinfra_host_of,
                 what=f"glance-direct import to store {case.store or 'default'} (staged through "
                      f"{case.node or 'the image endpoint'}, imported through {case.via or 'the image endpoint'})"
                      + case_what)


# ---------------------------------------------------------------- several stores (issue #19)
# Cases from the stores Glance lists (glance_hc.fixtures.import_canaries): an import to every store at
# once for each all_stores_must_succeed, copy-image of an imported canary to every other store, and
# (--web-download-canary only) web-download from the operator's side. What each store became is read
# from the image's os_glance_importing_to_stores / os_glance_failed_import / stores and put in the
# evidence; a failed store is named, and its task's log lines classify it.


def _store_import(case, image_api, thresholds, evidence, request, canary_guard, pool, testinfra_host_of, what):
    cloud = image_api
    _start_both(cloud, request, request.getfixturevalue("import_pool"), pool)
    plan = pool.plans[case.id]
    if isinstance(plan, str):
        pytest.skip(plan)
    result = pool.pool.result(case.id)
    if result.failed_stores:
        what += f" [failed: store {', '.join(result.failed_stores)}]"
    elif result.failure is not None and result.failure.step == "stage":
        what += " [failed at the stage call: the data goes to the node's staging dir (os_glance_staging_store)]"
    stores = result.failed_stores or ([case.store] if case.store else [])
    if stores:
        request.node.user_properties.append(("hc_store", ",".join(stores)))
    judge_canary(result, request, cloud, evidence, case, plan, thresholds, canary_guard, testinfra_host_of,
                 what=what.replace("{", "{{").replace("}", "}}"))




def test_import_to_several_stores_keeps_the_all_stores_must_succeed_promise(
        store_import_case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
        testinfra_host_of):
    """true: every store or the import fails (the image kept out of active); false: active on the stores
    that worked, the others named in os_glance_failed_import. Healthy: active on every store."""
    case = store_import_case
    _store_import(case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
                  testinfra_host_of, f"glance-direct import to {', '.join(case.stores)} at once "
                                     f"(all_stores_must_succeed={str(case.must_succeed).lower()})")


def test_copy_image_reaches_every_other_store(
        store_import_case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
        testinfra_host_of):
    """An imported canary copied (copy-image) to every store Glance lists but its own lands in each."""
    case = store_import_case
    _store_import(case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
                  testinfra_host_of, f"copy-image from {case.store or 'the default store'} to "
                                     f"{', '.join(case.stores) or '(no other store)'}")


def test_web_download_import_becomes_active(
        store_import_case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
        testinfra_host_of):
    """Glance fetches the canary's data from the operator's side (--web-download-canary) and stores it
    intact; a URL its [import_filtering_opts] refuse is configuration (store_config)."""
    _store_import(store_import_case, image_api, thresholds, evidence, request, canary_guard, store_import_pool,
                  testinfra_host_of, "web-download import")
