"""Root cause 5: the upload was cut on its way (a client that hung up, a proxy or server timeout).

Glance's cleanup after any failed upload ("Unable to remove partial image data ...") is not a cut
upload: it says why the partial file could not be removed (a read-only or vanished store), and is
shown beside the line of the request that failed, never counted here.
"""
from glance_hc.causes.model import CLEANUP, CONSEQUENCE, Cause, LogPattern, Rule

_ISSUE17 = "tests/data/logs/issue17"

CAUSE = Cause(
    key="interrupted_upload",
    lab_faults=("proxy-timeout", "client-disconnect", "uwsgi-limit-post", "listen-timeout"),
    title="Interrupted upload (client disconnect or proxy timeout)",
    runbook_step="Root cause 5",
    symptom="Large uploads fail after a fixed time with 504 or a reset; Glance logs a read error on "
            "wsgi.input and returns the image to queued.",
    remediation=(
        "Set HAProxy `timeout client` and `timeout server` (and uWSGI socket-timeout/harakiri, glance "
        "client_socket_timeout) above the time the largest image takes to upload at the slowest client rate.",
        "Ask users on slow links to use `glance image-create-via-import` with web-download or to upload "
        "from inside the cloud.",
    ),
    patterns=(
        LogPattern(r"error during read\([0-9]+\) on wsgi.input", source="tests/data/logs/glance-api.log",
                   examples=("Failed to upload image data due to internal error: OSError: error during "
                             "read(65536) on wsgi.input",)),
        LogPattern(r"unable to receive chunked part", source="tests/data/logs/glance-api.log",
                   examples=("Caught error: unable to receive chunked part: OSError: unable to receive "
                             "chunked part",)),
        LogPattern(r"client disconnected|disconnected after writing|timeout during read",
                   source="eventlet.wsgi / uWSGI"),
        LogPattern(r"uwsgi_response_write_body_do\(\) timeout", source="uWSGI core/writer.c"),
        # uWSGI's limit-post refusing a body larger than its limit (lab fault uwsgi-limit-post)
        LogPattern(r"invalid \(too big\) content_length", source="uWSGI core/protocol.c (limit-post)",
                   examples=("Invalid (too big) CONTENT_LENGTH. skip.",)),
        LogPattern(r"filesystem store operation timed out", source="glance/api/v2/image_data.py TimeoutError"),
        # HAProxy httplog termination state: client (c) or server (s) side aborted the request
        LogPattern(r"glance[^ ]* [^ ]+ [^ ]+ (504|408) .* [cs][dhr]-- ", source="tests/data/logs/haproxy.log",
                   examples=(
                       '127.0.0.1:45270 [25/Nov/2026:15:08:23.651] glance_api glance_api/controller1 0/0/0/-1/3003 '
                       '504 198 - - sH-- 3/1/0/0/0 0/0 "PUT /v2/images/e7b3712b-76dc-41da-9f0b-629f3e1a4693/file '
                       'HTTP/1.1"',)),
        # uWSGI's side of a cut body; Glance logs the same event with the request id (the cause)
        LogPattern(r"\[uwsgi-body-read\] error reading", role=CONSEQUENCE,
                   source=f"{_ISSUE17}/own-canary/glance-api-uwsgi.log", examples=(
                       "[uwsgi-body-read] Error reading 65536 bytes. Content-Length: 8388608 consumed: 2097152 "
                       "left: 6291456 message: Client closed connection",)),
        # uWSGI failing to write the answer to a client that already left: it follows the cut (the
        # body-read error, Glance's own line with the request id), it is not a cut of its own
        LogPattern(r"sigpipe: writing to a closed pipe/socket/fd|uwsgi_response_writev?_[a-z_]*do\(\): broken pipe",
                   role=CONSEQUENCE, source=f"{_ISSUE17}/sigpipe/glance-api-uwsgi.log", examples=(
                       "Tue Dec  1 23:13:26 2026 - SIGPIPE: writing to a closed pipe/socket/fd (probably the "
                       "client disconnected) !!!",
                       "Tue Dec  1 23:13:26 2026 - uwsgi_response_writev_headers_and_body_do(): Broken pipe "
                       "[core/writer.c line 306] during PUT /v2/images/61f2942b-ea91-4762-809b-ad6dd2c73c02/file "
                       "(127.0.0.1)")),
        # Glance tidying up after an upload that failed for any reason
        LogPattern(r"unable to remove partial image", role=CLEANUP,
                   source=f"{_ISSUE17}/read-only/glance-api.log, {_ISSUE17}/vanished/glance-api.log", examples=(
                       "Unable to remove partial image data for image dd920f2a-4e81-4e5b-b189-c7c087935dfc: "
                       "[Errno 30] Read-only file system",
                       "Unable to remove partial image data for image 5b72e763-5839-4784-a48c-d13e1c9b4945: "
                       "[Errno 2] No such file or directory")),
        LogPattern(r"cleaning up .*partial upload", role=CLEANUP, source="glance_store drivers"),
    ),
    rules=(
        Rule("deleted-during-upload", "interrupted_upload", "the image was deleted while its data was uploading",
             statuses=(410,), body=r"could not be found after upload", examples=("deleted-during-upload-410",)),
        Rule("gateway-timeout", "interrupted_upload",
             "the proxy gave up waiting for glance-api (its server timeout is shorter than the upload)",
             statuses=(504,), examples=("haproxy-504",)),
        Rule("request-timeout", "interrupted_upload",
             "the request body did not arrive in time (proxy or server request timeout)", statuses=(408,),
             examples=("haproxy-request-timeout-408",)),
        Rule("client-timeout", "interrupted_upload", "no answer within the client's timeout",
             statuses=("read-timeout", "client-deadline"), source="the canary's own timeouts"),
        Rule("client-disconnect", "interrupted_upload", "the client hung up before the body was complete",
             statuses=("client-disconnect",), examples=("client-disconnect-direct", "client-disconnect-vip")),
        Rule("size-mismatch-400", "interrupted_upload",
             "glance-api received fewer bytes than announced: the body was cut short", statuses=(400,),
             body=r"size mismatch", examples=("size-mismatch-400",)),
        Rule("500-body-unreadable", "interrupted_upload",
             "internal error while reading the request body (cut, or sent chunked to a server that cannot "
             "read chunked bodies)", statuses=(500,), log_cause="interrupted_upload",
             examples=("chunked-body-direct-500",)),
    ),
)
