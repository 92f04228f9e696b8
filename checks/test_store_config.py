"""Root cause 2, store misconfigured or disabled: the config glance-api runs with is coherent.

Reads glance-api.conf where the running service takes it from (process
environment, /etc/glance, or the Kolla config dir) and the service's logs.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

pytestmark = [pytest.mark.host, pytest.mark.store_config]


def test_glance_api_conf_is_readable_and_parses(reachable_host, evidence):
    host = reachable_host
    evidence.add("config", host.deployment.config_path if host.deployment else "unknown")
    path = host.deployment.config_path if host.deployment else None
    if host.config is None and host.privilege == "none" and path in host.file_errors:
        pytest.skip(f"cannot read glance-api.conf on {host.name} without root or sudo: {host.config_error}")
    assert host.config is not None, f"glance-api.conf on {host.name}: {host.config_error}"


def test_store_options_are_coherent(configured_host, evidence):
    config = configured_host.config
    evidence.add("stores", [f"{s.name}: {s.type} (section [{s.section}]{'' if s.section_exists else ' missing'})"
                            f"{' default' if s.is_default else ''}" for s in config.stores])
    problems = config.problems()
    if problems:
        evidence.add("problems", problems)
    assert not problems, f"glance-api.conf on {configured_host.name}: " + "; ".join(problems)


def test_file_store_directory_exists(file_store, evidence):
    ref, host, d = file_store
    evidence.add(f"{ref.role} directory", d.describe(), command=f"stat {ref.path}")
    assert d.exists, (f"{ref.role} store directory {ref.path} on {ref.host} is unusable: {d.error}; "
                      f"glance disables the store and answers 410 to uploads")
    assert d.kind == "directory", f"{ref.role} store path {ref.path} on {ref.host} is a {d.kind}, not a directory"


def test_no_store_configuration_errors_in_logs(quiet_logs):
    quiet_logs("store_config", "store configuration errors")
