"""Bonus root cause, project image quota: no limit in glance-api.conf stops the largest upload.

(The per-project unified-limits headroom is checked through the API.)

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc.sizes import human

pytestmark = [pytest.mark.host, pytest.mark.quota]


@pytest.mark.parametrize("option", ["image_size_cap", "user_storage_quota"])
def test_config_limit_allows_largest_image(configured_host, option, thresholds, evidence):
    config = configured_host.config
    value = getattr(config, option)
    evidence.add(option, f"{human(value)} ({value if len(str(value)) <= 24 else 'a huge number of'} bytes; "
                         f"{config.where('DEFAULT', option)})")
    evidence.add("files read", config.sources)
    error = config.limit_errors.get(option)
    assert error is None, f"{option} on {configured_host.name} cannot be used by glance: {error}"
    if option == "user_storage_quota" and (value == 0 or config.use_keystone_limits):
        return  # unlimited, or superseded by Keystone unified limits (checked through the API)
    assert value >= thresholds.largest_image, (
        f"{option} = {human(value)} on {configured_host.name} ({config.where('DEFAULT', option)}) is below "
        f"the largest expected image ({human(thresholds.largest_image)}): such uploads end in 413")


def test_no_quota_rejections_in_logs(quiet_logs):
    quiet_logs("quota", "quota rejections")
