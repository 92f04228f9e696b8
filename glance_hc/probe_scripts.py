"""The two batched shell scripts that gather a host's facts.

They are constant text: every value (paths, user, window, pattern) reaches
them as a positional argument, quoted by testinfra, never pasted in. They only
read: no file is written and nothing is restarted. Output is a series of
sections, each opened by a line `@@hc@@ <name>`.
"""

# Privilege: the wrapper (ELEVATE) re-runs a script under one `sudo -n` when it can, so that
# the script's many reads cost one sudo, not one each; $0 tells the script how it was started.
_PRIV = r"""
set +e
sec() { printf '\n@@hc@@ %s\n' "$*"; }
SUDO=""; LOGIN=$(id -un)
if [ "$0" = hc-probe-sudo ]; then PRIV=sudo; LOGIN=${SUDO_USER:-$LOGIN}
elif [ "$(id -u)" = 0 ]; then PRIV=root
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; PRIV=sudo
else PRIV=none; fi
"""

# Runs SCRIPT ARGS...: as is when root or without passwordless sudo, else once under `sudo -n`.
ELEVATE = r"""
s=$1; shift
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n sh -c : 2>/dev/null; then
  exec sudo -n sh -c "$s" hc-probe-sudo "$@"
fi
exec sh -c "$s" hc-probe "$@"
"""

# Phase 1: who we are, how glance-api runs, its config files, haproxy, memory, kernel OOM lines.
DISCOVER = _PRIV + r"""
WIN=$1
sec whoami
echo "user=$LOGIN uid=$(id -u) priv=$PRIV host=$(hostname) now=$(date +%s) mntns=$($SUDO readlink /proc/$$/ns/mnt 2>/dev/null | tr -dc 0-9)"
sec systemd
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for u in openstack-glance-api glance-api devstack@g-api; do
    systemctl show -p Id,LoadState,ActiveState,SubState,NRestarts,MainPID,User,ExecMainStartTimestamp "$u.service" 2>/dev/null
    echo
  done
fi
sec container
for rt in docker podman; do
  if command -v "$rt" >/dev/null 2>&1; then
    if out=$($SUDO timeout 15 "$rt" inspect glance_api 2>/dev/null); then
      CRT=$rt; echo "runtime=$rt"; echo "$out"; break
    fi
  fi
done
sec ps
ps -ww -eo pid=,ppid=,user=,etimes=,rss=,args= 2>/dev/null | grep -E 'glance|uwsgi|uWSGI|haproxy' | grep -v -e hc-probe -e 'grep -E'
cands=""
sec procenv
for pid in $(ps -ww -eo pid=,args= | grep -E 'glance' | grep -v -e hc-probe -e 'grep -E' | awk '{print $1}'); do
  echo "pid=$pid"
  echo "mntns=$($SUDO readlink "/proc/$pid/ns/mnt" 2>/dev/null | tr -dc 0-9)"
  d=$($SUDO cat "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n' | sed -n 's/^OS_GLANCE_CONFIG_DIR=//p')
  [ -n "$d" ] && { echo "config_dir=$d"; cands="$cands $d/glance-api.conf"; }
  ini=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -A1 -x -e '--ini' | tail -n 1)
  [ -n "$ini" ] && { echo "ini=$ini"; cands="$cands $ini"; }
done
seen=""
for f in $cands /etc/glance/glance-api.conf /etc/glance/glance-uwsgi.ini /etc/glance/glance-api-uwsgi.ini \
         /etc/kolla/glance-api/glance-api.conf /etc/haproxy/haproxy.cfg /etc/kolla/haproxy/haproxy.cfg; do
  case " $seen " in *" $f "*) continue;; esac
  seen="$seen $f"
  if $SUDO test -e "$f"; then
    if $SUDO test -r "$f"; then sec "file $f"; $SUDO head -c 1048576 "$f"
    else sec "file-error $f"; echo "not readable as $(id -un) (priv=$PRIV)"; fi
  elif [ -d "${f%/*}" ] && ! [ -x "${f%/*}" ]; then
    sec "file-error $f"; echo "${f%/*} is not accessible as $(id -un) (priv=$PRIV)"
  fi
done
for d in /etc/glance/glance-api.conf.d; do
  $SUDO test -d "$d" && for f in $($SUDO ls "$d" 2>/dev/null); do sec "file $d/$f"; $SUDO head -c 262144 "$d/$f"; done
done
if [ -n "$CRT" ]; then
  sec "file container:/etc/glance/glance-api.conf"
  $SUDO timeout 15 "$CRT" exec glance_api head -c 1048576 /etc/glance/glance-api.conf 2>&1
  # Kolla's uWSGI ini (logto2, harakiri), when the image runs glance-api under uWSGI
  if ini=$($SUDO timeout 15 "$CRT" exec glance_api head -c 262144 /etc/glance/glance-api-uwsgi.ini 2>/dev/null); then
    sec "file container:/etc/glance/glance-api-uwsgi.ini"; printf '%s\n' "$ini"
  fi
fi
# what the upgrade gate would run: hosts with the same tools, release, config and policy files
# share one run of it (glance's tools take seconds of CPU and read only the config and the DB)
sec gate-tools
for t in glance-manage glance-status; do
  p=$(command -v "$t" 2>/dev/null) && echo "$t=$p $(cksum < "$p" | cut -d' ' -f1)"
done
py=$(sed -n '1s/^#! *//p' "$(command -v glance-manage 2>/dev/null)" 2>/dev/null | cut -d' ' -f1)
[ -n "$py" ] && echo "python=$py glance=$("$py" -c 'import importlib.metadata as m; print(m.version("glance"))' 2>/dev/null)"
for f in /etc/glance/policy.yaml /etc/glance/policy.json; do
  $SUDO test -e "$f" && echo "policy=$f $($SUDO cksum < "$f" 2>/dev/null | cut -d' ' -f1)"
done
sec meminfo
cat /proc/meminfo
sec kernel
if [ "$PRIV" = none ]; then echo "@@skip no root or sudo: the kernel log is not readable"
elif command -v journalctl >/dev/null 2>&1 && $SUDO journalctl -k -n 1 >/dev/null 2>&1; then
  $SUDO journalctl -k --since "-${WIN}min" -o short-iso --no-pager 2>/dev/null | grep -i -E 'out of memory|killed process|oom-kill|oom_reaper' | tail -n 200
else
  $SUDO dmesg -T 2>/dev/null | grep -i -E 'out of memory|killed process|oom-kill|oom_reaper' | tail -n 200
fi
sec end
"""

