"""The host side of the probe: run ON a glance-api host, answers one JSON document.

Shipped by glance_hc/probe/transport.py over the suite's own testinfra connection, as
`python3 -I -c BOOT <b64(zlib(this file))> <b64(json request)>` (Ansible's AnsiballZ idea):
the request is data, never code; every command here is an argv list with its own timeout
(no shell, no sed/awk); file contents travel as JSON strings, so they can never pose as
structure. It only reads: nothing is written, nothing restarted.

Stdlib only and Python 3.6+ (controllers may be old): no annotations, no walrus, no
`capture_output`. Every step catches its own exceptions and reports them as data.

Roles (the same file, run by other interpreters or users when a step needs them):
- probe:  the round trip itself (phases discover, stores_and_logs, request_lines, gate),
          elevated once through `sudo -n` when the operator has it;
- worker: what the glance worker user can do (store dir access, rbd client files and
          commands), run as that user (runuser / `<runtime> exec -u`), never as root;
- cephq:  one Ceph mon command through librados, run by the ceph CLI's own interpreter;
- files:  config files (and their drop-ins and includes) read inside a container.
"""
import base64
import bisect
import glob
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

PROTOCOL = 1
BOOT = ("import sys,zlib,base64;"
        "exec(compile(zlib.decompress(base64.b64decode(sys.argv[1])),'hc_host_probe','exec'))")
FILE_LIMIT = 1024 * 1024          # bytes of one config file
DROPIN_LIMIT = 256 * 1024
LOG_TAIL = 8 * 1024 * 1024        # bytes read from the end of a log file
LOG_KEEP = 400                    # matching lines kept per source
LINE_LIMIT = 4096                 # characters of one kept line
JOURNAL_LINES = 20000
INCLUDE_DEPTH = 5
UNITS = ("openstack-glance-api", "glance-api", "devstack@g-api")
CONFIG_CANDIDATES = ("/etc/glance/glance-api.conf", "/etc/glance/glance-uwsgi.ini",
                     "/etc/glance/glance-api-uwsgi.ini", "/etc/kolla/glance-api/glance-api.conf",
                     "/etc/haproxy/haproxy.cfg", "/etc/kolla/haproxy/haproxy.cfg")
CONTAINER_FILES = ("/etc/glance/glance-api.conf", "/etc/glance/glance-api-uwsgi.ini")
POLICY_FILES = ("/etc/glance/policy.yaml", "/etc/glance/policy.json")
PROCESS_PATTERN = re.compile(r"glance|uwsgi|haproxy|keystone", re.I)
GLANCE_API_PATTERN = re.compile(r"glance-api|glance\.wsgi|glance-api-uwsgi|glance-uwsgi")
RUNNER_PATTERN = re.compile(r"^(glance-api|uwsgi|python[0-9.]*)$", re.I)
OOM_PATTERN = re.compile(r"out of memory|killed process|oom-kill|oom_reaper", re.I)
GATE_NOISE = re.compile(r"eventlet|deprecat|import eventlet|^ *$|migration to a different|framework\.|"
                        r"for more detail|asyncio/migration", re.I)
ISO_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
DMESG_STAMP = re.compile(r"\[([A-Z][a-z][a-z] [A-Z][a-z][a-z] +[0-9]+ [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4})\]")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# ------------------------------------------------------------------ small helpers
def text_of(data):
    """Bytes from a host as text that cannot fail to decode (a garbage file is still data)."""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def error_text(exc):
    return "{}: {}".format(type(exc).__name__, exc)[:500]


def run(argv, timeout, env=None, limit=16 * 1024 * 1024):
    """One command, an argv list, bounded: {rc, out, err}; rc 124 on timeout, 127 if it cannot start."""
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, close_fds=True, start_new_session=True)
    except OSError as exc:
        return {"rc": 127, "out": "", "err": "{}: {}".format(argv[0], exc.strerror or exc)}
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            pass
        out, err = proc.communicate()
        rc = 124
        err = (err or b"") + "\n{} timed out after {}s".format(argv[0], timeout).encode()
    return {"rc": rc, "out": text_of(out[-limit:]), "err": text_of(err[-65536:])}


def which(name):
    return shutil.which(name, path=os.environ.get("PATH") or SAFE_PATH)


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError):
        return str(gid)


def mount_ns(pid="self", kind="mnt"):
    try:
        return re.sub(r"[^0-9]", "", os.readlink("/proc/{}/ns/{}".format(pid, kind)))
    except OSError:
        return ""


def step(result, name, func, *args):
    """Run one step; its exception becomes data in result['errors'], never the end of the probe."""
    try:
        return func(*args)
    except Exception as exc:  # noqa: BLE001 - one odd value fails one step, not the host
        result.setdefault("errors", []).append({"step": name, "error": error_text(exc)})
        return None


# ------------------------------------------------------------------ reading files
def may_read(path, cred):
    """Could a process with these credentials ({uid, gids}) open `path`? Mode bits only (no ACLs).

    Files named by a process that is not root's are read only when that process's user could
    read them itself: a worker user's `--ini /etc/shadow` names nothing root would ship.
    """
    if cred is None or cred.get("uid") == 0:
        return True, ""
    uid, gids = cred["uid"], set(cred.get("gids") or [])
    real = os.path.realpath(path)
    parts = real.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i]) or "/"
        if not _allowed(os.stat(parent), uid, gids, 1):
            return False, "{} is not searchable by uid {}".format(parent, uid)
    if not _allowed(os.stat(real), uid, gids, 4):
        return False, "not readable by uid {} (the process that names it)".format(uid)
    return True, ""


def _allowed(st, uid, gids, bit):
    if st.st_uid == uid:
        return bool(st.st_mode & (bit << 6))
    if st.st_gid in gids:
        return bool(st.st_mode & (bit << 3))
    return bool(st.st_mode & bit)


