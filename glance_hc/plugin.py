"""The suite's pytest plugin: what `pip install .` registers (entry point `pytest11`).

Only a list of plugin modules. The root conftest.py names this module too, so a checkout run
(`pytest checks/`) loads the same modules whether or not the package is installed: pytest
registers a module once by its name.
"""

pytest_plugins = [
    "glance_hc.fixtures.options",  # thresholds and the suite's options
    "glance_hc.fixtures.testinfra_options",  # testinfra's: the ssh ones honoured, the rest refused
    "glance_hc.fixtures.hosts",  # the run's hosts, their connections and facts
    "glance_hc.fixtures.workers",  # pytest-xdist: facts gathered once by the controller, one report
    "glance_hc.fixtures.shard",  # --shard I/N: a share of the hosts; the API-wide checks in shard 1
    "glance_hc.fixtures.cases",  # one case per host, store or timeout
    "glance_hc.fixtures.host_facts",  # a host's facts for a check, the log check
    "glance_hc.fixtures.stores",  # one store on one host (file, rbd, swift)
    "glance_hc.fixtures.gate",  # the upgrade gate's background runs
    "glance_hc.fixtures.cloud",  # the Image API connection
    "glance_hc.fixtures.canaries",  # the canaries' cases, their pool and signal guard
    "glance_hc.fixtures.import_canaries",  # multi-store, copy-image and web-download canaries
    "glance_hc.fixtures.evidence",  # what a check looked at
    "glance_hc.fixtures.gc_passes",  # pytest's end of run: one garbage collection, not five
    "glance_hc.report",
]
