"""Root cause 2: a store misconfigured or disabled (default_backend, store sections, a datadir that
does not exist or cannot be created, a Ceph client without its files)."""
from glance_hc.causes.model import Cause, LogPattern, Rule

_LOGS = "tests/data/logs"
_S3_LOGS = "tests/data/logs/s3"

CINDER_TYPE = "cinder store volume type missing"
CINDER_STUCK = "cinder store volume not created"

CAUSE = Cause(
    key="store_config",
    lab_faults=("bad-default-backend", "missing-backend-section", "store-dir-unusable", "controller2-drift",
                "rbd-keyring-missing", "garbage-config", "staging-not-shared-no-self-ref",
                "s3-bucket-missing", "s3-wrong-secret", "web-download-refused",
                "cinder-type-missing", "cinder-volume-stopped"),
    title="Store misconfigured or disabled",
    runbook_step="Root cause 2",
    symptom="Uploads fail with 410 'Error in store configuration. Adding images to store is disabled' "
            "or HTTP 500 before any byte flows.",
    remediation=(
        "Make `default_backend` name one of `enabled_backends`, and give every enabled backend its own "
        "section with a valid store type.",
        "Create the store directory (or Ceph pool) the config names, then restart glance-api so the "
        "store is re-initialised.",
        "Compare glance-api.conf across controllers; a drifted copy breaks one node only.",
        "Staging not shared between the glance-api nodes "
        "(test_staging_is_shared_or_each_node_has_its_own_self_reference_url): give each node its own "
        "`worker_self_reference_url` (its own address, e.g. http://NODE-IP:9292, reachable from the other nodes), "
        "so the node that gets an import proxies it to the node that staged the image; or put "
        "`[os_glance_staging_store] filesystem_store_datadir` on one shared filesystem. Restart glance-api.",
    ),
    patterns=(
        LogPattern(r"error in store configuration", source="glance/api/v2/image_data.py StoreAddDisabled"),
        LogPattern(r"store for scheme [a-z+]+ not found", source="glance_store/backend.py"),
        LogPattern(r"store for identifier [^ ]+ not found", source=f"{_LOGS}/glance-api.log",
                   examples=("Unhandled error: RuntimeError: Store for identifier nosuchstore not found",)),
        LogPattern(r"unknown scheme", source="glance_store/exceptions.py UnknownScheme"),
        LogPattern(r"invalid directory specified in filesystem configuration|specified an invalid .*filesystem",
                   source="glance_store/_drivers/filesystem.py"),
        LogPattern(r"could not find .*backend", source="glance_store/multi_backend.py"),
        LogPattern(r"store '[^']*' does not exist", source="glance_store/multi_backend.py"),
        LogPattern(r"unable to create datadir", source=f"{_LOGS}/glance-api.log",
                   examples=("Unable to create datadir: /var/lib/glance/cheap/: FileExistsError: [Errno 17] "
                             "File exists: '/var/lib/glance/cheap/'",)),
        LogPattern(r"badstoreconfiguration|could not be configured correctly", source=f"{_LOGS}/glance-api.log",
                   examples=("Failed to configure store correctly: Store filesystem could not be configured "
                             "correctly. Reason: Unable to create datadir",)),
        # The store's directory vanished under a running worker (unmounted, moved): the open of the
        # image file fails with ENOENT and the upload ends in the catch-all 500.
        LogPattern(r"(internal error: filenotfounderror|caught error): \[errno 2\] no such file or directory",
                   source=f"{_LOGS}/issue17/vanished/glance-api.log", fault="store directory missing",
                   examples=("Caught error: [Errno 2] No such file or directory: '/var/lib/glance/cheap/",)),
        # glance_store's s3 driver (glance_store/_drivers/s3.py add): Glance answers 500, the log says why
        LogPattern(r"the bucket [^ ]+ does not exist in s3", source=f"{_S3_LOGS}/bucket-missing-glance-api.log",
                   fault="s3 bucket missing", examples=(
                       "BackendException: The bucket glance does not exist in S3. Please set the "
                       "s3_store_create_bucket_on_put option to add bucket to S3 automatically.",)),
        LogPattern(r"failed to get bucket info: an error occurred \(403\)|\((?:invalidaccesskeyid|"
                   r"signaturedoesnotmatch)\) when calling", source=f"{_S3_LOGS}/wrong-secret-glance-api.log",
                   fault="s3 keys refused", examples=(
                       "Failed to get bucket info: An error occurred (403) when calling the HeadBucket operation: "
                       "Forbidden",)),


        LogPattern(r"volume type with name .* could not be found",
                   source="tests/data/cinder/cinder-type-missing/glance-api.log", fault=CINDER_TYPE,
                   examples=("BackendException: Volume type with name glance-images could not be found.",)),
        LogPattern(r"timeout while waiting while volume .* status|the status of volume .* is unexpected",
                   fault=CINDER_STUCK, source="glance_store/_drivers/cinder/store.py _wait_volume_status"),
    ),
    rules=(
        Rule("500-s3-bucket-missing", "store_config",
             "internal error: the s3 store's bucket does not exist and s3_store_create_bucket_on_put is false",
             statuses=(500,), log=r"the bucket [^ ]+ does not exist in s3", fault="s3 bucket missing",
             remediation=("Create the bucket `s3_store_bucket` names (with the store's own keys, so they own it), "
                          "or set `s3_store_create_bucket_on_put = true`; test_s3_store_bucket_exists shows the "
                          "server's answer.",),
             source="lab fault s3-bucket-missing (tests/data/logs/s3/bucket-missing-glance-api.log)"),
        Rule("500-s3-keys-refused", "store_config",
             "internal error: the S3 server answered 403 to the s3 store's HEAD of its bucket: its keys are "
             "refused (a wrong or rotated s3_store_secret_key / s3_store_access_key) or, when "
             "test_s3_store_keys_are_accepted passes, the bucket is refused to them (store permissions)",
             statuses=(500,), log=r"failed to get bucket info: an error occurred \(403\)|\((?:invalidaccesskeyid|"
                                  r"signaturedoesnotmatch)\) when calling", fault="s3 keys refused",
             remediation=("Put the S3 user's current access and secret key in the store's section "
                          "(`s3_store_access_key`, `s3_store_secret_key`) on every node and restart glance-api; "
                          "test_s3_store_keys_are_accepted and test_s3_store_keys_may_use_the_bucket say which of "
                          "keys or bucket access the server refuses.",),
             source="lab fault s3-wrong-secret (tests/data/logs/s3/wrong-secret-glance-api.log)"),
        Rule("store-disabled-missing-dir", "store_config",
             "the store is disabled: its directory does not exist and glance-api could not create it "
             "(check filesystem_store_datadir)", statuses=(410,), body=r"error in store configuration",
             log=r"unable to create datadir", fault="store directory missing",
             source="lab fault store-dir-unusable (tests/data/logs/glance-api.log)"),
        Rule("store-disabled-rbd-client-files", "store_config",
             "the store is disabled: the host checks find its ceph conf or keyring missing (Glance's "
             "librados then speaks of a missing keyring or of permission denied)", statuses=(410,),
             body=r"error in store configuration", log=r"rbd store [^ ]+: [^ ]+ missing \(",
             fault="Ceph client files missing", source="tests/unit/test_rbd.py (probe findings as context)"),
        Rule("store-disabled", "store_config",
             "the store is disabled: glance-api could not configure it (missing or unusable directory, "
             "pool or credentials)", statuses=(410,), body=r"error in store configuration",
             examples=("store-disabled-410",)),
        Rule("store-timeout", "store_config", "the store did not complete an operation in time",
             statuses=(503,), body=r"operation timed out|check storage health", examples=("store-timeout-503",)),
        Rule("unknown-store", "store_config", "glance-api does not know the store the upload asked for",
             statuses=(400,), body=r"store for identifier .* not found|unknown scheme|"
                                   r"store '[^']*' (does not exist|is not configured)",
             examples=("unknown-store-400",)),
        Rule("web-download-filtered", "store_config",
             "Glance's [import_filtering_opts] refuse the web-download URL (scheme, host, port, or a loopback "
             "or link-local address not in allowed_hosts): configuration, no store was tried", statuses=(400,),
             body=r"uri for web-download does not pass filtering", fault="web-download URL refused by Glance's filter",
             remediation=("Compare the URL with [import_filtering_opts] in glance-api.conf on every node (the "
                          "canary's evidence lists them and what each refuses): allowed_schemes, allowed_hosts / "
                          "disallowed_hosts, allowed_ports / disallowed_ports. Glance 33 refuses loopback and "
                          "link-local addresses unless the host is in allowed_hosts; an allowed list set makes its "
                          "disallowed list ignored.",
                          "Serve the data from an address and port the filter allows (--web-download-bind, "
                          "--web-download-port, or --web-download-url), or allow them in glance-api.conf and "
                          "restart glance-api."),
             examples=("web-download-filtered-400",)),
        Rule("500-store-dir-missing", "store_config",
             "internal error: the store's directory does not exist (unmounted or moved under the running "
             "glance-api)", statuses=(500,), log=r"\[errno 2\] no such file or directory",
             log_cause="store_config", fault="store directory missing",
             remediation=("Mount or recreate the store directory the config names "
                          "(`filesystem_store_datadir`), owned by the glance user, then restart glance-api.",),
             source="tests/data/logs/issue17/vanished (lab, by hand: the cheap store unmounted and moved)"),
        Rule("500-cinder-volume-type", "store_config",
             "internal error: the volume type glance-api.conf names (cinder_volume_type) does not exist in Cinder "
             "(glance-api only warned at start)", statuses=(500,), log=r"volume type with name .* could not be found",
             fault=CINDER_TYPE, source="tests/data/cinder/cinder-type-missing/glance-api.log",
             remediation=("Create the volume type in Cinder (`openstack volume type create --property "
                          "volume_backend_name=BACKEND NAME`), make it usable by the store's project, or name an "
                          "existing one in [cinder] cinder_volume_type and restart glance-api.",)),
        Rule("500-cinder-volume-stuck", "store_config",
             "internal error: the image's volume never became available (cinder-volume down, or its backend "
             "failing); glance_store gave up after cinder_state_transition_timeout", statuses=(500,),
             log=r"timeout while waiting while volume|the status of volume .* is unexpected", fault=CINDER_STUCK,
             source="glance_store/_drivers/cinder/store.py _wait_volume_status",
             remediation=("Check `openstack volume service list`: start cinder-volume, fix its backend; then delete "
                          "the volumes named image-<id> left in error.",)),
        Rule("500", "store_config",
             "glance-api failed with an internal error the log does not explain; a glance-api that answers "
             "500 to every call most often has a broken store configuration (default_backend, store "
             "sections)", statuses=(500,), examples=("internal-error-500",)),
        Rule("wrong-store", "store_config", "the image landed in another store than the one asked for",
             statuses=("wrong-store",), source="the canary's own check of the image record"),
    ),
)
