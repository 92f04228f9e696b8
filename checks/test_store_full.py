"""Root cause 1, store backend full: every directory glance writes image data to has room.

Covers each file store of enabled_backends (or the legacy datadirs), the staging
and tasks stores and the image cache, and each rbd store's pool as `ceph df` shows
it to the store's own cephx user (quota and MAX AVAIL), and each swift store's
account and container against their quotas, seen with Glance's own swift
credentials. Alert level and largest image are ini options.
A cinder store: the volumes and gigabytes quota (and the per-type ones of its volume type) of the
project Glance creates volumes in, against one volume for the largest image (at least 1 GiB; at the
quota Glance answers 500, not 413), and no image-<id> volume left in error or available with no image
(they count against that quota); seen as the store's own Cinder user (glance_hc.cinder_store).

What holds the space: each file store's datadir, file by file (names, sizes, ages from the probe's
lstat; never contents), against the admin image list (test_store_space_is_held_by_images): a file
no image points at is data outside Glance, a file named by an image in saving, queued or killed
(or one Glance no longer knows) is an orphan partial upload. It fails when those hold more than
`--store-unowned-max` (ini store_unowned_max_percent, 50%) of the used space and at least
`--store-unowned-min` (ini store_unowned_min, 100MiB). A full file store's message says what
would free space: images no one uses, or the files outside Glance by path. An rbd store's pool
(`ceph df` stored bytes, `rbd ls` names) and a swift store's container (its bytes used) are held
to the same claim against the sizes of the images Glance keeps in them.

The staging store (test_staging_holds_no_leftover_files): entries older than `--stale-age` that no
import reads (glance_hc.staging: the file of an image not in uploading/importing, a file that is no
image's), with what Glance's own start-up cleanup would remove and what only an operator can.

The image cache, where the paste flavor turns it on (glance_hc.image_cache has Glance 33's
behaviour with file references): its bytes against image_cache_max_size
(test_image_cache_is_within_its_max_size), a glance-cache-pruner in cron or a systemd timer
(test_image_cache_is_pruned), and GET /v2/cache on the node (test_image_cache_api_lists_the_cache).
On a host whose cache is off these cases are deselected.

Ahead of time: The history of runs (`--history DIR`, ini `history_dir`) holds each store's usage
night after night; a least-squares line through it says when the store reaches
the alert level (`--store-usage-max`) at its growth rate. A store below the
alert level today that gets there within `--forecast-window` (ini
`forecast_window`, default 7d) fails, with the rate, the date and its spread.
One case per store and host of the newest run in the history that measured stores. Without a
history, or with too little of it (fewer than 4 runs, less than 6 hours), the
check skips and says so: a guess is not a forecast.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

import time

import pytest

from glance_hc import canary, history, rbd, staging, store_space
from glance_hc import cinder_store as cinder_api
from glance_hc import forecast as fc
from glance_hc import image_cache as image_cache_mod
from glance_hc import s3_store as s3_store_mod
from glance_hc.causes.store_full import what_frees_pool, what_frees_space, what_is_safe_to_remove
from glance_hc.fixtures.cloud import api_health_of, cloud_state_of, node_endpoint_of
from glance_hc.fixtures.options import thresholds_of
from glance_hc.fixtures.stores import needs_ceph_tool
from glance_hc.sizes import human

pytestmark = [pytest.mark.store_full]


def _measured(file_store):
    ref, host, d = file_store
    if not d.exists:
        pytest.skip(f"{ref.path} on {ref.host} cannot be measured: {d.error}")
    if d.kind != "directory":
        pytest.skip(f"{ref.path} on {ref.host} is a {d.kind}, not a directory (see the store configuration checks)")
    if d.total_bytes is None:
        pytest.skip(f"{ref.path} on {ref.host}: the filesystem reported no size")
    return ref, host, d


_CENSUS = pytest.StashKey[store_space.Census]()


def _census(config: pytest.Config) -> store_space.Census:
    """The admin image list, read once per run; its `error` says why there is none."""
    if _CENSUS not in config.stash:
        state, health = cloud_state_of(config), api_health_of(config)
        if state.error or state.conn is None:
            config.stash[_CENSUS] = store_space.Census(error=state.error or "no connection to the Image API")
        elif health is not None and not health.ok:
            config.stash[_CENSUS] = store_space.Census(error=health.skip_reason)
        else:
            config.stash[_CENSUS] = store_space.take_census(state.conn, thresholds_of(config))
    return config.stash[_CENSUS]


def _space(ref, d, config: pytest.Config) -> store_space.Breakdown | str:
    """A store dir's breakdown (images, orphans, foreign files), or why there is none."""
    listing = d.listing
    if listing is None:
        return f"the probe did not list {ref.path} on {ref.host} (only a file store's datadir is listed)"
    if listing.error:
        return f"cannot list {ref.path} on {ref.host}: {listing.error}"
    census = _census(config)
    if census.error:
        return f"cannot tell images from other data in {ref.path} on {ref.host}: {census.error}"
    conn, timeout = cloud_state_of(config).conn, thresholds_of(config).api_timeout
    return store_space.account(ref.role, ref.path, d.used_bytes, listing, census,
                               lambda image_id: census.status_of(conn, image_id, timeout))


