"""Root cause 1, store backend full: every directory glance writes image data to has room.

Covers each file store of enabled_backends (or the legacy datadirs), the staging
and tasks stores and the image cache, and each rbd store's pool as `ceph df` shows
it to the store's own cephx user (quota and MAX AVAIL), and each swift store's
account and container against their quotas, seen with Glance's own swift
credentials. Alert level and largest image are ini options.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc import rbd
from glance_hc.fixtures.stores import needs_ceph_tool
from glance_hc.sizes import human

pytestmark = [pytest.mark.host, pytest.mark.store_full]


def _measured(file_store):
    ref, host, d = file_store
    if not d.exists:
        pytest.skip(f"{ref.path} on {ref.host} cannot be measured: {d.error}")
    if d.kind != "directory":
        pytest.skip(f"{ref.path} on {ref.host} is a {d.kind}, not a directory (see the store configuration checks)")
    if d.total_bytes is None:
        pytest.skip(f"{ref.path} on {ref.host}: the filesystem reported no size")
    return ref, host, d


def test_file_store_usage_is_below_alert_level(file_store, thresholds, evidence):
    ref, host, d = _measured(file_store)
    percent = 100.0 * d.used_ratio
    evidence.add(f"{ref.role} store", d.describe(), command=f"stat -f {ref.path}")
    evidence.metric("store_used_ratio", round(d.used_ratio, 4), "ratio", {"store": ref.role, "path": ref.path})
    assert percent < thresholds.store_usage_max_percent, (
        f"{ref.role} store {ref.path} on {ref.host} is {percent:.1f}% full "
        f"(alert level {thresholds.store_usage_max_percent:g}%): {human(d.avail_bytes)} left of {human(d.total_bytes)}")


def test_file_store_has_room_for_largest_image(file_store, thresholds, evidence):
    ref, host, d = _measured(file_store)
    evidence.add(f"{ref.role} store", d.describe(), command=f"stat -f {ref.path}")
    evidence.metric("store_available_bytes", d.avail_bytes, "bytes", {"store": ref.role, "path": ref.path})
    assert d.avail_bytes >= thresholds.largest_image, (
        f"{ref.role} store {ref.path} on {ref.host} has {human(d.avail_bytes)} free, less than the "
        f"largest expected image ({human(thresholds.largest_image)})")


def test_file_store_has_free_inodes(file_store, thresholds, evidence):
    ref, host, d = _measured(file_store)
    if d.inodes_free_ratio is None:
        pytest.skip(f"{ref.path} on {ref.host}: {d.fstype} reports no inode count")
    evidence.add(f"{ref.role} store inodes", f"{d.files_free} free of {d.files_total}")
    assert 100 * d.inodes_free_ratio >= thresholds.inodes_free_min_percent, (
        f"{ref.role} store {ref.path} on {ref.host} has {d.files_free} free inodes of {d.files_total} "
        f"(minimum {thresholds.inodes_free_min_percent:g}%)")


def _pool(rbd_store, evidence):
    name, host, seen = rbd_store
    needs_ceph_tool(seen, host.name, "ceph", f"cannot measure rbd store {name}'s pool")
    if seen.df is None or seen.df.rc != 0:
        pytest.skip(f"`ceph df` as client.{seen.user} failed on {host.name}: "
                    f"{rbd.last_error_line(seen.df.output if seen.df else '')} "
                    f"(the store configuration and permission checks say why)")
    stats = seen.pool_stats
    if stats is None:
        pytest.skip(f"pool {seen.pool} is not in `ceph df` as client.{seen.user} on {host.name}")
    evidence.add(f"rbd store {name}", stats.describe(),
                 command=f"ceph -c {seen.conf} --id {seen.user} df detail --format json")
    return name, host, seen, stats


def test_rbd_pool_usage_is_below_alert_level(rbd_store, thresholds, evidence):
    name, host, seen, stats = _pool(rbd_store, evidence)
    evidence.metric("store_used_ratio", round(stats.used_ratio, 4), "ratio", {"store": name, "path": f"rbd:{seen.pool}"})
    percent = 100.0 * stats.used_ratio
    limit = "its quota" if stats.quota_bytes and stats.quota_bytes <= stats.stored + stats.max_avail else "MAX AVAIL"
    assert percent < thresholds.store_usage_max_percent, (
        f"rbd store {name}: pool {seen.pool} is {percent:.1f}% full (alert level "
        f"{thresholds.store_usage_max_percent:g}%, bounded by {limit}): {human(stats.room)} left of "
        f"{human(stats.capacity)}")


def test_rbd_pool_has_room_for_largest_image(rbd_store, thresholds, evidence):
    name, host, seen, stats = _pool(rbd_store, evidence)
    evidence.metric("store_available_bytes", stats.room, "bytes", {"store": name, "path": f"rbd:{seen.pool}"})
    assert stats.room >= thresholds.largest_image, (
        f"rbd store {name}: pool {seen.pool} has room for {human(stats.room)}, less than the largest "
        f"expected image ({human(thresholds.largest_image)})"
        + (f"; its quota is {human(stats.quota_bytes)}" if stats.quota_bytes else ""))


def _quota_bound(swift_store, evidence):
    """(name, usage), or None when no account or container quota applies (looked, nothing to exceed)."""
    name, host, usage = swift_store
    evidence.add(f"swift store {name}", usage.describe(), command=f"HEAD {usage.url}")
    if usage.room is None:
        evidence.add("quota", "no account or container quota: Swift refuses nothing for room's sake")
        return None
    return name, usage


def test_swift_account_usage_is_below_alert_level(swift_store, thresholds, evidence):
    bound = _quota_bound(swift_store, evidence)
    if bound is None:
        return
    name, usage = bound
    evidence.metric("store_used_ratio", round(usage.used_ratio, 4), "ratio", {"store": name, "path": usage.url})
    percent = 100.0 * usage.used_ratio
    assert percent < thresholds.store_usage_max_percent, (
        f"swift store {name}: {percent:.1f}% of its quota used (alert level "
        f"{thresholds.store_usage_max_percent:g}%): {usage.describe()}")


def test_swift_account_has_room_for_largest_image(swift_store, thresholds, evidence):
    bound = _quota_bound(swift_store, evidence)
    if bound is None:
        return
    name, usage = bound
    evidence.metric("store_available_bytes", usage.room, "bytes", {"store": name, "path": usage.url})
    assert usage.room >= thresholds.largest_image, (
        f"swift store {name}: room for {human(usage.room)} before its quota answers 413, less than the "
        f"largest expected image ({human(thresholds.largest_image)}): {usage.describe()}")


def test_no_store_full_errors_in_logs(quiet_logs):
    quiet_logs("store_full", "store-full errors")
