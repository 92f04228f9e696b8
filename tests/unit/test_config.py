"""glance-api.conf model: real deployment styles, oslo.config semantics, problems."""
from pathlib import Path

import pytest

from glance_hc.config import (
    FILESYSTEM_DATADIR_DEFAULT,
    ConfigError,
    GlanceConfig,
    ceph_keyring_candidates,
    oslo_config_dirs,
)

DATA = Path(__file__).parent.parent / "data" / "config"


def load(name: str) -> GlanceConfig:
    return GlanceConfig.parse((DATA / name).read_text(), source=name)


# --------------------------------------------------------------- deployment styles
@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "lab-multistore.conf",
            {
                "multistore": True,
                "enabled_backends": {"fast": "file", "cheap": "file"},
                "default_backend": "fast",
                "store_names": ["fast", "cheap"],
                "default_store_name": "fast",
                "staging": "/var/lib/glance/staging/",
                "tasks": "/var/lib/glance/tasks/",
                "caching_enabled": False,
                "use_keystone_limits": True,
                "client_socket_timeout": 900,
                "workers": None,
                "log_path": "/var/log/glance/glance-api.log",
            },
        ),
        (
            "kolla-file.conf",
            {
                "multistore": True,
                "enabled_backends": {"file": "file", "http": "http"},
                "default_backend": "file",  # the template writes it quoted
                "store_names": ["file", "http"],
                "default_store_name": "file",
                "staging": "/var/lib/glance/staging",
                "tasks": "/var/lib/glance/tasks_work_dir",
                "caching_enabled": False,
                "use_keystone_limits": False,
                "client_socket_timeout": None,
                "workers": 5,
                "log_path": "/var/log/kolla/glance/glance-api.log",
            },
        ),
        (
            "kolla-rbd.conf",
            {
                "multistore": True,
                "enabled_backends": {"http": "http", "rbd": "rbd"},
                "default_backend": "rbd",
                "store_names": ["http", "rbd"],
                "default_store_name": "rbd",
                "staging": "/var/lib/glance/staging",
                "tasks": "/var/lib/glance/tasks_work_dir",
                "caching_enabled": True,
                "use_keystone_limits": False,
                "client_socket_timeout": None,
                "workers": 5,
                "log_path": "/var/log/kolla/glance/glance-api.log",
            },
        ),
        (
            "osa-legacy.conf",
            {
                "multistore": False,
                "enabled_backends": {},
                "default_backend": None,
                "store_names": ["file"],
                "default_store_name": "file",
                "staging": "/var/lib/glance/staging",
                "tasks": "/var/lib/glance/work_dir",
                "caching_enabled": True,
                "use_keystone_limits": False,
                "client_socket_timeout": 900,
                "workers": 16,
                "log_path": None,  # journald only
            },
        ),
    ],
)
def test_deployment_styles(fixture, expected):
    cfg = load(fixture)
    assert cfg.multistore is expected["multistore"]
    assert cfg.enabled_backends == expected["enabled_backends"]
    assert cfg.default_backend == expected["default_backend"]
    assert [s.name for s in cfg.stores] == expected["store_names"]
    assert cfg.default_upload_store.name == expected["default_store_name"]
    assert cfg.staging.path == expected["staging"]
    assert cfg.tasks.path == expected["tasks"]
    assert cfg.caching_enabled is expected["caching_enabled"]
    assert cfg.use_keystone_limits is expected["use_keystone_limits"]
    assert cfg.client_socket_timeout == expected["client_socket_timeout"]
    assert cfg.workers == expected["workers"]
    assert cfg.log_path() == expected["log_path"]
    assert all(store.section_exists for store in cfg.stores if store.type != "http")


@pytest.mark.parametrize(
    "fixture", ["lab-multistore.conf", "kolla-file.conf", "kolla-rbd.conf", "osa-legacy.conf"]
)
def test_deployment_styles_are_coherent(fixture):
    assert load(fixture).problems() == []


