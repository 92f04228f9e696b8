"""One root cause, one place: `glance_hc/causes/<key>.py` holds everything the suite knows about
that cause - the runbook's words and remediation, the log lines that show it (each with its role
and the real lines it was written from), the classification rules that name it and the lab faults
that make it for real (`lab_faults`, the names in lab/faults.py's catalogue; a unit test keeps
the two the same).

`glance_hc.catalogue`, `glance_hc.logscan` and `glance_hc.classify` only read this package; a
newcomer looking for `store_full` reads `store_full.py` and finds it all. The model lives in
`glance_hc.causes.model`; which rule wins when several match is a property of the whole set and
lives in `glance_hc.classify.PRECEDENCE`.
"""
from __future__ import annotations

from glance_hc.causes import (
    availability,
    checksum_mismatch,
    interrupted_upload,
    quota,
    store_config,
    store_full,
    store_permissions,
    upgrade,
    worker_crash,
)
from glance_hc.causes.model import Cause, LogPattern, Rule

# The runbook's order, which the report keeps for its rows.
CAUSES: tuple[Cause, ...] = (
    availability.CAUSE,
    store_full.CAUSE,
    store_config.CAUSE,
    store_permissions.CAUSE,
    worker_crash.CAUSE,
    interrupted_upload.CAUSE,
    checksum_mismatch.CAUSE,
    quota.CAUSE,
    upgrade.CAUSE,
)

BY_KEY: dict[str, Cause] = {cause.key: cause for cause in CAUSES}

__all__ = ["BY_KEY", "CAUSES", "Cause", "LogPattern", "Rule"]
