"""Root cause 3: glance-api may not write the store: file modes and owners, an unreadable Ceph
keyring or missing caps, and a store filesystem mounted read-only.

A read-only filesystem (EROFS) is filed here, not under store_config: its effect is the one a
permission problem has - the worker cannot write the store. glance_store's start-up write check
(os.access W_OK fails on a read-only mount) disables the store as it does for a directory the user
may not write (410), and under a running worker the open of the image file fails (500). The host
check that finds it is the worker user's write test of store_permissions; the fix is the mount.
"""
from glance_hc.causes.model import Cause, LogPattern, Rule

_RO = "tests/data/logs/issue17/read-only/glance-api.log"
READ_ONLY = "read-only filesystem"

PRIVSEP = "cinder store: no sudo rule for glance-rootwrap"
CINDER_KEYRING = "cinder store: Ceph keyring unreadable"

CAUSE = Cause(
    key="store_permissions",
    lab_faults=("store-permissions", "rbd-keyring-unreadable", "rbd-caps-wrong", "secret-in-log",
                "store-read-only", "store-unknown-owner", "cinder-sudoers-missing",
                "cinder-keyring-missing"),
    title="Permissions on the store",
    runbook_step="Root cause 3",
    symptom="Uploads fail with 410 or 503 and 'Permission denied' in the log.",
    remediation=(
        "Give the glance-api worker user ownership of the store directory: "
        "`chown -R glance:glance /var/lib/glance/images && chmod 750 /var/lib/glance/images`.",
        "For Ceph, make the keyring readable by that user and give client.glance "
        "`profile rbd pool=images` caps.",
        "Restart glance-api after fixing so disabled stores come back.",
    ),
    patterns=(
        LogPattern(r"insufficient permissions on image storage media",
                   source="glance/api/v2/image_data.py StorageWriteDenied"),
        LogPattern(r"permission denied|errno 13", source="EACCES"),
        LogPattern(r"storagewritedenied|permission to write", source="glance_store/_drivers/filesystem.py"),
        LogPattern(r"operation not permitted", source="EPERM"),
        LogPattern(r"\(accessdenied\) when calling", fault="s3 bucket refused to the store's keys",
                   source="botocore ClientError raised through glance_store/_drivers/s3.py (a bucket policy, "
                          "an ACL or another user's bucket; the keys themselves are accepted)"),
        LogPattern(r"read-only file system|errno 30", source=_RO, fault=READ_ONLY, examples=(
            "Failed to upload image data due to internal error: OSError: [Errno 30] Read-only file system: "
            "'/var/lib/glance/cheap/",
            "Caught error: [Errno 30] Read-only file system: '/var/lib/glance/cheap/")),
        LogPattern(r"failedtodropprivileges|privsep helper command exited non-zero",
                   source="tests/data/cinder/cinder-sudoers-missing/glance-api.log", fault=PRIVSEP, examples=(
                       "oslo_privsep.daemon.FailedToDropPrivileges: privsep helper command exited non-zero (1)",)),
        LogPattern(r"_check_or_get_keyring_contents|internal error: os_brick\.exception\.brickexception",
                   source="tests/data/cinder/cinder-keyring-missing/glance-api.log", fault=CINDER_KEYRING,
                   examples=("keyring = cls._check_or_get_keyring_contents(keyring",
                             "Failed to upload image data due to internal error: os_brick.exception.BrickException: "
                             "An unknown exception occurred.")),
    ),
    rules=(
        Rule("500-s3-bucket-refused", "store_permissions",
             "internal error: the S3 server answered 403 to the s3 store's bucket; the store's keys are accepted "
             "but the bucket is refused to them (AccessDenied, seen by the s3 store checks)",
             statuses=(500,), log=r"s3 store [^ ]+: bucket [^ ]+ refused to its accepted keys",
             fault="s3 bucket refused to the store's keys",
             remediation=("Let the store's S3 user write the bucket (its owner, or a bucket policy granting "
                          "s3:PutObject, GetObject, DeleteObject and ListBucket).",),
             source="tests/unit/test_s3_store.py (the s3 checks' reading as context, tests/data/s3/other-user.json)"),
        Rule("500-s3-access-denied", "store_permissions",
             "internal error: the S3 server accepts the s3 store's keys but refuses them the bucket (AccessDenied)",
             statuses=(500,), log=r"\(accessdenied\) when calling", fault="s3 bucket refused to the store's keys",
             remediation=("Let the store's S3 user write the bucket (its owner, or a bucket policy granting "
                          "s3:PutObject, GetObject, DeleteObject and ListBucket); "
                          "test_s3_store_keys_may_use_the_bucket shows the server's answer.",),
             source="botocore's AccessDenied through glance_store/_drivers/s3.py"),
        Rule("store-disabled-read-only", "store_permissions",
             "the store is disabled: its filesystem is mounted read-only, so glance-api cannot write it",
             statuses=(410,), body=r"error in store configuration", log=r"read-only file system|errno 30",
             fault=READ_ONLY, source=f"{_RO} (the same EROFS at store start-up)",
             remediation=("Find why the store's filesystem is read-only (`findmnt -o TARGET,OPTIONS "
                          "/var/lib/glance/images`; the kernel log for I/O errors that forced a remount), fix "
                          "it and remount it read-write, then restart glance-api.",)),
        Rule("store-disabled-permissions", "store_permissions",
             "the store is disabled: glance-api could not use it, and the logs or the host checks show a "
             "permission error (a directory it may not write, a keyring it may not read)",
             statuses=(410,), body=r"error in store configuration", log_cause="store_permissions",
             examples=("store-disabled-410-permission-denied",)),
        Rule("write-denied", "store_permissions", "glance-api was refused write access to the store",
             statuses=(503,), body=r"insufficient permissions|permission to write",
             examples=("write-denied-503",)),
        Rule("500-read-only", "store_permissions",
             "internal error: the store's filesystem is mounted read-only, so glance-api cannot write the "
             "image", statuses=(500,), log=r"read-only file system|errno 30", fault=READ_ONLY,
             examples=("read-only-store-500",),
             remediation=("Find why the store's filesystem is read-only (`findmnt -o TARGET,OPTIONS "
                          "/var/lib/glance/images`; the kernel log for I/O errors that forced a remount), fix "
                          "it and remount it read-write (`mount -o remount,rw ...`).",
                          "Delete the images the failed uploads left in queued.")),
        Rule("500-cinder-privsep", "store_permissions",
             "internal error: os-brick could not start its privsep helper through sudo glance-rootwrap, so the "
             "cinder store cannot attach the image's volume", statuses=(500,),
             log=r"failedtodropprivileges|privsep helper command exited non-zero", fault=PRIVSEP,
             source="tests/data/cinder/cinder-sudoers-missing/glance-api.log",
             remediation=("Give the glance-api worker user the sudoers rule distro packages install "
                          "(/etc/sudoers.d/glance-rootwrap: `glance ALL = (root) NOPASSWD: /usr/bin/glance-rootwrap "
                          "/etc/glance/rootwrap.conf *`), with rootwrap.conf's filters_path holding "
                          "glance_cinder_store.filters; restart glance-api.",)),
        Rule("500-cinder-keyring", "store_permissions",
             "internal error: os-brick could not open the image's volume on this host (with Cinder's RBD "
             "backend: the Ceph keyring of the backend's user is missing or unreadable)", statuses=(500,),
             log=r"_check_or_get_keyring_contents|internal error: os_brick\.exception\.brickexception",
             fault=CINDER_KEYRING, source="tests/data/cinder/cinder-keyring-missing/glance-api.log",
             remediation=("Install /etc/ceph/ceph.client.<rbd_user>.keyring (Cinder's rbd_user) on every glance-api "
                          "node, readable by the worker user (`chgrp glance`, mode 0640).",)),
        Rule("500-permissions", "store_permissions", "internal error, and the log shows a permission error",
             statuses=(500,), log_cause="store_permissions", source="EACCES outside glance_store's mapping"),
    ),
)
