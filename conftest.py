"""The suite's root conftest: the plugin, as `pip install .` registers it, nothing else."""

pytest_plugins = ["glance_hc.plugin"]
