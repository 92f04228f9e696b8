"""Availability: glance-api not running or not answering, or unable to reach what it needs (its
database, Keystone). A glance-api that cannot read or write its database fails every call with 500:
that is this cause, not a store's configuration. Keystone failing (its 500s, a token it cannot
validate) makes Glance answer 401 or 503 although Glance is fine: the fault then is Keystone's,
named as such, and a database server Keystone and Glance share is named once for both."""
from glance_hc.causes.model import CONSEQUENCE, Cause, LogPattern, Rule

_DB = "tests/data/logs/issue17/database/glance-api.log"
_MARIADB = "tests/data/logs/issue17/database-mariadb/glance-api.log"  # its grants revoked (lab.mariadb.lock_out)
# issue 26 (tests/tools/capture_database_faults.py): glance-api's and Keystone's lines on the lab's MariaDB
_26 = "tests/data/logs/issue26"
_DOWN = f"{_26}/database-down/controller1-glance-api.log"
_RESTART = f"{_26}/database-restart/controller1-glance-api.log"
_FULL = f"{_26}/database-out-of-connections/controller1-glance-api.log"
_KEYSTONE_FULL = f"{_26}/keystone-out-of-connections/controller1-glance-api.log"
_CLIENT = f"{_26}/client-errors/pymysql.txt"
DATABASE = "database unavailable"
UNREACHABLE = "database unreachable"
CONNECTION_LOST = "database connection lost"
OUT_OF_CONNECTIONS = "database out of connections"
DEADLOCK = "database deadlock"
KEYSTONE = "Keystone failing"

_POOL = ("oslo.db's pool on every controller: `[database] max_pool_size` + `max_overflow` per worker "
         "process, times glance-api's workers, times the controllers, plus Keystone's and every other "
         "service's, must stay below the server's `max_connections`")

