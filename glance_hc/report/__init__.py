"""The report: one verdict, per-check records, and what to do next.

An operator reads the verdict and the root cause x target matrix (html); automation reads
`health.json` and the node_exporter textfile. All come from the same per-check records,
and everything in them passes through `glance_hc.redact`.

One concern per module, in the order of the flow:
  context     the run context fixtures fill in, completed with thresholds and versions
  records     the data model: a check's identity, outcome and record; the verdict
  collector   one record per check from pytest's reports; writes the outputs
  json_out    health.json            prometheus  the node_exporter textfile
  html        the html summary (templates/ and static/, rendered with autoescape)
  scrub       every field of a pytest report sent through glance_hc.redact
  plugin      the pytest hooks       html_hooks  the pytest-html 4.x hooks
  files       atomic writes

Contracts with checks and fixtures (see docs/design.md):
  * root cause = first marker of the item that is a key of `ROOT_CAUSES`;
    scope = the `host` or `api` marker;
  * user properties ``hc_target``, ``hc_store``, ``hc_evidence`` (dict: title,
    command, body) and ``hc_metric`` (dict: name, value, unit, labels);
  * run context: ``context(config)`` returns the dict fixtures fill in.

Loading `glance_hc.report` as a plugin (the root conftest, `-p glance_hc.report`) loads
`glance_hc.report.plugin`; the names below are what other modules import.
"""
from __future__ import annotations

from glance_hc.report.context import CONTEXT_KEY, context
from glance_hc.report.prometheus import prom_labels
from glance_hc.report.records import ROOT_CAUSE_OVERRIDE
from glance_hc.report.scrub import redact_report

pytest_plugins = ["glance_hc.report.plugin"]

__all__ = ["CONTEXT_KEY", "ROOT_CAUSE_OVERRIDE", "context", "prom_labels", "redact_report"]
