"""Root cause 1: the store backend is full (a file store's filesystem, a Ceph pool, a Swift quota)."""
from glance_hc.causes.model import CLEANUP, Cause, LogPattern, Rule
from glance_hc.sizes import human

_API = "tests/data/api"
CINDER_QUOTA = "Cinder quota of the cinder store's project"

CAUSE = Cause(
    key="store_full",
    lab_faults=("store-full", "store-filled-by-foreign-file", "rbd-pool-quota", "swift-account-quota",
                "store-inodes-used-up", "swift-container-quota", "staging-leftover", "cache-over-size", "s3-bucket-quota",
                "staging-full", "cheap-store-full", "cinder-volume-quota"),
    title="Store backend full",
    runbook_step="Root cause 1",
    symptom="Uploads fail with 413 'Image storage media is full' or Errno 28; the image returns to queued.",
    remediation=(
        "See what holds the space before deleting anything (test_store_space_is_held_by_images): deleting "
        "images frees only what images hold. Files no image points at (a backup, a copied disk, a dotfile) "
        "are data outside Glance: move or delete them by hand; a file named by the id of an image in saving, "
        "queued or killed, or of one Glance no longer knows, is an orphan partial upload: delete it once no "
        "upload writes it. Glance's v2 list never shows killed images (`openstack image show ID` does).",
        "Free or grow the store: delete images no one uses (`openstack image list --long --sort size:desc`), "
        "extend the filesystem or raise the Ceph pool quota.",
        "Alert before it happens: page when any store crosses 80% usage "
        "(`df -h /var/lib/glance/images`, `ceph df` pool usage, Swift account usage).",
        "Keep free space above the largest image users upload.",
        "Staging store leftovers (test_staging_holds_no_leftover_files): the file of a deleted image goes at the "
        "next glance-api start (Glance's start-up cleanup, glance/housekeeping.py) or may be removed now; the file "
        "of a queued image (a failed import) or of an active one nobody copies is read by no import and blocks "
        "staging the image again (409): remove it; a file whose name is no image id is not Glance's: find out "
        "whose it is. Never remove the file of an image in uploading or importing.",
        "Image cache over image_cache_max_size (test_image_cache_is_within_its_max_size, test_image_cache_is_pruned): "
        "the max is only the threshold glance-cache-pruner acts on; Glance 33 runs no pruning of its own "
        "(glance/image_cache/__init__.py `prune`, glance/cmd/cache_pruner.py). Run `glance-cache-pruner` now and "
        "schedule it as the glance user on every caching node (cron `*/30 * * * * glance glance-cache-pruner` or a "
        "systemd timer), with `glance-cache-cleaner` daily for incomplete/ files older than image_cache_stall_time. "
        "`GET /v2/cache` (admin) lists what a node holds; `DELETE /v2/cache/ID` drops one image.",
    ),
    patterns=(
        LogPattern(r"image storage media is full", examples=(
            "Image storage media is full: There is not enough disk space on the image storage media.",),
            source=f"{_API}/store-full-413.json"),
        LogPattern(r"no space left on device", source="glance_store/_drivers/filesystem.py (ENOSPC)"),
        LogPattern(r"errno 28", source="glance_store/_drivers/filesystem.py (ENOSPC)"),
        LogPattern(r"not enough disk space|no enough disk space",
                   source="glance_store/exceptions.py StorageFull"),
        LogPattern(r"disk quota exceeded|errno 122", source="EDQUOT from a quota'd filesystem"),
        # An import's last step: the staged file is removed once the data is in the store. It is
        # logged at ERROR, but the task goes on to `success`; a file it could not remove is what
        # test_staging_holds_no_leftover_files finds (and "not found" means nothing is left).
        LogPattern(r"deletion of staged image data .* has failed", role=CLEANUP, examples=(
            "deletion of staged image data from file:///var/lib/glance/staging/330bbe14-c37a-4144-b747-60ca6310d71a "
            "has failed because Image %(image)s not found",),
            source="tests/data/logs/import-staged-data-already-gone.log"),
        LogPattern(r"\(quotaexceeded\) when calling", source="tests/data/logs/s3/bucket-quota-glance-api.log",
                   fault="s3 bucket or user quota reached", examples=(
                       "An error occurred (QuotaExceeded) when calling the PutObject operation",)),


        LogPattern(r"volumelimitexceeded|gigabyteslimitexceeded|exceeded for quota '(volumes|gigabytes)",
                   source="tests/data/cinder/cinder-volume-quota/glance-api.log", fault=CINDER_QUOTA, examples=(
                       "VolumeLimitExceeded: Maximum number of volumes allowed (0) exceeded for quota 'volumes'.",)),
        LogPattern(r"rbd operation timeout", source="glance_store/_drivers/rbd.py: writes to a pool at "
                   "its quota block until librados gives up"),
    ),
    rules=(
        Rule("500-s3-quota", "store_full",
             "internal error: the S3 server refused the object: the bucket's (or its user's) quota is reached",
             statuses=(500,), log=r"\(quotaexceeded\) when calling", fault="s3 bucket or user quota reached",
             remediation=("Raise or lift the quota (`radosgw-admin quota set --quota-scope=bucket "
                          "--bucket=BUCKET --max-size=...`, or the user's), or delete images no one uses; "
                          "test_s3_bucket_quota_has_room_for_largest_image shows usage against the quotas.",),
             source="lab fault s3-bucket-quota (tests/data/logs/s3/bucket-quota-glance-api.log)"),
        # 413: glance answers it for a full store and for every kind of quota
        Rule("store-full", "store_full", "the store has no room left for the image", statuses=(413,),
             body=r"storage media is full|not enough disk space|no enough disk space|no space left",
             examples=("store-full-413",)),
        Rule("413-disk-full-log", "store_full", "HTTP 413 and the log says the disk is full", statuses=(413,),
             log_cause="store_full", source="a 413 whose body was lost behind HAProxy (tests/data/api/README)"),
        Rule("500-ceph-blocked", "store_full",
             "internal error: Ceph held the write until it timed out, as it does for a pool at its quota "
             "or a full cluster", statuses=(500,), log=r"rbd operation timeout|rbd\.timeout|rados.*timed out",
             fault="Ceph pool at its quota or cluster full",
             source="lab fault rbd-pool-quota (tests/e2e/test_fault_matrix.py)"),
        # glance-direct: the task says only "Task failed due to Internal Error"; its lines (by task id) say why
        Rule("import-task-disk-full", "store_full", "the import's task failed, and its log lines say the store is full",
             statuses=("task-failure",), log_cause="store_full", examples=("import-task-store-full",)),
        Rule("500-cinder-quota", "store_full",
             "internal error: Cinder refused the image's volume: the project Glance's cinder store creates its "
             "volumes in is at its volumes or gigabytes quota (Cinder answers 413, Glance 500)", statuses=(500,),
             log=r"limitexceeded|exceeded for quota", fault=CINDER_QUOTA, source="tests/data/cinder/cinder-volume-quota/glance-api.log",
             remediation=("Raise the quota of the project of cinder_store_user_name "
                          "(`openstack quota set --volumes N --gigabytes G PROJECT`; each image takes a volume of at "
                          "least 1 GiB), or delete the volumes named image-<id> no image uses "
                          "(test_cinder_store_has_no_leftover_volumes).",)),
        Rule("500-disk-full", "store_full", "internal error, and the log says the disk is full",
             statuses=(500,), log_cause="store_full", examples=("internal-error-500-enospc",)),
    ),
)