def read_file(path, limit=FILE_LIMIT, cred=None):
    """{text} or {error}: a regular file's first `limit` bytes, decoded with errors='replace'."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        return {"error": "not an absolute path"}
    try:
        st = os.stat(path)
    except OSError as exc:
        return {"error": _os_error(path, exc), "missing": exc.errno == 2}
    if not stat.S_ISREG(st.st_mode):
        return {"error": "not a regular file"}
    try:
        ok, why = may_read(path, cred)
        if not ok:
            return {"error": why}
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        return {"error": _os_error(path, exc)}
    out = {"text": text_of(data[:limit])}
    if len(data) > limit:
        out["truncated"] = limit
    return out


def _os_error(path, exc):
    if exc.errno == 13:
        parent = os.path.dirname(path)
        if parent and not os.access(parent, os.X_OK):
            return "{} is not accessible as {}".format(parent, user_name(os.geteuid()))
        return "not readable as {}".format(user_name(os.geteuid()))
    return exc.strerror or str(exc)


def dropin_dirs(config_path, extra_dirs=()):
    """What oslo.config reads besides a config file: `--config-dir`s and the `.conf.d` dirs beside it."""
    base = os.path.dirname(config_path)
    name = os.path.basename(config_path)
    dirs = list(extra_dirs)
    if name.endswith(".conf"):
        dirs += [os.path.join(base, name + ".d"), os.path.join(base, "glance.conf.d")]
    return list(dict.fromkeys(d for d in dirs if isinstance(d, str) and d.startswith("/")))


def list_dropins(directory):
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".conf"))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names]


INCLUDE_LINE = re.compile(r"^\s*(ini|inherit)\s*=\s*(.+?)\s*$")


def uwsgi_includes(text, including_path):
    """Files a uWSGI ini pulls in with `ini =` / `inherit =` (a trailing `:section` dropped)."""
    found = []
    for line in text.splitlines():
        m = INCLUDE_LINE.match(line)
        if not m:
            continue
        target = m.group(2)
        if ":" in target and not os.path.exists(target):
            target = target.rsplit(":", 1)[0]
        if not target.startswith("/"):
            target = os.path.join(os.path.dirname(including_path), target)
        found.append(os.path.normpath(target))
    return found


def read_config_set(paths, cred_of=None, dirs_of=None, files=None, errors=None):
    """Every file of `paths`, each config file's drop-ins and each uWSGI ini's includes.

    cred_of: path -> credentials of the process that named it (None: root's own candidates).
    dirs_of: path -> `--config-dir` values that process gave.
    """
    files = {} if files is None else files
    errors = {} if errors is None else errors
    cred_of = cred_of or {}
    dirs_of = dirs_of or {}
    queue = [(p, 0, cred_of.get(p)) for p in paths]
    seen = set()
    while queue:
        path, depth, cred = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        got = read_file(path, cred=cred)
        if "text" in got:
            files[path] = got["text"]
        elif got.get("missing") and depth == 0 and path in CONFIG_CANDIDATES:
            continue  # a usual place that is simply not used on this host
        else:
            errors[path] = got["error"]
            continue
        if path.endswith(".conf"):
            for directory in dropin_dirs(path, dirs_of.get(path, ())):
                for dropin in list_dropins(directory):
                    queue.append((dropin, depth + 1, cred))
        if path.endswith(".ini") and depth < INCLUDE_DEPTH:
            for included in uwsgi_includes(got["text"], path):
                queue.append((included, depth + 1, cred))
    return files, errors


# ------------------------------------------------------------------ processes
def processes():
    """Every process whose command line mentions glance, uWSGI or haproxy, from /proc."""
    try:
        clock = os.sysconf("SC_CLK_TCK")
        page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError):
        clock, page_kib, uptime = 100, 4, 0.0
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open("/proc/{}/cmdline".format(entry), "rb") as handle:
                raw = handle.read(65536)
            args = text_of(raw.replace(b"\0", b" ").strip())
            if not args or not PROCESS_PATTERN.search(args) or "hc_host_probe" in args:
                continue
            with open("/proc/{}/stat".format(entry)) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/{}/statm".format(entry)) as handle:
                rss_pages = int(handle.read().split()[1])
            status = proc_status(entry)
        except (OSError, ValueError, IndexError):
            continue  # gone while we looked
        found.append({
            "pid": int(entry), "ppid": int(fields[1]), "uid": status["uid"], "gids": status["gids"],
            "user": user_name(status["uid"]), "elapsed_s": max(0, int(uptime - int(fields[19]) / clock)),
            "rss_kib": rss_pages * page_kib, "args": args, "argv": split_cmdline(raw),
            "mntns": mount_ns(entry)})
    return sorted(found, key=lambda p: p["pid"])


def split_cmdline(raw):
    return [text_of(a) for a in raw.split(b"\0")[:-1]] if raw.endswith(b"\0") else [text_of(raw)]


def proc_status(pid):
    uid, gids = -1, []
    with open("/proc/{}/status".format(pid)) as handle:
        for line in handle:
            if line.startswith("Uid:"):
                uid = int(line.split()[2])  # effective uid
            elif line.startswith("Gid:"):
                gids.append(int(line.split()[2]))
            elif line.startswith("Groups:"):
                gids += [int(g) for g in line.split()[1:]]
    return {"uid": uid, "gids": gids}


def proc_environ(pid, name):
    """One variable of a process's environment, as a single value (never split or globbed)."""
    try:
        with open("/proc/{}/environ".format(pid), "rb") as handle:
            data = handle.read(1024 * 1024)
    except OSError:
        return None
    prefix = name.encode() + b"="
    for item in data.split(b"\0"):
        if item.startswith(prefix):
            return text_of(item[len(prefix):])
    return None


def option_values(argv, name):
    """Values of `--name VALUE` and `--name=VALUE` in an argv list."""
    values = []
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(name + "="):
            values.append(arg[len(name) + 1:])
    return values


def is_glance_api(args):
    """glance-api itself, uWSGI serving it or python running it: not a process that names its files."""
    words = args.split()
    if not words or not GLANCE_API_PATTERN.search(args):
        return False
    first = os.path.basename(words[0])
    return bool(RUNNER_PATTERN.match(first)) or first == "glance-api" or args.startswith("glance-api uWSGI")


def select_glance_api(procs, own_ns, worker_users, unit_pids=(), container_pid=None):
    """The processes that really are glance-api, whose files and environment count as config.

    The systemd unit's MainPID and its descendants, the container's main process and its
    descendants, and glance-api/uWSGI processes of this mount namespace owned by root or by a
    worker user. Never a process merely mentioning glance (a local user's `glance-api --ini x`).
    """
    by_pid = {p["pid"]: p for p in procs}
    roots = {pid for pid in list(unit_pids) + [container_pid] if pid}
    trusted_users = set(worker_users) | {"root"}
    chosen = set()
    for p in procs:
        if p["pid"] in roots:
            chosen.add(p["pid"])
        elif (is_glance_api(p["args"]) and p["user"] in trusted_users
              and (not own_ns or p["mntns"] in ("", own_ns))):
            chosen.add(p["pid"])
    # descendants of a root (a unit's or container's workers), whatever their user
    changed = True
    while changed:
        changed = False
        for p in procs:
            if p["pid"] not in chosen and p["ppid"] in chosen and p["ppid"] in by_pid and (
                    by_pid[p["ppid"]]["pid"] in roots or p["user"] in trusted_users):
                chosen.add(p["pid"])
                changed = True
    return sorted(chosen)


# ------------------------------------------------------------------ log filtering
class LineFilter(object):
    """The request's log patterns, each tried only on lines that contain all the required literals
    of one of its alternatives (a plain `in`, which costs little); patterns without literals on
    every line. One regex of ~50 alternatives tried at every position of an 8 MiB tail costs seconds."""

    def __init__(self, always, guarded):
        self.always, self.guarded = always, guarded  # regex or None; [(((literal, ...), ...), regex)]

    def search(self, line):
        if self.always is not None and self.always.search(line):
            return True
        return self.guarded_search(line)

    def guarded_search(self, line):
        low = line.lower()
        for branches, regex in self.guarded:
            for literals in branches:
                if all(literal in low for literal in literals):
                    if regex.search(line):
                        return True
                    break
        return False


def _literal_sets(kws):
    """A pattern's keywords as sent: per alternative a literal (str) or all its literals (list)."""
    if not isinstance(kws, list) or not kws:
        return None
    out = []
    for entry in kws:
        entry = [entry] if isinstance(entry, str) else entry
        if not isinstance(entry, list) or not entry or not all(isinstance(k, str) and k for k in entry):
            return None
        out.append(tuple(k.lower() for k in entry))
    return tuple(out)


def compile_patterns(patterns, errors=None, keywords=None):
    """The request's log patterns (Python regexes, data) and, per pattern and alternative, the
    lowercase literals every line it matches contains (or None): a LineFilter, or None without patterns."""
    keywords = keywords if isinstance(keywords, list) and len(keywords) == len(patterns or []) else None
    always, guarded = [], []
    for i, pattern in enumerate(patterns or []):
        try:
            regex = re.compile(pattern, re.I)
        except (re.error, TypeError) as exc:
            if errors is not None:
                errors.append({"step": "pattern", "error": "{!r}: {}".format(pattern, exc)})
            continue
        branches = _literal_sets(keywords[i]) if keywords else None
        if branches:
            guarded.append((branches, regex))
        else:
            always.append("(?:{})".format(pattern))
    if not always and not guarded:
        return None
    return LineFilter(re.compile("|".join(always), re.I) if always else None, guarded)


SAMPLE = 256 * 1024  # characters of a text looked at to tell a rare literal from a common one


def drivers_of(line_filter, low):
    """One literal per alternative of each pattern, the rarest of its required ones in a sample of
    the text (a word on every line, like "glance", would make every line a candidate)."""
    sample = low[:SAMPLE]
    drivers = set()
    for branches, _regex in line_filter.guarded:
        for literals in branches:
            drivers.add(min(literals, key=lambda lit: (sample.count(lit), -len(lit))))
    return sorted(drivers)


def lines_holding(text_bytes, starts, drivers):
    """The indices of the lines holding any of the literals, case-insensitively: one `grep -F -i -o -b`
    pass over the text (each literal its own -e argument: data, never a pattern); None without grep.
    A line holding a literal always yields a match (-o prints at least one per matching line)."""
    grep = which("grep")
    if not grep or not drivers:
        return None if not drivers else set()
    argv = [grep, "-F", "-i", "-o", "-b", "-a"]
    for literal in drivers:
        argv += ["-e", literal]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                close_fds=True, env={"LC_ALL": "C", "PATH": SAFE_PATH})
        out, _err = proc.communicate(text_bytes, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode not in (0, 1):
        return None
    found = set()
    for raw in out.split(b"\n"):
        offset, sep, _ = raw.partition(b":")
        if sep and offset.isdigit():
            found.add(bisect.bisect_right(starts, int(offset)) - 1)
    return found


def matching_lines(lines, line_filter):
    """The indices of the lines a LineFilter keeps, found over the whole text at once: the lines
    holding a required literal by one `grep -F` pass (else `str.find`, per literal), the
    literal-less patterns by one regex search from each line's start (MULTILINE, so ^ and $ mean
    what they do on one line), every hit confirmed on its own line. The per-line Python loop cost
    1.2-2.5 s on 8 MiB of glance-api lines."""
    text = "\n".join(lines)
    low = text.lower()
    data = text.encode("utf-8", "replace")
    if len(low) != len(text) or len(data) != len(text):  # non-ASCII: offsets would not match
        return set(i for i, line in enumerate(lines) if line_filter.search(line))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    hits = set()
    if line_filter.always is not None:
        whole = re.compile(line_filter.always.pattern, re.I | re.M)
        pos = 0
        while pos <= len(text):
            m = whole.search(text, pos)
            if not m:
                break
            at = bisect.bisect_right(starts, m.start()) - 1
            if line_filter.always.search(lines[at]):
                hits.add(at)
            pos = starts[at + 1]
    drivers = drivers_of(line_filter, low)
    candidates = lines_holding(data, starts, drivers)
    if candidates is None:
        candidates = set()
        for literal in drivers:
            i = low.find(literal)
            while i != -1:
                at = bisect.bisect_right(starts, i) - 1
                candidates.add(at)
                i = low.find(literal, starts[at + 1])
    for at in candidates - hits:
        if at < len(lines) and line_filter.guarded_search(lines[at]):
            hits.add(at)
    return hits


def filter_lines(lines, regex, keep=LOG_KEEP):
    """[stamp, line] for every line the regex finds, the last `keep` of them.

    A line without its own timestamp carries the last one seen (a traceback under its log line).
    """
    if isinstance(regex, LineFilter):  # the kept lines found at once; a stamp looked for only for them
        out = []
        for n in sorted(matching_lines(lines, regex))[-keep:]:
            back = n
            while back >= 0 and not stamp_in(lines[back]):
                back -= 1
            out.append([stamp_in(lines[back]) if back >= 0 else "", lines[n][:LINE_LIMIT]])
        return out
    out, stamp = [], ""
    for line in lines:
        m = ISO_STAMP.search(line)
        if m:
            stamp = m.group(0)
        m = DMESG_STAMP.search(line)
        if m:
            stamp = m.group(1)
        if regex is not None and regex.search(line):
            out.append([stamp, line[:LINE_LIMIT]])
            if len(out) > 2 * keep:
                out = out[-keep:]
    return out[-keep:]


def tail_lines(path, limit=LOG_TAIL):
    """The last `limit` bytes of a file as lines (a partial first line dropped)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        start = max(0, size - limit)
        handle.seek(start)
        data = handle.read(limit)
    lines = text_of(data).split("\n")
    if start and lines:
        lines = lines[1:]
    return lines


def log_file(path, regex, window_s, needle=None):
    source = {"name": "log " + path, "kind": "log", "path": path}
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            source["error"] = "not a regular file"
            return source
        lines = tail_lines(path)
    except OSError as exc:
        source["error"] = _os_error(path, exc) if exc.errno != 2 else "missing"
        return source
    source.update(read=True, size=st.st_size, mtime=int(st.st_mtime), fresh=time.time() - st.st_mtime < window_s)
    if st.st_size > LOG_TAIL:
        source["note"] = "{} bytes, only the last 8 MiB read".format(st.st_size)
    source["lines"] = grep_fixed(lines, needle) if needle else filter_lines(lines, regex)
    return source


def grep_fixed(lines, needle, keep=50):
    return [["", line[:LINE_LIMIT]] for line in lines if needle in line][-keep:]


SCAN_BLOCK = 8 * 1024 * 1024      # bytes read at a time, from the end, by a fixed-string search
SCAN_LIMIT = 2 * 1024 * 1024 * 1024  # bytes a fixed-string search reads at most (its window first)
FOUND_KEEP = 400                  # lines a fixed-string search answers per source, the newest
STAMP_BACK = 64 * 1024            # bytes looked back for the stamp an unstamped line carries


def stamp_in(line):
    """The stamp a line prints (uWSGI's and dmesg's bracketed one wins, as in filter_lines)."""
    m = DMESG_STAMP.search(line)
    if m:
        return m.group(1)
    m = ISO_STAMP.search(line)
    return m.group(0) if m else ""


def carried_stamp(body, start):
    """The stamp of the nearest line at or before offset `start` that has one ("" if none near)."""
    end = body.find(b"\n", start)
    window = body[max(0, start - STAMP_BACK):end if end != -1 else len(body)]
    for raw in reversed(window.split(b"\n")):
        found = stamp_in(text_of(raw[:512]))
        if found:
            return found
    return ""


def sortable_stamp(stamp):
    """A stamp as "YYYY-MM-DD HH:MM:SS" (comparable as text), or "" when it reads as neither form."""
    if ISO_STAMP.match(stamp):
        return stamp[:10] + " " + stamp[11:19]
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(" ".join(stamp.split()), "%a %b %d %H:%M:%S %Y"))
    except ValueError:
        return ""


def first_stamp(body):
    """The first stamp of a block (looked for in its first 64 KiB): how far back the block reaches."""
    for raw in body[:STAMP_BACK].split(b"\n"):
        found = sortable_stamp(stamp_in(text_of(raw[:512])))
        if found:
            return found
    return ""


def find_fixed(body, needles, found):
    """Offsets of the lines of `body` holding one of the fixed strings: `bytes.find` over the whole
    block (C speed), so only the matching lines are ever cut out and decoded."""
    for needle in needles:
        i = body.find(needle)
        while i != -1:
            start = body.rfind(b"\n", 0, i) + 1
            end = body.find(b"\n", i)
            found.setdefault(start, end if end != -1 else len(body))
            if end == -1:
                break
            i = body.find(needle, end)


def window_start(handle, size, since, precision=1024 * 1024):
    """The offset from which a log (written in time order) holds lines stamped at or after `since`:
    a binary search on the first stamp found at each probe point, about 20 reads of 64 KiB for a
    GiB. A point without a stamp counts as inside the window (more is read, nothing is missed)."""
    if not since:
        return 0
    lo, hi = 0, size
    while hi - lo > precision:
        mid = (lo + hi) // 2
        handle.seek(mid)
        stamp = first_stamp(handle.read(STAMP_BACK))
        if stamp and stamp < since:
            lo = mid
        else:
            hi = mid
    return lo


def grep_from(handle, needles, timeout, keep=FOUND_KEEP):
    """`grep -F` (fixed strings, each its own -e argument: data, never a pattern) over the file from
    the handle's offset on, which the child inherits as its stdin: [(offset, line)] or None without
    a usable grep. GNU grep's multi-string search runs at about 1 GB/s here, Python's find at a third."""
    grep = which("grep")
    if not grep:
        return None
    argv = [grep, "-F", "-a", "-b"]
    for needle in needles:
        argv += ["-e", needle]
    base = handle.tell()
    try:
        proc = subprocess.Popen(argv, stdin=handle, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                                env={"LC_ALL": "C", "PATH": SAFE_PATH}, start_new_session=True)
        out, _err = proc.communicate(timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except (OSError, UnboundLocalError):
            pass
        return None
    if proc.returncode not in (0, 1):
        return None
    found = []
    for raw in [x for x in out.split(b"\n") if x][-keep:]:
        offset, sep, line = raw.partition(b":")
        if sep and offset.isdigit():
            found.append((base + int(offset), line))
    return found


def scan_back(path, needles, since="", limit=SCAN_LIMIT, keep=FOUND_KEEP, timeout=25):
    """Lines of a log file holding any of the fixed strings, from where its lines reach `since`
    (local "YYYY-MM-DD HH:MM:SS": the lookback window) to its end, at most the last `limit` bytes:
    [[stamp, line], ...] oldest first (each with the stamp it prints or carries), the first stamp
    read (how far back the search reached) and whether it read from the file's start."""
    encoded = [n.encode("utf-8") for n in needles if isinstance(n, str) and n]
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        start = max(window_start(handle, size, since), size - limit)
        if start:  # from the start of the next whole line
            handle.seek(start - 1)
            cut = handle.read(STAMP_BACK).find(b"\n")
            start += max(cut, 0)
        handle.seek(start)
        reached = first_stamp(handle.read(STAMP_BACK))
        handle.seek(start)
        found = grep_from(handle, [n.decode("utf-8") for n in encoded], timeout, keep)
        if found is None:  # no grep: Python's find over the same bytes
            handle.seek(start)
            body, spans = handle.read(), {}
            find_fixed(body, encoded, spans)
            found = [(start + s, body[s:e]) for s, e in sorted(spans.items())][-keep:]
        lines = []
        for offset, raw in found[-keep:]:
            text = text_of(raw.rstrip(b"\r"))
            stamp = stamp_in(text[:512])
            if not stamp:
                handle.seek(max(0, offset - STAMP_BACK))
                before = handle.read(offset - max(0, offset - STAMP_BACK))
                stamp = carried_stamp(before, len(before))
            lines.append([stamp, text[:LINE_LIMIT]])
    return lines, reached, start == 0


def since_local(window_s):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - window_s))


