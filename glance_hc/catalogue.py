"""The root causes of failed Glance uploads, as the runbook names them.

Each check module carries one root-cause marker; the report looks the marker up
here to show the operator what the failure means and what to do about it.
Remediation is data, kept beside the checks, not buried in assertion messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RootCause:
    key: str
    title: str
    runbook_step: str
    symptom: str
    remediation: tuple[str, ...] = field(default_factory=tuple)


ROOT_CAUSES: dict[str, RootCause] = {
    rc.key: rc
    for rc in (
        RootCause(
            key="availability",
            title="glance-api not running or not answering",
            runbook_step="Diagnostic workflow, step 2",
            symptom="Every image call fails or times out; nothing reaches the store.",
            remediation=(
                "Start or restart the service: `systemctl restart openstack-glance-api` "
                "(traditional) or `docker restart glance_api` (Kolla).",
                "Read the last 80 log lines for the reason it stopped "
                "(`journalctl -u openstack-glance-api -n 80` or `docker logs glance_api`).",
                "Check that the load balancer's glance_api backend lists live servers.",
            ),
        ),
        RootCause(
            key="store_full",
            title="Store backend full",
            runbook_step="Root cause 1",
            symptom="Uploads fail with 413 'Image storage media is full' or Errno 28; "
            "the image returns to queued.",
            remediation=(
                "Free or grow the store: delete unused and killed images "
                "(`openstack image list --status killed`), extend the filesystem "
                "or raise the Ceph pool quota.",
                "Alert before it happens: page when any store crosses 80% usage "
                "(`df -h /var/lib/glance/images`, `ceph df` pool usage, Swift account usage).",
                "Keep free space above the largest image users upload.",
            ),
        ),
        RootCause(
            key="store_config",
            title="Store misconfigured or disabled",
            runbook_step="Root cause 2",
            symptom="Uploads fail with 410 'Error in store configuration. Adding images "
            "to store is disabled' or HTTP 500 before any byte flows.",
            remediation=(
                "Make `default_backend` name one of `enabled_backends`, and give every "
                "enabled backend its own section with a valid store type.",
                "Create the store directory (or Ceph pool) the config names, then "
                "restart glance-api so the store is re-initialised.",
                "Compare glance-api.conf across controllers; a drifted copy breaks "
                "one node only.",
            ),
        ),
        RootCause(
            key="store_permissions",
            title="Permissions on the store",
            runbook_step="Root cause 3",
            symptom="Uploads fail with 410 or 503 and 'Permission denied' in the log.",
            remediation=(
                "Give the glance-api worker user ownership of the store directory: "
                "`chown -R glance:glance /var/lib/glance/images && chmod 750 /var/lib/glance/images`.",
                "For Ceph, make the keyring readable by that user and give "
                "client.glance `profile rbd pool=images` caps.",
                "Restart glance-api after fixing so disabled stores come back.",
            ),
        ),
        RootCause(
            key="worker_crash",
            title="glance-api worker crash or OOM",
            runbook_step="Root cause 4",
            symptom="The image is stuck in saving (later killed); the log shows a worker "
            "killed by signal 9, often the OOM killer.",
            remediation=(
                "Give the workers memory headroom (host RAM or the container's limit) "
                "above what a large upload needs, and stream uploads rather than buffer them.",
                "Watch worker restarts and OOM kills (`dmesg -T | grep -i 'killed process'`, "
                "container restart counts) and alert on them.",
                "Delete images left in saving after the crash: `openstack image delete <id>`.",
            ),
        ),
        RootCause(
            key="interrupted_upload",
            title="Interrupted upload (client disconnect or proxy timeout)",
            runbook_step="Root cause 5",
            symptom="Large uploads fail after a fixed time with 504 or a reset; Glance "
            "logs a read error on wsgi.input and returns the image to queued.",
            remediation=(
                "Set HAProxy `timeout client` and `timeout server` (and uWSGI "
                "socket-timeout/harakiri, glance client_socket_timeout) above the time "
                "the largest image takes to upload at the slowest client rate.",
                "Ask users on slow links to use `glance image-create-via-import` with "
                "web-download or to upload from inside the cloud.",
            ),
        ),
        RootCause(
            key="checksum_mismatch",
            title="Checksum mismatch (truncation or corruption)",
            runbook_step="Root cause 6",
            symptom="Downloads fail checksum verification, or an image's stored data "
            "is missing or differs from its recorded checksum.",
            remediation=(
                "Re-upload the image from a verified source and delete the corrupt copy.",
                "Check the store's disks and network path for errors (dmesg, SMART, "
                "Ceph scrub errors).",
                "Make sure every active image has checksum and os_hash_value; images "
                "without them cannot be verified.",
            ),
        ),
        RootCause(
            key="quota",
            title="Project image quota exceeded",
            runbook_step="Bonus: project image quota",
            symptom="Uploads fail with 413 'will exceed the limit' or "
            "ImageSizeLimitExceeded.",
            remediation=(
                "Raise the limit (`openstack limit set` for unified limits, or "
                "`image_size_cap` / `user_storage_quota` in glance-api.conf), or "
                "delete images the project no longer needs.",
                "Track per-project usage against limits and warn before users hit them.",
            ),
        ),
        RootCause(
            key="upgrade",
            title="Not ready for upgrade (pre-upgrade gate)",
            runbook_step="Prevention: gate upgrades on a green run",
            symptom="glance-manage db check or glance-status upgrade check reports work to do "
            "before (or after) the upgrade.",
            remediation=(
                "Run the step the command names (`glance-manage db expand`, `migrate`, `contract`) "
                "in the order of the upgrade guide, then run the gate again.",
                "Read `glance-status upgrade check` output: a Failure must be fixed before upgrading; "
                "a Warning should be understood.",
            ),
        ),
    )
}

HOST_SCOPE = "host"
API_SCOPE = "api"


def root_cause_of(marker_names) -> RootCause | None:
    """The first catalogue entry named by a test's markers."""
    for name in marker_names:
        if name in ROOT_CAUSES:
            return ROOT_CAUSES[name]
    return None