SHOWN = 5  # files named in the advice, the largest first


def what_frees_space(space, now: float) -> str:
    """What would free a file store, from its breakdown (glance_hc.store_space.Breakdown: images,
    orphans, foreign, outside_dir, store, path, in bytes): the biggest holder first, with the files
    by path when they are not images, since only images go away by deleting images."""
    def named(owned, why=False):
        return "; ".join(o.file.describe(now, space.path) + (f" ({o.why})" if why else "") for o in owned[:SHOWN]) + (
            f"; and {len(owned) - SHOWN} more" if len(owned) > SHOWN else "")
    holders = [
        (space.foreign_bytes, f"{human(space.foreign_bytes)} is data outside Glance in {len(space.foreign)} "
                              f"file(s) no image points at: move or delete them by hand (deleting images frees none "
                              f"of it): {named(space.foreign)}"),
        (space.orphan_bytes, f"{human(space.orphan_bytes)} is {len(space.orphans)} orphan partial upload(s): delete "
                             f"each once no upload writes it: {named(space.orphans, why=True)}"),
        (space.image_bytes, f"{human(space.image_bytes)} is held by {len(space.images)} image(s) of store "
                            f"{space.store}: delete the images no one uses (`openstack image list --long --sort "
                            f"size:desc`)"),
        (space.outside_dir, f"{human(space.outside_dir)} of the filesystem is outside {space.path}: other data "
                            f"shares the store's filesystem"),
    ]
    said = [text for size, text in sorted(holders, key=lambda h: -h[0]) if size > 0]
    return "What would free space: " + (" | ".join(said) if said else "nothing: the store holds no data") + "."


def what_frees_pool(pool) -> str:
    """What would free an rbd store's pool or a swift store's container (glance_hc.store_space.
    PoolBreakdown): images, or rbd images and data that no Glance image of its stores accounts for."""
    said = []
    if pool.unowned_bytes:
        names = [f"{pool.pool}/{n}" for n in pool.foreign[:SHOWN]] + [f"{pool.pool}/{n} ({why})"
                                                                       for n, why in pool.orphans[:SHOWN]]
        where = (f"snapshots or another client's data (`rbd du -p {pool.pool}`)" if pool.kind == "pool" else
                 f"objects no image points at, or segments of deleted images (`swift list {pool.pool}`)")
        said.append(f"{human(pool.unowned_bytes)} of the {pool.kind} is not Glance's images (deleting images "
                    f"frees none of it)" + (f": rbd images no image of the store points at: {'; '.join(names)} "
                                            f"(`rbd du` sizes them; check nothing else uses them before `rbd rm`)"
                                            if names else f": {where}"))
    if pool.glance_bytes:
        said.append(f"{human(pool.glance_bytes)} is held by {pool.glance_count} image(s) of store(s) "
                    f"{', '.join(pool.stores)}: delete the images no one uses")
    if pool.unowned_bytes < pool.glance_bytes:
        said.reverse()
    return "What would free space: " + (" | ".join(said) if said else f"nothing: the {pool.kind} stores no data") + "."


def what_is_safe_to_remove(left) -> str:
    """For the staging check's message: which leftovers (glance_hc.staging.Leftover) may go, and why."""
    said = []
    for leftover in left:
        if leftover.safe not in said:
            said.append(leftover.safe)
    return "What to do: " + " | ".join(said[:4]) + "."