def search_file(path, needles, window_s):
    """One log file searched for fixed strings back to the window's start: a source document."""
    source = {"name": "log " + path, "kind": "log", "path": path}
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            source["error"] = "not a regular file"
            return source
        lines, reached, whole = scan_back(path, needles, since_local(window_s))
    except OSError as exc:
        source["error"] = _os_error(path, exc) if exc.errno != 2 else "missing"
        return source
    source.update(read=True, size=st.st_size, mtime=int(st.st_mtime), lines=lines, reached=reached, whole=whole)
    return source


def command_source(name, kind, argv, regex, timeout, needle=None, both_streams=False):
    """A log read through a command (journalctl, `<runtime> logs`): its failure is recorded, with why."""
    source = {"name": name, "kind": kind}
    got = run(argv, timeout)
    if got["rc"] != 0:
        source["error"] = "`{}` failed (exit {}): {}".format(
            " ".join(argv[:3]), got["rc"], (got["err"].strip() or got["out"].strip() or "no output")[-300:])
        return source
    text = got["out"] + ("\n" + got["err"] if both_streams else "")
    lines = text.split("\n")[-JOURNAL_LINES:]
    source["read"] = True
    source["fresh"] = True
    source["lines"] = grep_any(lines, needle) if needle else filter_lines(lines, regex)
    return source


