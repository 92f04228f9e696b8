"""The suite's pytest plugin: what `pip install .` registers (entry point `pytest11`).

Only a list of plugin modules. The root conftest.py names this module too, so a checkout run
(`pytest checks/`) loads the same modules whether or not the package is installed: pytest
registers a module once by its name.
"""

pytest_plugins = [
    "glance_hc.fixtures.options",
    "glance_hc.fixtures.hosts",
    "glance_hc.fixtures.cloud",
    "glance_hc.fixtures.evidence",
    "glance_hc.report",
]