def _what_frees(ref, d, config: pytest.Config, evidence) -> str:
    """For a full file store's message: what deleting would free (images, or data outside Glance)."""
    # the cache's files are copies of images: no breakdown against the image list (glance_hc.image_cache)
    space = _space(ref, d, config) if d.listing is not None and ref.role != "image-cache" else None
    if isinstance(space, store_space.Breakdown):
        evidence.add(f"{ref.role} store space", space.describe(time.time()))
        return " " + what_frees_space(space, time.time())
    if d.listing is not None and not d.listing.error and d.listing.files:
        largest = "; ".join(f.describe(time.time(), ref.path) for f in d.listing.files[:3])
        return f" The largest files under {ref.path}: {largest} ({space})."
    return ""


@pytest.mark.host
def test_file_store_usage_is_below_alert_level(file_store, thresholds, evidence, pytestconfig):
    ref, host, d = _measured(file_store)
    percent = 100.0 * d.used_ratio
    evidence.add(f"{ref.role} store", d.describe(), command=f"stat -f {ref.path}")
    evidence.metric("store_used_ratio", round(d.used_ratio, 4), "ratio", {"store": ref.role, "path": ref.path})
    assert percent < thresholds.store_usage_max_percent, (
        f"{ref.role} store {ref.path} on {ref.host} is {percent:.1f}% full "
        f"(alert level {thresholds.store_usage_max_percent:g}%): {human(d.avail_bytes)} left of {human(d.total_bytes)}."
        + _what_frees(ref, d, pytestconfig, evidence))


@pytest.mark.host
def test_file_store_has_room_for_largest_image(file_store, thresholds, evidence, pytestconfig):
    ref, host, d = _measured(file_store)
    evidence.add(f"{ref.role} store", d.describe(), command=f"stat -f {ref.path}")
    evidence.metric("store_available_bytes", d.avail_bytes, "bytes", {"store": ref.role, "path": ref.path})
    assert d.avail_bytes >= thresholds.largest_image, (
        f"{ref.role} store {ref.path} on {ref.host} has {human(d.avail_bytes)} free, less than the "
        f"largest expected image ({human(thresholds.largest_image)})." + _what_frees(ref, d, pytestconfig, evidence))


