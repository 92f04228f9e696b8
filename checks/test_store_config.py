"""Root cause 2, store misconfigured or disabled: the config glance-api runs with is coherent.

Reads glance-api.conf where the running service takes it from (process
environment, /etc/glance, or the Kolla config dir) and the service's logs; for
an rbd store, its ceph conf and keyring and whether its cluster answers.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc import rbd
from glance_hc.fixtures.stores import needs_ceph_tool

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


def test_rbd_client_files_exist(rbd_store, evidence):
    name, host, seen = rbd_store
    evidence.add(f"rbd store {name} client files", [f"{p}: {v}" for p, v in seen.files.items()]
                 + [f"{p}: {v}" for p, v in seen.missing.items()], command=f"stat {seen.conf} {seen.keyring}")
    assert not seen.missing, (
        f"rbd store {name} on {host.name} needs {', '.join(seen.missing)} "
        f"(ceph conf and the keyring of client.{seen.user}), which "
        f"{'is' if len(seen.missing) == 1 else 'are'} missing")


def test_rbd_cluster_answers_store_user(rbd_store, evidence):
    name, host, seen = rbd_store
    needs_ceph_tool(seen, host.name, "ceph", f"cannot look at rbd store {name} as client.{seen.user}")
    if seen.failure_kind(seen.df) == "permission":
        pytest.skip(f"client.{seen.user} was refused on {host.name}: the store permission checks report it")
    evidence.add(f"`ceph df` as client.{seen.user}", rbd.last_error_line(seen.df.output) if seen.df.rc else "answered",
                 command=f"ceph -c {seen.conf} --id {seen.user} --connect-timeout 10 df")
    assert seen.df.rc == 0, (
        f"the Ceph cluster of rbd store {name} does not answer client.{seen.user} on {host.name} "
        f"({seen.failure_kind(seen.df)}, exit {seen.df.rc}): {rbd.last_error_line(seen.df.output)}")