def test_lab_file_stores():
    cfg = load("lab-multistore.conf")
    fast, cheap = cfg.stores
    assert (fast.type, fast.section, fast.datadirs, fast.datadir_option) == (
        "file", "fast", ["/var/lib/glance/images/"], "filesystem_store_datadir")
    assert fast.is_default and not cheap.is_default
    assert cheap.datadirs == ["/var/lib/glance/cheap/"]
    assert fast.description == "Fast file store"
    assert fast.file_perm == 0
    assert cfg.staging.explicit and cfg.tasks.explicit
    assert cfg.image_size_cap == 1099511627776
    assert cfg.user_storage_quota == 0
    assert cfg.debug is False


def test_kolla_rbd_store():
    cfg = load("kolla-rbd.conf")
    rbd = cfg.store("rbd")
    assert (rbd.type, rbd.pool, rbd.user, rbd.ceph_conf) == ("rbd", "images", "glance", "/etc/ceph/ceph.conf")
    assert rbd.keyring == "/etc/ceph/ceph.client.glance.keyring"
    assert cfg.image_cache.path == "/var/lib/glance/image-cache"
    assert cfg.paste_flavor == "keystone+cachemanagement"


def test_osa_legacy_store():
    cfg = load("osa-legacy.conf")
    (store,) = cfg.stores
    assert (store.name, store.type, store.section) == ("file", "file", "glance_store")
    assert store.datadirs == ["/var/lib/glance/images/"]
    assert cfg.legacy_stores == ["file", "http", "cinder"]
    assert cfg.default_store == "file"
    assert cfg.user_storage_quota == 500 * 1024**3  # glance's "GB" is binary
    assert (cfg.use_journal, cfg.use_stderr) == (True, False)
    assert cfg.staging.option == "[DEFAULT] node_staging_uri"
    assert cfg.image_cache.path == "/var/lib/glance/cache/"


# --------------------------------------------------------------- unreadable input
@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("garbage.conf", r"^garbage\.conf: line 3: not an ini file"),
        ("empty.conf", r"^empty\.conf: line 1: empty file"),
        ("comments-only.conf", r"^comments-only\.conf: line 1: empty file"),
    ],
)
def test_unreadable_text_raises_config_error(fixture, message):
    with pytest.raises(ConfigError, match=message):
        load(fixture)


def test_binary_blob_raises_config_error():
    blob = (DATA / "binary.conf").read_bytes()
    with pytest.raises(ConfigError, match=r"^binary\.conf: line \d+: binary data"):
        GlanceConfig.parse(blob, source="binary.conf")
    with pytest.raises(ConfigError, match=r"binary data"):
        GlanceConfig.parse(blob.decode("latin-1"), source="binary.conf")


@pytest.mark.parametrize(
    "text",
    [
        "[DEFAULT\nfoo = bar\n",  # unterminated section header
        "[DEFAULT]\njust some words\n",  # no '=' or ':'
        "<html><body>502 Bad Gateway</body></html>\n",
        '{"DEFAULT": {"debug": true}}\n',
    ],
)
def test_not_ini_raises_one_line_config_error(text):
    with pytest.raises(ConfigError) as excinfo:
        GlanceConfig.parse(text, source="/etc/glance/glance-api.conf")
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("/etc/glance/glance-api.conf: line ")
    assert isinstance(excinfo.value, ValueError)


# --------------------------------------------------------------- oslo.config semantics
def test_oslo_semantics():
    cfg = GlanceConfig.parse(
        "[DEFAULT]\n"
        "debug = true\n"
        "enabled_backends = a:file\n"
        "[Glance_Store]\n"  # group names other than DEFAULT are case-insensitive
        "default_backend = 'a'\n"
        "[a]\n"
        "filesystem_store_datadir = /first\n"
        "filesystem_store_datadir = /second\n"  # last wins
        "Filesystem_Store_Datadir = /ignored\n"  # keys are case-sensitive
        "store_description = %(not)s interpolated\n"
    )
    assert cfg.default_backend == "a"
    assert cfg.store("a").datadirs == ["/second"]
    assert cfg.get("a", "store_description") == "%(not)s interpolated"
    assert cfg.get("a", "debug") is None  # DEFAULT does not leak into sections
    assert cfg.where("a", "filesystem_store_datadir").endswith("[a] filesystem_store_datadir (line 8)")