# An rbd store, seen as glance's workers see it: client files, then the pool through the store's
# own cephx user (ceph df, rbd ls), and its caps when an admin keyring is at hand. The keyring's
# secret never leaves the host: caps are read with the key field blanked on the remote side.
# Arguments: NAME POOL USER CEPH_CONF DEFAULT_KEYRING (joined by '|' in one rbd: target).
_RBD = r"""
XW() { if [ -n "$WUSER" ]; then XU "$@"; else X "$@"; fi; }
# CEPHQ CONF ID PREFIX [KEY=VALUE...]: one mon command (format json) through librados, in the interpreter of the `ceph`
# CLI (whose python3-rados it uses): 0.1 s where `ceph ... --format json` takes 0.45 s, most of it
# fetching command descriptions. Exit 97 when that interpreter has no rados: then the CLI runs
# (as it does if the shortcut itself crashed, 134 or 139).
CEPHQ='
py=$(sed -n "1s/^#! *//p" "$(command -v ceph)" | cut -d" " -f1)
"${py:-python3}" -c "
import json, sys
try:
    import rados
except ImportError:
    sys.exit(97)
conf, name, prefix = sys.argv[1:4]
cmd = dict(a.split(\"=\", 1) for a in sys.argv[4:])
cmd.update(prefix=prefix, format=\"json\")
try:
    c = rados.Rados(conffile=conf, rados_id=name,
                    conf={\"client_mount_timeout\": \"10\", \"rados_mon_op_timeout\": \"15\"})
    c.connect(timeout=10)
    try:
        ret, out, outs = c.mon_command(json.dumps(cmd), b\"\", timeout=15)
    finally:
        c.shutdown()  # librados left connected can crash the interpreter on its way out
except rados.Error as exc:
    print(exc)  # \"[errno 13] RADOS permission denied (error connecting to the cluster)\", as the CLI says
    sys.exit(abs(getattr(exc, \"errno\", 0) or 1))
sys.stdout.write(out.decode(\"utf-8\", \"replace\"))
if outs:
    print(outs)
sys.exit(abs(ret))
" "$@" 2>&1
'
RBD_AS_USER='
conf=$1; kr=$2; user=$3; pool=$4; name=$5; wuser=$6
if [ -n "$wuser" ]; then
  test -r "$conf"; c=$?; test -r "$kr"; k=$?
  echo "as_user=$wuser conf_read_rc=$c keyring_read_rc=$k"
fi
if command -v ceph >/dev/null 2>&1; then
  printf "\n@@hc@@ rbd-df %s\n" "$name"
  out=$(timeout 25 sh -c "$CEPHQ" sh "$conf" "$user" df detail=detail); rc=$?
  case $rc in 97|134|139) false;; esac || { out=$(timeout 25 ceph -c "$conf" --id "$user" --connect-timeout 10 df detail --format json 2>&1); rc=$?; }
  echo "@@rc=$rc"; printf "%s\n" "$out" | head -c 262144
fi
if command -v rbd >/dev/null 2>&1; then
  printf "\n@@hc@@ rbd-ls %s\n" "$name"
  out=$(timeout 25 rbd -c "$conf" --id "$user" --client-mount-timeout 10 -p "$pool" ls 2>&1); rc=$?
  echo "@@rc=$rc"; echo "@@count=$(printf "%s\n" "$out" | grep -c .)"; printf "%s\n" "$out" | tail -n 5
fi
'
rbd_store() {
  name=$1; pool=$2; user=$3; conf=$4; keyring=$5
  sec "rbd $name"
  echo "pool=$pool user=$user conf=$conf"
  echo "tools=$(X sh -c 'for t in ceph rbd; do command -v $t >/dev/null 2>&1 && printf "%s," $t; done')"
  kr=$(X sed -n 's/^[[:space:]]*keyring[[:space:]]*=[[:space:]]*//p' "$conf" 2>/dev/null | head -n 1)
  kr=$(printf '%s' "${kr:-$keyring}" | sed -e 's/\$cluster/ceph/g' -e 's/\$name/client.'"$user"'/g' | cut -d, -f1)
  echo "keyring=$kr"
  for f in "$conf" "$kr"; do
    X stat -L -c "file=%n owner=%U group=%G mode=%a" "$f" 2>&1 | sed 's/^stat: /missing=/'
  done
  # one session as the worker user for all of it: each runuser is a PAM session (and a log line)
  XW env CEPHQ="$CEPHQ" sh -c "$RBD_AS_USER" sh "$conf" "$kr" "$user" "$pool" "$name" "$WUSER"
  if X sh -c 'command -v ceph' >/dev/null 2>&1 && [ "$user" != admin ] && X test -r /etc/ceph/ceph.client.admin.keyring; then
    sec "rbd-caps $name"
    out=$(X timeout 25 sh -c "$CEPHQ" sh "$conf" admin "auth get" "entity=client.$user"); rc=$?
    case $rc in 97|134|139) false;; esac || { out=$(X timeout 25 ceph -c "$conf" --id admin --connect-timeout 10 auth get "client.$user" --format json 2>&1); rc=$?; }
    echo "@@rc=$rc"; printf '%s\n' "$out" | sed 's/"key": *"[^"]*"/"key": "(not read)"/g' | head -c 65536
  fi
}
"""

