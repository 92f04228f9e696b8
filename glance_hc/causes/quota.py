"""Bonus cause: a project quota or size limit refused the image (unified limits, image_size_cap,
user_storage_quota): Glance answers 413 for all of them."""
from glance_hc.causes.model import Cause, LogPattern, Rule

CAUSE = Cause(
    key="quota",
    lab_faults=("project-quota", "image-size-cap"),
    title="Project image quota exceeded",
    runbook_step="Bonus: project image quota",
    symptom="Uploads fail with 413 'will exceed the limit' or ImageSizeLimitExceeded.",
    remediation=(
        "Raise the limit (`openstack limit set` for unified limits, or `image_size_cap` / "
        "`user_storage_quota` in glance-api.conf), or delete images the project no longer needs.",
        "Track per-project usage against limits and warn before users hit them.",
    ),
    patterns=(
        LogPattern(r"exceeds the storage quota", source="glance/api/v2/image_data.py StorageQuotaFull"),
        LogPattern(r"incoming image is too large", source="glance/api/v2/image_data.py ImageSizeLimitExceeded"),
        LogPattern(r"will exceed the limit|over limit of", source="oslo.limit ProjectOverLimit"),
        LogPattern(r"would exceed", source="oslo.limit"),
        LogPattern(r"quota exceeded", source="glance/common/exception.py"),
        LogPattern(r"over (the )?(quota|limit)", source="oslo.limit"),
        LogPattern(r"imagesizelimitexceeded", source="glance/common/exception.py"),
    ),
    rules=(
        Rule("quota", "quota", "a quota or size limit refused the image", statuses=(413,),
             body=r"exceed|quota|limit|too large",
             examples=("quota-unified-limits-413-direct", "quota-unified-limits-413-vip", "image-size-cap-413",
                       "user-storage-quota-413")),
        Rule("413-quota-log", "quota", "HTTP 413 and the log shows a quota refusal", statuses=(413,),
             log_cause="quota", source="a 413 whose body was lost behind HAProxy (tests/data/api/README)"),
        Rule("413", "quota", "HTTP 413 without a known message: a size limit (quota, image_size_cap or a "
             "proxy's body size limit)", statuses=(413,), source="webob HTTPRequestEntityTooLarge"),
        Rule("500-quota", "quota", "internal error, and the log shows a quota refusal", statuses=(500,),
             log_cause="quota", source="oslo.limit errors outside image_data.py's mapping"),
    ),
)
