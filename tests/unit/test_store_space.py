"""Store space that is not images: the probe's store-dir listing and its comparison with Glance's
images, on answers captured from the lab (tests/tools/capture_store_space.py: healthy, the
store-filled-by-foreign-file fault with one 1 MiB image in the store, the worker-killed fault, and
an rbd image of 160 MiB written into the images pool by hand, `rbd create` + `rbd bench`)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glance_hc import facts, rbd, store_space, swift_account
from glance_hc.causes.store_full import what_frees_pool, what_frees_space
from glance_hc.probe import host_probe

DATA = Path(__file__).parent.parent / "data" / "store_space"
PROBE = Path(__file__).parent.parent / "data" / "probe"
FAST = "/var/lib/glance/images"
IMAGE = "2b013bb7-7f2c-4551-aefd-b7a8a3dbdfd9"   # the 1 MiB image of the foreign-file capture
BACKUP = "glance-images-backup-2026-11-30.tar"    # the fault's file


def capture(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def fast_store(name: str):
    doc = capture(name)
    d = facts.parse_dir(FAST, doc["dirs"][FAST])
    return doc, d


def census_of(doc: dict, drop: tuple[str, ...] = (), status: dict | None = None) -> store_space.Census:
    images = {i["id"]: dict(i, **({"status": status[i["id"]]} if status and i["id"] in status else {}))
              for i in doc["images"] if i["id"] not in drop}
    return store_space.Census(images=images)


def test_the_probe_lists_file_stores_datadirs_only():
    found = facts.HostFacts(spec=None)
    facts.discover(found, facts.load_capture((PROBE / "discover-controller1.json").read_text()))
    request = facts.stores_request(found, 60)
    assert request["list_dirs"] == [FAST, "/var/lib/glance/cheap"]
    assert "/var/lib/glance/staging" in request["dirs"] and "/var/lib/glance/staging" not in request["list_dirs"]


def test_a_file_store_listing_is_parsed_with_each_file_and_its_numbers():
    doc, d = fast_store("foreign-file-controller1")
    listing = d.listing
    assert (listing.count, listing.allocated, listing.complete) == (2, 1610612736, True)
    assert [f.path for f in listing.files] == [BACKUP, IMAGE]       # largest first
    assert listing.files[0].allocated == 1609564160 and listing.files[1].size == 1048576
    assert d.used_bytes == 1610612736


def test_the_foreign_file_holds_the_store_and_is_named_with_size_and_age():
    doc, d = fast_store("foreign-file-controller1")
    space = store_space.account("fast", FAST, d.used_bytes, d.listing, census_of(doc))
    assert [o.file.path for o in space.foreign] == [BACKUP]
    assert [o.image_id for o in space.images] == [IMAGE] and not space.orphans
    assert (space.glance_bytes, space.glance_count) == (1048576, 1)
    assert space.unowned_bytes == 1609564160 and space.outside_dir == 0
    assert space.unowned_ratio > 0.99 and space.mostly_unowned(50, 100 << 20)
    advice = what_frees_space(space, doc["captured"] + 7200)
    assert advice.startswith("What would free space: 1.5 GiB is data outside Glance in 1 file(s)")
    assert f"{FAST}/{BACKUP} (1.5 GiB, modified 2 h ago)" in advice
    assert advice.index("outside Glance") < advice.index("held by 1 image(s) of store fast")


def test_the_same_store_on_the_other_controller_says_the_same():
    doc, d = fast_store("foreign-file-controller2")
    space = store_space.account("fast", FAST, d.used_bytes, d.listing, census_of(doc))
    assert [o.file.path for o in space.foreign] == [BACKUP] and space.mostly_unowned(50, 100 << 20)


def test_the_healthy_lab_holds_nothing_that_is_not_an_image():
    for host in ("controller1", "controller2"):
        doc, d = fast_store(f"healthy-{host}")
        space = store_space.account("fast", FAST, d.used_bytes, d.listing, census_of(doc))
        assert space.unowned_bytes == 0 and not space.mostly_unowned(50, 0)


@pytest.mark.parametrize("status,why", [
    (None, "Glance has no image with this id (deleted, or a partial upload of one)"),
    ("killed", f"image {IMAGE} is killed and not in the image list: a failed upload"),
])
def test_a_file_named_by_an_image_the_list_leaves_out_is_an_orphan_partial_upload(status, why):
    doc, d = fast_store("foreign-file-controller1")
    asked = []
    space = store_space.account("fast", FAST, d.used_bytes, d.listing, census_of(doc, drop=(IMAGE,)),
                                lambda image_id: asked.append(image_id) or status)
    assert asked == [IMAGE]
    assert [(o.image_id, o.why[:len(why)]) for o in space.orphans] == [(IMAGE, why)]
    assert space.glance_bytes == 0 and space.foreign_bytes == 1609564160


def test_a_file_of_an_image_in_saving_is_an_orphan_not_foreign():
    killed = capture("worker-killed-controller1")
    saving = next(i["id"] for i in killed["images"] if i["status"] == "saving")   # the fault's stuck image
    doc, d = fast_store("foreign-file-controller1")
    images = {**census_of(doc).images, saving: next(i for i in killed["images"] if i["id"] == saving)}
    renamed = store_space.StoreListing(allocated=d.listing.allocated, count=2, files=(
        d.listing.files[0], store_space.StoreFile(saving, 1048576, 1048576, d.listing.files[1].mtime)))
    space = store_space.account("fast", FAST, d.used_bytes, renamed, store_space.Census(images=images))
    assert [o.why for o in space.orphans] == [f"image {saving} is saving: an upload still writing, or one "
                                              "whose worker died"]
    assert "1 orphan partial upload(s)" in what_frees_space(space, doc["captured"])


def test_a_file_of_an_image_of_another_store_is_an_orphan():
    doc, d = fast_store("foreign-file-controller1")
    space = store_space.account("cheap", "/var/lib/glance/cheap", d.used_bytes, d.listing, census_of(doc))
    assert [o.why for o in space.orphans] == [f"image {IMAGE} (active) is in store(s) fast, not cheap"]


def test_images_first_when_images_hold_the_space():
    doc, d = fast_store("foreign-file-controller1")
    big = store_space.StoreFile(IMAGE, 1609564160, 1609564160, 0)
    small = store_space.StoreFile(".hc-lab-ballast", 4096, 4096, 0)
    listing = store_space.StoreListing(allocated=big.allocated + small.allocated, count=2, files=(big, small))
    space = store_space.account("fast", FAST, d.used_bytes, listing, census_of(doc))
    assert not space.mostly_unowned(50, 0)
    assert what_frees_space(space, 0).startswith("What would free space: 1.5 GiB is held by 1 image(s) of store fast")


def test_other_data_on_the_filesystem_is_said_but_not_counted_as_the_stores():
    doc, d = fast_store("foreign-file-controller1")
    space = store_space.account("fast", FAST, 10 * d.used_bytes, d.listing, census_of(doc))
    assert space.outside_dir == 9 * d.used_bytes
    assert not space.mostly_unowned(50, 0)   # 1.5 GiB of 15 GiB
    assert "13.5 GiB of the filesystem is outside /var/lib/glance/images" in what_frees_space(space, 0)


def test_the_census_needs_an_admin_token():
    class Access:
        role_names = ["member", "reader"]

    class Auth:
        def get_access(self, session):
            return Access()

    class Conn:
        session = type("S", (), {"auth": Auth()})()

    got = store_space.take_census(Conn(), None)
    assert got.error.startswith("the cloud's token has no admin role (roles: member, reader)")


def test_the_probe_lists_names_sizes_and_ages_and_stays_on_its_filesystem(tmp_path):
    (tmp_path / IMAGE).write_bytes(b"\0" * 8192)
    (tmp_path / ".backup").mkdir()
    (tmp_path / ".backup" / "old.qcow2").write_bytes(b"x" * 100)
    (tmp_path / "link").symlink_to("/etc")
    os.utime(tmp_path / IMAGE, (1000000000, 1000000000))
    got = host_probe.dir_listing(str(tmp_path))
    assert json.loads(json.dumps(got)) == got                        # plain JSON data
    assert got["count"] == 2 and got["size"] == 8292 and got["complete"]
    assert sorted(f[0] for f in got["files"]) == [".backup/old.qcow2", IMAGE]
    assert [f for f in got["files"] if f[0] == IMAGE][0][1:] == [8192, got["files"][0][2], 1000000000]
    assert got["not_entered"] == ["link"]                            # a symlink is not followed
    listing = store_space.parse_listing(got)
    space = store_space.account("fast", str(tmp_path), None, listing, store_space.Census())
    assert [o.file.path for o in space.foreign] == [".backup/old.qcow2"]


def test_a_listing_of_odd_values_keeps_only_what_is_well_formed():
    listing = store_space.parse_listing({"allocated": "1", "count": 3, "files": [
        ["a", 1, 2, 3], ["b", "1", 2, 3], [1, 2, 3, 4], "c", ["d", True, 1, 1]], "errors": ["x", 5]})
    assert [f.path for f in listing.files] == ["a"] and listing.allocated == 0 and listing.errors == ("x",)
    assert store_space.parse_listing({"error": "cannot stat"}).error == "cannot stat"
    assert store_space.parse_listing(None) is None


def test_the_config_of_the_capture_has_the_two_file_stores():
    found = facts.HostFacts(spec=None)
    facts.discover(found, facts.load_capture((PROBE / "discover-controller1.json").read_text()))
    assert facts.file_store_dirs(found.config) == [FAST, "/var/lib/glance/cheap"]


# ---------------------------------------------------------------- an rbd store's pool
def pool_of(name: str):
    doc = capture(name)
    seen = rbd.from_probe(doc["rbd"], doc["rbd_worker"], "glance")["rbd"]
    return doc, seen


def test_the_pool_names_come_from_rbd_ls_as_the_worker_user():
    _, seen = pool_of("foreign-rbd-image-controller1")
    assert seen.ls_names == ("hc-foreign-disk",) and seen.ls_count == 1
    _, healthy = pool_of("healthy-rbd-controller1")
    assert healthy.ls_names == ()


def test_an_rbd_image_of_no_glance_image_holds_the_pool():
    doc, seen = pool_of("foreign-rbd-image-controller1")
    stats = seen.pool_stats
    assert stats.stored >= 160 << 20                                   # the 160 MiB written to it
    pool = store_space.account_pool(("rbd",), "images", stats.stored, seen.ls_names, census_of(doc))
    assert pool.foreign == ["hc-foreign-disk"] and pool.glance_bytes == 0
    assert pool.mostly_unowned(50, 100 << 20)
    advice = what_frees_pool(pool)
    assert "is not Glance's images (deleting images frees none of it)" in advice and "images/hc-foreign-disk" in advice


def test_the_healthy_pool_holds_only_rbd_metadata_below_the_floor():
    doc, seen = pool_of("healthy-rbd-controller1")
    pool = store_space.account_pool(("rbd",), "images", seen.pool_stats.stored, seen.ls_names, census_of(doc))
    assert pool.stored < 4096 and not pool.mostly_unowned(50, 100 << 20)


def test_a_pool_held_by_images_says_delete_images_first():
    doc, seen = pool_of("foreign-rbd-image-controller1")
    image = {"id": IMAGE, "status": "active", "size": 10 * seen.pool_stats.stored, "stores": "rbd"}
    pool = store_space.account_pool(("rbd",), "images", seen.pool_stats.stored, (IMAGE,),
                                    store_space.Census(images={IMAGE: image}))
    assert pool.unowned_bytes == 0 and not pool.mostly_unowned(50, 0)
    assert what_frees_pool(pool).startswith("What would free space: 1.6 GiB is held by 1 image(s) of store(s) rbd")


def test_a_swift_container_beyond_its_images_sizes_says_so():
    heads = json.loads((Path(__file__).parent.parent / "data" / "swift" / "head-container.json").read_text())
    box = {**heads["headers"], "X-Container-Bytes-Used": str(300 << 20)}   # the lab's container, 300 MiB in it
    usage = swift_account.usage_from_headers("http://127.0.0.6:8080/v1/KEY_x", "glance", {}, box)
    image = {"id": IMAGE, "status": "active", "size": 100 << 20, "stores": "swift"}
    space = store_space.account_pool(("swift",), usage.container, usage.container_bytes, None,
                                     store_space.Census(images={IMAGE: image}), kind="container")
    assert space.unowned_bytes == 200 << 20 and space.mostly_unowned(50, 100 << 20)
    assert space.describe()[0] == "container glance: 300 MiB stored (HEAD, X-Container-Bytes-Used)"
    assert "200 MiB of the container is not Glance's images" in what_frees_pool(space)
    assert "`swift list glance`" in what_frees_pool(space)