def grep_any(lines, needles, keep=FOUND_KEEP):
    """[stamp, line] of the lines holding one of the fixed strings, each with the stamp it carries."""
    needles = [needles] if isinstance(needles, str) else needles
    out, stamp = [], ""
    for line in lines:
        stamp = stamp_in(line) or stamp
        if any(n in line for n in needles):
            out.append([stamp, line[:LINE_LIMIT]])
    return out[-keep:]


# ------------------------------------------------------------------ worker user
class Context:
    """Who the probe runs as and how it reaches the worker user, a container, its own source."""

    def __init__(self, source_b64, privilege, login, request):
        self.source_b64 = source_b64
        self.privilege = privilege
        self.login = login
        self.request = request
        self.container = request.get("container") or ""
        self.runtime = request.get("runtime") or ""
        self.worker_user = request.get("worker_user") or ""

    @property
    def root(self):
        return os.geteuid() == 0

    def as_worker(self, argv, container_python=False):
        """argv run as the worker user, or None when that cannot be done from here."""
        user = self.worker_user
        if self.container:
            if not self.runtime or not user:
                return None
            return [self.runtime, "exec", "-u", user, self.container] + argv
        if not user:
            return None
        if user_name(os.geteuid()) == user:
            return argv
        if self.root and which("runuser"):
            return ["runuser", "-u", user, "--"] + argv
        return None

    def in_container(self, argv):
        return [self.runtime, "exec", self.container] + argv if self.container else argv

    def self_argv(self, request, python=None):
        """This probe, run again by `python` with another request (another role)."""
        py = python or ("python3" if self.container else sys.executable)
        payload = base64.b64encode(json.dumps(request).encode()).decode()
        return [py, "-I", "-c", BOOT, self.source_b64, payload]


def run_json(argv, timeout):
    """A run of this probe (another role) whose stdout is one JSON document."""
    got = run(argv, timeout)
    try:
        return json.loads(got["out"]), None
    except ValueError:
        return None, "exit {}: {}".format(got["rc"], (got["err"].strip() or got["out"].strip() or "no output")[-300:])


def worker_role(request, source_b64=""):
    """As the worker user: store dir access and each rbd store's client files and commands."""
    out = {"user": user_name(os.geteuid()), "dirs": {}, "rbd": {}, "files": {}, "file_errors": {}}
    for path in request.get("files", []):
        got = read_file(path, limit=65536)
        if "text" in got:
            out["files"][path] = got["text"]
        else:
            out["file_errors"][path] = got["error"]
    for d in request.get("dirs", []):
        out["dirs"][d] = {"write_rc": 0 if os.access(d, os.W_OK) else 1,
                          "search_rc": 0 if os.access(d, os.X_OK) else 1}
        blocked = first_untraversable(d)
        if blocked:
            out["dirs"][d]["blocked_at"] = blocked
    for store in request.get("rbd", []):
        out["rbd"][store["name"]] = step(out, "rbd " + store["name"], rbd_as_user, store, source_b64) or {}
    for store in request.get("cinder", []):
        out.setdefault("cinder", {})[store["name"]] = step(out, "cinder " + store["name"], cinder_as_user,
                                                           store) or {}
    return out


def cinder_as_user(store):
    """As the worker user: can it read the cinder backend's keyring, and may it start os-brick's privsep
    helper through sudo glance-rootwrap? `sudo -n -l CMD` only says whether sudo would run CMD (exit 0)
    or not; nothing is run, no password is asked."""
    keyring, conf = store.get("keyring", ""), store.get("rootwrap_config", "")
    out = {"keyring": keyring, "keyring_exists": os.path.exists(keyring),
           "keyring_readable": os.access(keyring, os.R_OK), "rootwrap_config": conf}
    if which("sudo"):
        got = run(["sudo", "-n", "-l", "glance-rootwrap", conf, "privsep-helper", "--config-file",
                   store.get("config_file", "/etc/glance/glance-api.conf"), "--privsep_context",
                   "os_brick.privileged.default", "--privsep_sock_path", "/tmp/hc-probe/privsep.sock"], 15)
        out["sudo_rc"] = got["rc"]
        out["sudo_said"] = (got["out"].strip() or got["err"].strip())[-300:]
    return out


def first_untraversable(path):
    """The first directory above `path` this user cannot search (x), or "" when it reaches it."""
    parts = os.path.realpath(path).split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i]) or "/"
        if not os.access(parent, os.X_OK):
            return parent
    return ""


def ceph_python():
    """The interpreter the `ceph` CLI runs with (its shebang), when it is an absolute existing file."""
    ceph = which("ceph")
    return shebang_interpreter(ceph) if ceph else None