@pytest.mark.host
def test_store_space_is_held_by_images(image_file_store, thresholds, evidence, pytestconfig):
    """Most of a file store's used space is image data: files no image points at (and orphan
    partial uploads) are space that deleting images never frees."""
    ref, host, d = _measured(image_file_store)
    listing = d.listing
    if listing is None:
        pytest.skip(f"the probe did not list {ref.path} on {ref.host}")
    if listing.error:
        pytest.skip(f"cannot list {ref.path} on {ref.host}: {listing.error}")
    evidence.add(f"{ref.role} store", d.describe(), command=f"stat -f {ref.path}")
    evidence.add(f"files under {ref.path}", [f"{human(listing.allocated)} in {listing.count} files"]
                 + [f.describe(time.time()) for f in listing.files[:store_space.SHOWN]],
                 command=f"lstat of every file under {ref.path} (names, sizes, ages; no content read)")
    if listing.allocated < thresholds.store_unowned_min:
        evidence.add("verdict", f"{ref.path} holds {human(listing.allocated)} in all, below --store-unowned-min "
                                f"({human(thresholds.store_unowned_min)}): whatever owns it, it cannot be most of "
                                f"the store's space that counts")
        return
    space = _space(ref, d, pytestconfig)
    if isinstance(space, str):
        pytest.skip(space)
    now = time.time()
    evidence.add(f"{ref.role} store space against Glance's images", space.describe(now),
                 command="GET /v2/images (admin, hidden too; the v2 list never shows killed images: an id it "
                         "leaves out is asked by GET /v2/images/ID)")
    labels = {"store": ref.role, "path": ref.path}
    evidence.metric("store_unowned_bytes", space.unowned_bytes, "bytes", labels)
    evidence.metric("store_image_bytes", space.image_bytes, "bytes", labels)
    percent = 100.0 * space.unowned_ratio
    assert not space.mostly_unowned(thresholds.store_unowned_max_percent, thresholds.store_unowned_min), (
        f"{ref.role} store {ref.path} on {ref.host}: {human(space.unowned_bytes)} of the {human(space.used)} used "
        f"({percent:.0f}%, limit {thresholds.store_unowned_max_percent:g}%) belongs to no image: Glance accounts "
        f"for {human(space.glance_bytes)} in {space.glance_count} image(s) in this store. "
        + what_frees_space(space, now))


STAGING_LOOKUPS = 20  # stale files named by an image the in-use list leaves out, asked by id (the oldest first)


def _staging_api(config: pytest.Config):
    """(connection, timeout), or why the Image API cannot be asked."""
    state, health = cloud_state_of(config), api_health_of(config)
    if state.error or state.conn is None:
        return state.error or "no connection to the Image API"
    if health is not None and not health.ok:
        return health.skip_reason
    return state.conn, thresholds_of(config).api_timeout


@pytest.mark.host
def test_staging_holds_no_leftover_files(staging_store, thresholds, evidence, pytestconfig, all_hosts):
    """The staging store holds only what an import still reads: Glance's own start-up cleanup removes
    only the files of deleted images (glance/housekeeping.py), so a failed import's data, a finished
    import's undeleted copy and files that are no image's stay and take the staging store's room."""
    ref, host, d = staging_store
    if not d.exists:
        pytest.skip(f"{ref.path} on {ref.host} cannot be listed: {d.error} (see the store configuration checks)")
    found = d.entries
    if found is None:
        pytest.skip(f"the probe did not list {ref.path} on {ref.host}")
    if found.error:
        pytest.skip(f"cannot list {ref.path} on {ref.host}: {found.error}")
    now, stale_age = found.now, thresholds.stale_image_age
    evidence.add(f"entries of {ref.path}", [f"{found.count} entries, {human(found.size)} in all"
                                            + ("" if found.complete else " (stopped counting: more not looked at)")]
                 + [e.describe(now) for e in found.entries[:store_space.SHOWN]],
                 command=f"lstat of each entry of {ref.path} (names, sizes, ages; no content read; the "
                         f"{len(found.entries)} oldest named)")
    stale = found.older_than(stale_age.total_seconds())
    if not stale:
        evidence.add("verdict", f"no entry is older than --stale-age ({stale_age}): whatever is there is being staged")
        return
    in_use: set[str] = set()
    lookups: dict[str, tuple[str | None, str]] = {}
    named = [e for e in stale if e.image_id]
    api = _staging_api(pytestconfig) if named else None
    if isinstance(api, tuple):
        conn, timeout = api
        try:
            images, _ = canary.list_every_image(conn, thresholds, status="in:" + ",".join(staging.IN_USE))
        except RuntimeError as exc:
            api = str(exc)
        else:
            in_use = {str(img.get("id")) for img in images}
            evidence.add("images an import still reads", [f"{img.get('id')} {img.get('status')}" for img in images]
                         or ["none"], command=f"GET /v2/images?status=in:{','.join(staging.IN_USE)} (admin, hidden too)")

    def status_of(image_id: str) -> tuple[str | None, str]:
        if not isinstance(api, tuple):
            return f"unknown (the Image API was not asked: {api})", ""
        if image_id not in lookups:
            if len(lookups) >= STAGING_LOOKUPS:
                return f"unknown (not looked up: at most {STAGING_LOOKUPS} ids are asked)", ""
            answer, _ = canary.call(api[0], "GET", f"/images/{image_id}", timeout=api[1])
            if answer.status == 404:
                lookups[image_id] = (None, "")
            elif answer.ok and isinstance(answer.json, dict):
                stores = answer.json.get("os_glance_importing_to_stores") or ""
                lookups[image_id] = (str(answer.json.get("status")), str(stores))
            else:
                lookups[image_id] = (f"unknown ({answer.describe()})", "")
        return lookups[image_id]

    left, kept = staging.leftovers(stale, in_use, status_of)
    if lookups:
        evidence.add("images of the other stale files", [f"{i}: {st or 'no such image (404)'}" for i, (st, _) in
                                                         lookups.items()], command="GET /v2/images/ID")
    if kept:
        evidence.add("stale entries kept", [f"{e.describe(now)}: {why}" for e, why in kept])
    sharing = [h.name for h in all_hosts if h.name != host.name and host.staging_identity() and h.staging_identity()
               and staging.same_directory(host.staging_identity(), h.staging_identity())[0]]
    if sharing:
        evidence.add("shared", f"{ref.path} on {ref.host} is the same directory as on {', '.join(sharing)}")
    if not left and any(e.image_id and not isinstance(api, tuple) for e in stale):
        pytest.skip(f"{len(named)} entries of {ref.path} on {ref.host} older than --stale-age ({stale_age}) are "
                    f"named by an image id, and the Image API cannot say whether an import still reads them: {api}")
    evidence.add("leftovers", [f"{item.entry.describe(now)}: {item.why}; {item.safe}" for item in left])
    assert not left, staging.leftover_failure(ref.path, ref.host, left, stale_age, found.unlisted, sharing,
                                              what_is_safe_to_remove(left))


