"""health.json: the verdict, the run context and every check's record, for automation.

The document is made of redacted parts only (the context here, the records by the
collector); `glance_hc.history` adds its `changes` and `forecasts` blocks with --history.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from glance_hc import history
from glance_hc.redact import redact_obj
from glance_hc.report.context import context, jsonable

if TYPE_CHECKING:
    from glance_hc.report.collector import HealthCollector


def health_document(collector: HealthCollector) -> dict:
    return history.annotate(collector.config, {  # + the `changes` and `forecasts` blocks with --history
        "verdict": collector.verdict,
        "started": collector.started_at.isoformat(timespec="seconds"),
        "duration": round(collector.duration, 3),
        "exit_status": collector.exitstatus,
        "context": redact_obj(jsonable(context(collector.config))),
        "summary": collector.summary(),
        "checks": collector.check_dicts(),
    })


def render(document: dict) -> str:
    return json.dumps(document, indent=2, default=str) + "\n"
