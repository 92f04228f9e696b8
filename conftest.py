"""The suite's root conftest: fixture modules and the report plugin, nothing else."""

pytest_plugins = [
    "fixtures.options",
    "fixtures.hosts",
    "fixtures.cloud",
    "fixtures.evidence",
    "glance_hc.report",
]