# Phase 2: each store dir (room, owner, access as the worker user) and each log source.
# Arguments: WIN WORKER_USER CONTAINER RUNTIME PATTERN then dir:PATH / log:PATH / unit:NAME / ctrlog:NAME.
STORES_AND_LOGS = _PRIV + r"""
WIN=$1; WUSER=$2; CTR=$3; RT=$4; PAT=$5; shift 5
X() { if [ -n "$CTR" ]; then $SUDO timeout 15 "$RT" exec "$CTR" "$@"; else $SUDO "$@"; fi; }
XU() {
  if [ -n "$CTR" ]; then $SUDO timeout 15 "$RT" exec -u "$WUSER" "$CTR" "$@"
  elif [ "$(id -un)" = "$WUSER" ]; then "$@"  # already the worker user (inside a container run as it)
  elif [ "$(id -u)" = 0 ]; then runuser -u "$WUSER" -- "$@"
  elif [ "$PRIV" = sudo ]; then sudo -n runuser -u "$WUSER" -- "$@"
  else return 99; fi
}
""" + _RBD + r"""
stamp() {
  awk -v pat="$PAT" '
    match($0, /[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) { ts = substr($0, RSTART, RLENGTH) }
    match($0, /\[[A-Z][a-z][a-z] [A-Z][a-z][a-z] +[0-9]+ [0-9][0-9]:[0-9][0-9]:[0-9][0-9] [0-9][0-9][0-9][0-9]\]/) { ts = substr($0, RSTART + 1, RLENGTH - 2) }
    tolower($0) ~ pat { print ts "\t" $0 }' | tail -n 400
}
sec clock
echo "now=$(date +%s) local=$(date '+%Y-%m-%d %H:%M:%S') priv=$PRIV"
# every store dir's access as the worker user, in one session of that user: "W X PATH" lines
ACCESS=""
if [ -n "$WUSER" ]; then
  ACCESS=$(XU sh -c 'for a do case "$a" in dir:*) d=${a#dir:}; test -w "$d"; w=$?; test -x "$d"; x=$?
           printf "%s %s %s\n" "$w" "$x" "$d";; esac; done' sh "$@")
fi
for a in "$@"; do
  case "$a" in
  dir:*)
    d=${a#dir:}
    sec "dir $d"
    X stat -L -c "type='%F' owner=%U group=%G mode=%a" "$d" 2>&1 | sed 's/^stat: /error=/'
    X stat -L -f -c 'bsize=%S blocks=%b bfree=%f bavail=%a files=%c ffree=%d fstype=%T' "$d" 2>/dev/null
    X df -P "$d" 2>/dev/null | tail -n 1 | awk '{print "device=" $1 " mount=" $6}'
    if [ -n "$WUSER" ]; then
      wx=$(printf '%s\n' "$ACCESS" | awk -v d="$d" 'substr($0, length($1) + length($2) + 3) == d { print $1 " " $2; exit }')
      [ -n "$wx" ] || wx="99 99"  # no root or sudo: could not test as the worker user
      echo "as_user=$WUSER write_rc=${wx% *} search_rc=${wx#* }"
    fi
    ;;
  log:*)
    f=${a#log:}
    sec "log $f"
    if X test -r "$f"; then
      echo "@@meta size=$(X stat -c %s "$f") mtime=$(X stat -c %Y "$f")"
      X tail -c 8388608 "$f" | stamp
    else echo "@@missing"; fi
    ;;
  unit:*)
    u=${a#unit:}
    sec "unit $u"
    $SUDO journalctl -u "$u" --since "-${WIN}min" -o short-iso --no-pager 2>&1 | tail -n 20000 | stamp
    ;;
  ctrlog:*)
    c=${a#ctrlog:}
    sec "ctrlog $c"
    $SUDO timeout 30 "$RT" logs --since "${WIN}m" "$c" 2>&1 | tail -n 20000 | stamp
    ;;
  rbd:*)
    oldifs=$IFS; IFS='|'; set -f; rbd_store ${a#rbd:}; IFS=$oldifs; set +f
    ;;
  file:*)
    f=${a#file:}
    if X test -r "$f"; then sec "file $f"; X head -c 65536 "$f"
    else sec "file-error $f"; echo "missing or not readable"; fi
    ;;
  esac
done
sec end
"""



