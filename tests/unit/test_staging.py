"""The staging store checks' logic on the probe's real answers from the two-controller lab
(tests/tools/capture_staging.py: healthy, and under the lab faults staging-leftover and
staging-not-shared-no-self-ref; api.json holds what the Image API answered beside each capture)."""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from glance_hc import facts, staging
from glance_hc.causes.store_full import what_is_safe_to_remove
from glance_hc.hosts import parse_host
from glance_hc.probe import host_probe

DATA = Path(__file__).parent.parent / "data" / "staging"
STAGING = "/var/lib/glance/staging"
NODES = ("controller1", "controller2")
REACHED = {"controller1": "127.0.0.2", "controller2": "127.0.0.3"}  # `ssh -G` HostName of the lab's aliases
CATALOG = "http://127.0.0.10:9292"  # the lab catalog's image endpoint (the VIP)
STALE = timedelta(hours=2)


def host(label: str, node: str) -> facts.HostFacts:
    found = facts.HostFacts(spec=parse_host(f"ssh://{node}"))
    facts.discover(found, facts.load_capture((DATA / label / f"{node}-discover.json").read_text()))
    facts.gather_stores_and_logs(found, facts.load_capture((DATA / label / f"{node}-stores.json").read_text()))
    return found


def api(label: str) -> dict:
    return json.loads((DATA / label / "api.json").read_text())


def status_of(label: str):
    """What GET /v2/images/ID answered in the capture: (status or None for 404, importing stores)."""
    lookups = api(label)["lookups"]

    def answer(image_id: str):
        got = lookups[image_id]
        if got["status"] == 404:
            return None, ""
        return got["json"]["status"], got["json"].get("os_glance_importing_to_stores") or ""
    return answer


# ---------------------------------------------------------------- the probe and its parse
def test_the_probe_is_asked_for_the_staging_dirs_entries_and_nothing_more():
    found = host("healthy", "controller1")
    request = facts.stores_request(found, 60)
    assert request["entry_dirs"] == [STAGING] and STAGING in request["dirs"]
    assert STAGING not in request["list_dirs"]  # the file stores' listing is not asked again for it


def test_the_staging_dirs_identity_is_parsed():
    found = host("healthy", "controller1")
    d = found.dirs[STAGING]
    assert (d.dev, d.ino, d.fsid, d.mount, d.mount_root, d.fstype) == (49, 1, 1147010732607816755, STAGING, "/",
                                                                        "tmpfs")
    assert found.boot_id == "e684d53a-2119-4b21-8583-d7eeaa74ff4c"
    ident = found.staging_identity()
    assert ident.within == "/" and "st_dev 0:49 st_ino 1" in ident.describe()


def test_the_staging_entries_are_parsed_oldest_first_with_count_and_size():
    entries = host("staging-leftover", "controller1").dirs[STAGING].entries
    assert (entries.count, entries.size, entries.complete, entries.unlisted) == (2, 1052672, True, 0)
    names = [e.name for e in entries.entries]
    assert names == ["6042e203-45ba-4fca-86c7-5769e5749abd", "import-debug-notes.txt"]
    assert [e.image_id for e in entries.entries] == ["6042e203-45ba-4fca-86c7-5769e5749abd", None]
    assert entries.entries[0].size == 1 << 20 and entries.now - entries.entries[0].mtime > 3 * 86400 - 60


def test_garbage_entries_are_dropped_not_raised():
    got = staging.parse_entries({"now": "x", "entries": [["a", "regular file", 1, 2], ["b", 1, 2, 3], "c",
                                                          ["d", "regular file", True, 2]], "count": 4})
    assert [e.name for e in got.entries] == ["a"] and got.now == 0 and got.count == 4
    assert staging.parse_entries({"error": "cannot list"}).error == "cannot list"
    assert staging.parse_entries(None) is None