def test_multistr_datadirs_collect_every_value_and_strip_priorities():
    cfg = GlanceConfig.parse(
        "[glance_store]\n"
        "stores = file\n"
        "default_store = file\n"
        "filesystem_store_datadirs = /srv/glance/a:200\n"
        "filesystem_store_datadirs = /srv/glance/b:100\n"
        "filesystem_store_datadirs = /srv/glance/c\n"
    )
    assert cfg.stores[0].datadirs == ["/srv/glance/a", "/srv/glance/b", "/srv/glance/c"]
    assert cfg.stores[0].datadir_option == "filesystem_store_datadirs"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("[DEFAULT]\nuser_storage_quota = 10GB\n", "user_storage_quota", 10 * 1024**3),
        ("[DEFAULT]\nuser_storage_quota = 500MB\n", "user_storage_quota", 500 * 1024**2),
        ("[DEFAULT]\nuser_storage_quota = 1TB\n", "user_storage_quota", 1024**4),
        ("[DEFAULT]\nuser_storage_quota = 2048\n", "user_storage_quota", 2048),
        ("[DEFAULT]\nuser_storage_quota = 0\n", "user_storage_quota", 0),
        ("[DEFAULT]\ndebug = x\n", "user_storage_quota", 0),
        ("[DEFAULT]\nimage_size_cap = 10737418240\n", "image_size_cap", 10 * 1024**3),
        ("[DEFAULT]\ndebug = x\n", "image_size_cap", 1099511627776),
        ("[DEFAULT]\nuse_keystone_limits = Yes\n", "use_keystone_limits", True),
        ("[DEFAULT]\nlog_dir = /var/log/glance\n", "log_dir", "/var/log/glance"),
        ("[DEFAULT]\nlogfile = /tmp/g.log\n", "log_file", "/tmp/g.log"),
    ],
)
def test_quotas_limits_and_logging(text, field, expected):
    assert getattr(GlanceConfig.parse(text), field) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[DEFAULT]\nlog_dir = /var/log/glance\n", "/var/log/glance/glance-api.log"),
        ("[DEFAULT]\nlog_dir = /var/log/glance\nlog_file = api.log\n", "/var/log/glance/api.log"),
        ("[DEFAULT]\nlog_file = /x/api.log\nlog_config_append = /etc/glance/logging.conf\n", None),
        ("[DEFAULT]\nuse_stderr = true\n", None),
    ],
)
def test_log_path_follows_oslo_log(text, expected):
    assert GlanceConfig.parse(text).log_path() == expected


def test_defaults_when_options_are_absent():
    cfg = GlanceConfig.parse("[DEFAULT]\nenabled_backends = f:file, r:rbd\n[glance_store]\ndefault_backend = f\n")
    f, r = cfg.stores
    assert f.datadirs == [FILESYSTEM_DATADIR_DEFAULT] and f.datadir_option is None
    assert (r.pool, r.user, r.effective_rbd_user, r.ceph_conf, r.keyring) == (
        "images", None, "admin", "/etc/ceph/ceph.conf", "/etc/ceph/ceph.client.admin.keyring")
    assert cfg.staging.path == "/var/lib/glance/os_glance_staging_store"
    assert not cfg.staging.explicit
    assert cfg.tasks.path == "/var/lib/glance/os_glance_tasks_store"


def test_backend_defaults_section_is_the_multistore_fallback():
    cfg = GlanceConfig.parse(
        "[DEFAULT]\nenabled_backends = f:file\n[glance_store]\ndefault_backend = f\n"
        "[f]\nstore_description = x\n[backend_defaults]\nfilesystem_store_datadir = /shared/images\n"
    )
    assert cfg.store("f").datadirs == ["/shared/images"]


def test_swift_legacy_store_fields():
    cfg = GlanceConfig.parse(
        "[glance_store]\nstores = file, http, swift\ndefault_store = swift\n"
        "swift_store_config_file = /etc/glance/glance-swift-store.conf\n"
        "default_swift_reference = swift1\nswift_store_container = glance_images\n"
        "swift_store_key = hunter2\n"
    )
    (swift,) = cfg.stores
    assert (swift.type, swift.swift_config_file, swift.swift_reference, swift.swift_container) == (
        "swift", "/etc/glance/glance-swift-store.conf", "swift1", "glance_images")
    assert swift.swift_auth_address is None
    assert cfg.problems() == ["[task] work_dir is not set: image import tasks fail (glance: 'not configured "
                              "properly. Missing work dir: None')."]


