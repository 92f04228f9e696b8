"""Explain one image a user reports (`--image ID_OR_NAME`, repeatable): the runbook's workflow.

The record first (a GET by id also shows `killed` images, which the v2 list never does), then
the requests that touched it in every host's logs (by image id, then by the request ids found on
those lines), the kernel and uWSGI lines around its last change and what the host checks saw of
its store; the root cause is named by the canary's own rules (glance_hc.forensics, gathered by
glance_hc.fixtures.forensics). An image with nothing wrong passes with its record as evidence. Read-only.
"""
from __future__ import annotations

import pytest

from glance_hc.fixtures.forensics import explain_image, resolve
from glance_hc.fixtures.options import thresholds_of
from glance_hc.report import ROOT_CAUSE_OVERRIDE

pytestmark = [pytest.mark.api, pytest.mark.availability]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image_ref" in metafunc.fixturenames:
        images = list(dict.fromkeys(metafunc.config.getoption("forensics_images", default=[]) or []))
        metafunc.parametrize("image_ref", images or [None], ids=images or ["no-image-given"])


def test_image_upload_is_explained(image_ref, image_api, evidence, request):
    if image_ref is None:
        pytest.skip("no --image given: forensics explains the images named with --image ID_OR_NAME")
    t = thresholds_of(request.config)
    image_id, how = resolve(image_api, image_ref, t.api_timeout)
    evidence.add("image", how, command=f"GET /v2/images/{image_ref}")
    if image_id is None:
        pytest.fail(how, pytrace=False)
    ex = explain_image(request.config, image_api, image_id, t, evidence)
    if ex.ok:
        return
    if ex.root_cause:
        request.node.user_properties.append((ROOT_CAUSE_OVERRIDE, ex.root_cause))
        if ex.classification and ex.classification.remediation:
            evidence.add("what to do", list(ex.classification.remediation))
    pytest.fail(ex.verdict, pytrace=False)