def test_the_probes_listing_keeps_the_oldest_and_counts_all(tmp_path):
    now = time.time()
    for i in range(5):
        (tmp_path / f"f{i}").write_bytes(b"x" * i)
        os.utime(tmp_path / f"f{i}", (now - 100 * i, now - 100 * i))
    (tmp_path / "sub").mkdir()
    os.utime(tmp_path / "sub", (now - 1000, now - 1000))
    got = host_probe.dir_entries(str(tmp_path), keep=3)
    assert got["count"] == 6 and got["size"] == 10 + os.lstat(tmp_path / "sub").st_size
    assert [e[0] for e in got["entries"]] == ["sub", "f4", "f3"] and got["entries"][0][1] == "directory"
    assert host_probe.dir_entries(str(tmp_path / "none"))["error"].startswith("cannot list")


# ---------------------------------------------------------------- test_staging_holds_no_leftover_files
def test_a_healthy_staging_dir_has_nothing_stale():
    for node in NODES:
        entries = host("healthy", node).dirs[STAGING].entries
        assert entries.count == 0 and entries.older_than(STALE.total_seconds()) == []


def test_the_leftover_of_a_deleted_image_and_a_foreign_file_fail_with_what_may_go():
    found = host("staging-leftover", "controller1")
    entries = found.dirs[STAGING].entries
    stale = entries.older_than(STALE.total_seconds())
    left, kept = staging.leftovers(stale, set(api("staging-leftover")["in_use"]), status_of("staging-leftover"))
    assert not kept and [x.entry.name for x in left] == [e.name for e in stale]
    assert left[0].why == "image 6042e203-45ba-4fca-86c7-5769e5749abd does not exist (deleted)"
    assert "start-up cleanup (glance/housekeeping.py)" in left[0].safe
    assert left[1].why.startswith("no image's file") and "unexpected non-image file" in left[1].safe
    message = staging.leftover_failure(STAGING, "controller1", left, STALE, 0, ["controller2"],
                                       what_is_safe_to_remove(left))
    assert message.startswith(f"staging store {STAGING} on controller1: 2 leftover entries older than "
                              "--stale-age (2:00:00), 1 MiB, the same directory as controller2's: ")
    assert "import-debug-notes.txt (no image's file" in message and "What to do: safe to remove" in message


def test_files_an_import_still_reads_are_kept():
    entries = host("staging-leftover", "controller1").dirs[STAGING].entries
    stale = entries.older_than(STALE.total_seconds())
    image_id = stale[0].image_id
    left, kept = staging.leftovers(stale, {image_id}, lambda i: pytest.fail("in use: not asked"))
    assert [e.name for e, _ in kept] == [image_id] and [x.entry.name for x in left] == ["import-debug-notes.txt"]
    left, kept = staging.leftovers(stale[:1], set(), lambda i: ("active", "cheap"))  # copy-image stages too
    assert not left and "being copied to cheap" in kept[0][1]


@pytest.mark.parametrize("status, words", [
    ("queued", "blocks staging the image again (409"),
    ("active", "Glance's start-up cleanup keeps it because the image exists"),
])
def test_an_existing_images_staged_file_is_a_leftover_glance_keeps(status, words):
    stale = host("staging-leftover", "controller1").dirs[STAGING].entries.older_than(STALE.total_seconds())[:1]
    left, _ = staging.leftovers(stale, set(), lambda i: (status, ""))
    assert len(left) == 1 and words in left[0].safe and status in left[0].why


# ---------------------------------------------------------------- one directory or two
def test_the_lab_controllers_share_one_staging_dir():
    a, b = (host("healthy", n).staging_identity() for n in NODES)
    same, why = staging.same_directory(a, b)
    assert same is True and "same boot id" in why
    groups, said = staging.sharing_groups([a, b])
    assert groups == [["controller1", "controller2"]] and said[0].startswith("controller1 and controller2: same")


def test_controller2s_own_staging_dir_is_not_shared():
    a, b = (host("staging-not-shared-no-self-ref", n).staging_identity() for n in NODES)
    assert (a.dev, b.dev) == (49, 56) and a.boot_id == b.boot_id
    same, why = staging.same_directory(a, b)
    assert same is False and "another st_dev" in why
    assert staging.sharing_groups([a, b])[0] == [["controller1"], ["controller2"]]