def shebang_interpreter(script):
    try:
        with open(script, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = text_of(first[2:]).split()
    if not words:
        return None
    py = words[0]
    if os.path.basename(py) == "env" and len(words) > 1:
        py = which(words[1]) or ""
    return py if py.startswith("/") and os.path.isfile(py) and os.access(py, os.X_OK) else None


def cephq(source_b64, python, conf, name, prefix, args, timeout=25):
    """One mon command through librados in `python` (rc 97: that interpreter has no rados)."""
    request = {"role": "cephq", "conf": conf, "name": name, "prefix": prefix, "args": args}
    payload = base64.b64encode(json.dumps(request).encode()).decode()
    return run([python, "-I", "-c", BOOT, source_b64, payload], timeout)


def rbd_as_user(store, source_b64):
    conf, keyring, user, pool = store["conf"], store["keyring"], store["user"], store["pool"]
    out = {"conf_read_rc": 0 if os.access(conf, os.R_OK) else 1,
           "keyring_read_rc": 0 if os.access(keyring, os.R_OK) else 1}
    listing = {}
    lister = threading.Thread(target=lambda: listing.update(rbd_ls(conf, user, pool)), daemon=True)
    if which("rbd"):
        lister.start()  # side by side with `ceph df`: each is one connection to the monitor
    if which("ceph"):
        got = None
        py = ceph_python()
        if py:
            got = cephq(source_b64, py, conf, user, "df", {"detail": "detail"})
            if got["rc"] in (97, 134, 139):
                got = None
        if got is None:
            got = run(["ceph", "-c", conf, "--id", user, "--connect-timeout", "10", "df", "detail",
                       "--format", "json"], 25)
        out["df"] = {"rc": got["rc"], "output": (got["out"] + got["err"])[:262144]}
    if lister.ident is not None:  # started
        lister.join()
        out["ls"] = listing or {"rc": None, "count": None, "output": "rbd ls did not answer", "names": []}
    return out


def rbd_ls(conf, user, pool):
    got = run(["rbd", "-c", conf, "--id", user, "--client-mount-timeout", "10", "-p", pool, "ls"], 25)
    names = [line for line in got["out"].splitlines() if line.strip()]
    text = got["out"] + got["err"]
    return {"rc": got["rc"], "count": len(names) if got["rc"] == 0 else None,
            "output": "\n".join(text.splitlines()[-5:]),
            "names": [n.strip() for n in names[:LISTING_KEEP]] if got["rc"] == 0 else []}


def cephq_role(request):
    """Run by the ceph CLI's interpreter: librados' answer as the CLI would print it."""
    try:
        import rados  # noqa: PLC0415 - only this interpreter has it
    except ImportError:
        sys.exit(97)
    cmd = dict(request.get("args") or {})
    cmd.update(prefix=request["prefix"], format="json")
    try:
        cluster = rados.Rados(conffile=request["conf"], rados_id=request["name"],
                              conf={"client_mount_timeout": "10", "rados_mon_op_timeout": "15"})
        cluster.connect(timeout=10)
        try:
            ret, out, outs = cluster.mon_command(json.dumps(cmd), b"", timeout=15)
        finally:
            cluster.shutdown()  # librados left connected can crash the interpreter on its way out
    except rados.Error as exc:
        print(exc)  # "[errno 13] RADOS permission denied (error connecting to the cluster)", as the CLI says
        sys.exit(abs(getattr(exc, "errno", 0) or 1) % 256 or 1)
    sys.stdout.write(text_of(out))
    if outs:
        print(outs)
    sys.exit(abs(ret) % 256)


KEY_FIELD = re.compile(r'("key"\s*:\s*)"[^"]*"')


def blank_keys(text):
    """A cephx key never leaves the host: `auth get` output with its key fields blanked."""
    return KEY_FIELD.sub(r'\1"(not read)"', text)


# ------------------------------------------------------------------ keyrings
def keyring_path(conf_text, default_keyring, user, cluster="ceph"):
    """The keyring librados would use for client.USER: the conf's `keyring`, else the store's,
    with Ceph's metavariables substituted in Python (the user is data, never code)."""
    value = ""
    for line in (conf_text or "").splitlines():
        m = re.match(r"^\s*keyring\s*=\s*(.*?)\s*$", line)
        if m:
            value = m.group(1)
            break
    value = value or default_keyring or "/etc/ceph/$cluster.$name.keyring"
    for var, sub in (("$cluster", cluster), ("$name", "client." + user), ("$type", "client"), ("$id", user)):
        value = value.replace(var, sub)
    return value.split(",")[0].strip()


def stat_file(path):
    try:
        st = os.stat(path)
    except OSError as exc:
        return {"error": "cannot stat '{}': {}".format(path, exc.strerror or exc)}
    return {"owner": user_name(st.st_uid), "group": group_name(st.st_gid), "mode": "%o" % (st.st_mode & 0o7777)}


# ------------------------------------------------------------------ phase one
def phase_discover(ctx, req, result):
    window_min = int(req.get("window_minutes", 60))
    result["whoami"] = {"user": ctx.login, "uid": os.geteuid(), "privilege": ctx.privilege,
                        "host": socket.gethostname(), "now": int(time.time()), "mntns": mount_ns(),
                        "netns": mount_ns(kind="net")}
    units = step(result, "systemd", systemd_units) or []
    result["systemd"] = units
    result["container"] = step(result, "container", inspect_container, req.get("container_name", "glance_api"))
    procs = step(result, "processes", processes) or []
    own = result["whoami"]["mntns"]
    worker_users = list(req.get("worker_users") or ["glance"])
    worker_users += [u.get("User") for u in units if u.get("User")]
    unit_pids = [int(u.get("MainPID") or 0) for u in units if str(u.get("MainPID") or "0").isdigit()]
    container = result["container"] or {}
    cpid = ((container.get("inspect") or {}).get("State") or {}).get("Pid")
    chosen = select_glance_api(procs, own, worker_users, unit_pids, cpid if isinstance(cpid, int) else None)
    for p in procs:
        p["glance_api"] = p["pid"] in chosen
    # the candidates' config: OS_GLANCE_CONFIG_DIR, --ini, --config-file, --config-dir, each a single path
    procenv, cred_of, dirs_of, named = {}, {}, {}, []
    for p in procs:
        if not p["glance_api"] or p["mntns"] not in ("", own):
            continue
        env = {}
        cred = None if p["uid"] == 0 else {"uid": p["uid"], "gids": p["gids"]}
        config_dir = proc_environ(p["pid"], "OS_GLANCE_CONFIG_DIR")
        conf_dirs = option_values(p["argv"], "--config-dir")
        if config_dir:
            env["config_dir"] = config_dir
            named.append(os.path.join(config_dir, "glance-api.conf"))
        for ini in option_values(p["argv"], "--ini"):
            env["ini"] = ini
            named.append(ini)
        env["config_files"] = option_values(p["argv"], "--config-file")
        env["config_dirs"] = conf_dirs
        named += env["config_files"]
        for path in named:
            if path not in cred_of or cred is None:
                cred_of[path] = cred
            dirs_of.setdefault(path, []).extend(conf_dirs)
        procenv[str(p["pid"])] = env
    for p in procs:
        p.pop("argv", None)
        p.pop("gids", None)
    result["processes"] = procs
    result["procenv"] = procenv
    paths = list(dict.fromkeys([n for n in named if isinstance(n, str) and n.startswith("/")]
                               + list(CONFIG_CANDIDATES)))
    files, errors = {}, {}
    step(result, "files", read_config_set, paths, cred_of, dirs_of, files, errors)
    if container.get("runtime"):
        got = step(result, "container files", container_files, ctx, container)
        if got:
            files.update({"container:" + k: v for k, v in got.get("files", {}).items()})
            errors.update({"container:" + k: v for k, v in got.get("file_errors", {}).items()})
    result["files"], result["file_errors"] = files, errors
    result["gate_tools"] = step(result, "gate tools", gate_tools) or []
    result["meminfo"] = step(result, "meminfo", lambda: read_file("/proc/meminfo").get("text", "")) or ""
    result["kernel"] = step(result, "kernel", kernel_lines, ctx, window_min) or {"error": "kernel log not read"}


def systemd_units():
    if not (which("systemctl") and os.path.isdir("/run/systemd/system")):
        return []
    got = run(["systemctl", "show", "-p", "Id,LoadState,ActiveState,SubState,NRestarts,MainPID,User,"
               "ExecMainStartTimestamp"] + [u + ".service" for u in UNITS], 15)
    units, current = [], {}
    for line in got["out"].splitlines() + [""]:
        if not line.strip():
            if current:
                units.append(current)
            current = {}
        elif "=" in line:
            k, v = line.split("=", 1)
            current[k] = v
    return [u for u in units if u.get("LoadState") == "loaded"]


def inspect_container(name):
    notes = []
    for runtime in ("docker", "podman"):
        if not which(runtime):
            continue
        got = run([runtime, "inspect", "--type", "container", name], 15)
        if got["rc"] == 0:
            data = json.loads(got["out"])
            if isinstance(data, list):
                data = data[0] if data else {}
            return {"runtime": runtime, "inspect": data}
        notes.append("{}: {}".format(runtime, got["err"].strip()[-200:]))
    return {"notes": notes} if notes else None


def container_files(ctx, container):
    """The container's config, drop-ins and uWSGI includes, read inside it by its own python3."""
    name = (container.get("inspect") or {}).get("Name", "glance_api").lstrip("/") or "glance_api"
    request = {"role": "files", "paths": list(CONTAINER_FILES)}
    payload = base64.b64encode(json.dumps(request).encode()).decode()
    argv = [container["runtime"], "exec", name, "python3", "-I", "-c", BOOT, ctx.source_b64, payload]
    got, error = run_json(argv, 20)
    if error:
        return {"file_errors": {p: "could not read in the container: " + error for p in CONTAINER_FILES}}
    return got


def files_role(request):
    files, errors = read_config_set(request.get("paths", []))
    for path in request.get("paths", []):
        if path not in files and path not in errors and path != "/etc/glance/glance-api-uwsgi.ini":
            errors[path] = "missing"
    return {"files": files, "file_errors": errors}


def gate_tools():
    lines = []
    for tool in ("glance-manage", "glance-status"):
        path = which(tool)
        if path:
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read(4 * 1024 * 1024)).hexdigest()[:16]
            lines.append("{}={} {}".format(tool, path, digest))
    manage = which("glance-manage")
    py = shebang_interpreter(manage) if manage else None
    if py:
        lines.append("python={} glance={}".format(py, glance_release(py) or ""))
    for path in POLICY_FILES:
        if os.path.exists(path):
            with open(path, "rb") as handle:
                lines.append("policy={} {}".format(path, hashlib.sha256(handle.read()).hexdigest()[:16]))
    return lines


def glance_release(python):
    """glance's version from its package metadata beside the interpreter: read, never run."""
    prefix = os.path.dirname(os.path.dirname(python))
    patterns = [prefix + "/lib/python3*/site-packages/glance-*", prefix + "/lib/python3*/dist-packages/glance-*",
                prefix + "/lib/python3/dist-packages/glance-*"]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            m = re.match(r"^glance-([0-9][^-]*?)(?:-py[0-9.]+)?\.(dist|egg)-info$", os.path.basename(path))
            if m:
                return m.group(1)
    return None


def kernel_lines(ctx, window_min):
    """The kernel's OOM lines of the window; an error (with why) when the kernel log cannot be read."""
    if ctx.privilege == "none":
        return {"error": "no root or sudo: the kernel log is not readable"}
    tries = []
    if which("journalctl"):
        got = run(["journalctl", "-k", "--since", "-{}min".format(window_min), "-o", "short-iso",
                   "--no-pager", "-q"], 30)
        if got["rc"] == 0 and "No journal files were found" not in got["err"]:
            return {"source": "journalctl -k", "lines": [line for line in got["out"].splitlines()
                                                         if OOM_PATTERN.search(line)][-200:]}
        tries.append("journalctl -k: exit {} {}".format(got["rc"], got["err"].strip()[-150:]))
    if which("dmesg"):
        got = run(["dmesg", "-T"], 30)
        if got["rc"] == 0:
            return {"source": "dmesg -T", "lines": [line for line in got["out"].splitlines() if OOM_PATTERN.search(line)][-200:]}
        tries.append("dmesg -T: exit {} {}".format(got["rc"], got["err"].strip()[-150:]))
    return {"error": "; ".join(tries) or "neither journalctl nor dmesg is installed"}