@pytest.mark.host
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


@pytest.mark.host
def test_rbd_pool_usage_is_below_alert_level(rbd_store, thresholds, evidence):
    name, host, seen, stats = _pool(rbd_store, evidence)
    evidence.metric("store_used_ratio", round(stats.used_ratio, 4), "ratio", {"store": name, "path": f"rbd:{seen.pool}"})
    percent = 100.0 * stats.used_ratio
    limit = "its quota" if stats.quota_bytes and stats.quota_bytes <= stats.stored + stats.max_avail else "MAX AVAIL"
    assert percent < thresholds.store_usage_max_percent, (
        f"rbd store {name}: pool {seen.pool} is {percent:.1f}% full (alert level "
        f"{thresholds.store_usage_max_percent:g}%, bounded by {limit}): {human(stats.room)} left of "
        f"{human(stats.capacity)}")


@pytest.mark.host
def test_rbd_pool_has_room_for_largest_image(rbd_store, thresholds, evidence):
    name, host, seen, stats = _pool(rbd_store, evidence)
    evidence.metric("store_available_bytes", stats.room, "bytes", {"store": name, "path": f"rbd:{seen.pool}"})
    assert stats.room >= thresholds.largest_image, (
        f"rbd store {name}: pool {seen.pool} has room for {human(stats.room)}, less than the largest "
        f"expected image ({human(thresholds.largest_image)})"
        + (f"; its quota is {human(stats.quota_bytes)}" if stats.quota_bytes else ""))


