"""Availability: glance-api not running or not answering, or unable to reach what it needs (its
database, Keystone). A glance-api that cannot read or write its database fails every call with 500:
that is this cause, not a store's configuration."""
from glance_hc.causes.model import Cause, LogPattern, Rule

_DB = "tests/data/logs/issue17/database/glance-api.log"
_MARIADB = "tests/data/logs/issue17/database-mariadb/glance-api.log"  # its grants revoked (lab.mariadb.lock_out)
DATABASE = "database unavailable"

CAUSE = Cause(
    key="availability",
    title="glance-api not running or not answering",
    runbook_step="Diagnostic workflow, step 2",
    symptom="Every image call fails or times out; nothing reaches the store.",
    remediation=(
        "Start or restart the service: `systemctl restart openstack-glance-api` (traditional) or "
        "`docker restart glance_api` (Kolla).",
        "Read the last 80 log lines for the reason it stopped (`journalctl -u openstack-glance-api -n 80` "
        "or `docker logs glance_api`).",
        "Check that the load balancer's glance_api backend lists live servers.",
    ),
    patterns=(
        LogPattern(r"\(sqlite3\.operationalerror\)|unable to open database file|attempt to write a readonly "
                   r"database|dbconnectionerror|can't connect to mysql server|lost connection to mysql server|"
                   r"\(psycopg2\.operationalerror\)", source=_DB,
                   fault=DATABASE, examples=(
                       "Caught error: (sqlite3.OperationalError) attempt to write a readonly database",)),
        LogPattern(r"\(pymysql\.err\.operationalerror\) \(\d+, \"access denied for user", source=_MARIADB,
                   fault=DATABASE, examples=(
                       "Caught error: (pymysql.err.OperationalError) (1044, \"Access denied for user 'glance'@'%' "
                       "to database 'glance'\")",)),
    ),
    rules=(
        Rule("500-database", "availability",
             "internal error: glance-api cannot use its database (every image call needs it)", statuses=(500,),
             log_cause="availability", fault=DATABASE, examples=("database-unwritable-500",),
             remediation=(
                 "Make the database reachable and writable for glance-api: for sqlite, the file and its "
                 "directory writable by the glance user (sqlite writes a journal beside the file); for "
                 "MySQL/PostgreSQL, the server up and `[database] connection` right "
                 "(`glance-manage db check` as the glance user says which).",
                 "Then retry the upload; no store needs fixing.")),
        Rule("no-live-server", "availability", "the load balancer has no live glance-api server",
             statuses=(503,), body=r"no server is available", examples=("haproxy-503-no-server",)),
        Rule("503", "availability", "glance-api or its proxy answered 503 Service Unavailable", statuses=(503,),
             source="webob/HAProxy 503"),
        Rule("reset-answer-lost", "availability",
             "the connection was reset and the image is back in queued: glance-api refused the upload early "
             "and its answer was lost on the way (HAProxy drops an answer uWSGI sends before reading the "
             "whole body); no worker died", statuses=("connection-reset",), image_status=("queued",),
             source="tests/data/api/README.md (what the real captures taught)"),
        Rule("unauthorized", "availability",
             "the token was refused (expired during a long upload, or glance-api cannot reach Keystone)",
             statuses=(401,), source="keystonemiddleware"),
        Rule("cannot-connect", "availability", "nothing accepts connections at the Image API address",
             statuses=("connect-failed", "connect-timeout"), examples=("connection-refused",)),
    ),
)
