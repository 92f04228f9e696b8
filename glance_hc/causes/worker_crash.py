"""Root cause 4: a glance-api worker died (SIGKILL, the OOM killer, uWSGI's harakiri)."""
from glance_hc.causes.model import CONSEQUENCE, STARTUP, Cause, LogPattern, Rule

_UWSGI = "tests/data/logs/issue17/uwsgi-harakiri.log"

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
        Rule("killed", "worker_crash", "the image went to killed (legacy status of a failed upload)",
             image_status=("killed",), source="facts.md: killed is a legacy status"),
        Rule("500-worker-died", "worker_crash", "internal error, and the log shows a worker dying",
             statuses=(500,), log_cause="worker_crash", source=_UWSGI),
        Rule("stuck", "worker_crash", "the image never became active", statuses=("stuck",),
             source="the canary's waiter"),
    ),
)