# --------------------------------------------------------------- problems
MULTI = "[DEFAULT]\nenabled_backends = fast:file, cheap:file\n"
RESERVED = (
    "[os_glance_staging_store]\nfilesystem_store_datadir = /s\n"
    "[os_glance_tasks_store]\nfilesystem_store_datadir = /t\n"
)
SECTIONS = "[fast]\nfilesystem_store_datadir = /f\n[cheap]\nfilesystem_store_datadir = /c\n"
LEGACY_TAIL = "[task]\nwork_dir = /w\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            MULTI + "[glance_store]\ndefault_backend = slow\n" + SECTIONS + RESERVED,
            "[glance_store] default_backend = slow is not among enabled_backends (fast, cheap): glance-api "
            "refuses to start ('Store for identifier slow not found').",
            id="default_backend-not-enabled",
        ),
        pytest.param(
            MULTI + SECTIONS + RESERVED,
            "[glance_store] default_backend is not set while enabled_backends = fast:file, cheap:file: "
            "glance-api refuses to start ('default_backend' config option is not set.).",
            id="default_backend-unset",
        ),
        pytest.param(
            MULTI + "[glance_store]\ndefault_backend = fast\n[fast]\nfilesystem_store_datadir = /f\n" + RESERVED,
            "enabled backend cheap (file) has no [cheap] section: it runs on glance_store defaults only.",
            id="backend-without-section",
        ),
        pytest.param(
            "[DEFAULT]\nenabled_backends = fast:file, tape:lto\n[glance_store]\ndefault_backend = fast\n"
            "[fast]\nfilesystem_store_datadir = /f\n[tape]\nx = y\n" + RESERVED,
            "[DEFAULT] enabled_backends entry tape:lto names an unknown store type 'lto' (known: file, rbd, "
            "swift, cinder, s3, http, vmware): glance_store cannot load it.",
            id="unknown-store-type",
        ),
        pytest.param(
            MULTI + "[glance_store]\ndefault_backend = fast\n" + SECTIONS
            + "[os_glance_tasks_store]\nfilesystem_store_datadir = /t\n",
            "multistore is on but [os_glance_staging_store] filesystem_store_datadir is not set: glance falls "
            "back to /var/lib/glance/os_glance_staging_store.",
            id="multistore-without-staging",
        ),
        pytest.param(
            MULTI + "[glance_store]\ndefault_backend = fast\n" + SECTIONS
            + "[os_glance_staging_store]\nfilesystem_store_datadir = /s\n",
            "multistore is on but [os_glance_tasks_store] filesystem_store_datadir is not set: glance falls "
            "back to /var/lib/glance/os_glance_tasks_store.",
            id="multistore-without-tasks",
        ),
        pytest.param(
            "[DEFAULT]\nenabled_backends = os_glance_fast:file\n[glance_store]\ndefault_backend = os_glance_fast\n"
            "[os_glance_fast]\nfilesystem_store_datadir = /f\n" + RESERVED,
            "[DEFAULT] enabled_backends = os_glance_fast:file uses the reserved name os_glance_fast: glance-api "
            "refuses to start ('os_glance_' prefix should not be used in enabled_backends config option. It is "
            "reserved for internal use only.').",
            id="reserved-backend-name",
        ),
        pytest.param(
            "[glance_store]\nstores = file, http\ndefault_store = rbd\n" + LEGACY_TAIL,
            "[glance_store] default_store = rbd is not served by stores = file, http: glance-api refuses to "
            "start ('Store for scheme rbd not found').",
            id="legacy-default_store-not-in-stores",
        ),
        pytest.param(
            "[glance_store]\nstores =\n" + LEGACY_TAIL,
            "[glance_store] stores =  enables no store at all: there is nowhere to upload images.",
            id="no-store-at-all",
        ),
        pytest.param(
            "[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = /a\n"
            "filesystem_store_datadirs = /b:1\n" + LEGACY_TAIL,
            "[glance_store] filesystem_store_datadirs is set while filesystem_store_datadir = /a is also in "
            "effect: store file disables adding images (\"Specify either 'filesystem_store_datadir' or "
            "'filesystem_store_datadirs' option\").",
            id="datadir-and-datadirs",
        ),
        pytest.param(
            "[glance_store]\nstores = file\nfilesystem_store_datadir = /a\nfilesystem_store_file_perm = 200\n"
            + LEGACY_TAIL,
            "[glance_store] filesystem_store_file_perm = 200 would make image files unreadable by glance: store "
            "file disables adding images (\"Invalid 'filesystem_store_file_perm' option.\").",
            id="file-perm-unreadable",
        ),
        pytest.param(
            "[DEFAULT]\nimage_size_cap = 0\n" + LEGACY_TAIL,
            "[DEFAULT] image_size_cap = 0 is out of range: oslo.config raises ConfigFileValueError ('Should be "
            "greater than or equal to 1') when an upload reads it, so uploads fail.",
            id="image_size_cap-zero",
        ),
        pytest.param(
            "[DEFAULT]\nimage_size_cap = 10GB\n" + LEGACY_TAIL,
            "[DEFAULT] image_size_cap = 10GB is not an integer number of bytes: oslo.config raises "
            "ConfigFileValueError when an upload reads it, so uploads fail.",
            id="image_size_cap-with-unit",
        ),
        pytest.param(
            "[DEFAULT]\nuser_storage_quota = 10G\n" + LEGACY_TAIL,
            "[DEFAULT] user_storage_quota = 10G is not a number with an optional B/KB/MB/GB/TB suffix: glance "
            "logs 'Invalid value for option user_storage_quota: 10G' and uploads fail.",
            id="user_storage_quota-bad-unit",
        ),
        pytest.param(
            "[DEFAULT]\nuser_storage_quota = 1TB\nuse_keystone_limits = true\n" + LEGACY_TAIL,
            "[DEFAULT] user_storage_quota = 1TB has no effect because use_keystone_limits = true (Keystone "
            "unified limits apply instead).",
            id="quota-shadowed-by-keystone-limits",
        ),
        pytest.param(
            "[paste_deploy]\nflavor = keystone+caching\n" + LEGACY_TAIL,
            "[paste_deploy] flavor = keystone+caching enables the image cache but [DEFAULT] image_cache_dir is "
            "not set: glance logs 'Failed to read image_cache_dir from config'.",
            id="cache-without-dir",
        ),
        pytest.param(
            "[DEFAULT]\nnode_staging_uri = /var/lib/glance/staging\n" + LEGACY_TAIL,
            "[DEFAULT] node_staging_uri = /var/lib/glance/staging is not a file:// URI: glance logs 'Unexpected "
            "scheme in staging store; unable to scan for residue'.",
            id="staging-uri-not-file",
        ),
        pytest.param(
            "[glance_store]\nstores = http\ndefault_store = http\n" + LEGACY_TAIL,
            "default store http is of type http, which is read-only in glance_store: uploads to it cannot "
            "succeed.",
            id="default-store-read-only",
        ),
        pytest.param(
            MULTI + "[glance_store]\ndefault_backend = fast\ndefault_store = file\n" + SECTIONS + RESERVED,
            "[glance_store] default_store = file is ignored because enabled_backends is set (use "
            "default_backend instead).",
            id="legacy-option-ignored-in-multistore",
        ),
        pytest.param(
            "[DEFAULT]\nuse_keystone_limits = maybe\n" + LEGACY_TAIL,
            "[DEFAULT] use_keystone_limits = maybe is not a boolean (true/false/yes/no/on/off/1/0): "
            "oslo.config rejects it when glance reads the option.",
            id="bad-boolean",
        ),
    ],
)
def test_problems(text, expected):
    assert GlanceConfig.parse(text).problems() == [expected]