def test_what_proves_one_directory():
    base = host("healthy", "controller1").staging_identity()
    bind = staging.DirIdentity("controller2", STAGING, base.boot_id, base.dev, 7, base.fsid, "tmpfs", "tmpfs", STAGING,
                               "/other")
    assert staging.same_directory(base, bind)[0] is False  # a bind mount of another dir: same st_dev
    cloned = staging.DirIdentity("controller2", STAGING, "another-boot", base.dev, base.ino, base.fsid, "tmpfs",
                                 "tmpfs", STAGING, "/")
    same, why = staging.same_directory(base, cloned)
    assert same is False and "no two machines can share it" in why
    nfs = [staging.DirIdentity(n, STAGING, boot, 70 + i, 2, 99, "nfs4", "nas:/glance", "/var/lib/glance", "/")
           for i, (n, boot) in enumerate((("c1", "b1"), ("c2", "b2")))]
    assert staging.same_directory(*nfs)[0] is True
    other = staging.DirIdentity("c2", STAGING, "b2", 71, 2, 99, "nfs4", "nas:/other", "/var/lib/glance", "/")
    assert staging.same_directory(nfs[0], other)[0] is None
    unknown = staging.DirIdentity("c2", STAGING, "", base.dev, base.ino, base.fsid, "tmpfs", "tmpfs", STAGING, "/")
    assert staging.same_directory(base, unknown)[0] is None


# ---------------------------------------------------------------- each node's own URL
def selves(label: str) -> list[staging.NodeSelf]:
    return [staging.node_self(host(label, n), REACHED[n]) for n in NODES]


def test_the_lab_nodes_each_have_their_own_self_reference_url():
    nodes = selves("healthy")
    assert [n.url for n in nodes] == ["http://127.0.0.2:9292", "http://127.0.0.3:9292"]
    assert nodes[0].listen_address == "127.0.0.2" and nodes[0].listen_port == 9292
    assert staging.self_url_problems(nodes, CATALOG) == {"controller1": [], "controller2": []}
    assert all(staging.points_here(n) for n in nodes)


def test_the_vip_on_both_nodes_fails_on_each_with_why():
    nodes = selves("staging-not-shared-no-self-ref")
    problems = staging.self_url_problems(nodes, CATALOG)
    for node in NODES:
        said = " | ".join(problems[node])
        assert "worker_self_reference_url = http://127.0.0.10:9292 is the public endpoint" in said
        assert "listens on 127.0.0." in said
    assert "is also controller2's" in " ".join(problems["controller1"])
    groups, said = staging.sharing_groups([host("staging-not-shared-no-self-ref", n).staging_identity() for n in NODES])
    message = staging.sharing_failure(groups, said, problems)
    assert message.startswith("the staging dir is not one directory on every glance-api node (controller1 | "
                              "controller2; controller1 and controller2: not shared (one kernel, another st_dev: "
                              "two filesystems)), and not every node has its own worker_self_reference_url: "
                              "controller1: worker_self_reference_url = http://127.0.0.10:9292 is the public endpoint")


def test_an_unset_or_misdirected_url_is_named():
    healthy = selves("healthy")
    unset = [staging.NodeSelf(n.host, None, n.where, None, n.names, n.listen_address, n.listen_port) for n in healthy]
    problems = staging.self_url_problems(unset, None)
    assert all("is not set" in p[0] and "no stage host" in p[0] for p in problems.values())
    swapped = [staging.NodeSelf(n.host, url, n.where, None, n.names, n.listen_address, n.listen_port)
               for n, url in zip(healthy, ["http://127.0.0.3:9292", "http://127.0.0.2:9292"], strict=True)]
    problems = staging.self_url_problems(swapped, None)
    assert problems["controller1"] == ["worker_self_reference_url = http://127.0.0.3:9292 points at controller2"]
    wrong_port = [staging.NodeSelf(healthy[0].host, "http://127.0.0.2:9393", "", None, healthy[0].names,
                                   None, 9292), healthy[1]]
    assert "listens on port 9292" in staging.self_url_problems(wrong_port, None)["controller1"][0]