@pytest.mark.host
def test_rbd_pool_space_is_held_by_images(rbd_store, thresholds, evidence, pytestconfig):
    """Most of an rbd store's pool is Glance's images: what Ceph stores beyond the images' sizes
    (rbd images of no image, another client's data) is space deleting images never frees."""
    name, host, seen, stats = _pool(rbd_store, evidence)
    if stats.stored < thresholds.store_unowned_min:
        evidence.add("verdict", f"pool {seen.pool} stores {human(stats.stored)} in all, below --store-unowned-min "
                                f"({human(thresholds.store_unowned_min)}): whatever owns it, it cannot be most of "
                                f"the store's space that counts")
        return
    census = _census(pytestconfig)
    if census.error:
        pytest.skip(f"cannot tell images from other data in pool {seen.pool} (rbd store {name}): {census.error}")
    sharing = tuple(s.name for s in host.config.stores if s.type == "rbd" and (s.pool or "images") == seen.pool)
    pool = store_space.account_pool(sharing or (name,), seen.pool, stats.stored, seen.ls_names, census)
    evidence.add(f"rbd store {name}'s pool against Glance's images", pool.describe(),
                 command=f"rbd -c {seen.conf} --id {seen.user} -p {seen.pool} ls; GET /v2/images (admin)")
    evidence.metric("store_unowned_bytes", pool.unowned_bytes, "bytes", {"store": name, "path": f"rbd:{seen.pool}"})
    assert not pool.mostly_unowned(thresholds.store_unowned_max_percent, thresholds.store_unowned_min), (
        f"rbd store {name}: pool {seen.pool} stores {human(pool.stored)}; {human(pool.unowned_bytes)} of it "
        f"({100 * pool.unowned_ratio:.0f}%, limit {thresholds.store_unowned_max_percent:g}%) is beyond the "
        f"{human(pool.glance_bytes)} of the {pool.glance_count} image(s) Glance keeps there. " + what_frees_pool(pool))


def _quota_bound(swift_store, evidence):
    """(name, usage), or None when no account or container quota applies (looked, nothing to exceed)."""
    name, host, usage = swift_store
    evidence.add(f"swift store {name}", usage.describe(), command=f"HEAD {usage.url}")
    if usage.room is None:
        evidence.add("quota", "no account or container quota: Swift refuses nothing for room's sake")
        return None
    return name, usage


@pytest.mark.host
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


@pytest.mark.host
def test_swift_account_has_room_for_largest_image(swift_store, thresholds, evidence):
    bound = _quota_bound(swift_store, evidence)
    if bound is None:
        return
    name, usage = bound
    evidence.metric("store_available_bytes", usage.room, "bytes", {"store": name, "path": usage.url})
    assert usage.room >= thresholds.largest_image, (
        f"swift store {name}: room for {human(usage.room)} before its quota answers 413, less than the "
        f"largest expected image ({human(thresholds.largest_image)}): {usage.describe()}")


@pytest.mark.host
def test_swift_container_space_is_held_by_images(swift_store, thresholds, evidence, pytestconfig):
    """Most of a swift store's container is Glance's images: bytes beyond the images' sizes are
    objects no image points at, which deleting images never frees."""
    name, host, usage = swift_store
    evidence.add(f"swift store {name}", usage.describe(), command=f"HEAD {usage.url}")
    stored = usage.container_bytes or 0
    if stored < thresholds.store_unowned_min:
        evidence.add("verdict", f"container {usage.container} holds {human(stored)}, below --store-unowned-min "
                                f"({human(thresholds.store_unowned_min)}): whatever owns it, it cannot be most of "
                                f"the store's space that counts")
        return
    census = _census(pytestconfig)
    if census.error:
        pytest.skip(f"cannot tell images from other data in container {usage.container} (swift store {name}): "
                    f"{census.error}")
    space = store_space.account_pool((name,), usage.container, stored, None, census, kind="container")
    evidence.add(f"swift store {name}'s container against Glance's images", space.describe())
    evidence.metric("store_unowned_bytes", space.unowned_bytes, "bytes", {"store": name, "path": usage.url})
    assert not space.mostly_unowned(thresholds.store_unowned_max_percent, thresholds.store_unowned_min), (
        f"swift store {name}: container {usage.container} holds {human(stored)}; {human(space.unowned_bytes)} of "
        f"it ({100 * space.unowned_ratio:.0f}%, limit {thresholds.store_unowned_max_percent:g}%) is beyond the "
        f"{human(space.glance_bytes)} of the {space.glance_count} image(s) Glance keeps there. "
        + what_frees_pool(space))


@pytest.mark.host
def test_no_store_full_errors_in_logs(quiet_logs):
    quiet_logs("store_full", "store-full errors")