def test_problems_are_one_line_sentences():
    cfg = GlanceConfig.parse("[DEFAULT]\nenabled_backends = a:nfs\nimage_size_cap = -1\n")
    assert len(cfg.problems()) >= 3
    for problem in cfg.problems():
        assert "\n" not in problem and problem.endswith(".")


# --------------------------------------------------------------- drift and secrets
def test_upload_options_exclude_secrets_and_host_specific_values():
    options = load("lab-multistore.conf").upload_options()
    text = repr(options)
    assert "Pl4nted" not in text
    assert "worker_self_reference_url" not in text
    assert options["[glance_store] default_backend"] == "fast"
    assert options["[fast] filesystem_store_datadir"] == "/var/lib/glance/images/"
    assert options["[os_glance_staging_store] filesystem_store_datadir"] == "/var/lib/glance/staging/"
    assert options["[DEFAULT] enabled_backends"] == "fast:file, cheap:file"


@pytest.mark.parametrize("fixture", ["lab-multistore.conf", "kolla-file.conf", "kolla-rbd.conf", "osa-legacy.conf"])
def test_repr_of_model_and_stores_carries_no_secret(fixture):
    cfg = load(fixture)
    for text in [repr(cfg)] + [repr(store) for store in cfg.stores]:
        assert not any(word in text for word in ("Pl4nted", "Passw0rd", "Secret"))