# On demand, for a failed canary: every line that carries one request id.
REQUEST_LINES = _PRIV + r"""
RID=$1; CTR=$2; RT=$3; shift 3
for a in "$@"; do
  case "$a" in
  log:*) f=${a#log:}; sec "log $f"
         if [ -n "$CTR" ]; then $SUDO timeout 15 "$RT" exec "$CTR" tail -c 8388608 "$f" 2>/dev/null | grep -a -F -e "$RID" | tail -n 50
         else $SUDO tail -c 8388608 "$f" 2>/dev/null | grep -a -F -e "$RID" | tail -n 50; fi ;;
  unit:*) u=${a#unit:}; sec "unit $u"; $SUDO journalctl -u "$u" --since -1h -o short-iso --no-pager 2>/dev/null | grep -a -F -e "$RID" | tail -n 50 ;;
  ctrlog:*) c=${a#ctrlog:}; sec "ctrlog $c"; $SUDO timeout 30 "$RT" logs --since 1h "$c" 2>&1 | grep -a -F -e "$RID" | tail -n 50 ;;
  esac
done
sec end
"""

# The pre-upgrade gate: glance's own readiness commands, as the glance user with the running config.
# Arguments: CONFIG WORKER_USER CONTAINER RUNTIME
GATE = _PRIV + r"""
CONF=$1; WUSER=$2; CTR=$3; RT=$4
G() {
  if [ -n "$CTR" ]; then $SUDO timeout 120 "$RT" exec -u "$WUSER" "$CTR" "$@"
  elif [ "$(id -u)" = 0 ]; then timeout 120 runuser -u "$WUSER" -- "$@"
  elif [ "$PRIV" = sudo ]; then sudo -n timeout 120 runuser -u "$WUSER" -- "$@"
  else "$@"; fi
}
for cmd in "glance-manage db check" "glance-status upgrade check"; do
  sec "gate $cmd"
  tool=${cmd%% *}
  if [ -z "$CTR" ] && ! command -v "$tool" >/dev/null 2>&1; then echo "@@rc=127"; echo "$tool: not on PATH"; continue; fi
  out=$(G $tool --config-file "$CONF" ${cmd#* } 2>&1); rc=$?
  echo "@@rc=$rc"
  printf '%s\n' "$out" | grep -v -i -E 'eventlet|deprecat|import eventlet|^ *$|migration to a different|framework\.|for more detail|asyncio/migration' | tail -n 60
done
sec end
"""
