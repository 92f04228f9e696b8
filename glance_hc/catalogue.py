"""The root causes of failed Glance uploads, as the runbook names them.

Each check module carries one root-cause marker; the report looks the marker up
here to show the operator what the failure means and what to do about it.
Remediation is data: each cause's text (and any rule's narrower advice, e.g. for a
read-only filesystem or an unusable database) lives in glance_hc/causes/<key>.py
beside the log patterns and rules that find that cause; this module is its index.
"""
from __future__ import annotations

from glance_hc.causes import CAUSES
from glance_hc.causes.model import Cause

# A root cause as the report shows it (key, title, runbook_step, symptom, remediation); its
# log patterns and classification rules come with it, in glance_hc/causes/<key>.py.
RootCause = Cause

ROOT_CAUSES: dict[str, RootCause] = {cause.key: cause for cause in CAUSES}

HOST_SCOPE = "host"
API_SCOPE = "api"


def root_cause_of(marker_names) -> RootCause | None:
    """The first catalogue entry named by a test's markers."""
    for name in marker_names:
        if name in ROOT_CAUSES:
            return ROOT_CAUSES[name]
    return None
