"""The run context: what the run looked at and with what (hosts, cloud, thresholds, versions).

Fixtures fill the dict in as they learn things (``context(config)``); the report completes it
at the end of the run with what every run has (thresholds in force, versions) and shows it as
it is, redacted, in health.json and in the html page.
"""
from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path

import pytest

CONTEXT_KEY = pytest.StashKey[dict]()

# Distributions whose versions the report names (the Glance version comes from
# the hosts or the cloud, where fixtures record it).
VERSIONED_DISTRIBUTIONS = ("pytest", "pytest-html", "pytest-testinfra", "openstacksdk")
_SUITE_ROOT = Path(__file__).resolve().parents[2]


def context(config: pytest.Config) -> dict:
    """The run-context dict fixtures fill in (hosts, cloud, deployment, thresholds...)."""
    return config.stash.setdefault(CONTEXT_KEY, {})


def jsonable(obj):
    """Context values come from fixtures; make sure json.dumps will not choke."""
    return json.loads(json.dumps(obj, default=str))


def suite_version() -> str:
    """glance_hc.__version__ when set, else the checkout's `git describe`."""
    import glance_hc  # noqa: PLC0415 - the package this module belongs to

    version = getattr(glance_hc, "__version__", None)
    if version:
        return str(version)
    try:
        out = subprocess.run(
            ["git", "-C", str(_SUITE_ROOT), "describe", "--always", "--dirty", "--tags"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git {out.stdout.strip()}" if out.returncode == 0 and out.stdout.strip() else "unknown"


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _glance_version(ctx: dict) -> str | None:
    """Glance's version where a fixture recorded it: per host, or for the cloud."""
    found = []
    hosts = ctx.get("hosts")
    if isinstance(hosts, dict):
        for name, info in hosts.items():
            if isinstance(info, dict) and info.get("glance_version"):
                found.append(f"{info['glance_version']} on {name}")
    cloud = ctx.get("cloud")
    if isinstance(cloud, dict):
        for key in ("glance_version", "image_api_version"):
            if cloud.get(key):
                found.append(f"{key.replace('_', ' ')} {cloud[key]}")
    return ", ".join(found) or None


def _thresholds_in_force(config: pytest.Config) -> dict | None:
    """The suite's thresholds as given (ini or flag), when fixtures did not record them."""
    options = config.pluginmanager.get_plugin("glance_hc.fixtures.options")
    names = getattr(options, "THRESHOLDS", None)
    raw_threshold = getattr(options, "raw_threshold", None)
    if not names or raw_threshold is None:
        return None
    try:
        return {name: raw_threshold(config, name) for name in names}
    except Exception:  # noqa: BLE001 - the report must not fail for want of a table row
        return None


def complete_context(config: pytest.Config) -> dict:
    """Add what every run has to the context: thresholds in force and versions."""
    ctx = context(config)
    if "thresholds" not in ctx:
        thresholds = _thresholds_in_force(config)
        if thresholds:
            ctx["thresholds"] = thresholds
    versions = ctx.setdefault("versions", {})
    if isinstance(versions, dict):
        versions.setdefault("suite", suite_version())
        versions.setdefault("python", platform.python_version())
        for name in VERSIONED_DISTRIBUTIONS:
            versions.setdefault(name, _distribution_version(name))
        glance = _glance_version(ctx)
        if glance:
            versions.setdefault("glance", glance)
    return ctx
