"""Root cause 3, permissions on the store: the worker user can write every store directory.

Judged as the user the glance-api workers really run as (from the process or
container), by `test -w`/`test -x` run as that user; nothing is written.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

pytestmark = [pytest.mark.host, pytest.mark.store_permissions]


def test_worker_user_can_write_store_directory(file_store, evidence):
    ref, host, d = file_store
    if not d.exists or d.kind != "directory":
        pytest.skip(f"{ref.path} on {ref.host} is not a directory (see the store configuration checks)")
    if d.access_user is None:
        pytest.skip(f"cannot test access to {ref.path} on {ref.host} as the worker user "
                    f"({host.deployment.worker_user if host.deployment else 'unknown'}): needs root or sudo")
    evidence.add(f"{ref.role} directory", d.describe(),
                 command=f"runuser -u {d.access_user} -- test -w {ref.path}")
    assert d.writable and d.searchable, (
        f"{d.access_user}, the user glance-api workers run as on {ref.host}, cannot "
        f"{'write' if not d.writable else 'enter'} {ref.path} (owner {d.owner}:{d.group}, mode {d.mode})")


def test_no_permission_errors_in_logs(quiet_logs):
    quiet_logs("store_permissions", "permission errors")
