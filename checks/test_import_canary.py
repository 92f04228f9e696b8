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

pytestmark = [pytest.mark.api, pytest.mark.canary, pytest.mark.availability]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "import_case" in metafunc.fixturenames:
        cases = import_cases(metafunc.config)
        metafunc.parametrize("import_case", cases, ids=[c.id for c in cases])


def test_glance_direct_import_through_another_node_becomes_active(
        import_case, image_api, thresholds, evidence, request, canary_guard, import_pool, testinfra_host_of):
    case, cloud = import_case, image_api
    if case.node:
        request.node.user_properties.append(("hc_target", case.node))
    if case.store:
        request.node.user_properties.append(("hc_store", case.store))
    if import_pool.pool is None:
        import_pool.start(cloud, request.session.items)
    plan = import_pool.plans[case.id]
    if isinstance(plan, str):
        pytest.skip(plan)
    if plan.endpoint:
        evidence.add("node endpoints", plan.endpoint_how)
    result = import_pool.pool.result(case.id)
    if import_pool.one_by_one:
        evidence.add("canaries one after another", import_pool.one_by_one)
    judge_canary(result, request, cloud, evidence, case, plan, thresholds, canary_guard, testinfra_host_of,
                 what=f"glance-direct import to store {case.store or 'default'} (staged through "
                      f"{case.node or 'the image endpoint'}, imported through {case.via or 'the image endpoint'})")