def test_upload_options_show_drift_between_controllers():
    one = load("lab-multistore.conf")
    drifted_text = (DATA / "lab-multistore.conf").read_text().replace("default_backend = fast", "default_backend = cheap")
    two = GlanceConfig.parse(drifted_text)
    one_opts, two_opts = one.upload_options(), two.upload_options()
    assert {k for k in one_opts if one_opts[k] != two_opts.get(k)} == {"[glance_store] default_backend"}


def test_kolla_secrets_never_in_upload_options():
    for name in ("kolla-file.conf", "kolla-rbd.conf", "osa-legacy.conf"):
        text = repr(load(name).upload_options())
        assert "Passw0rd" not in text and "Secret" not in text


# --------------------------------------------------------------- ceph keyring
@pytest.mark.parametrize(
    ("user", "ceph_conf", "first"),
    [
        ("glance", None, "/etc/ceph/ceph.client.glance.keyring"),
        (None, None, "/etc/ceph/ceph.client.admin.keyring"),
        ("glance", "[client.glance]\nkeyring = /etc/ceph/glance.keyring\n", "/etc/ceph/glance.keyring"),
        ("glance", "[global]\nkeyring = /etc/ceph/$cluster.$name.keyring\n", "/etc/ceph/ceph.client.glance.keyring"),
        ("glance", "[client]\n  keyring = /var/lib/ceph/$id.kr\n", "/var/lib/ceph/glance.kr"),
    ],
)
def test_ceph_keyring_candidates(user, ceph_conf, first):
    assert ceph_keyring_candidates(user, ceph_conf)[0] == first


# --------------------------------------------------------------- drop-ins (oslo.config config dirs)
LAB = (DATA / "lab-controller1.conf").read_text()  # the lab's real file, captured redacted
CONF = "/etc/glance/glance-api.conf"
DROPS = "/etc/glance/glance.conf.d"


def with_dropins(*dropins, text=LAB):
    return GlanceConfig.parse(text, source=CONF, dropins=list(dropins))


def test_dropin_value_overrides_main_file_and_evidence_names_the_dropin():
    config = with_dropins((f"{DROPS}/50-cap.conf", "[DEFAULT]\nimage_size_cap = 1048576\n"))
    assert config.image_size_cap == 1048576
    assert config.where("DEFAULT", "image_size_cap") == f"{DROPS}/50-cap.conf [DEFAULT] image_size_cap (line 2)"
    assert config.upload_options()["[DEFAULT] image_size_cap"] == "1048576"  # the value in effect, not a list
    assert config.sources == [CONF, f"{DROPS}/50-cap.conf"]


def test_without_dropins_the_main_file_is_the_source():
    config = GlanceConfig.parse(LAB, source=CONF)
    assert config.image_size_cap == 1099511627776
    assert config.where("DEFAULT", "image_size_cap") == f"{CONF} [DEFAULT] image_size_cap (line 10)"
    assert config.dropins == []