def store_cases(config: pytest.Config) -> tuple[list, list[str]]:
    """(cases, ids) from the newest run that measured stores; one skipping case when there is none."""
    run = history.of(config)
    if not run.enabled:
        return [("no history: run with --history DIR (ini history_dir) to forecast store usage", None)], ["no-history"]
    last = run.previous()
    if run.error is not None:
        return [(f"the history in {run.settings.directory} cannot be read: {run.error}", None)], ["no-history"]
    if last is None:
        return [(f"the history in {run.settings.directory} holds no run yet", None)], ["no-history"]
    measured = run.newest_with(fc.store_series)
    if measured is None:
        return [(f"no run in {run.settings.directory} measured a store", None)], ["no-store"]
    keys = sorted(fc.store_series([measured]))
    ids = [f"{target}-{store}" for target, store, _ in keys]
    ids = [i if ids.count(i) == 1 else f"{i}-{path}" for i, (_, _, path) in zip(ids, keys, strict=True)]
    return [(None, key) for key in keys], ids


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_key" in metafunc.fixturenames:
        cases, ids = store_cases(metafunc.config)
        metafunc.parametrize("no_history, store_key", cases, ids=ids)


@pytest.mark.host
def test_store_will_not_cross_alert_level_within_window(no_history, store_key, pytestconfig, request, evidence):
    if store_key is None:
        pytest.skip(no_history)
    target, store, path = store_key
    request.node.user_properties += [("hc_target", target), ("hc_store", store)]
    run = history.of(pytestconfig)
    runs, forecasts, _ = run.forecast_objects(None)
    item = next(f for f in forecasts if (f.labels["target"], f.labels["store"], f.labels["path"]) == store_key)
    window = run.settings.window
    evidence.add(f"{store} store usage in the history ({path})", item.describe(),
                 command=f"{len(runs)} runs in {run.settings.directory}")
    if item.status == fc.TOO_LITTLE_DATA:
        pytest.skip(f"no forecast for store {store} on {target}: {item.reason}")
    if item.current >= item.alert_level:
        pytest.skip(f"store {store} on {target} is already at {fc.fmt_percent(item.current)} (alert level "
                    f"{fc.fmt_percent(item.alert_level)}): the usage check judges it, there is no crossing to foresee")
    if item.status == fc.NOT_GROWING:
        return
    assert not item.crosses_alert_within(window, time.time()), (
        f"store {store} ({path}) on {target} is at {fc.fmt_percent(item.current)} and grows "
        f"{100 * item.rate_per_day:.3f} points a day: it reaches the alert level "
        f"{fc.fmt_percent(item.alert_level)} on {item.alert_at} (between {item.alert_at_earliest} and "
        f"{item.alert_at_latest or 'never at the slowest plausible rate'}), within the "
        f"{window.total_seconds() / 86400:g}-day window; full on {item.full_at}")


def _cache_usage(image_cache):
    """(StoreDir, host, Usage) of a host's image cache dir, or a skip saying why it was not measured."""
    ref, host, d = image_cache
    if not d.exists:
        pytest.skip(f"image cache {ref.path} on {ref.host} cannot be listed: {d.error}")
    if d.listing is None:
        pytest.skip(f"the probe did not list {ref.path} on {ref.host}")
    if d.listing.error:
        pytest.skip(f"cannot list {ref.path} on {ref.host}: {d.listing.error}")
    return ref, host, image_cache_mod.usage(d.listing)


def _cache_evidence(evidence, ref, host, used) -> int:
    max_size = host.config.image_cache_max_size
    evidence.add("image cache", [
        f"{used.count} cached images, {human(used.size)} at the top of {ref.path}"
        + ("" if used.exact else " (more files than the probe names: the whole tree's bytes)"),
        f"image_cache_max_size = {human(max_size)} ({max_size} bytes), driver {host.config.image_cache_driver}, "
        f"[paste_deploy] flavor = {host.config.paste_flavor}"]
        + ([f"{human(used.other_size)} more in incomplete/, invalid/, queue/ (glance-cache-cleaner's)"]
           if used.other_size else [])
        + [f"largest: {line}" for line in used.describe_largest(time.time())],
        command=f"lstat of every file under {ref.path} (names, sizes, mtimes; no content read)")
    return max_size