CAUSE = Cause(
    key="availability",
    lab_faults=("database-down", "database-out-of-connections", "keystone-stopped", "database-unopenable",
                "controller2-stopped"),
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
        # the server refuses every new connection: Kolla's/MariaDB's max_connections reached
        LogPattern(r"\(1040, ['\"]too many connections|\btoo many connections\b", source=_FULL,
                   fault=OUT_OF_CONNECTIONS, examples=(
                       "Caught error: (pymysql.err.OperationalError) (1040, 'Too many connections')",)),
        # nothing listens at the database's address (server stopped, crashed, wrong host or port)
        LogPattern(r"\(2003, ['\"]can't connect to mysql server|can't connect to mysql server|"
                   r"\(2005, ['\"]unknown mysql server host", source=_DOWN, fault=UNREACHABLE, examples=(
                       "Caught error: (pymysql.err.OperationalError) (2003, \"Can't connect to MySQL server on "
                       "'127.0.0.8' ([Errno 111] Connection refused)\")",)),
        # the connection went mid-way: the server restarted or a connection was killed during a query
        # (2013), or the server had closed an idle one (wait_timeout, restart) when it was used (2006)
        LogPattern(r"lost connection to mysql server|mysql server has gone away", source=f"{_RESTART}, {_CLIENT}",
                   fault=CONNECTION_LOST, examples=(
                       "Caught error: (pymysql.err.OperationalError) (2013, 'Lost connection to MySQL server "
                       "during query')",
                       "(pymysql.err.OperationalError) (2006, \"MySQL server has gone away (BrokenPipeError(32, "
                       "'Broken pipe'))\")")),
        # a deadlock that reached the log: oslo.db's retries for it ran out (`DB exceeded retry limit`)
        # or the call had none; one it retried and that then succeeded prints nothing above DEBUG
        LogPattern(r"\(1213, ['\"]deadlock found when trying to get lock|db exceeded retry limit",
                   source=f"{_CLIENT}, oslo_db.api.wrap_db_retry", fault=DEADLOCK, examples=(
                       "(pymysql.err.OperationalError) (1213, 'Deadlock found when trying to get lock; try "
                       "restarting transaction')",)),
        # oslo.db retrying a deadlock or a lost connection (DEBUG): no failure, whatever came before
        LogPattern(r"performing db retry for function", role=CONSEQUENCE, source="oslo_db.api.wrap_db_retry"),
        LogPattern(r"\(sqlite3\.operationalerror\)|unable to open database file|attempt to write a readonly "
                   r"database|dbconnectionerror|\(psycopg2\.operationalerror\)", source=_DB,
                   fault=DATABASE, examples=(
                       "Caught error: (sqlite3.OperationalError) attempt to write a readonly database",)),
        LogPattern(r"\(pymysql\.err\.operationalerror\) \(\d+, \"access denied for user", source=_MARIADB,
                   fault=DATABASE, examples=(
                       "Caught error: (pymysql.err.OperationalError) (1044, \"Access denied for user 'glance'@'%' "
                       "to database 'glance'\")",)),
        # keystonemiddleware could not validate a token: Keystone answered an error (its own 500s,
        # HAProxy's 502 for a Keystone that hung up) or nothing; glance-api then answers 401 or 503
        LogPattern(r"bad response code while validating token|identity server rejected authorization",
                   source=_KEYSTONE_FULL, fault=KEYSTONE, examples=(
                       "Bad response code while validating token: 502 Bad Gateway (HTTP 502)",)),
        # what keystonemiddleware says after it: the same failure again, and Keystone's answer
        LogPattern(r"unable to validate token: failed to fetch token data|identity response: ", role=CONSEQUENCE,
                   source=_KEYSTONE_FULL, examples=(
                       "Unable to validate token: Failed to fetch token data from identity server",
                       "Identity response: <html><body><h1>502 Bad Gateway</h1>")),
        # keystoneauth retrying glance's own service-user request to Keystone: a retry, not a failure
        LogPattern(r"keystoneauth\.session .*failure: unable to establish connection to .*retrying",
                   role=CONSEQUENCE, source=_KEYSTONE_FULL, examples=(
                       "WARNING keystoneauth.session [None req-be7fda67-0041-4d70-89c7-a4dae907c111 "
                       "c3a60bc7cf5e40609e96190ceaedcffe 34df9ab77c7f4ead8fb49b5ecd1dc8b6 - - default default] "
                       "Failure: Unable to establish connection to http://127.0.0.10:5000/v3/auth/tokens: "
                       "('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
                       "response')). Retrying in 0.5s.",)),
    ),
    rules=(
        Rule("500-database-out-of-connections", "availability",
             "internal error: the database server refuses glance-api's new connections, its max_connections "
             "is reached", statuses=(500,), log=r"too many connections", fault=OUT_OF_CONNECTIONS, source=_FULL,
             remediation=(
                 "See who holds the connections: `SHOW PROCESSLIST` / `SELECT user, COUNT(*) FROM "
                 "information_schema.processlist GROUP BY user` on the database server, and "
                 "`SHOW GLOBAL STATUS LIKE 'Max_used_connections'`.",
                 "Raise the server's `max_connections` (Kolla: `mariadb_max_connections` or a "
                 "`[mysqld] max_connections` override in /etc/kolla/config/galera.cnf; else my.cnf) above "
                 f"what the clients may open: {_POOL}; or lower the pools.",
                 "Then retry: glance-api opens new connections by itself, no restart is needed.")),
        Rule("500-database-unreachable", "availability",
             "internal error: glance-api cannot connect to its database server", statuses=(500,),
             log=r"can't connect to mysql server|unknown mysql server host", fault=UNREACHABLE, source=_DOWN,
             remediation=(
                 "Start the database server or bring it back (Kolla: `docker ps -a --filter name=mariadb`, "
                 "`docker start mariadb`, and for Galera `kolla-ansible mariadb_recovery`; else "
                 "`systemctl status mariadb`); its error log says why it stopped.",
                 "Check that the host and port of `[database] connection` in glance-api.conf are the server's "
                 "(or its load balancer's) and reachable from this host.",
                 "Keystone usually shares the server: while it is down, tokens fail too (Keystone's 500s).")),
        Rule("500-database-connection-lost", "availability",
             "internal error: glance-api's connection to its database was lost during a query (the server "
             "restarted or ended the connection)", statuses=(500,),
             log=r"lost connection to mysql server|mysql server has gone away", fault=CONNECTION_LOST,
             source=f"{_RESTART}, {_CLIENT}", remediation=(
                 "See whether the database server restarted or killed connections (`SHOW GLOBAL STATUS LIKE "
                 "'Uptime'`, its error log, Galera's node state) and why.",
                 "Keep oslo.db's `[database] connection_recycle_time` below the server's `wait_timeout` and "
                 "below any load balancer's idle timeout in front of it (Kolla's HAProxy for mariadb).",
                 "A call cut by a restart is not retried by Glance: retry it once the server is back.")),
        Rule("500-database-deadlock", "availability",
             "internal error: a database deadlock that oslo.db did not or could no longer retry", statuses=(500,),
             log=r"deadlock found when trying to get lock|db exceeded retry limit", fault=DEADLOCK,
             source=f"{_CLIENT}, oslo_db.api.wrap_db_retry", remediation=(
                 "Find the transactions that collide: `SHOW ENGINE INNODB STATUS` (LATEST DETECTED DEADLOCK) "
                 "on the database server.",
                 "On Galera, send writes to one node only (Kolla's HAProxy keeps the others as backup); "
                 "concurrent writers on several nodes deadlock at commit.",
                 "Retry the call: a single deadlock is transient; many mean a hot row or a batch job.")),
        Rule("keystone-failing", "availability",
             "Keystone could not validate the token (it answered an error or nothing): Keystone is failing, "
             "not glance-api", statuses=(401, 503),
             log=r"bad response code while validating token|identity server rejected authorization",
             fault=KEYSTONE, source=_KEYSTONE_FULL, remediation=(
                 "Read Keystone's log for its errors (keystone.log, `docker logs keystone`): a Keystone that "
                 "cannot use its own database answers 500 to every token, often the database server "
                 "Glance shares.",
                 "Time a token: `openstack token issue`; check the load balancer's keystone backends.",
                 "glance-api needs no change: it validates tokens again once Keystone answers.")),
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
