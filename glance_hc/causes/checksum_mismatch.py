"""Root cause 6: the stored or downloaded data differs from what was uploaded, or is missing."""
from glance_hc.causes.model import Cause, LogPattern, Rule

CAUSE = Cause(
    key="checksum_mismatch",
    lab_faults=("corrupt-image",),
    title="Checksum mismatch (truncation or corruption)",
    runbook_step="Root cause 6",
    symptom="Downloads fail checksum verification, or an image's stored data is missing or differs from "
            "its recorded checksum.",
    remediation=(
        "Re-upload the image from a verified source and delete the corrupt copy.",
        "Check the store's disks and network path for errors (dmesg, SMART, Ceph scrub errors).",
        "Make sure every active image has checksum and os_hash_value; images without them cannot be verified.",
    ),
    patterns=(
        LogPattern(r"checksum verification failed|invalid checksum|checksum mismatch",
                   source="glance/common/exception.py, openstacksdk"),
        LogPattern(r"signature verification failed", source="cursive"),
        LogPattern(r"hash .*does not match", source="glance/location.py"),
        LogPattern(r"image data .*not found|could not be found after upload", source="glance/api/v2/image_data.py"),
    ),
    rules=(
        Rule("checksum", "checksum_mismatch", "the stored or downloaded data differs from what was sent",
             statuses=("hash-mismatch", "size-mismatch"), examples=("download-hash-mismatch",)),
        Rule("no-data", "checksum_mismatch", "the store has no data for an active image", statuses=("no-data",),
             examples=("download-no-data-204",)),
        Rule("missing-hash", "checksum_mismatch", "the image has no checksum or os_hash_value to verify",
             statuses=("missing-hash",), source="the canary's check of the image record"),
    ),
)
