"""glance_hc.cinder_store on answers captured from the lab's Cinder 29 (tests/data/cinder)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from glance_hc import cinder_store as cs
from glance_hc.classify import classify

DATA = Path(__file__).resolve().parents[1] / "data" / "cinder"
GLANCE_OPTIONS = {"cinder_store_auth_address": "http://127.0.0.2:5000/v3", "cinder_store_user_name": "glance",
                  "cinder_store_project_name": "service", "cinder_catalog_info": "volumev3::publicURL",
                  "cinder_volume_type": "glance-images"}


def _json(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def _view(types="types.json", quota="quota-usage.json", volumes="volumes.json") -> cs.CinderView:
    return cs.view_from("http://127.0.0.11:8776/v3/PROJECT_ID", _json(types), _json(quota), _json(volumes))


def test_lab_options_are_coherent():
    assert cs.config_problems(GLANCE_OPTIONS, password_set=True) == []


@pytest.mark.parametrize(("options", "password", "said"), [
    ({k: v for k, v in GLANCE_OPTIONS.items() if k != "cinder_store_project_name"}, True,
     "cinder_store_project_name not"),
    (GLANCE_OPTIONS, False, "cinder_store_password not"),
    ({**GLANCE_OPTIONS, "cinder_catalog_info": "volumev3:publicURL"}, True, "is not service_type:service_name"),
    ({k: v for k, v in GLANCE_OPTIONS.items() if k != "cinder_volume_type"}, True, "cinder_volume_type is not set"),
])
def test_incoherent_options_are_named(options, password, said):
    assert any(said in p for p in cs.config_problems(options, password)), cs.config_problems(options, password)


def test_auth_needs_all_four_credentials_and_hides_the_password():
    auth = cs.auth_of(GLANCE_OPTIONS, "s3cret-pw")
    assert (auth.user, auth.project, auth.interface, auth.service_type) == ("glance", "service", "public", "volumev3")
    assert "s3cret-pw" not in repr(auth)
    assert cs.auth_of(GLANCE_OPTIONS, None) is None


def test_healthy_lab_type_exists_and_quota_has_room():
    view = _view()
    assert cs.volume_type_problem(view, "glance-images") is None
    assert ("volumes", 0, 10) in cs.quota_limits(view, "glance-images")
    assert cs.quota_shortfalls(view, "glance-images", 5 << 30) == []


def test_deleted_type_is_reported_with_what_exists():
    problem = cs.volume_type_problem(_view(types="cinder-type-missing/types.json"), "glance-images")
    assert problem and "'glance-images' is not among" in problem and "__DEFAULT__" in problem


def test_exhausted_volume_quota_is_a_shortfall():
    short = cs.quota_shortfalls(_view(quota="cinder-volume-quota/quota-usage.json"), "glance-images", 1)
    assert short == ["volumes: 0 of 0 volume(s) used, 0 left, one image needs 1"]


@pytest.mark.parametrize(("size", "gib"), [(0, 1), (1, 1), (1 << 30, 1), ((1 << 30) + 1, 2)])
def test_each_image_takes_at_least_one_gib(size, gib):
    assert cs.gib_for(size) == gib


def test_leftovers_are_error_volumes_or_available_ones_without_image():
    image = "0b5a6a5e-2d0f-4d3e-9d52-5a0b1e0a6f11"
    vols = {"volumes": [
        {"id": "v1", "name": f"image-{image}", "status": "error", "size": 1},
        {"id": "v2", "name": "image-1c5a6a5e-2d0f-4d3e-9d52-5a0b1e0a6f12", "status": "available", "size": 1},
        {"id": "v3", "name": "image-2c5a6a5e-2d0f-4d3e-9d52-5a0b1e0a6f13", "status": "in-use", "size": 1},
        {"id": "v4", "name": "boot-disk", "status": "error", "size": 1},
    ]}
    view = cs.view_from("x", _json("types.json"), _json("quota-usage.json"), vols)
    assert [lo.volume_id for lo in cs.leftovers(view, lambda _id: _id == image)] == ["v1", "v2"]
    assert cs.leftovers(_view(), lambda _id: False) == []  # the healthy lab's project holds none


@pytest.mark.parametrize(("fault", "cause", "rule"), [
    ("cinder-volume-quota", "store_full", "500-cinder-quota"),
    ("cinder-type-missing", "store_config", "500-cinder-volume-type"),
    ("cinder-sudoers-missing", "store_permissions", "500-cinder-privsep"),
    ("cinder-keyring-missing", "store_permissions", "500-cinder-keyring"),
])
def test_cinder_store_500s_are_classified_from_their_log_lines(fault, cause, rule):
    lines = (DATA / fault / "glance-api.log").read_text().splitlines()
    found = classify(500, "The server has either erred or is incapable of performing the requested operation.",
                     {"status": "queued"}, lines)
    assert (found.root_cause, found.rules_matched[0]) == (cause, rule), found.reason


def test_os_brick_failure_seen_by_request_id_alone_is_a_permissions_fault():
    """The canary correlates lines by request id: the traceback's frames carry none, only glance's summary."""
    line = next(x for x in (DATA / "cinder-keyring-missing" / "glance-api.log").read_text().splitlines()
                if "Failed to upload image data" in x)
    found = classify(500, "", {"status": "queued"}, [line])
    assert (found.root_cause, found.rules_matched[0]) == ("store_permissions", "500-cinder-keyring"), found.reason