def test_dropins_are_read_in_sorted_order_within_a_dir_and_dirs_in_given_order():
    config = with_dropins(
        (f"{DROPS}/20-late.conf", "[DEFAULT]\nimage_size_cap = 2000\n"),
        (f"{DROPS}/10-early.conf", "[DEFAULT]\nimage_size_cap = 1000\n"),
        ("/etc/glance/uwsgi.conf.d/00-prog.conf", "[DEFAULT]\nimage_size_cap = 3000\n"),
    )
    assert config.dropins == [f"{DROPS}/10-early.conf", f"{DROPS}/20-late.conf",
                              "/etc/glance/uwsgi.conf.d/00-prog.conf"]
    assert config.image_size_cap == 3000  # the program's dir comes after the project's


@pytest.mark.parametrize("name", ["50-cap.conf.disabled", "50-cap.conf~", ".50-cap.conf", "README"])
def test_files_oslo_does_not_glob_are_not_read(name):
    config = with_dropins((f"{DROPS}/{name}", "[DEFAULT]\nimage_size_cap = 1048576\n"))
    assert config.image_size_cap == 1099511627776
    assert config.ignored_dropins == [(f"{DROPS}/{name}", "not a *.conf file: oslo.config does not read it")]


def test_multi_valued_option_collects_across_files():
    main = "[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadirs = /d1:1\n"
    config = with_dropins((f"{DROPS}/10.conf", "[a]\nfilesystem_store_datadirs = /d2:2\n"), text=main)
    assert config.get_all("a", "filesystem_store_datadirs") == ["/d1:1", "/d2:2"]
    assert config.store("a").datadirs == ["/d1", "/d2"]


def test_section_case_in_dropins_follows_oslo():
    config = with_dropins((f"{DROPS}/10.conf", "[GLANCE_STORE]\ndefault_backend = cheap\n"
                                               "[default]\nimage_size_cap = 5\n"))
    assert config.default_backend == "cheap"  # [GLANCE_STORE] is [glance_store]
    assert config.image_size_cap == 1099511627776  # [default] is not [DEFAULT]


def test_deprecated_name_in_a_newer_dropin_wins_over_the_real_name_in_the_main_file():
    config = with_dropins((f"{DROPS}/10.conf", "[DEFAULT]\nlog-dir = /srv/log\n"))
    assert config.log_dir == "/srv/log"


def test_empty_dropin_is_fine_and_garbage_dropin_is_a_config_error_naming_it():
    assert with_dropins((f"{DROPS}/00-empty.conf", "")).image_size_cap == 1099511627776
    with pytest.raises(ConfigError, match=r"^/etc/glance/glance.conf.d/99-bad.conf: line 1: not an ini file"):
        with_dropins((f"{DROPS}/99-bad.conf", "image_size_cap = 5\n"))


def test_oslo_config_dirs_under_uwsgi():
    assert oslo_config_dirs("uwsgi") == [
        ["/etc/glance/glance.conf.d", "/etc/glance.conf.d"],
        ["/etc/glance/uwsgi.conf.d", "/etc/uwsgi.conf.d"],
    ]
    assert oslo_config_dirs("glance-api", home="/var/lib/glance")[1][:2] == [
        "/var/lib/glance/.glance/glance-api.conf.d", "/var/lib/glance/glance-api.conf.d"]


# --------------------------------------------------------------- absurd limits
@pytest.mark.parametrize("option", ["user_storage_quota", "image_size_cap"])
def test_a_5000_digit_limit_does_not_raise_and_is_a_limit_error(option):
    config = with_dropins((f"{DROPS}/10.conf", f"[DEFAULT]\n{option} = {'9' * 5000}\n"))
    error = config.limit_errors[option]
    assert "5000 digits" in error and f"{DROPS}/10.conf" in error and len(error) < 400
    assert any(option in problem for problem in config.problems())


def test_a_huge_but_valid_quota_is_no_error():
    config = with_dropins((f"{DROPS}/10.conf", f"[DEFAULT]\nuser_storage_quota = {'9' * 40}\n"))
    assert config.limit_errors == {} and config.user_storage_quota == int("9" * 40)
