"""The package as pip installs it: one plugin registration, pinned dependencies, shipped files.

pyproject.toml's pytest11 entry point and the root conftest must name the same module (pytest
registers a module once by name; two names for one module are an error, two modules are the
suite's options declared twice), and everything the package reads at run time must be shipped.
"""
from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

import glance_hc
from glance_hc import plugin

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conftest_plugins() -> list[str]:
    tree = ast.parse((ROOT / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytest_plugins" for t in node.targets):
            return ast.literal_eval(node.value)
    return []


def test_the_entry_point_and_the_root_conftest_name_one_plugin_module():
    entry_points = PYPROJECT["project"]["entry-points"]["pytest11"]
    assert entry_points == {"glance_hc.plugin": "glance_hc.plugin"}
    assert _conftest_plugins() == ["glance_hc.plugin"]


def test_the_plugin_lists_the_fixture_modules_and_the_report():
    assert plugin.pytest_plugins[-1] == "glance_hc.report"
    for name in plugin.pytest_plugins:
        assert (ROOT / (name.replace(".", "/") + ".py")).exists() or (ROOT / name.replace(".", "/")).is_dir(), name


def test_dependencies_are_the_pinned_requirements():
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    assert dynamic["dependencies"] == {"file": ["requirements.txt"]}
    assert dynamic["version"] == {"attr": "glance_hc.__version__"}
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
        lines = [line for line in lines if line]
        assert lines, name
        unpinned = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][A-Za-z0-9.]*", line)]
        assert not unpinned, f"{name}: not pinned to one version: {unpinned}"


def test_the_version_is_one_string():
    assert re.fullmatch(r"\d+\.\d+\.\d+", glance_hc.__version__)


def test_every_file_the_package_reads_is_shipped():
    """Templates, static files, data: every tracked non-Python file under glance_hc/ matches a
    package-data pattern (the probe's sources are Python modules and ship as such)."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    tracked = subprocess.run(["git", "ls-files", "glance_hc"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    data = [Path(p) for p in tracked if not p.endswith(".py") and not (ROOT / p).is_dir()]  # a dir: a linked package
    unshipped = [str(p) for p in data if not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    assert not unshipped, f"not in pyproject.toml's package-data: {unshipped}"


def test_the_fixtures_are_the_top_level_folder_linked_into_the_package():
    """fixtures/ stays where operators look for it; glance_hc/fixtures links to it, so imports and
    the wheel (setuptools follows the link) see one copy."""
    link = ROOT / "glance_hc" / "fixtures"
    assert link.is_symlink() and link.resolve() == (ROOT / "fixtures").resolve()
    assert (ROOT / "fixtures" / "__init__.py").exists()
