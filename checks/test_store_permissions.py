"""Root cause 3, permissions on the store: the worker user can write every store directory.

Judged as the user the glance-api workers really run as (from the process or
container), by `test -w`/`test -x` run as that user; nothing is written. For an
rbd store: the keyring readable by that user, the pool listable as the store's
cephx user, and (where an admin keyring is at hand) caps that cover the pool. For an s3 store: the
bucket not refused to the keys glance-api.conf holds.


PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

from glance_hc import rbd
from glance_hc import s3_store as s3_store_mod
from glance_hc.facts import describe_parent
from glance_hc.fixtures.stores import needs_ceph_tool

pytestmark = [pytest.mark.host, pytest.mark.store_permissions]


def test_worker_user_can_write_store_directory(file_store, evidence):
    ref, host, d = file_store
    if not d.exists or d.kind != "directory":
        pytest.skip(f"{ref.path} on {ref.host} is not a directory (see the store configuration checks)")
    if d.access_user is None:
        pytest.skip(f"cannot test access to {ref.path} on {ref.host} as the worker user "
                    f"({host.deployment.worker_user if host.deployment else 'unknown'}): "
                    f"{d.access_error or 'the probe did not run the test'}")
    evidence.add(f"{ref.role} directory", d.describe(),
                 command=f"runuser -u {d.access_user} -- test -w {ref.path}")
    if d.blocked_at:
        evidence.add("directories above it", [describe_parent(p) for p in reversed(d.parents)])
    assert d.writable and d.searchable, (
        f"{d.access_user}, the user glance-api workers run as on {ref.host}, cannot "
        f"{'write' if not d.writable else 'enter'} {ref.path}: {d.why_not_writable()}")


def test_no_permission_errors_in_logs(quiet_logs):
    quiet_logs("store_permissions", "permission errors")


def test_worker_user_can_read_rbd_keyring(rbd_store, evidence):
    name, host, seen = rbd_store
    if seen.keyring in seen.missing or seen.conf in seen.missing:
        pytest.skip(f"{', '.join(seen.missing)} missing on {host.name}: the store configuration checks report it")
    if seen.access_user is None:
        pytest.skip(f"cannot test access as the worker user on {host.name}: "
                    + ("needs root or sudo" if host.privilege == "none" else "the probe did not run the test"))
    evidence.add(f"rbd store {name} client files", [f"{p}: {v}" for p, v in seen.files.items()],
                 command=f"runuser -u {seen.access_user} -- test -r {seen.keyring}")
    unreadable = [p for p, ok in ((seen.conf, seen.conf_readable), (seen.keyring, seen.keyring_readable)) if not ok]
    shown = " and ".join(f"{path} ({seen.files.get(path, 'not stat-able')})" for path in unreadable)
    assert not unreadable, (
        f"{seen.access_user}, the user glance-api workers run as on {host.name}, cannot read {shown}")


def test_rbd_pool_is_listable_as_store_user(rbd_store, evidence):
    name, host, seen = rbd_store
    needs_ceph_tool(seen, host.name, "rbd", f"cannot list pool {seen.pool} as client.{seen.user}")
    kind = seen.failure_kind(seen.ls)
    if kind not in (None, "permission"):
        pytest.skip(f"`rbd ls` as client.{seen.user} failed on {host.name} for a reason other than "
                    f"permissions ({kind}): the store configuration checks report it")
    evidence.add(f"`rbd ls` as client.{seen.user}", rbd.last_error_line(seen.ls.output) if seen.ls.rc
                 else f"{seen.ls_count} image(s) listed",
                 command=f"rbd -c {seen.conf} --id {seen.user} -p {seen.pool} ls")
    assert seen.ls.rc == 0, (
        f"client.{seen.user} may not list pool {seen.pool} on {host.name}: {rbd.last_error_line(seen.ls.output)}")


def test_rbd_store_user_caps_cover_pool(rbd_store, evidence):
    name, host, seen = rbd_store
    needs_ceph_tool(seen, host.name, "ceph", f"the caps of client.{seen.user} were not read")
    if seen.caps_result is None:
        pytest.skip(f"no readable admin keyring on {host.name}: the caps of client.{seen.user} were not read "
                    f"(the pool listing check still tests them in effect)")
    if seen.caps is None:
        pytest.skip(f"`ceph auth get client.{seen.user}` failed on {host.name}: "
                    f"{rbd.last_error_line(seen.caps_result.output)}")
    covered, why = rbd.caps_cover_pool(seen.caps, seen.pool)
    evidence.add(f"caps of client.{seen.user}", [f"{k} = {v}" for k, v in sorted(seen.caps.items())],
                 command=f"ceph auth get client.{seen.user}")
    assert covered, f"client.{seen.user} on {host.name}: {why}"


def test_s3_store_keys_may_use_the_bucket(s3_store, evidence):
    """Keys the server accepts may still be refused the bucket (a bucket policy, an ACL, a bucket of
    another user): AccessDenied on its listing, and every upload ends in 500."""
    store, host, reading = s3_store
    evidence.add(f"s3 store {store.name} of {host.name}", reading.describe(),
                 command=f"ListObjectsV2 {reading.target.bucket} (signed with the keys of [{store.section}])")
    verdict = s3_store_mod.bucket_verdict(reading, store.s3_create_bucket_on_put)
    if verdict.cause == "store_config":
        pytest.skip(f"bucket {reading.target.bucket} cannot be judged for access: {verdict.message} "
                    f"(the store configuration checks fail on it)")
    assert verdict.cause is None, f"{host.name}: {verdict.message}"


def _cinder_seen(cinder_store_section):
    store, host = cinder_store_section
    seen = host.cinder.get(store.name)
    if not seen:
        pytest.skip(f"cinder store {store.name} on {host.name} was not probed as the worker user: "
                    + ("needs root or sudo" if host.privilege == "none" else "the probe did not run the test"))
    return store, host, seen


def test_worker_user_may_start_privsep_through_glance_rootwrap(cinder_store_section, evidence):
    store, host, seen = _cinder_seen(cinder_store_section)
    if "sudo_rc" not in seen:
        pytest.skip(f"sudo is not installed on {host.name}: os-brick cannot start its privsep helper either")
    conf = seen.get("rootwrap_config")
    evidence.add("sudo as the worker user", seen.get("sudo_said") or f"exit {seen['sudo_rc']}",
                 command=f"sudo -n -l glance-rootwrap {conf} privsep-helper --config-file ... "
                         f"--privsep_context os_brick.privileged.default ...")
    assert seen["sudo_rc"] == 0, (
        f"cinder store {store.name} on {host.name}: the worker user may not run `sudo glance-rootwrap {conf} "
        f"privsep-helper ...` (exit {seen['sudo_rc']}: {seen.get('sudo_said') or 'no rule'}); os-brick starts its "
        f"privsep helper that way, so every upload to the store fails with FailedToDropPrivileges (500)")


def test_worker_user_can_read_cinder_keyring(cinder_store_section, evidence):
    store, host, seen = _cinder_seen(cinder_store_section)
    keyring = seen.get("keyring")
    evidence.add("cinder backend keyring", f"{keyring}: "
                 + ("readable" if seen.get("keyring_readable") else "exists, not readable" if seen.get("keyring_exists")
                    else "missing"), command=f"test -r {keyring}")
    assert seen.get("keyring_readable"), (
        f"cinder store {store.name} on {host.name}: the worker user cannot read {keyring} ("
        f"{'not readable' if seen.get('keyring_exists') else 'missing'}); os-brick's RBD connector opens each "
        f"image's volume with it, so every upload to the store fails with 500")