@pytest.mark.host
def test_image_cache_is_within_its_max_size(image_cache, evidence):
    """Glance caches every image downloaded through a node and prunes only when glance-cache-pruner
    runs (image_cache_max_size is its threshold, not a limit: glance/image_cache/__init__.py): a cache
    over its max takes the filesystem's room from the stores and staging beside it."""
    ref, host, used = _cache_usage(image_cache)
    max_size = _cache_evidence(evidence, ref, host, used)
    assert used.size <= max_size, image_cache_mod.over_max_failure(ref.path, ref.host, used, max_size)


@pytest.mark.host
def test_image_cache_is_pruned(image_cache, evidence):
    """Something prunes the cache: a cron entry or systemd timer running glance-cache-pruner on the
    host, or at least a cache within its max. Absence from cron and timers is evidence, not proof (an
    external scheduler may run it), so only a cache over its max with no pruner found fails."""
    ref, host, used = _cache_usage(image_cache)
    max_size = _cache_evidence(evidence, ref, host, used)
    schedule = host.pruner_schedule
    if schedule is None or schedule.error:
        why = schedule.error if schedule else "the probe did not read them"
        if used.size <= max_size:
            evidence.add("verdict", f"within its max; cron and timers not read: {why}")
            return
        pytest.skip(f"cannot tell whether anything prunes {ref.path} on {ref.host}: cron and timers not read ({why})")
    evidence.add("pruner in cron", [f"{p}: {line}" for p, line in schedule.cron_lines] or ["none found"],
                 command=f"read of cron files and crontabs of root and glance ({schedule.where_looked()}); "
                         f"lines naming the cache pruner only")
    evidence.add("pruner in systemd timers",
                 [f"{t}{'' if on else ' (not enabled in timers.target.wants)'}: {line}"
                  for t, line, on in schedule.timer_lines] or ["none found"],
                 command="read of *.timer and *.service units in /etc, /run, /usr/lib and /lib systemd dirs")
    if schedule.found:
        evidence.add("verdict", "a pruner is scheduled" + ("" if used.size <= max_size else
                     ": the cache is still over its max (it grew faster than the schedule prunes, or the "
                     "job fails: see its log)"))
        return
    assert used.size <= max_size, image_cache_mod.not_pruned_failure(ref.path, ref.host, used, max_size, schedule)
    evidence.add("verdict", "no pruner found in cron or timers, but the cache is within its max")


@pytest.mark.api
def test_image_cache_api_lists_the_cache(image_cache, image_api, thresholds, evidence, request):
    """GET /v2/cache on the node itself (glance/api/v2/cached_images.py get_cache_state, policy
    cache_list: admin) lists its cached and queued images: a node whose cache is on but whose cache
    API fails cannot be pruned or cleared through the API either."""
    ref, host, _ = image_cache
    node = node_endpoint_of(request.config, host)
    if node.url is None:
        pytest.skip(f"cannot ask glance-api on {host.name} itself (behind the load balancer any node "
                    f"answers, and each node has its own cache): {node.how}")
    answer, _ = canary.call(image_api, "GET", "/cache", endpoint_override=node.api, timeout=thresholds.api_timeout)
    asked = f"glance-api on {host.name} at {node.api}"
    evidence.add("asked", f"{asked}: {answer.describe()}", command="GET /v2/cache (admin)")
    if answer.status in (403, 404):
        pytest.skip(f"{asked} answers {answer.status} to GET /v2/cache: "
                    + ("the policy cache_list does not let these credentials list the cache (admin by default)"
                       if answer.status == 403 else "this release or its paste pipeline has no cache API"))
    body = answer.json if isinstance(answer.json, dict) else {}
    cached, queued = body.get("cached_images"), body.get("queued_images")
    assert answer.ok and isinstance(cached, list) and isinstance(queued, list), (
        f"{asked} could not list its image cache ({answer.describe()}): the cache is on "
        f"([paste_deploy] flavor = {host.config.paste_flavor}) but its API fails; see the glance-api log")
    evidence.add("cache API", [f"{len(cached)} cached, {len(queued)} queued"]
                 + [f"{c.get('image_id')} {human(c.get('size') or 0)} hits {c.get('hits')}"
                    for c in cached[:image_cache_mod.SHOWN] if isinstance(c, dict)])


