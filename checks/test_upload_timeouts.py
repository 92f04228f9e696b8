"""Root cause 5, interrupted uploads: no timeout on the upload path is shorter than the largest upload,
and the logs show no uploads cut short.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc.sizes import human

pytestmark = [pytest.mark.host, pytest.mark.interrupted_upload]


def test_timeout_outlasts_largest_upload(upload_timeout, thresholds, evidence):
    setting, host = upload_timeout
    assert setting.error is None, f"cannot read {setting.what} on {host.name}: {setting.error}"
    needed = thresholds.largest_upload_seconds
    evidence.add(setting.what, f"{setting.seconds if setting.seconds is not None else 'no limit'} s "
                               f"({setting.where}); needed: {needed:.0f} s = {human(thresholds.largest_image)} "
                               f"at {human(thresholds.slowest_client_rate)}/s")
    if setting.seconds is None:
        return  # no limit at all: nothing can cut the upload here
    assert setting.seconds >= needed, (
        f"{setting.what} on {host.name} is {setting.seconds:g}s ({setting.where}): an upload of "
        f"{human(thresholds.largest_image)} at {human(thresholds.slowest_client_rate)}/s takes "
        f"{needed:.0f}s and would be cut; raise it to at least {needed:.0f}s")


def test_no_interrupted_uploads_in_logs(quiet_logs):
    quiet_logs("interrupted_upload", "interrupted uploads")