# ------------------------------------------------------------------ phase two
def phase_stores_and_logs(ctx, req, result):
    now = time.time()
    result["clock"] = {"now": int(now), "local": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
                       "privilege": ctx.privilege}
    errors = result.setdefault("errors", [])
    regex = compile_patterns(req.get("patterns"), errors, req.get("keywords"))
    window_s = 60 * int(req.get("window_minutes", 60))
    dirs = [d for d in req.get("dirs", []) if isinstance(d, str) and d.startswith("/")]
    stores = [s for s in req.get("rbd", []) if isinstance(s, dict)]
    local = {}
    if ctx.container:  # seen from the container's host: files, dirs and logs are read inside it
        inner = {"role": "local", "dirs": dirs, "rbd": stores, "logs": [src for src in req.get("logs", [])
                                                                         if src.get("kind") == "log"],
                 "patterns": req.get("patterns"), "keywords": req.get("keywords"), "window_minutes":
                 req.get("window_minutes", 60), "list_dirs": req.get("list_dirs", []),
                 "entry_dirs": req.get("entry_dirs", [])}
        got, error = run_json(ctx.in_container(ctx.self_argv(inner)), 60)
        local = got or {"errors": [{"step": "container", "error": "probe in the container failed: {}".format(error)}]}
        for src in inner["logs"]:
            if got is None:
                local.setdefault("logs", []).append({"name": "log " + src["path"], "kind": "log",
                                                     "error": "not read in the container: {}".format(error)})
    else:
        local = local_role(dict(req, files=[] if ctx.root else req.get("files", [])), regex)
    errors += local.get("errors", [])
    result["dirs"] = local.get("dirs", {})
    result["boot_id"] = local.get("boot_id", "")
    result["files"], result["file_errors"] = local.get("files", {}), local.get("file_errors", {})
    result["rbd"] = local.get("rbd", {})
    logs = list(local.get("logs", []))
    for src in req.get("logs", []):
        if src.get("kind") == "unit":
            logs.append(step(result, "unit", command_source, "unit " + src["name"], "unit",
                             ["journalctl", "-u", src["name"], "--since", "-{}min".format(window_s // 60),
                              "-o", "short-iso", "--no-pager", "-q", "-n", str(JOURNAL_LINES)], regex, 30)
                        or {"name": "unit " + src["name"], "kind": "unit", "error": "not read"})
        elif src.get("kind") == "ctrlog":
            logs.append(step(result, "ctrlog", command_source, "ctrlog " + src["name"], "ctrlog",
                             [ctx.runtime or "docker", "logs", "--since", "{}m".format(window_s // 60), "--tail",
                              str(JOURNAL_LINES), src["name"]], regex, 30, None, True)
                        or {"name": "ctrlog " + src["name"], "kind": "ctrlog", "error": "not read"})
    result["logs"] = logs
    # what the worker user can do: one session of that user for every dir and rbd store
    # files the config names (a swift store's references) are read with the worker user's rights:
    # glance-api.conf may be the worker's to write, so root never reads a path it names
    files = [f for f in req.get("files", []) if isinstance(f, str)] if ctx.root or ctx.container else []
    cinder = [s for s in req.get("cinder", []) if isinstance(s, dict)]
    worker_req = {"role": "worker", "dirs": dirs, "files": files, "cinder": cinder,
                  "rbd": [dict(s, keyring=(result["rbd"].get(s["name"]) or {}).get("keyring", "")) for s in stores]}
    # each rbd store's caps (librados as admin) while the worker user's session runs its own
    # librados and rbd connections: both mostly wait on the monitor
    caps = [threading.Thread(target=step, args=(result, "rbd caps " + s["name"], rbd_caps, ctx, s,
                                                 result["rbd"][s["name"]]), daemon=True)
            for s in stores if not ctx.container and s["name"] in result["rbd"]]
    for thread in caps:
        thread.start()
    if dirs or stores or files or cinder:
        result["worker"] = step(result, "worker", run_worker, ctx, worker_req) or {"error": "not run"}
        worker = result["worker"] if isinstance(result["worker"], dict) else {}
        result["files"].update(worker.pop("files", {}))
        result["file_errors"].update(worker.pop("file_errors", {}))
        result["cinder"] = worker.pop("cinder", {})
        for path in files:
            if path not in result["files"] and path not in result["file_errors"]:
                result["file_errors"][path] = "not read: {}".format(worker.get("error") or "no answer")
    for thread in caps:
        thread.join()
    if req.get("pruner_schedule"):  # read on the host itself: its cron and systemd run the pruner
        result["pruner_schedule"] = step(result, "pruner schedule", pruner_schedule) or {
            "error": "the cron files and timers were not read"}
    sockets = [a for a in req.get("haproxy_sockets", []) if isinstance(a, str)]
    if sockets:
        result["haproxy_stats"] = step(result, "haproxy stats", haproxy_stats, sockets) or {
            "error": "the stats socket was not read"}


STATS_LIMIT = 2 * 1024 * 1024     # bytes of one `show stat` answer
STATS_COMMAND = b"show stat\n"    # read-only: the same answer the stats page gives


def haproxy_stats(sockets):
    """HAProxy's own view of its servers (`show stat` on the stats socket haproxy.cfg declares):
    {socket, text} from the first socket that answers, or {error} with why none did. Only unix
    sockets (a path that is a socket): a TCP address named in a file is never contacted."""
    tried = []
    for address in sockets:
        path = address[5:] if address.startswith("unix@") else address
        if not path.startswith("/") or "\0" in path:
            tried.append("{}: not a unix socket path (not contacted)".format(address))
            continue
        try:
            if not stat.S_ISSOCK(os.stat(path).st_mode):
                tried.append("{}: not a socket".format(path))
                continue
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(5)
            try:
                conn.connect(path)
                conn.sendall(STATS_COMMAND)
                data = b""
                while len(data) <= STATS_LIMIT:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                conn.close()
        except (OSError, socket.timeout) as exc:
            tried.append("{}: {}".format(path, exc.strerror or exc))
            continue
        return {"socket": path, "text": text_of(data[:STATS_LIMIT])}
    return {"error": "; ".join(tried) or "no stats socket"}


def run_worker(ctx, worker_req):
    if ctx.worker_user and user_name(os.geteuid()) == ctx.worker_user and not ctx.container:
        return worker_role(worker_req, ctx.source_b64)
    argv = ctx.as_worker(ctx.self_argv(worker_req))
    if argv is None:
        return {"error": "cannot run as {} here (privilege {})".format(ctx.worker_user or "the worker user",
                                                                        ctx.privilege)}
    got, error = run_json(argv, 90)
    return got if got is not None else {"error": "as {}: {}".format(ctx.worker_user, error)}


def local_role(req, regex=None):
    """Dirs, rbd client files, logs and files as seen from where this runs (host or container)."""
    out = {"dirs": {}, "rbd": {}, "logs": [], "files": {}, "file_errors": {}}
    errors = out.setdefault("errors", [])
    if regex is None:
        regex = compile_patterns(req.get("patterns"), errors, req.get("keywords"))
    window_s = 60 * int(req.get("window_minutes", 60))
    mounts = step(out, "mountinfo", mountinfo) or []
    for d in req.get("dirs", []):
        out["dirs"][d] = step(out, "dir " + d, dir_facts, d, mounts) or {"error": "not probed"}
        if d in req.get("list_dirs", []) and "error" not in out["dirs"][d]:
            out["dirs"][d]["listing"] = step(out, "listing " + d, dir_listing, d) or {"error": "not listed"}
        if d in req.get("entry_dirs", []) and "error" not in out["dirs"][d]:
            out["dirs"][d]["entries"] = step(out, "entries " + d, dir_entries, d) or {"error": "not listed"}
    out["boot_id"] = step(out, "boot id", boot_id) or ""
    for s in req.get("rbd", []):
        out["rbd"][s["name"]] = step(out, "rbd " + s["name"], rbd_files, s) or {}
    for src in req.get("logs", []):
        if src.get("kind") == "log":
            out["logs"].append(step(out, "log", log_file, src["path"], regex, window_s, req.get("needle"))
                               or {"name": "log " + src["path"], "kind": "log", "error": "not read"})
    for path in req.get("files", []):
        got = read_file(path, limit=65536)
        if "text" in got:
            out["files"][path] = got["text"]
        else:
            out["file_errors"][path] = got["error"]
    return out


def mountinfo():
    mounts = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 2:
                options = fields[5].split(",") + (tail[2].split(",") if len(tail) >= 3 else [])
                mounts.append((unescape_mount(fields[4]), tail[0], unescape_mount(tail[1]),
                               [o for o in dict.fromkeys(options) if o in MOUNT_FLAGS], unescape_mount(fields[3])))
    return mounts


MOUNT_FLAGS = ("ro", "rw", "noexec", "nosuid", "nodev")  # the mount options that decide a store's use


def unescape_mount(value):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), value)