# ------------------------------------------------------------------------------ s3 stores
@pytest.mark.host
def test_s3_bucket_quota_has_room_for_largest_image(s3_store, thresholds, evidence):
    """radosgw refuses an object past the bucket's (or its user's) byte quota with 403 QuotaExceeded,
    which Glance answers with 500."""
    store, host, reading = s3_store
    head = reading.head_bucket
    evidence.add(f"s3 store {store.name}", head.describe(), command=f"HEAD {reading.target.endpoint}/"
                                                                   f"{reading.target.bucket}")
    if not head.ok:
        pytest.skip(f"HEAD of bucket {reading.target.bucket} answered {head.describe()} (see the s3 store "
                    f"configuration and permission checks)")
    room = s3_store_mod.room_from_headers(head.headers)
    if room is None:
        pytest.skip(f"the S3 server of store {store.name} ({reading.target.endpoint}) tells no usage or quota "
                    f"(radosgw's X-RGW-* headers are missing: not radosgw, or the keys are not the bucket owner's)")
    evidence.add("usage and quotas", room.describe() + " (radosgw shows a quota's size whether or not it is "
                 "enabled: `radosgw-admin quota get` / `bucket stats` tell)")
    if room.room is None:
        evidence.add("quota", "no bucket or user quota: radosgw refuses nothing for room's sake")
        return
    evidence.metric("store_available_bytes", room.room, "bytes", {"store": store.name,
                                                                  "path": reading.target.bucket})
    assert room.room >= thresholds.largest_image, (
        f"s3 store {store.name}: bucket {reading.target.bucket} has room for {human(room.room)} before a quota "
        f"refuses (403 QuotaExceeded, Glance answers 500), less than the largest expected image "
        f"({human(thresholds.largest_image)}): {room.describe()}")


@pytest.mark.host
def test_cinder_project_quota_has_room_for_largest_image(cinder_store, thresholds, evidence):
    store, host, view = cinder_store
    vtype = store.options.get("cinder_volume_type")
    limits = cinder_api.quota_limits(view, vtype)
    evidence.add("quota of the store's project", [f"{n}: {used} used of {limit}" for n, used, limit in limits]
                 or ["no limited volumes or gigabytes quota"], command="GET /v3/PROJECT/os-quota-sets/PROJECT?usage=True")
    short = cinder_api.quota_shortfalls(view, vtype, thresholds.largest_image)
    assert not short, (f"cinder store {store.name} on {host.name}: the project Glance creates volumes in has no "
                       f"room for the largest expected image ({human(thresholds.largest_image)}, a volume of "
                       f"{cinder_api.gib_for(thresholds.largest_image)} GiB); uploads to it fail with 500: "
                       + "; ".join(short))


@pytest.mark.host
def test_cinder_store_has_no_leftover_volumes(cinder_store, image_api, thresholds, evidence):
    store, host, view = cinder_store

    def image_exists(image_id: str) -> bool:
        answer, _ = canary.call(image_api, "GET", f"/images/{image_id}", timeout=thresholds.api_timeout)
        return answer.status != 404

    left = cinder_api.leftovers(view, image_exists)
    evidence.add("volumes of the store's project", f"{len(view.volumes)} volume(s), "
                 f"{sum(1 for v in view.volumes if cinder_api.VOLUME_NAME.match(v['name']))} named image-<id>",
                 command="GET /v3/PROJECT/volumes/detail")
    if left:
        evidence.add("left over", [lo.describe() for lo in left])
    assert not left, (f"cinder store {store.name} on {host.name}: {len(left)} volume(s) no upload holds and no "
                      f"image uses still count against the project's quota: "
                      + "; ".join(lo.describe() for lo in left[:5])
                      + ". Delete each (`openstack volume delete ID`, `--force` for one in error) once no upload "
                        "writes it")
