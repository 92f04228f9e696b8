"""Root cause 4: a glance-api worker died (SIGKILL, the OOM killer, uWSGI's harakiri)."""
from glance_hc.causes.model import CONSEQUENCE, STARTUP, Cause, LogPattern, Rule

_UWSGI = "tests/data/logs/issue17/uwsgi-harakiri.log"

# What Glance 33 does with an import whose glance-api died (glance/api/v2/images.py
# _enforce_import_lock, _bust_import_lock): the task stays processing and its id stays in the image's
# os_glance_import_task lock; every new import of the image answers 409 "Image has active task" until
# the task's updated_at is 60 minutes old (120 for a pending task), then the next import breaks the
# lock, fails the old task with "Expired lock preempted" and takes over. A lock naming a task that no
# longer exists is broken at once. Used by checks/test_worker_crash.py's import task check.
IMPORT_LOCK_EXPIRY_MINUTES = 60
IMPORT_TASK_REMEDIATION = (
    "An import whose glance-api died stays `processing`, and its image keeps the lock "
    "(os_glance_import_task). Glance breaks that lock itself at the next import once the task's "
    f"updated_at is {IMPORT_LOCK_EXPIRY_MINUTES} minutes old ({2 * IMPORT_LOCK_EXPIRY_MINUTES} for a pending "
    "task; glance/api/v2/images.py _enforce_import_lock): before that every import answers 409 "
    "\"Image has active task\".",
    "Image left in importing (glance-direct, web-download): Glance accepts no new import for it (glance-direct "
    "needs uploading, web-download queued), so delete it (`openstack image delete <id>`) and upload or "
    "import it again; the staging file of a glance-direct import is on the node that staged it.",
    "Active image with a copy-image task (os_glance_importing_to_stores set): run the copy again "
    f"(`glance image-import <id> --import-method copy-image --stores <store>`) after the {IMPORT_LOCK_EXPIRY_MINUTES} "
    "minutes; Glance fails the old task (\"Expired lock preempted\") and clears its stores from the image.",
    "Tasks can be neither deleted nor failed through the API: a processing task whose image is gone is a "
    "harmless record that stays listed.",
)

CAUSE = Cause(
    key="worker_crash",
    lab_faults=("worker-killed", "import-cut-by-restart"),
    title="glance-api worker crash or OOM",
    runbook_step="Root cause 4",
    symptom="The image is stuck in saving (later killed); the log shows a worker killed by signal 9, "
            "often the OOM killer.",
    remediation=(
        "Give the workers memory headroom (host RAM or the container's limit) above what a large upload "
        "needs, and stream uploads rather than buffer them.",
        "Watch worker restarts and OOM kills (`dmesg -T | grep -i 'killed process'`, container restart "
        "counts) and alert on them.",
        "Delete images left in saving after the crash: `openstack image delete <id>`.",
        *IMPORT_TASK_REMEDIATION,
    ),
    patterns=(
        # said once at start-up when harakiri is set: a configuration remark, nobody died
        LogPattern(r"you have enabled harakiri without post buffering", role=STARTUP, source=_UWSGI, examples=(
            " *** WARNING: you have enabled harakiri without post buffering. Slow upload could be rejected "
            "on post-unbuffered webservers *** ",)),
        LogPattern(r"died, killed by signal|worker [0-9]+ \(pid: [0-9]+\) died|misteriously killed by signal",
                   source=_UWSGI, examples=("DAMN ! worker 1 (pid: 27366) died, killed by signal 9 :( trying "
                                            "respawn ...",)),
        LogPattern(r"killed by signal 9|child [0-9]+ killed by signal", source="oslo.service"),
        LogPattern(r"\*\*\* harakiri on (worker|gateway|mule)", source=_UWSGI, fault="uWSGI harakiri",
                   examples=("*** HARAKIRI ON WORKER 1 (pid: 27366, try: 1, graceful: yes) ***",)),
        # uWSGI's status report around a harakiri: the kill line above is the cause
        LogPattern(r"harakiri !!! |harakiri \[core [0-9]+\]|harakiri triggered by worker|harakiri: ",
                   role=CONSEQUENCE, source=_UWSGI, examples=("HARAKIRI triggered by worker 1 core 0 !!!",
                                                              "HARAKIRI [core 0] 127.0.0.1 - GET /?5 since")),
        LogPattern(r"respawned uwsgi worker", role=CONSEQUENCE, source=_UWSGI,
                   examples=("Respawned uWSGI worker 1 (new pid: 27486)",)),
        LogPattern(r"out of memory|killed process [0-9]+|oom-kill", source="the kernel's OOM killer (dmesg)"),
    ),
    rules=(
        Rule("bad-gateway", "worker_crash",
             "the proxy lost its connection to glance-api mid-request: a worker died or was killed",
             statuses=(502,), examples=("haproxy-502",)),
        Rule("connection-reset", "worker_crash",
             "glance-api closed the connection without answering: a worker died mid-request",
             statuses=("connection-reset",), examples=("worker-killed-reset",)),
        Rule("stuck-saving", "worker_crash",
             "the image is stuck in saving: the worker that held the upload died", image_status=("saving",),
             examples=("stuck-saving-after-wait",)),
        Rule("stuck-importing", "worker_crash", "the image is stuck in importing: the worker that ran the "
             "import died", statuses=("stuck",), image_status=("importing", "uploading"),
             source="glance/async_ import flows"),
        # a failed task's message (pseudo-status "task-failure": checks/test_availability.py's task check)
        Rule("import-lock-preempted", "worker_crash", "Glance broke the import lock of a task left processing "
             "(its glance-api died) when a new import came after the lock expired", statuses=("task-failure",),
             body=r"expired lock preempted", source="glance/api/v2/images.py _bust_import_lock"),
        Rule("killed", "worker_crash", "the image went to killed (legacy status of a failed upload)",
             image_status=("killed",), source="facts.md: killed is a legacy status"),
        Rule("500-worker-died", "worker_crash", "internal error, and the log shows a worker dying",
             statuses=(500,), log_cause="worker_crash", source=_UWSGI),
        Rule("stuck", "worker_crash", "the image never became active", statuses=("stuck",),
             source="the canary's waiter"),
    ),
)