FILE_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISREG, "regular file"), (stat.S_ISLNK, "symbolic link"),
              (stat.S_ISCHR, "character special file"), (stat.S_ISBLK, "block special file"),
              (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"))


def dir_facts(path, mounts):
    try:
        st = os.stat(path)
    except OSError as exc:
        return {"error": "cannot stat '{}': {}".format(path, exc.strerror or exc)}
    kind = next((name for test, name in FILE_KINDS if test(st.st_mode)), "unknown")
    if kind == "regular file" and st.st_size == 0:
        kind = "regular empty file"
    out = {"type": kind, "owner": user_name(st.st_uid), "group": group_name(st.st_gid),
           "uid": st.st_uid, "gid": st.st_gid, "mode": "%o" % (st.st_mode & 0o7777),
           "parents": parent_dirs(path), "dev": st.st_dev, "ino": st.st_ino}
    try:
        vfs = os.statvfs(path)
        out.update(bsize=vfs.f_frsize, blocks=vfs.f_blocks, bfree=vfs.f_bfree, bavail=vfs.f_bavail,
                   files=vfs.f_files, ffree=vfs.f_ffree)
        if getattr(vfs, "f_fsid", None) is not None:  # Python 3.7+
            out["fsid"] = vfs.f_fsid
    except OSError as exc:
        out["statvfs_error"] = exc.strerror or str(exc)
    real = os.path.realpath(path)
    best = None
    for entry in mounts:
        mount_point = entry[0]
        if real == mount_point or real.startswith(mount_point.rstrip("/") + "/") or mount_point == "/":
            if best is None or len(mount_point) >= len(best[0]):
                best = entry
    if best:
        out.update(mount=best[0], fstype=best[1], device=best[2])
        if len(best) > 3:
            out["mount_options"] = best[3]
        if len(best) > 4:
            out["mount_root"] = best[4]  # the directory of its filesystem the mount shows (a bind mount's source)
    return out


ENTRIES_KEEP = 200      # entries of the staging dir answered, the oldest first (the rest only counted)
ENTRIES_VISIT = 100000  # entries looked at at most


def dir_entries(path, keep=ENTRIES_KEEP, visit=ENTRIES_VISIT):
    """The top level of a flat dir (the staging store: glance_store writes `<dir>/<image id>`):
    each entry's name, kind, size and mtime from lstat (never a byte of content), the `keep`
    OLDEST (leftovers are old; the newest are uploads being staged right now), and the count and
    total size of all of them. Symlinks are not followed."""
    found, total, count, errors = [], 0, 0, []
    complete = True
    try:
        with os.scandir(path) as it:
            for entry in it:
                if count >= visit:
                    complete = False
                    break
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    errors.append("{}: {}".format(entry.name[:255], exc.strerror or exc))
                    continue
                kind = next((name for test, name in FILE_KINDS if test(st.st_mode)), "unknown")
                count += 1
                total += st.st_size
                found.append((int(st.st_mtime), entry.name[:255], kind, st.st_size))
    except OSError as exc:
        return {"error": "cannot list '{}': {}".format(path, exc.strerror or exc)}
    found.sort()
    return {"now": int(time.time()), "count": count, "size": total, "complete": complete,
            "entries": [[name, kind, size, mtime] for mtime, name, kind, size in found[:keep]],
            "errors": errors[:20]}


# Where a host schedules Glance's cache pruner (glance-cache-pruner must be run periodically: Glance
# prunes nothing itself). Only these fixed system paths are read, never one a config names.
CRON_FILES = ("/etc/crontab", "/etc/anacrontab")
CRON_DIRS = ("/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly")
CRONTAB_DIRS = ("/var/spool/cron/crontabs", "/var/spool/cron")   # Debian, RHEL: one file per user
CRONTAB_USERS = ("root", "glance")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/lib/systemd/system", "/usr/lib/systemd/system")
PRUNER_PATTERN = re.compile(r"cache[-_]pruner|cache/prune|cache[-_ ]prune|image[-_ ]cache[-_ ]prune", re.I)
SCHEDULE_FILE_LIMIT = 64 * 1024
SCHEDULE_FILES_MAX = 4000


def pruner_schedule(users=CRONTAB_USERS):
    """Which cron files and systemd units mention the cache pruner: the paths looked at, the ones
    that could not be read and why, and only the matching lines (never a whole file: a crontab may
    hold a password). Regular files only (lstat: a symlink is not followed; the unit it points to
    lives in one of the unit dirs read as well); nothing is run."""
    looked, unreadable, lines, timers, enabled = [], {}, [], [], []
    paths = list(CRON_FILES)
    for d in CRON_DIRS:
        try:
            paths += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        except OSError as exc:
            if exc.errno != 2:
                unreadable[d] = exc.strerror or str(exc)
    paths += [os.path.join(d, u) for d in CRONTAB_DIRS for u in users]
    for d in UNIT_DIRS:
        try:
            names = sorted(os.listdir(d))
        except OSError as exc:
            if exc.errno != 2:
                unreadable[d] = exc.strerror or str(exc)
            continue
        paths += [os.path.join(d, n) for n in names if n.endswith((".service", ".timer"))]
        for wants in ("timers.target.wants",):
            try:
                enabled += [n for n in os.listdir(os.path.join(d, wants)) if n.endswith(".timer")]
            except OSError:
                pass
    for path in paths[:SCHEDULE_FILES_MAX]:
        try:
            st = os.lstat(path)
        except OSError as exc:
            if exc.errno != 2:
                unreadable[path] = exc.strerror or str(exc)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        try:
            with open(path, "rb") as handle:
                text = handle.read(SCHEDULE_FILE_LIMIT).decode("utf-8", "replace")
        except OSError as exc:
            unreadable[path] = exc.strerror or str(exc)
            continue
        looked.append(path)
        if path.endswith(".timer"):
            unit = re.search(r"(?m)^\s*Unit\s*=\s*(\S+)", text)
            timers.append([path, unit.group(1) if unit else os.path.basename(path)[:-6] + ".service"])
        for line in text.splitlines():
            if PRUNER_PATTERN.search(line) and not line.lstrip().startswith(("#", ";")):
                lines.append([path, line.strip()[:400]])
    return {"looked": looked[:SCHEDULE_FILES_MAX], "unreadable": unreadable, "lines": lines[:50],
            "timers": timers[:500], "enabled_timers": sorted(set(enabled))[:500],
            "truncated": len(paths) > SCHEDULE_FILES_MAX}


def boot_id():
    """The running kernel's boot id: two hosts that show the same one share one kernel (mount
    namespaces, containers), where a (st_dev, st_ino) pair names one directory."""
    got = read_file("/proc/sys/kernel/random/boot_id", limit=64)
    return got.get("text", "").strip()


LISTING_KEEP = 2000      # files of one store dir answered, the largest first (the rest only counted)
LISTING_VISIT = 200000   # files stat'ed at most under one store dir


def dir_listing(path, keep=LISTING_KEEP, visit=LISTING_VISIT):
    """What a store dir holds, for telling images from other data: every regular file under it
    (lstat only: names, sizes, allocated bytes, mtimes; never a byte of content), the `keep`
    largest by allocation, and totals over all. Symlinks are not followed, other filesystems
    mounted below it are not entered (both said)."""
    try:
        device = os.lstat(path).st_dev
    except OSError as exc:
        return {"error": "cannot stat '{}': {}".format(path, exc.strerror or exc)}
    files, errors, skipped = [], [], []
    totals = {"allocated": 0, "size": 0, "count": 0}
    stop = [False]

    def walk_error(exc):
        errors.append("{}: {}".format(getattr(exc, "filename", path), exc.strerror or exc))

    for root, dirs, names in os.walk(path, onerror=walk_error):
        kept = []
        for d in dirs:
            full = os.path.join(root, d)
            try:
                st = os.lstat(full)
            except OSError as exc:
                errors.append("{}: {}".format(full, exc.strerror or exc))
                continue
            if stat.S_ISLNK(st.st_mode) or st.st_dev != device:
                skipped.append(os.path.relpath(full, path))
            else:
                kept.append(d)
        dirs[:] = kept
        for name in names:
            full = os.path.join(root, name)
            if totals["count"] >= visit:
                stop[0] = True
                break
            try:
                st = os.lstat(full)
            except OSError as exc:
                errors.append("{}: {}".format(full, exc.strerror or exc))
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(os.path.relpath(full, path))
                continue
            allocated = st.st_blocks * 512
            totals["allocated"] += allocated
            totals["size"] += st.st_size
            totals["count"] += 1
            files.append((allocated, st.st_size, int(st.st_mtime), os.path.relpath(full, path)))
        if stop[0]:
            break
    files.sort(reverse=True)
    return {"allocated": totals["allocated"], "size": totals["size"], "count": totals["count"],
            "files": [[rel, size, allocated, mtime] for allocated, size, mtime, rel in files[:keep]],
            "complete": not stop[0], "not_entered": skipped[:50], "errors": errors[:20]}


def parent_dirs(path):
    """Owner, group and mode of every directory above `path`: the worker user must be able to
    traverse each of them (search, x) to reach the store at all."""
    parents, current = [], os.path.dirname(os.path.realpath(path))
    while True:
        try:
            st = os.stat(current)
            parents.append({"path": current, "owner": user_name(st.st_uid), "group": group_name(st.st_gid),
                            "uid": st.st_uid, "gid": st.st_gid, "mode": "%o" % (st.st_mode & 0o7777)})
        except OSError as exc:
            parents.append({"path": current, "error": exc.strerror or str(exc)})
        if current == "/" or len(parents) > 40:
            return parents
        current = os.path.dirname(current)


def rbd_files(store):
    """As root (or the container's user): the ceph conf's keyring and both client files' owners."""
    conf, user = store["conf"], store["user"]
    got = read_file(conf)
    keyring = keyring_path(got.get("text", ""), store.get("keyring", ""), user)
    tools = [t for t in ("ceph", "rbd") if which(t)]
    return {"pool": store["pool"], "user": user, "conf": conf, "keyring": keyring, "tools": tools,
            "files": {conf: stat_file(conf), keyring: stat_file(keyring)}}


def rbd_caps(ctx, store, seen):
    """client.USER's caps, read with the admin keyring when one is at hand; the key blanked here.

    As root only the probe's own interpreter runs (with librados), or the `ceph` CLI when its
    interpreter is that same one: never an interpreter a venv owner could have changed.
    """
    user, conf = store["user"], store["conf"]
    if "ceph" not in seen.get("tools", []) or user == "admin" or not os.access(
            "/etc/ceph/ceph.client.admin.keyring", os.R_OK):
        return
    got = cephq(ctx.source_b64, sys.executable, conf, "admin", "auth get", {"entity": "client." + user})
    if got["rc"] in (97, 134, 139):
        py = ceph_python()
        if py and os.path.realpath(py) == os.path.realpath(sys.executable):
            got = run(["ceph", "-c", conf, "--id", "admin", "--connect-timeout", "10", "auth", "get",
                       "client." + user, "--format", "json"], 25)
        else:
            seen["caps"] = {"rc": None, "output": "not read: no librados for {} and the ceph CLI runs another "
                                                  "interpreter ({}), which root does not run".format(sys.executable, py)}
            return
    seen["caps"] = {"rc": got["rc"], "output": blank_keys(got["out"] + got["err"])[:65536]}


# ------------------------------------------------------------------ on demand
def phase_request_lines(ctx, req, result):
    """Lines holding any of the fixed strings (`needles`: an image id, request ids, uWSGI's own
    messages), from every log back to the window's start (`window_minutes`, the suite's --since)."""
    needles = [n for n in req.get("needles") or [req.get("needle")] if isinstance(n, str) and n]
    if not needles:
        result["logs"] = []
        return
    window_s = 60 * int(req.get("window_minutes", 60))
    files = [src for src in req.get("logs", []) if src.get("kind") == "log"]
    logs = []
    if ctx.container:
        inner = {"role": "search", "logs": files, "needles": needles, "window_minutes": window_s // 60}
        got, error = run_json(ctx.in_container(ctx.self_argv(inner)), 30)
        logs += (got or {}).get("logs", []) if got else [{"name": "log " + f["path"], "error": error} for f in files]
    else:
        logs += [search_file(f["path"], needles, window_s) for f in files]
    minutes = "-{}min".format(max(1, window_s // 60))
    for src in req.get("logs", []):
        if src.get("kind") == "unit":
            logs.append(command_source("unit " + src["name"], "unit", ["journalctl", "-u", src["name"], "--since",
                                                                        minutes, "-o", "short-iso", "--no-pager", "-q"],
                                       None, 30, needles))
        elif src.get("kind") == "ctrlog":
            logs.append(command_source("ctrlog " + src["name"], "ctrlog", [ctx.runtime or "docker", "logs", "--since",
                                                                            "{}m".format(max(1, window_s // 60)),
                                                                            src["name"]],
                                       None, 30, needles, True))
    result["logs"] = logs


def search_role(req):
    """The fixed-string search run inside a container, where its log files are."""
    window_s = 60 * int(req.get("window_minutes", 60))
    return {"logs": [search_file(f["path"], req.get("needles") or [], window_s) for f in req.get("logs", [])]}


def glance_python(ctx):
    """glance's interpreter: the shebang of glance-manage on PATH; in a container, its python3."""
    if ctx.container:
        return "python3"
    manage = which("glance-manage")
    return shebang_interpreter(manage) if manage else None


def phase_gate(ctx, req, result):
    conf = req.get("config") or "/etc/glance/glance-api.conf"
    gate = {}
    for command in req.get("commands", ["glance-manage db check", "glance-status upgrade check"]):
        tool, _, rest = command.partition(" ")
        if not ctx.container and not which(tool):
            gate[command] = {"rc": 127, "output": "{}: not on PATH".format(tool)}
            continue
        argv = [tool, "--config-file", conf] + rest.split()
        wrapped = ctx.as_worker(argv)
        if wrapped is None:
            wrapped = argv  # no root or sudo: as the login user, which is no more than it has
        got = run(wrapped, int(req.get("command_timeout", 120)))
        lines = [line for line in (got["out"] + "\n" + got["err"]).splitlines() if not GATE_NOISE.search(line)]
        gate[command] = {"rc": got["rc"], "output": "\n".join(lines[-60:]).strip()}
    result["gate"] = gate
    result["python"] = [worker_python(ctx, p) for p in req.get("programs", [])]


def worker_python(ctx, program):
    """A given Python program run by glance's interpreter AS THE WORKER USER: {rc, stdout, stderr}."""
    py = glance_python(ctx)
    if not py:
        return {"rc": 127, "stdout": "", "stderr": "glance-manage's interpreter not found (not on PATH, or "
                                                   "its shebang names no existing absolute path)"}
    argv = ctx.as_worker([py, "-I", "-c", program["program"]] + [str(a) for a in program.get("argv", [])])
    if argv is None:
        return {"rc": 126, "stdout": "", "stderr": "cannot run as {} here (privilege {})".format(
            ctx.worker_user or "the worker user", ctx.privilege)}
    got = run(argv, int(program.get("timeout", 60)))
    return {"rc": got["rc"], "stdout": got["out"][-1048576:], "stderr": got["err"][-65536:], "python": py}


def phase_kernel(ctx, req, result):
    """The kernel's OOM lines alone: run on a container's host for a docker:// or podman:// view,
    whose probe inside the container cannot read the kernel log it runs on."""
    result["kernel"] = step(result, "kernel", kernel_lines, ctx, int(req.get("window_minutes", 60))) or {
        "error": "kernel log not read"}


PHASES = {"discover": phase_discover, "stores_and_logs": phase_stores_and_logs,
          "request_lines": phase_request_lines, "gate": phase_gate, "kernel": phase_kernel}


# ------------------------------------------------------------------ entry point
def elevate(argv):
    """Once per round trip: re-run this same probe under `sudo -n` when the operator has it."""
    sudo = which("sudo")
    if not sudo or run([sudo, "-n", "true"], 10)["rc"] != 0:
        return
    os.execv(sudo, [sudo, "-n", sys.executable, "-I", "-c", BOOT, argv[1], argv[2], "elevated"])


def probe(argv, request):
    elevated = len(argv) > 3 and argv[3] == "elevated"
    if os.geteuid() != 0 and not elevated and request.get("elevate", True):
        elevate(argv)
    if elevated:
        privilege, login = "sudo", os.environ.get("SUDO_USER") or user_name(os.geteuid())
    elif os.geteuid() == 0:
        privilege, login = "root", user_name(0)
    else:
        privilege, login = "none", user_name(os.geteuid())
    ctx = Context(argv[1], privilege, login, request)
    result = {"protocol": PROTOCOL, "phase": request.get("phase"), "privilege": privilege,
              "python": "{}.{}.{}".format(*sys.version_info[:3])}
    phase = PHASES.get(request.get("phase"))
    if phase is None:
        result["errors"] = [{"step": "request", "error": "unknown phase {!r}".format(request.get("phase"))}]
    else:
        step(result, request.get("phase"), phase, ctx, request, result)
    return result


def main(argv):
    try:
        request = json.loads(base64.b64decode(argv[2]).decode())
    except (IndexError, ValueError) as exc:
        request, fatal = None, error_text(exc)
    role = (request or {}).get("role", "probe")
    if request is None:
        result = {"protocol": PROTOCOL, "errors": [{"step": "request", "error": fatal}]}
    elif role == "cephq":
        cephq_role(request)
        return
    elif role == "worker":
        result = worker_role(request, argv[1])
    elif role == "files":
        result = files_role(request)
    elif role == "local":
        result = local_role(request)
    elif role == "search":
        result = search_role(request)
    else:
        result = probe(argv, request)
    sys.stdout.write(json.dumps(result, ensure_ascii=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
